package dynamo

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// queryInput is a query of the table with expr's key condition and, where
// expr has them, its projection and filter. consistent asks for a strongly
// consistent read; otherwise the read is eventually consistent.
func (s *Store) queryInput(expr expression.Expression, consistent bool) *dynamodb.QueryInput {
	in := &dynamodb.QueryInput{
		TableName:                 s.table,
		KeyConditionExpression:    expr.KeyCondition(),
		ProjectionExpression:      expr.Projection(),
		FilterExpression:          expr.Filter(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}
	if consistent {
		in.ConsistentRead = aws.Bool(true)
	}
	return in
}

// queryAll runs the query in to its end, following LastEvaluatedKey past
// each 1 MB page, and hands each page's items to fn. Each page is retried
// on contention; the first error, of a page or of fn, ends the query and is
// returned wrapped with op.
func (s *Store) queryAll(ctx context.Context, op string, in *dynamodb.QueryInput, fn func(items []map[string]types.AttributeValue) error) error {
	for {
		var out *dynamodb.QueryOutput
		err := s.retry(ctx, op, func() (err error) {
			out, err = s.client.Query(ctx, in)
			return err
		})
		if err != nil {
			return storeError(op, err)
		}
		if err := fn(out.Items); err != nil {
			return storeError(op, err)
		}
		if out.LastEvaluatedKey == nil {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// transact writes items in one transaction, retrying contention. The error
// is the SDK's, unwrapped, so that callers can read its cancellation
// reasons.
func (s *Store) transact(ctx context.Context, op string, items []types.TransactWriteItem) error {
	return s.retry(ctx, op, func() error {
		_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		return err
	})
}

// putIf puts item on the condition cond, retrying contention. When the
// condition fails, failed is not nil and carries the stored item (nil if
// there is none) for the caller to decide what the failure means; err is
// any other error, wrapped with op.
func (s *Store) putIf(ctx context.Context, op string, item map[string]types.AttributeValue, cond expression.ConditionBuilder) (failed *types.ConditionalCheckFailedException, err error) {
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return nil, storeError(op, err)
	}
	err = s.retry(ctx, op, func() error {
		_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: s.table, Item: item,
			ConditionExpression:                 expr.Condition(),
			ExpressionAttributeNames:            expr.Names(),
			ExpressionAttributeValues:           expr.Values(),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		return err
	})
	if errors.As(err, &failed) {
		return failed, nil
	}
	return nil, storeError(op, err)
}

// updateIf applies update to the item at key on the condition cond,
// retrying contention. Like putIf, failed carries the stored item when the
// condition fails; err is any other error, wrapped with op.
func (s *Store) updateIf(ctx context.Context, op string, key itemKey, update expression.UpdateBuilder, cond expression.ConditionBuilder) (failed *types.ConditionalCheckFailedException, err error) {
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return nil, storeError(op, err)
	}
	err = s.retry(ctx, op, func() error {
		_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: s.table, Key: key.Attributes(),
			UpdateExpression:                    expr.Update(),
			ConditionExpression:                 expr.Condition(),
			ExpressionAttributeNames:            expr.Names(),
			ExpressionAttributeValues:           expr.Values(),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		return err
	})
	if errors.As(err, &failed) {
		return failed, nil
	}
	return nil, storeError(op, err)
}

// getItem reads one item consistently into out; found is false when absent.
func (s *Store) getItem(ctx context.Context, op string, key itemKey, out any) (found bool, err error) {
	return s.readItem(ctx, op, &dynamodb.GetItemInput{TableName: s.table, Key: key.Attributes(), ConsistentRead: aws.Bool(true)}, out)
}

// readItem runs the read in, retrying contention, and decodes the item into
// out; found is false when there is no item.
func (s *Store) readItem(ctx context.Context, op string, in *dynamodb.GetItemInput, out any) (found bool, err error) {
	var res *dynamodb.GetItemOutput
	err = s.retry(ctx, op, func() (err error) {
		res, err = s.client.GetItem(ctx, in)
		return err
	})
	if err != nil || res.Item == nil {
		return false, storeError(op, err)
	}
	if err := attributevalue.UnmarshalMap(res.Item, out); err != nil {
		return false, storeError(op, err)
	}
	return true, nil
}

// queryItems runs the query in to its end and returns every item it reads.
func (s *Store) queryItems(ctx context.Context, op string, in *dynamodb.QueryInput) ([]map[string]types.AttributeValue, error) {
	var all []map[string]types.AttributeValue
	err := s.queryAll(ctx, op, in, func(items []map[string]types.AttributeValue) error {
		all = append(all, items...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}
