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
	// capped is the value the credit counts when the goal's cap lowered
	// the event's, as the credit item stores it.
	capped *string
	// For a valued event: the user's total on the goal before (total) and
	// after (next) it, and growth = next² − total², its share of Σ over
	// participants of (their total value)², all of the capped value.
	total, next, growth *big.Rat
	// count is, for a binomial goal a ratio metric uses, the user's number
	// of events of it before this one; nil otherwise.
	count *big.Rat
	// ratioProducts are the credit's RatioProducts, computed from the
	// user's totals of the ratios' other goals; pins are those totals as
	// read, which the write requires unchanged, so that a concurrent event
	// of the same user on the other goal cannot leave out its Δa·Δb.
	ratioProducts map[string]*big.Rat
	pins          []pin
	// version is, for an event that is not the user's first conversion
	// of a goal refunds have touched, the state's version as read
	// (cv_<goal>): the write requires it and the conversion unchanged, so
	// that a refund removing the conversion meanwhile makes it plan again
	// (as the first), and bumps it, so that such a removal planned before
	// the write fails and looks again (see converge).
	version *big.Rat
}

// pin is a user total a write requires unchanged: its attribute on the
// assignment and the value read.
type pin struct {
	attr  string
	total *big.Rat
}

// planRatios plans what the event adds to the ratio metrics using its goal
// g: per ratio Δa·b, Δa the growth of the user's total of g (the counted
// value, or one event of a binomial goal) and b their total of the other
// goal, read from the same assignment.
func (c *credit) planRatios(g refx.Goal) {
	var delta *big.Rat
	for _, r := range c.exp.RatioMetrics {
		var other string
		switch g.Key {
		case r.Numerator:
			other = r.Denominator
		case r.Denominator:
			other = r.Numerator
		default:
			continue
		}
		if delta == nil {
			switch {
			case g.Kind == refx.GoalValue && c.growth == nil:
				return // no value: the total does not move
			case g.Kind == refx.GoalValue:
				delta = new(big.Rat).Sub(c.next, c.total)
			default:
				_, c.count = ratioTotal(c.asn, g)
				delta = one
			}
		}
		h, _ := c.exp.Goal(other)
		attr, b := ratioTotal(c.asn, h)
		c.pins = append(c.pins, pin{attr, b})
		if b.Sign() != 0 {
			if c.ratioProducts == nil {
				c.ratioProducts = map[string]*big.Rat{}
			}
			c.ratioProducts[r.Key] = new(big.Rat).Mul(delta, b)
		}
	}
}

// RecordEvent records an event exactly once. The event item is the
// idempotency key: it is put on the condition that its id is new, carrying
// its credits and the deltas they contribute, which the aggregator adds to
// the counters from the stream. A retry finds the item and compares
// fingerprints: equal is a duplicate, different is a reused key. Credits go
// to the variants the server assigned, read with a consistent query, never
// to what a client claims.
//
// An untrusted event that would count for a server-only goal is refused
// whole and not recorded: recording it without that credit would spend its
// id, and the backend's send of the same event, with a secret key, would
// then be a duplicate that never counts. Refused, the id stays free for it;
// and once the backend has sent it, the browser's copy is the duplicate it
// is.
func (s *Store) RecordEvent(ctx context.Context, e *refx.Event) (*refx.EventResult, error) {
	if e.IsRefund() {
		return s.recordRefund(ctx, e)
	}
	item, err := s.newEventItem(e)
	if err != nil {
		return nil, err
	}
	for attempt := 0; attempt < maxStateRetries; attempt++ {
		credits, referral, err := s.planCredits(ctx, e)
		if refx.ErrorCode(err) == refx.EFORBIDDEN {
			return s.refuseUntrusted(ctx, &item, err)
		}
		if err != nil {
			return nil, err
		}
		item.Credits = make([]creditItem, 0, len(credits)+1)
		for _, c := range credits {
			ci := creditItem{Experiment: c.exp.ID, Phase: c.asn.Phase, Variant: c.asn.Variant, FirstConversion: c.first, Value: c.capped}
			if x := c.asn.Covariates[e.Type]; x != "" && x != "0" {
				ci.Covariate = x
			}
			if c.count != nil {
				sq := new(big.Rat).Add(c.count, c.count)
				ci.EventsSqDelta = attributevalue.Number(formatDecimal(sq.Add(sq, one)))
			}
			for key, p := range c.ratioProducts {
				if ci.RatioProducts == nil {
					ci.RatioProducts = map[string]attributevalue.Number{}
				}
				ci.RatioProducts[key] = attributevalue.Number(formatDecimal(p))
			}
			if c.growth != nil {
				ci.ParticipantSqDelta = attributevalue.Number(formatDecimal(c.growth))
			}
			item.Credits = append(item.Credits, ci)
		}
		if referral != nil {
			item.Credits = append(item.Credits, creditItem{
				Experiment: referral.exp.ID, Variant: referral.attr.Variant,
				FirstConversion: referral.first, Referrer: referral.attr.Referrer, Code: referral.attr.Code, Channel: referral.attr.Channel,
				Value: referral.capped, Program: referral.program,
			})
		}
		stored, stale, err := s.writeEvent(ctx, item, credits, referral)
		switch {
		case err != nil:
			return nil, err
		case stored != nil:
			return answerStored(&item, stored)
		case stale:
			continue
		}
		return &refx.EventResult{ID: e.ID, Status: refx.EventRecorded, Credits: creditsOf(item.Credits)}, nil
	}
	return nil, refx.Errorf(refx.EUNAVAILABLE, "the user's experiments keep changing; send the same event again")
}

// newEventItem is the item recording e, received now, without credits.
func (s *Store) newEventItem(e *refx.Event) (eventItem, error) {
	now := s.opts.Now().UTC()
	item := eventItem{
		Key: eventKey(e.ID), Entity: entityEvent,
		GSI1PK: userEventsPK(e.User), GSI1SK: userEventsSK(now, e.ID),
		ID: e.ID, Type: e.Type, User: e.User,
		OccurredAt: now, ReceivedAt: now, Fingerprint: e.Fingerprint(), Code: e.ReferralCode,
		Credits:   []creditItem{},
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
			return item, refx.FieldErrorf("properties", "must be JSON")
		}
		item.Properties = string(b)
	}
	return item, nil
}

// answerStored answers an event whose id is already stored: a duplicate
// when it is the same event, a reused key otherwise.
func answerStored(item, stored *eventItem) (*refx.EventResult, error) {
	if stored.Fingerprint != item.Fingerprint {
		return nil, &refx.Error{Code: refx.EKEYREUSED, Field: "id",
			Message: "this idempotency key was already used for a different event"}
	}
	return &refx.EventResult{ID: item.ID, Status: refx.EventDuplicate, Credits: creditsOf(stored.Credits)}, nil
}

// refuseUntrusted answers an untrusted event refused for a server-only
// goal. Its id may already be stored, sent by the backend: that is a
// duplicate (or a reused key), not a refusal. The read costs only refused
// events.
func (s *Store) refuseUntrusted(ctx context.Context, item *eventItem, refusal error) (*refx.EventResult, error) {
	var stored eventItem
	found, err := s.getItem(ctx, "RecordEvent", item.Key, &stored)
	switch {
	case err != nil:
		return nil, err
	case found:
		return answerStored(item, &stored)
	}
	return nil, refusal
}

// serverOnly refuses an untrusted event for a server-only goal.
func serverOnly(goal string) error {
	return &refx.Error{Code: refx.EFORBIDDEN, Field: "type",
		Message: "events of type " + goal + " count only when sent from a server with a secret key"}
}

// countedValue returns the value a credit of goal g counts (nil when the
// event has none) and, when g's cap lowered the event's value, that capped
// value as the credit item stores it.
func countedValue(g refx.Goal, v *refx.Decimal) (*refx.Decimal, *string) {
	if v == nil {
		return nil, nil
	}
	counted, lowered := g.Capped(*v)
	if !lowered {
		return v, nil
	}
	s := counted.String()
	return &counted, &s
}

// planCredits finds the running experiments the user is assigned to that
// measure the event's type, and the referral credit the event earns the
// user's referrer, if any. EFORBIDDEN when the event is untrusted and one
// of them is a server-only goal.
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
		if exp.Status != refx.StatusRunning || max(a.Phase, 1) != exp.CurrentPhase() {
			// Only an enrolment in the current phase counts: a user of
			// an earlier phase only is not in this one until assigned.
			continue
		}
		g, ok := exp.Goal(e.Type)
		if !ok {
			continue
		}
		if g.ServerOnly && !e.Trusted {
			return nil, nil, serverOnly(g.Key)
		}
		if len(credits) == maxCredits {
			s.opts.Logger.WarnContext(ctx, "event matches more experiments than one transaction holds; crediting the first",
				"event", e.ID, "user_experiments", len(asns), "credited", maxCredits)
			break
		}
		c := credit{exp: exp, asn: a, first: !hasConverted(a, e.Type)}
		if v, ok := a.ConversionVersions[e.Type]; ok && !c.first {
			c.version, _ = new(big.Rat).SetString(v)
		}
		value, capped := countedValue(g, e.Value)
		c.capped = capped
		if value != nil && !value.IsZero() {
			v, _ := new(big.Rat).SetString(value.String())
			c.total = valueTotal(a, e.Type)
			c.next = new(big.Rat).Add(c.total, v)
			c.growth = new(big.Rat).Mul(c.next, c.next)
			c.growth.Sub(c.growth, new(big.Rat).Mul(c.total, c.total))
		}
		c.planRatios(g)
		credits = append(credits, c)
	}
	referral, err := s.planReferralCredit(ctx, e, attr)
	if err != nil || referral == nil {
		return credits, referral, err
	}
	// The referee's conversion follows the experiment's goal of that type,
	// when it lists one (ReferralConfig.ConversionGoal).
	g, _ := referral.exp.Goal(e.Type)
	if g.ServerOnly && !e.Trusted {
		return nil, nil, serverOnly(g.Key)
	}
	_, referral.capped = countedValue(g, e.Value)
	return credits, referral, nil
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
				readUserTotals(&a, item)
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

// writeEvent puts the event item if its id is new. When the event changes
// its user's own state (a first conversion, the user's running value
// total), those updates share the put's transaction: every item in it is the
// user's or the event's, so only the same user's concurrent events can
// conflict. It returns the stored event when the id was already used, or
// stale when the user's state moved since it was read and the event must be
// planned again.
func (s *Store) writeEvent(ctx context.Context, item eventItem, credits []credit, referral *referralCredit) (stored *eventItem, stale bool, err error) {
	write, err := putIfAbsent(s.table, item)
	if err != nil {
		return nil, false, storeError("writeEvent", err)
	}
	var updates []types.TransactWriteItem
	for _, c := range credits {
		if !c.first && c.growth == nil && c.count == nil && c.version == nil {
			continue
		}
		u, err := userStateUpdate(s.table, item.Type, c)
		if err != nil {
			return nil, false, storeError("writeEvent", err)
		}
		updates = append(updates, u)
	}
	if referral != nil && referral.first {
		u, err := conditionalUpdate(s.table, referral.attr.Key,
			expression.Set(expression.Name("converted_at"), expression.Value(item.ReceivedAt)),
			expression.AttributeNotExists(expression.Name("converted_at")))
		if err != nil {
			return nil, false, storeError("writeEvent", err)
		}
		updates = append(updates, u)
	} else if v := referral.versionRead(); v != nil {
		// As a credit's version: a refund may be removing the conversion.
		name := expression.Name("conversion_version")
		u, err := conditionalUpdate(s.table, referral.attr.Key,
			expression.Set(name, expression.Value(*v+1)),
			expression.AttributeExists(expression.Name("converted_at")).And(name.Equal(expression.Value(*v))))
		if err != nil {
			return nil, false, storeError("writeEvent", err)
		}
		updates = append(updates, u)
	}
	if len(updates) == 0 {
		// The event alone: one conditional put.
		failed, err := s.putIf(ctx, "writeEvent", write.Put.Item, absent())
		if failed != nil {
			return decodeStoredEvent(failed.Item)
		}
		return nil, false, err
	}
	err = s.transact(ctx, "writeEvent", append([]types.TransactWriteItem{write}, updates...))
	reasons := cancellationReasons(err)
	switch {
	case err == nil:
		return nil, false, nil
	case conditionFailed(reasons, 0):
		return decodeStoredEvent(reasons[0].Item)
	case anyConditionFailed(reasons):
		return nil, true, nil
	}
	return nil, false, storeError("writeEvent", err)
}

// userStateUpdate records on the user's assignment what the next event
// needs to know (converted on the goal, the running value total), on the
// condition that it still holds what the plan read.
func userStateUpdate(table *string, goal string, c credit) (types.TransactWriteItem, error) {
	var mark expression.UpdateBuilder
	cond := expression.AttributeExists(expression.Name(AttrPK))
	if c.first {
		mark = mark.Add(expression.Name("converted"), expression.Value(&types.AttributeValueMemberSS{Value: []string{goal}}))
		cond = cond.And(expression.Not(expression.Name("converted").Contains(goal)))
	}
	if c.growth != nil {
		name := expression.Name(valueTotalPrefix + goal)
		mark = mark.Set(name, expression.Value(decimalNumber(string(formatDecimal(c.next)))))
		cond = cond.And(unchanged(name, c.total))
	}
	if c.count != nil {
		name := expression.Name(eventCountPrefix + goal)
		mark = mark.Set(name, expression.Value(decimalNumber(string(formatDecimal(new(big.Rat).Add(c.count, one))))))
		cond = cond.And(unchanged(name, c.count))
	}
	if c.version != nil {
		name := expression.Name(conversionVersionPrefix + goal)
		mark = mark.Set(name, expression.Value(decimalNumber(string(formatDecimal(new(big.Rat).Add(c.version, one))))))
		cond = cond.And(expression.Name("converted").Contains(goal)).And(unchanged(name, c.version))
	}
	for _, p := range c.pins {
		cond = cond.And(unchanged(expression.Name(p.attr), p.total))
	}
	return conditionalUpdate(table, c.asn.Key, mark, cond)
}

// unchanged is the condition that a user total still holds what was read;
// an absent total is zero.
func unchanged(name expression.NameBuilder, total *big.Rat) expression.ConditionBuilder {
	if total.Sign() == 0 {
		return expression.AttributeNotExists(name).Or(name.Equal(expression.Value(decimalNumber("0"))))
	}
	return name.Equal(expression.Value(decimalNumber(string(formatDecimal(total)))))
}

// conditionalUpdate is a transaction item applying update on cond.
func conditionalUpdate(table *string, key itemKey, update expression.UpdateBuilder, cond expression.ConditionBuilder) (types.TransactWriteItem, error) {
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName: table, Key: key.Attributes(),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}}, nil
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
		out[i] = refx.Credit{Experiment: c.Experiment, Variant: c.Variant, FirstConversion: c.FirstConversion,
			Referrer: c.Referrer, Capped: c.Capped()}
	}
	return out
}
