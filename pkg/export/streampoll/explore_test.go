package streampoll_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/refx-dev/refx/pkg/dynamotest"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

func TestExplore(t *testing.T) {
	c, table := dynamotest.NewTable(t)
	sc := dynamotest.StreamsClient(t)
	ctx := t.Context()
	past := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	for i := range 3 {
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: fmt.Sprint("EVENT#", i)}, "sk": &ddbtypes.AttributeValueMemberS{Value: "EVENT"},
			"ttl": &ddbtypes.AttributeValueMemberN{Value: past}, "entity": &ddbtypes.AttributeValueMemberS{Value: "event"},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &table, Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "EVENT#2"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "EVENT"}}})
	ls, err := sc.ListStreams(ctx, &dynamodbstreams.ListStreamsInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	arn := ls.Streams[0].StreamArn
	t.Log(*arn, len(ls.Streams))
	deadline := time.Now().Add(40 * time.Second)
	seen := 0
	for time.Now().Before(deadline) {
		ds, err := sc.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: arn})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, sh := range ds.StreamDescription.Shards {
			b, _ := json.Marshal(sh)
			t.Log(string(b))
			it, err := sc.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: arn, ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
			if err != nil {
				t.Fatal(err)
			}
			out, err := sc.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(100)})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range out.Records {
				n++
				if n > seen {
					b, _ := json.Marshal(r)
					t.Log(string(b))
				}
			}
			t.Log("next nil?", out.NextShardIterator == nil)
		}
		seen = n
		if n >= 6 {
			break
		}
		time.Sleep(2 * time.Second)
	}
}
