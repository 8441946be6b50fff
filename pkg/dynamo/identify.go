package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/item"
	"github.com/refx-dev/refx/pkg/refx"
)

var _ refx.IdentityService = (*Store)(nil)

// anonymousAssignment is an assignment as identify reads it: with the user
// it was linked to, if any. linked_to lives on the anonymous visitor's item
// so that one anonymous assignment links to one user only: a browser shared
// by two people must not hand one enrolment to both.
type anonymousAssignment struct {
	item.Assignment
	LinkedTo string `dynamodbav:"linked_to,omitempty"`
}

// Identify copies each of the anonymous visitor's assignments to the user,
// unless the user already has one in that experiment. Each copy is one
// transaction: mark the anonymous item linked to the user (if it is not
// linked to someone else) and put the user's item if absent. No participant
// counter changes: the anonymous visitor was counted when enrolled, and the
// user is that visitor. The goals the visitor already converted on are
// copied too, so the person converts once, not once per id.
func (s *Store) Identify(ctx context.Context, id refx.Identity) (*refx.IdentifyResult, error) {
	anon, err := s.anonymousAssignments(ctx, id.Anonymous)
	if err != nil {
		return nil, err
	}
	res := &refx.IdentifyResult{Anonymous: id.Anonymous, User: id.User, Assignments: make([]refx.LinkedAssignment, 0, len(anon))}
	for _, a := range anon {
		link, err := s.link(ctx, a, id.User)
		if err != nil {
			return nil, err
		}
		res.Assignments = append(res.Assignments, link)
	}
	return res, nil
}

func (s *Store) link(ctx context.Context, a anonymousAssignment, user string) (refx.LinkedAssignment, error) {
	out := refx.LinkedAssignment{Experiment: a.Experiment}
	switch a.LinkedTo {
	case user:
		out.Variant, out.Status = a.Variant, refx.LinkLinked
		return out, nil
	case "":
	default:
		out.Status = refx.LinkClaimed
		return out, nil
	}
	now := s.opts.Now().UTC()
	items, err := linkItems(s.table, a, user, now, s.userExpiry(now))
	if err != nil {
		return out, storeError("Identify", err)
	}
	err = s.transact(ctx, "Identify", items)
	reasons := cancellationReasons(err)
	switch {
	case err == nil:
		out.Variant, out.Status = a.Variant, refx.LinkLinked
	case conditionFailed(reasons, 1):
		// The user has an assignment: their own, or this very link made
		// by a concurrent or retried call.
		var stored linkedAssignment
		if err := attributevalue.UnmarshalMap(reasons[1].Item, &stored); err != nil {
			return out, storeError("Identify", err)
		}
		out.Variant, out.Status = stored.Variant, refx.LinkExisting
		if stored.LinkedFrom == a.User {
			out.Status = refx.LinkLinked
		}
	case conditionFailed(reasons, 0):
		out.Status = refx.LinkClaimed // by a concurrent identify of another user
	default:
		return out, storeError("Identify", err)
	}
	return out, nil
}

// linkItems are the transaction linking one anonymous assignment to user.
func linkItems(table *string, a anonymousAssignment, user string, now time.Time, expiry item.UserExpiry) ([]types.TransactWriteItem, error) {
	linkedTo := expression.Name("linked_to")
	mark, err := expression.NewBuilder().
		WithUpdate(expression.Set(linkedTo, expression.Value(user))).
		WithCondition(expression.AttributeExists(expression.Name(AttrPK)).
			And(expression.AttributeNotExists(linkedTo).Or(linkedTo.Equal(expression.Value(user))))).
		Build()
	if err != nil {
		return nil, err
	}
	copied := a.Assignment
	copied.Key, copied.User, copied.UserExpiry = assignmentKey(user, a.Experiment, a.Phase), user, expiry
	put, err := putIfAbsent(table, linkedAssignment{Assignment: copied, LinkedFrom: a.User, LinkedAt: now})
	if err != nil {
		return nil, err
	}
	return []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: table, Key: a.Key.Attributes(),
			UpdateExpression:          mark.Update(),
			ConditionExpression:       mark.Condition(),
			ExpressionAttributeNames:  mark.Names(),
			ExpressionAttributeValues: mark.Values(),
		}},
		put,
	}, nil
}

// anonymousAssignments reads, consistently, all of a visitor's assignments.
func (s *Store) anonymousAssignments(ctx context.Context, visitor string) ([]anonymousAssignment, error) {
	keys, err := expression.NewBuilder().WithKeyCondition(
		expression.Key(AttrPK).Equal(expression.Value(userPK(visitor))).
			And(expression.Key(AttrSK).BeginsWith(assignmentPrefix))).Build()
	if err != nil {
		return nil, storeError("Identify", err)
	}
	items, err := s.queryItems(ctx, "Identify", s.queryInput(keys, true))
	if err != nil {
		return nil, err
	}
	var all []anonymousAssignment
	if err := attributevalue.UnmarshalListOfMaps(items, &all); err != nil {
		return nil, storeError("Identify", err)
	}
	return all, nil
}
