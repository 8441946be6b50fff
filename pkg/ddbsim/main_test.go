package ddbsim_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/ddbsim"
	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

// env is a fresh table reached two ways: through a proxy and directly.
type env struct {
	proxy  *ddbsim.Proxy
	client *dynamodb.Client // through the proxy, built as the service builds it
	direct *dynamodb.Client
	table  string
}

func MustEnv(tb testing.TB, opts ddbsim.Options) env {
	tb.Helper()
	direct, table := dynamotest.NewTable(tb)
	p := ddbsim.New(dynamotest.Endpoint(), opts)
	tb.Cleanup(p.Close)
	c, err := dynamo.NewClient(context.Background(), dynamo.ClientConfig{Endpoint: p.URL()})
	if err != nil {
		tb.Fatal(err)
	}
	return env{proxy: p, client: c, direct: direct, table: table}
}

func key(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: pk},
		"sk": &types.AttributeValueMemberS{Value: "S"},
	}
}

// item returns an item of exactly size bytes by DynamoDB's rules (size ≥ 13).
func item(pk string, size int) map[string]types.AttributeValue {
	it := key(pk)
	// "pk"+pk, "sk"+"S", "data"+payload
	it["data"] = &types.AttributeValueMemberS{Value: strings.Repeat("x", size-(2+len(pk))-(2+1)-4)}
	return it
}

func (e env) mustPut(tb testing.TB, it map[string]types.AttributeValue) {
	tb.Helper()
	if _, err := e.direct.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: it}); err != nil {
		tb.Fatal(err)
	}
}

func (e env) exists(tb testing.TB, pk string) bool {
	tb.Helper()
	out, err := e.direct.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(e.table), Key: key(pk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		tb.Fatal(err)
	}
	return out.Item != nil
}

// waitHeld waits until in-flight transactions hold n items.
func waitHeld(tb testing.TB, p *ddbsim.Proxy, n int) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p.Held() < n {
		if time.Now().After(deadline) {
			tb.Fatalf("held = %d, want %d", p.Held(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func (e env) put(pk string) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(e.table), Item: item(pk, 100)}}
}

func (e env) update(pk string) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{TableName: aws.String(e.table), Key: key(pk),
		UpdateExpression:          aws.String("ADD n :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}}}}
}

func (e env) del(pk string) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(e.table), Key: key(pk)}}
}

func (e env) check(pk string) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: aws.String(e.table), Key: key(pk),
		ConditionExpression: aws.String("attribute_exists(pk)")}}
}

func (e env) transact(ctx context.Context, items ...types.TransactWriteItem) error {
	_, err := e.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	return err
}
