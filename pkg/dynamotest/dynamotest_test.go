package dynamotest_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

func TestEndpoint(t *testing.T) {
	if ep := dynamotest.Endpoint(); !strings.HasPrefix(ep, "http://") {
		t.Fatalf("Endpoint() = %q, want an http URL", ep)
	}
}

// TestNewTableParallel creates tables from parallel tests and checks that
// each gets its own.
func TestNewTableParallel(t *testing.T) {
	names := make(chan string, 2)
	t.Run("group", func(t *testing.T) {
		for _, sub := range []string{"a", "b"} {
			t.Run(sub, func(t *testing.T) {
				t.Parallel()
				client, table := dynamotest.NewTable(t)
				names <- table
				putGet(t, client, table, "value-"+sub)
			})
		}
	})
	close(names)
	a, b := <-names, <-names
	if a == "" || a == b {
		t.Fatalf("table names %q and %q, want two distinct names", a, b)
	}
}

// putGet writes an item to table and reads it back.
func putGet(t *testing.T, client *dynamodb.Client, table, value string) {
	t.Helper()
	ctx := t.Context()
	key := map[string]types.AttributeValue{
		dynamo.AttrPK: &types.AttributeValueMemberS{Value: "EXP#1"},
		dynamo.AttrSK: &types.AttributeValueMemberS{Value: "META"},
	}
	item := map[string]types.AttributeValue{"value": &types.AttributeValueMemberS{Value: value}}
	for k, v := range key {
		item[k] = v
	}
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	got, _ := out.Item["value"].(*types.AttributeValueMemberS)
	if got == nil || got.Value != value {
		t.Fatalf("GetItem returned %#v, want value %q", out.Item, value)
	}
}

// TestTableDesign checks that NewTable's table has the refx design: streams
// with both images, TTL and the GSI.
func TestTableDesign(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	ctx := t.Context()

	desc, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("DescribeTable: %v", err)
	}
	td := desc.Table
	if td.TableStatus != types.TableStatusActive {
		t.Errorf("status %s, want ACTIVE", td.TableStatus)
	}
	if s := td.StreamSpecification; s == nil || !aws.ToBool(s.StreamEnabled) || s.StreamViewType != types.StreamViewTypeNewAndOldImages {
		t.Errorf("StreamSpecification %+v, want enabled with NEW_AND_OLD_IMAGES", s)
	}
	if aws.ToString(td.LatestStreamArn) == "" {
		t.Error("no LatestStreamArn")
	}
	var gsi *types.GlobalSecondaryIndexDescription
	for i := range td.GlobalSecondaryIndexes {
		if aws.ToString(td.GlobalSecondaryIndexes[i].IndexName) == dynamo.IndexGSI1 {
			gsi = &td.GlobalSecondaryIndexes[i]
		}
	}
	if gsi == nil {
		t.Errorf("no GSI %s among %d indexes", dynamo.IndexGSI1, len(td.GlobalSecondaryIndexes))
	} else {
		if len(gsi.KeySchema) != 2 ||
			aws.ToString(gsi.KeySchema[0].AttributeName) != dynamo.AttrGSI1PK ||
			aws.ToString(gsi.KeySchema[1].AttributeName) != dynamo.AttrGSI1SK {
			t.Errorf("GSI key schema %+v, want %s/%s", gsi.KeySchema, dynamo.AttrGSI1PK, dynamo.AttrGSI1SK)
		}
		if gsi.Projection == nil || gsi.Projection.ProjectionType != types.ProjectionTypeAll {
			t.Errorf("GSI projection %+v, want ALL", gsi.Projection)
		}
	}

	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("DescribeTimeToLive: %v", err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != dynamo.AttrTTL {
		t.Errorf("TimeToLiveDescription %+v, want ENABLED on %q", d, dynamo.AttrTTL)
	}
}

// TestGSIQuery writes an item with GSI keys and finds it through the index.
func TestGSIQuery(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	ctx := t.Context()
	_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		dynamo.AttrPK:     &types.AttributeValueMemberS{Value: "EXP#1"},
		dynamo.AttrSK:     &types.AttributeValueMemberS{Value: "META"},
		dynamo.AttrGSI1PK: &types.AttributeValueMemberS{Value: "STATUS#running"},
		dynamo.AttrGSI1SK: &types.AttributeValueMemberS{Value: "EXP#1"},
	}})
	if err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	out, err := client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		IndexName:                 aws.String(dynamo.IndexGSI1),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": dynamo.AttrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "STATUS#running"}},
	})
	if err != nil {
		t.Fatalf("Query %s: %v", dynamo.IndexGSI1, err)
	}
	if len(out.Items) != 1 {
		t.Fatalf("Query %s returned %d items, want 1", dynamo.IndexGSI1, len(out.Items))
	}
}

// TestStream checks that StreamsClient reads the table's stream with both
// images of a change.
func TestStream(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	streams := dynamotest.StreamsClient(t)
	ctx := t.Context()
	key := map[string]types.AttributeValue{
		dynamo.AttrPK: &types.AttributeValueMemberS{Value: "EXP#1"},
		dynamo.AttrSK: &types.AttributeValueMemberS{Value: "META"},
	}
	for _, v := range []string{"old", "new"} {
		item := map[string]types.AttributeValue{"v": &types.AttributeValueMemberS{Value: v}}
		for k, kv := range key {
			item[k] = kv
		}
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
			t.Fatalf("PutItem: %v", err)
		}
	}
	desc, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("DescribeTable: %v", err)
	}
	stream, err := streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: desc.Table.LatestStreamArn})
	if err != nil {
		t.Fatalf("DescribeStream: %v", err)
	}
	if stream.StreamDescription.StreamViewType != streamtypes.StreamViewTypeNewAndOldImages {
		t.Errorf("stream view type %s, want NEW_AND_OLD_IMAGES", stream.StreamDescription.StreamViewType)
	}
	var records []streamtypes.Record
	deadline := time.Now().Add(10 * time.Second)
	for len(records) < 2 && time.Now().Before(deadline) {
		records = records[:0]
		for _, sh := range stream.StreamDescription.Shards {
			it, err := streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
				StreamArn: desc.Table.LatestStreamArn, ShardId: sh.ShardId, ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon,
			})
			if err != nil {
				t.Fatalf("GetShardIterator: %v", err)
			}
			out, err := streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it.ShardIterator})
			if err != nil {
				t.Fatalf("GetRecords: %v", err)
			}
			records = append(records, out.Records...)
		}
		if len(records) < 2 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if len(records) != 2 {
		t.Fatalf("got %d stream records, want 2", len(records))
	}
	modify := records[1]
	if modify.EventName != streamtypes.OperationTypeModify {
		t.Errorf("second record is %s, want MODIFY", modify.EventName)
	}
	oldV, _ := modify.Dynamodb.OldImage["v"].(*streamtypes.AttributeValueMemberS)
	newV, _ := modify.Dynamodb.NewImage["v"].(*streamtypes.AttributeValueMemberS)
	if oldV == nil || oldV.Value != "old" || newV == nil || newV.Value != "new" {
		t.Errorf("MODIFY images old=%v new=%v, want old/new", modify.Dynamodb.OldImage, modify.Dynamodb.NewImage)
	}
}

// TestCleanup checks that a table is deleted when its test ends.
func TestCleanup(t *testing.T) {
	var table string
	t.Run("create", func(t *testing.T) { _, table = dynamotest.NewTable(t) })
	_, err := dynamotest.Client(t).DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Fatalf("DescribeTable of %s after its test: %v, want ResourceNotFoundException", table, err)
	}
}

// BenchmarkNewTable measures NewTable: creating a table, waiting for it to
// be active and enabling TTL. The tables are deleted after the benchmark.
func BenchmarkNewTable(b *testing.B) {
	for b.Loop() {
		dynamotest.NewTable(b)
	}
}
