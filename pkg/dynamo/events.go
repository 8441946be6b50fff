package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/refx"
)

// maxCredits bounds the experiments one event counts in: each costs up to
// three of a transaction's 100 items.
const maxCredits = 32

// credit is one planned counting of an event: the variant of a running
// experiment the user is assigned to that measures the event's type.
type credit struct {
	exp   *refx.Experiment
	asn   assignmentItem
	first bool
}

// RecordEvent counts an event exactly once. The event item is the
// idempotency key: it is put, on the condition that its id is new, in one
// transaction with every counter update the event causes. A retry finds the
// item and compares fingerprints: equal is a duplicate, different is a reused
// key. Counters are credited to the variants the server assigned, read with
// a consistent query, never to what a client claims.
func (s *Store) RecordEvent(ctx context.Context, e *refx.Event) (*refx.EventResult, error) {
	now := s.opts.Now().UTC()
	item := eventItem{
		itemKey: eventKey(e.ID), Entity: entityEvent,
		ID: e.ID, Type: e.Type, User: e.User,
		OccurredAt: now, ReceivedAt: now, Fingerprint: e.Fingerprint(), Code: e.ReferralCode,
		ExpiresAt: now.Add(s.opts.IdempotencyTTL),
	}
	if e.OccurredAt != nil {
		item.OccurredAt = e.OccurredAt.UTC()
	}
	if e.Value != nil {
		v := e.Value.String()
		item.Value = &v
	}
	if e.Properties != nil {
		b, err := json.Marshal(e.Properties)
		if err != nil {
			return nil, refx.FieldErrorf("properties", "must be JSON")
		}
		item.Properties = string(b)
	}
	for attempt := 0; attempt < maxStateRetries; attempt++ {
		credits, referral, err := s.planCredits(ctx, e)
		if err != nil {
			return nil, err
		}
		item.Credits = make([]creditItem, 0, len(credits)+1)
		for _, c := range credits {
			item.Credits = append(item.Credits, creditItem{Experiment: c.exp.ID, Variant: c.asn.Variant, FirstConversion: c.first})
		}
		if referral != nil {
			item.Credits = append(item.Credits, creditItem{
				Experiment: referral.exp.ID, Variant: referral.code.Variant,
				FirstConversion: referral.first, Referrer: referral.code.Referrer,
			})
		}
		stored, stale, err := s.writeEvent(ctx, item, e, credits, referral)
		switch {
		case err != nil:
			return nil, err
		case stored != nil && stored.Fingerprint == item.Fingerprint:
			return &refx.EventResult{ID: e.ID, Status: refx.EventDuplicate, Credits: creditsOf(stored.Credits)}, nil
		case stored != nil:
			return nil, &refx.Error{Code: refx.EKEYREUSED, Field: "id",
				Message: "this idempotency key was already used for a different event"}
		case stale:
			continue
		}
		return &refx.EventResult{ID: e.ID, Status: refx.EventRecorded, Credits: creditsOf(item.Credits)}, nil
	}
	return nil, refx.Errorf(refx.EUNAVAILABLE, "the user's experiments keep changing; send the same event again")
}

// planCredits finds the running experiments the user is assigned to that
// measure the event's type, and the referral credit the event earns the
// user's referrer, if any.
func (s *Store) planCredits(ctx context.Context, e *refx.Event) ([]credit, *referralCredit, error) {
	asns, attr, err := s.userState(ctx, e.User)
	if err != nil {
		return nil, nil, err
	}
	var credits []credit
	for _, a := range asns {
		exp, err := s.cachedExperiment(ctx, a.Experiment)
		if refx.ErrorCode(err) == refx.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if exp.Status != refx.StatusRunning {
			continue
		}
		if _, ok := exp.Goal(e.Type); !ok {
			continue
		}
		if len(credits) == maxCredits {
			s.opts.Logger.WarnContext(ctx, "event matches more experiments than one transaction holds; crediting the first",
				"event", e.ID, "user_experiments", len(asns), "credited", maxCredits)
			break
		}
		credits = append(credits, credit{exp: exp, asn: a, first: !a.converted(e.Type)})
	}
	referral, err := s.planReferralCredit(ctx, e, attr)
	return credits, referral, err
}

// userState reads, consistently and in one query, all of a user's
// assignments and their referral attribution, so that an event right after
// an assign or a signup sees them.
func (s *Store) userState(ctx context.Context, user string) ([]assignmentItem, *attributionItem, error) {
	keys, err := expression.NewBuilder().WithKeyCondition(expression.Key(AttrPK).Equal(expression.Value(userPK(user)))).Build()
	if err != nil {
		return nil, nil, storeError("userState", err)
	}
	var (
		asns []assignmentItem
		attr *attributionItem
	)
	err = s.queryAll(ctx, "userState", s.queryInput(keys, true), func(items []map[string]types.AttributeValue) error {
		for _, item := range items {
			sk, _ := item[AttrSK].(*types.AttributeValueMemberS)
			switch {
			case sk == nil:
			case strings.HasPrefix(sk.Value, assignmentPrefix):
				var a assignmentItem
				if err := attributevalue.UnmarshalMap(item, &a); err != nil {
					return err
				}
				a.readValueTotals(item)
				asns = append(asns, a)
			case sk.Value == attributionSK:
				attr = new(attributionItem)
				if err := attributevalue.UnmarshalMap(item, attr); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return asns, attr, nil
}

// writeEvent writes the event item and its counter updates in one
// transaction. It returns the stored event when the id was already used, or
// stale when the plan no longer holds (an experiment stopped, a concurrent
// event converted the user first) and must be made again.
func (s *Store) writeEvent(ctx context.Context, item eventItem, e *refx.Event, credits []credit, referral *referralCredit) (stored *eventItem, stale bool, err error) {
	write, err := putIfAbsent(s.table, item)
	if err != nil {
		return nil, false, storeError("writeEvent", err)
	}
	if len(credits) == 0 && referral == nil {
		// Nothing to count: a plain conditional put records the event and
		// its key at half a transaction's cost.
		failed, err := s.putIf(ctx, "writeEvent", write.Put.Item, absent())
		if failed != nil {
			return decodeStoredEvent(failed.Item)
		}
		return nil, false, err
	}
	items := []types.TransactWriteItem{write}
	checked := map[string]bool{}
	for _, c := range credits {
		more, err := creditItems(s.table, e, c)
		if err != nil {
			return nil, false, storeError("writeEvent", err)
		}
		items = append(items, more...)
		checked[c.exp.ID] = true
	}
	if referral != nil {
		// One transaction may not touch an item twice: the experiment may
		// already be checked for the user's own assignment.
		more, err := referralCreditItems(s.table, e, referral, item.ReceivedAt, checked[referral.exp.ID])
		if err != nil {
			return nil, false, storeError("writeEvent", err)
		}
		items = append(items, more...)
	}
	err = s.transact(ctx, "writeEvent", items)
	reasons := cancellationReasons(err)
	switch {
	case err == nil:
		return nil, false, nil
	case conditionFailed(reasons, 0):
		return decodeStoredEvent(reasons[0].Item)
	case anyConditionFailed(reasons):
		for _, c := range credits {
			s.cache.forget(c.exp.ID)
		}
		if referral != nil {
			s.cache.forget(referral.exp.ID)
		}
		return nil, true, nil
	}
	return nil, false, storeError("writeEvent", err)
}

// creditItems are the transaction items that count an event for one credit:
// a check that the experiment still runs, the counter shard update and, for
// a first conversion, marking the user converted on that goal (conditioned on
// no other event having done so meanwhile).
func creditItems(table *string, e *refx.Event, c credit) ([]types.TransactWriteItem, error) {
	check, err := experimentCheck(table, c.exp, false)
	if err != nil {
		return nil, err
	}
	count := expression.Add(expression.Name("events"), expression.Value(1)).
		Set(expression.Name("entity"), expression.Value(entityCounter)).
		Set(expression.Name("experiment"), expression.Value(c.exp.ID)).
		Set(expression.Name("variant"), expression.Value(c.asn.Variant)).
		Set(expression.Name("goal"), expression.Value(e.Type))
	valued := e.Value != nil && !e.Value.IsZero()
	var total, nextTotal *big.Rat
	if valued {
		count = count.Add(expression.Name("value_sum"), expression.Value(decimalNumber(e.Value.String()))).
			Add(expression.Name("value_sum_sq"), expression.Value(decimalNumber(e.Value.Square())))
		// Σ over participants of (their total value)² grows by
		// (V+v)² − V² = 2Vv + v², V being the total before this event.
		total, nextTotal = c.asn.valueTotal(e.Type), new(big.Rat)
		v, _ := new(big.Rat).SetString(e.Value.String())
		nextTotal.Add(total, v)
		growth := new(big.Rat).Mul(nextTotal, nextTotal)
		growth.Sub(growth, new(big.Rat).Mul(total, total))
		count = count.Add(expression.Name("value_participant_sum_sq"), expression.Value(decimalNumber(string(formatDecimal(growth)))))
	}
	if c.first {
		count = count.Add(expression.Name("users"), expression.Value(1))
	}
	counter, err := expression.NewBuilder().WithUpdate(count).Build()
	if err != nil {
		return nil, err
	}
	shard := shardOf(e.ID, c.exp.CounterShards)
	items := []types.TransactWriteItem{check, {Update: &types.Update{
		TableName: table, Key: goalKey(c.exp.ID, shard, c.asn.Variant, e.Type).attributes(),
		UpdateExpression:          counter.Update(),
		ExpressionAttributeNames:  counter.Names(),
		ExpressionAttributeValues: counter.Values(),
	}}}
	if !c.first && !valued {
		return items, nil
	}
	// The user's assignment records what the counters need to know next
	// time, on the condition that it still holds what this plan read.
	var mark expression.UpdateBuilder
	cond := expression.AttributeExists(expression.Name(AttrPK))
	if c.first {
		mark = mark.Add(expression.Name("converted"), expression.Value(&types.AttributeValueMemberSS{Value: []string{e.Type}}))
		cond = cond.And(expression.Not(expression.Name("converted").Contains(e.Type)))
	}
	if valued {
		name := expression.Name(valueTotalPrefix + e.Type)
		mark = mark.Set(name, expression.Value(decimalNumber(string(formatDecimal(nextTotal)))))
		if total.Sign() == 0 {
			cond = cond.And(expression.AttributeNotExists(name).Or(name.Equal(expression.Value(decimalNumber("0")))))
		} else {
			cond = cond.And(name.Equal(expression.Value(decimalNumber(string(formatDecimal(total))))))
		}
	}
	assignment, err := expression.NewBuilder().WithUpdate(mark).WithCondition(cond).Build()
	if err != nil {
		return nil, err
	}
	return append(items, types.TransactWriteItem{Update: &types.Update{
		TableName: table, Key: c.asn.itemKey.attributes(),
		UpdateExpression:          assignment.Update(),
		ConditionExpression:       assignment.Condition(),
		ExpressionAttributeNames:  assignment.Names(),
		ExpressionAttributeValues: assignment.Values(),
	}}), nil
}

// decimalNumber passes an exact decimal string to DynamoDB as a number, with
// no float conversion on the way.
func decimalNumber(s string) types.AttributeValue { return &types.AttributeValueMemberN{Value: s} }

func decodeStoredEvent(av map[string]types.AttributeValue) (*eventItem, bool, error) {
	var it eventItem
	if av == nil {
		return nil, false, storeError("writeEvent", errors.New("condition failed without the stored item"))
	}
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return nil, false, storeError("writeEvent", err)
	}
	return &it, false, nil
}

func creditsOf(items []creditItem) []refx.Credit {
	out := make([]refx.Credit, len(items))
	for i, c := range items {
		out[i] = refx.Credit(c)
	}
	return out
}
