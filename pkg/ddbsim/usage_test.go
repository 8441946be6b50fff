package ddbsim_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/ddbsim"
)

// TestWriteUnits checks the write units charged per operation and partition.
func TestWriteUnits(t *testing.T) {
	t.Parallel()
	const half, oneAndHalf, twoAndHalf = 512, 1536, 2560
	setData := func(e env, pk string, size int) *dynamodb.UpdateItemInput {
		return &dynamodb.UpdateItemInput{TableName: aws.String(e.table), Key: key(pk),
			UpdateExpression:          aws.String("SET #d = :d"),
			ExpressionAttributeNames:  map[string]string{"#d": "data"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":d": &types.AttributeValueMemberS{Value: strings.Repeat("y", size)}}}
	}
	tests := []struct {
		name     string
		existing map[string]int // pk → size of the item there before
		run      func(ctx context.Context, e env) error
		op       string
		want     map[string]int64 // pk → WRU
	}{
		{"PutHalfKB", nil, func(ctx context.Context, e env) error {
			_, err := e.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: item("A", half)})
			return err
		}, "PutItem", map[string]int64{"A": 1}},
		{"PutOneAndHalfKB", nil, func(ctx context.Context, e env) error {
			_, err := e.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: item("A", oneAndHalf)})
			return err
		}, "PutItem", map[string]int64{"A": 2}},
		{"PutExactly1KB", nil, func(ctx context.Context, e env) error {
			_, err := e.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: item("A", 1024)})
			return err
		}, "PutItem", map[string]int64{"A": 1}},
		{"PutReplacingLargerItem", map[string]int{"A": twoAndHalf}, func(ctx context.Context, e env) error {
			_, err := e.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: item("A", half)})
			return err
		}, "PutItem", map[string]int64{"A": 3}},
		{"TransactionOfTwoSmallItems", nil, func(ctx context.Context, e env) error {
			return e.transact(ctx, e.put("A"), e.put("B"))
		}, "TransactWriteItems", map[string]int64{"A": 2, "B": 2}},
		{"TransactionConditionCheckOfLargeItem", map[string]int{"A": oneAndHalf}, func(ctx context.Context, e env) error {
			return e.transact(ctx, e.check("A"), e.put("B"))
		}, "TransactWriteItems", map[string]int64{"A": 4, "B": 2}},
		{"TransactionCancelledByCondition", map[string]int{"A": half}, func(ctx context.Context, e env) error {
			err := e.transact(ctx, e.put("B"), types.TransactWriteItem{Put: &types.Put{TableName: aws.String(e.table), Item: item("A", 100),
				ConditionExpression: aws.String("attribute_not_exists(pk)")}})
			if got := reasonCodes(err); len(got) != 2 || got[1] != "ConditionalCheckFailed" {
				t.Errorf("err = %v, want a cancellation for the condition", err)
			}
			return nil
		}, "TransactWriteItems", map[string]int64{"A": 2, "B": 2}},
		{"FailedConditionalPut", map[string]int{"A": half}, func(ctx context.Context, e env) error {
			_, err := e.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: item("A", half),
				ConditionExpression: aws.String("attribute_not_exists(pk)")})
			var ccf *types.ConditionalCheckFailedException
			if !errors.As(err, &ccf) {
				t.Errorf("err = %v, want ConditionalCheckFailedException", err)
			}
			return nil
		}, "PutItem", map[string]int64{"A": 1}},
		{"FailedConditionalPutOnLargeItem", map[string]int{"A": twoAndHalf}, func(ctx context.Context, e env) error {
			_, err := e.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: item("A", half),
				ConditionExpression: aws.String("attribute_not_exists(pk)")})
			if err == nil {
				t.Error("the conditional put succeeded")
			}
			return nil
		}, "PutItem", map[string]int64{"A": 3}},
		{"UpdateGrowingItem", map[string]int{"A": half}, func(ctx context.Context, e env) error {
			_, err := e.client.UpdateItem(ctx, setData(e, "A", oneAndHalf))
			return err
		}, "UpdateItem", map[string]int64{"A": 2}},
		{"UpdateShrinkingItem", map[string]int{"A": twoAndHalf}, func(ctx context.Context, e env) error {
			_, err := e.client.UpdateItem(ctx, setData(e, "A", 10))
			return err
		}, "UpdateItem", map[string]int64{"A": 3}},
		{"UpdateCreatingItem", nil, func(ctx context.Context, e env) error {
			_, err := e.client.UpdateItem(ctx, setData(e, "A", 10))
			return err
		}, "UpdateItem", map[string]int64{"A": 1}},
		{"DeleteItem", map[string]int{"A": oneAndHalf}, func(ctx context.Context, e env) error {
			_, err := e.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(e.table), Key: key("A")})
			return err
		}, "DeleteItem", map[string]int64{"A": 2}},
		{"DeleteMissingItem", nil, func(ctx context.Context, e env) error {
			_, err := e.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(e.table), Key: key("A")})
			return err
		}, "DeleteItem", map[string]int64{"A": 1}},
		{"BatchWrite", map[string]int{"B": oneAndHalf}, func(ctx context.Context, e env) error {
			_, err := e.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{e.table: {
				{PutRequest: &types.PutRequest{Item: item("A", half)}},
				{DeleteRequest: &types.DeleteRequest{Key: key("B")}},
			}}})
			return err
		}, "BatchWriteItem", map[string]int64{"A": 1, "B": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := MustEnv(t, ddbsim.Options{Conflicts: true})
			for pk, size := range tt.existing {
				e.mustPut(t, item(pk, size))
			}
			if err := tt.run(ctx, e); err != nil {
				t.Fatal(err)
			}
			u := e.proxy.Usage()
			var total int64
			for pk, want := range tt.want {
				total += want
				if got := u.Partitions[ddbsim.PartitionKey{Table: e.table, Value: pk}]; got.WRU != want || got.Writes != 1 {
					t.Errorf("partition %s: %+v, want %d WRU in 1 write", pk, got, want)
				}
			}
			if got := u.Operations[tt.op]; got.WRU != total || got.Requests != 1 {
				t.Errorf("%s: %+v, want %d WRU in 1 request", tt.op, got, total)
			}
			if got := u.WRU(); got != total {
				t.Errorf("total WRU = %d, want %d", got, total)
			}
			e.proxy.Reset()
			if u := e.proxy.Usage(); u.WRU() != 0 || len(u.Partitions) != 0 {
				t.Errorf("after Reset: %+v", u)
			}
		})
	}
}

func TestUsageHottest(t *testing.T) {
	t.Parallel()
	u := ddbsim.Usage{Partitions: map[ddbsim.PartitionKey]ddbsim.PartitionUsage{
		{Table: "t", Value: "a"}: {WRU: 3},
		{Table: "t", Value: "b"}: {WRU: 7},
		{Table: "t", Value: "c"}: {WRU: 7},
	}}
	k, p, ok := u.Hottest()
	if !ok || k.Value != "b" || p.WRU != 7 {
		t.Errorf("Hottest() = %v, %+v, %v; want b with 7 WRU", k, p, ok)
	}
	if _, _, ok := (ddbsim.Usage{}).Hottest(); ok {
		t.Error("Hottest of nothing reports a partition")
	}
}
