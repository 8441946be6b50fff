package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/refx"
)

// maxStateRetries bounds how often a write is rebuilt because the state it
// was planned on changed (an experiment stopped, a conversion raced).
const maxStateRetries = 5

// Assign returns the user's variant. The first assignment of a running
// experiment is written in one transaction with the participant counter and
// a check that the experiment is still running at the version the variant
// was computed from, so participants are exact and never double-counted: a
// concurrent or retried first call finds the assignment already there and
// returns it.
func (s *Store) Assign(ctx context.Context, experiment, user string) (*refx.Assignment, error) {
	for attempt := 0; attempt < maxStateRetries; attempt++ {
		exp, err := s.cachedExperiment(ctx, experiment)
		if err != nil {
			return nil, err
		}
		if exp.Status != refx.StatusRunning {
			return outside(exp, user), nil
		}
		existing, err := s.assignment(ctx, user, exp.ID)
		if err != nil {
			return nil, err
		}
		if existing != nil {
			return assigned(exp, existing, false), nil
		}
		variant, ok := exp.Bucket(user)
		if !ok {
			return outside(exp, user), nil
		}
		it := assignmentItem{
			itemKey: assignmentKey(user, exp.ID), Entity: entityAssignment,
			Experiment: exp.ID, User: user, Variant: variant.Key, AssignedAt: s.opts.Now().UTC(),
		}
		items, err := enrolmentItems(s.table, exp, it)
		if err != nil {
			return nil, storeError("Assign", err)
		}
		err = s.transact(ctx, "Assign", items)
		reasons := cancellationReasons(err)
		switch {
		case err == nil:
			return assigned(exp, &it, true), nil
		case conditionFailed(reasons, 1):
			var stored assignmentItem
			if err := attributevalue.UnmarshalMap(reasons[1].Item, &stored); err != nil {
				return nil, storeError("Assign", err)
			}
			return assigned(exp, &stored, false), nil
		case conditionFailed(reasons, 0):
			// Stopped or reconfigured since we read it: read it again.
			s.cache.forget(exp.ID)
		default:
			return nil, storeError("Assign", err)
		}
	}
	return nil, refx.Errorf(refx.EUNAVAILABLE, "experiment %s keeps changing; try again", experiment)
}

// enrolmentItems are the transaction that enrols a user: check the
// experiment, put the assignment if absent, count the participant.
func enrolmentItems(table *string, exp *refx.Experiment, it assignmentItem) ([]types.TransactWriteItem, error) {
	check, err := experimentCheck(table, exp, true)
	if err != nil {
		return nil, err
	}
	put, err := putIfAbsent(table, it)
	if err != nil {
		return nil, err
	}
	count := expression.Add(expression.Name("participants"), expression.Value(1)).
		Set(expression.Name("entity"), expression.Value(entityCounter)).
		Set(expression.Name("experiment"), expression.Value(exp.ID)).
		Set(expression.Name("variant"), expression.Value(it.Variant))
	counter, err := expression.NewBuilder().WithUpdate(count).Build()
	if err != nil {
		return nil, err
	}
	shard := shardOf(it.User, exp.CounterShards)
	return []types.TransactWriteItem{
		check,
		put,
		{Update: &types.Update{
			TableName: table, Key: participantsKey(exp.ID, shard, it.Variant).attributes(),
			UpdateExpression:          counter.Update(),
			ExpressionAttributeNames:  counter.Names(),
			ExpressionAttributeValues: counter.Values(),
		}},
	}, nil
}

// experimentCheck conditions a transaction on the experiment still running,
// and with sameVersion on its configuration being the one it was planned on.
func experimentCheck(table *string, exp *refx.Experiment, sameVersion bool) (types.TransactWriteItem, error) {
	cond := expression.Name("status").Equal(expression.Value(string(refx.StatusRunning)))
	if sameVersion {
		cond = cond.And(expression.Name("version").Equal(expression.Value(exp.Version)))
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: table, Key: experimentKey(exp.ID).attributes(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}}, nil
}

// assignment reads one assignment, or nil. The read is eventually
// consistent: a missed assignment only costs the enrolment transaction,
// whose condition finds it.
func (s *Store) assignment(ctx context.Context, user, experiment string) (*assignmentItem, error) {
	var it assignmentItem
	found, err := s.readItem(ctx, "assignment", &dynamodb.GetItemInput{TableName: s.table, Key: assignmentKey(user, experiment).attributes()}, &it)
	if err != nil || !found {
		return nil, err
	}
	return &it, nil
}

func assigned(exp *refx.Experiment, it *assignmentItem, enrolled bool) *refx.Assignment {
	v, _ := exp.Variant(it.Variant)
	at := it.AssignedAt
	return &refx.Assignment{
		Experiment: exp.ID, User: it.User, Variant: it.Variant, Payload: v.Payload,
		InExperiment: true, Enrolled: enrolled, AssignedAt: &at,
	}
}

func outside(exp *refx.Experiment, user string) *refx.Assignment {
	control := exp.ControlVariant()
	return &refx.Assignment{Experiment: exp.ID, User: user, Variant: control.Key, Payload: control.Payload}
}
