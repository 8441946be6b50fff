package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/item"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stream"
)

var _ refx.RewardService = (*Store)(nil)

// The rewards ledger. A reward is created from the table's stream, never on
// the request path: the reward reactor runs after the aggregator applied a
// batch, reads the qualifying records (an attribution becoming attributed,
// a referee's event carrying a referral credit), and for each rule of the
// referrer's variant puts the reward on its deterministic key
// (REWARD#<qualifying>, REFERRER|REFEREE) if absent, in one transaction
// with the conditional ADD of the beneficiary's cap item. Exactly once: a
// redelivered record finds its reward and writes nothing; a reward past a
// cap is put too, rejected, so that a redelivery decides the same. Caps
// are exact under concurrency: two rewards racing for a beneficiary's
// last slot both condition on the one cap item, so DynamoDB serializes
// them and the loser's condition fails.
//
// Cap counts only grow: a reversed or rejected-by-hand reward keeps its
// slot, so "5 a month" means five rewards were earned, whatever became of
// them, and a reversal can never let an old qualifying event in again.

const (
	entityReward    = "reward"
	entityRewardCap = "reward_cap"
	// The cap item's attributes: m_<yyyymm> rewards in a month of the
	// qualifying events, lifetime in all, and per status and currency the
	// count and amount of the beneficiary's rewards (RewardsEarned).
	capMonthPrefix  = "m_"
	capLifetime     = "lifetime"
	capAmountPrefix = "amt_"
	capCountPrefix  = "n_"
	// maxReleasePerRun bounds the holds one ReleaseHolds call releases;
	// the schedule's next run takes the rest.
	maxReleasePerRun = 500
)

type rewardItem = item.Reward

func rewardPlanJSON(p *refx.RewardPlan) string {
	if p == nil {
		return ""
	}
	b, _ := json.Marshal(p) // strings and ints only
	return string(b)
}

func rewardPlanOf(s string) *refx.RewardPlan {
	if s == "" {
		return nil
	}
	var p refx.RewardPlan
	if json.Unmarshal([]byte(s), &p) != nil {
		return nil
	}
	return &p
}

// qualifying is a signup or an event that may earn rewards.
type qualifying struct {
	key               string // refx.SignupQualifying or EventQualifying
	event             string // the qualifying event's id; "" for a signup
	on                string // "signup" or the event's type
	value             *refx.Decimal
	at                time.Time // when it happened: the cap month and the hold start
	referrer, referee string
	code, experiment  string
	variant           string
	// program is set when the code's experiment had ended: the program's
	// current offer pays, capped per program.
	program string
}

// RewardReactor creates the rewards of a batch of stream records. It is
// idempotent (aggregate.Options.Reactors run it on every delivery of a
// batch): each reward is put if absent on its deterministic key.
func (s *Store) RewardReactor(ctx context.Context, records []*stream.Record) error {
	for _, r := range records {
		if r.Change == stream.Insert {
			switch stream.StringAttr(r.New, "entity") {
			case entityRefund:
				if err := s.ReverseRewards(ctx, refx.EventQualifying(stream.StringAttr(r.New, "refunded_event")), refx.RewardReasonRefund); err != nil {
					return err
				}
				continue
			case entityDecision:
				if stream.StringAttr(r.New, "decision") == refx.DecisionReject {
					if err := s.reverseRefereeRewards(ctx, stream.StringAttr(r.New, "referee")); err != nil {
						return err
					}
				}
				continue
			}
		}
		q, err := qualifyingOf(r)
		if err != nil {
			// The aggregator reported the record as undecodable already.
			s.opts.Logger.WarnContext(ctx, "rewards: record skipped", "sequence_number", r.SequenceNumber, "err", err)
			continue
		}
		for _, q := range q {
			if err := s.grantRewards(ctx, q); err != nil {
				return err
			}
		}
	}
	return nil
}

// qualifyingOf returns what a record qualifies for rewards: an attribution
// inserted as attributed, or changed to attributed (a review's approval);
// an event's insert, once per referral credit.
func qualifyingOf(r *stream.Record) ([]qualifying, error) {
	if r.New == nil {
		return nil, nil
	}
	switch stream.StringAttr(r.New, "entity") {
	case entityAttrib:
		if stream.StringAttr(r.New, "status") != refx.AttributionAttributed ||
			(r.Change == stream.Modify && stream.StringAttr(r.Old, "status") == refx.AttributionAttributed) ||
			(r.Change != stream.Insert && r.Change != stream.Modify) {
			return nil, nil
		}
		var a attributionItem
		if err := decodeImage(r.New, &a); err != nil {
			return nil, err
		}
		return []qualifying{{
			key: refx.SignupQualifying(a.Referee), on: refx.RewardOnSignup, at: a.AttributedAt,
			referrer: a.Referrer, referee: a.Referee, code: a.Code, experiment: a.Experiment, variant: a.Variant,
			program: a.Program,
		}}, nil
	case entityEvent:
		if r.Change != stream.Insert {
			return nil, nil
		}
		var e eventItem
		if err := decodeImage(r.New, &e); err != nil {
			return nil, err
		}
		var value *refx.Decimal
		if e.Value != nil {
			v, err := refx.ParseDecimal(*e.Value)
			if err != nil {
				return nil, err
			}
			value = &v
		}
		var out []qualifying
		for _, c := range e.Credits {
			if c.Referrer == "" {
				continue
			}
			out = append(out, qualifying{
				key: refx.EventQualifying(e.ID), event: e.ID, on: e.Type, value: value, at: e.ReceivedAt,
				referrer: c.Referrer, referee: e.User, code: c.Code, experiment: c.Experiment, variant: c.Variant,
				program: c.Program,
			})
		}
		return out, nil
	}
	return nil, nil
}

// rewardPlan is what pays for q, and the cap scope: the code's variant's
// plan while its experiment runs, the program's current offer's after
// (its caps are the program's). nil when the experiment or program is gone.
func (s *Store) rewardPlan(ctx context.Context, q qualifying) (*refx.RewardPlan, string, error) {
	if q.program != "" {
		p, err := s.readProgram(ctx, q.program, false)
		if refx.ErrorCode(err) == refx.ENOTFOUND {
			return nil, "", nil
		}
		if err != nil {
			return nil, "", err
		}
		return p.CurrentOffer.Rewards, "PROGRAM#" + q.program, nil
	}
	exp, err := s.cachedExperiment(ctx, q.experiment)
	if refx.ErrorCode(err) == refx.ENOTFOUND {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	return exp.VariantRewards(q.variant), "EXP#" + q.experiment, nil
}

// grantRewards puts the rewards q's plan pays.
func (s *Store) grantRewards(ctx context.Context, q qualifying) error {
	plan, scope, err := s.rewardPlan(ctx, q)
	if err != nil {
		return err
	}
	for _, rr := range plan.Rules() {
		rule := rr.Rule
		if rule.On != q.on || !rule.Qualifies(q.value) {
			continue
		}
		amount, ok := rule.AmountFor(q.value)
		if !ok {
			continue
		}
		beneficiary := q.referrer
		if rr.Role == refx.RewardReferee {
			beneficiary = q.referee
		}
		if err := s.grantReward(ctx, q, scope, rr.Role, beneficiary, rule, amount); err != nil {
			return err
		}
	}
	return nil
}

// grantReward puts one reward if absent, with its cap item's ADD
// conditioned on the caps; past a cap, the reward is put rejected.
func (s *Store) grantReward(ctx context.Context, q qualifying, scope, role, beneficiary string, rule *refx.RewardRule, amount refx.Decimal) error {
	const op = "grantReward"
	now := s.opts.Now().UTC()
	id := refx.RewardID(q.key, role)
	it := rewardItem{
		Key: rewardKey(q.key, role), Entity: entityReward, ID: id, Role: role, Beneficiary: beneficiary,
		Referrer: q.referrer, Referee: q.referee, Code: q.code, Experiment: q.experiment, Program: q.program, Variant: q.variant,
		Amount: amount.String(), Currency: rule.Currency, QualifyingEvent: q.key,
		CapScope: scope, CreatedAt: now, UpdatedAt: now, By: &item.Actor{ID: refx.SystemActor.ID, Name: refx.SystemActor.Name},
	}
	it.Status = refx.RewardApproved
	if rule.HoldDays > 0 {
		hold := q.at.UTC().Add(time.Duration(rule.HoldDays) * 24 * time.Hour)
		it.Status, it.HoldUntil = refx.RewardPending, &hold
	}
	setListing(&it)
	month := capMonthPrefix + q.at.UTC().Format("200601")
	var capCond *expression.ConditionBuilder
	for _, c := range []struct {
		attr string
		cap  int
	}{{month, rule.CapPerMonth}, {capLifetime, rule.CapLifetime}} {
		if c.cap == 0 {
			continue
		}
		cond := underCap(c.attr, c.cap)
		if capCond != nil {
			cond = capCond.And(cond)
		}
		capCond = &cond
	}
	guards, err := s.eventGuards(q)
	if err != nil {
		return storeError(op, err)
	}
	err = s.putReward(ctx, it, month, capCond, guards)
	reasons := cancellationReasons(err)
	switch {
	case err == nil, conditionFailed(reasons, 0):
		return nil // put now, or by an earlier delivery
	case conditionFailed(reasons, 2):
		// The event was refunded before its reward was granted (its
		// record and the refund's may be handled in either order): the
		// reward is put reversed, taking no cap slot.
		return s.putReversed(ctx, op, it, refx.RewardReasonRefund)
	case conditionFailed(reasons, 3):
		return s.putReversed(ctx, op, it, refx.RewardReasonReviewRejected)
	case !conditionFailed(reasons, 1):
		return storeError(op, err)
	}
	// Past a cap: which one, read from the item that refused.
	capKey := rewardCapKey(beneficiary, it.CapScope)
	got, err := s.getItems(ctx, op, capKey)
	if err != nil {
		return err
	}
	counts := got[capKey]
	it.Status, it.HoldUntil, it.Reason = refx.RewardRejected, nil, refx.RewardReasonCapLifetime
	if rule.CapPerMonth > 0 && numberAttr(counts, month) >= int64(rule.CapPerMonth) {
		it.Reason = refx.RewardReasonCapMonth
	}
	setListing(&it)
	return s.putRewardOnce(ctx, op, it)
}

// eventGuards are the conditions an event's reward is granted on, checked
// in its transaction: the event is not refunded (reason 2) and the
// referee's attribution not rejected (reason 3). The records of a refund
// or a rejection and of the event sit on other shards and may be handled
// in either order; their reactors reverse the rewards they read after
// their item was put, so either they see this reward or this check sees
// them. A signup's reward needs none: its attribution's changes and the
// decision share the referee's partition, so its shard delivers them in
// order.
func (s *Store) eventGuards(q qualifying) ([]types.TransactWriteItem, error) {
	if q.event == "" {
		return nil, nil
	}
	unrefunded, err := conditionCheck(s.table, refundKey(q.event), absent())
	if err != nil {
		return nil, err
	}
	status := expression.Name("status")
	notRejected, err := conditionCheck(s.table, attributionKey(q.referee),
		expression.AttributeNotExists(status).Or(status.NotEqual(expression.Value(refx.AttributionRejected))))
	if err != nil {
		return nil, err
	}
	return []types.TransactWriteItem{unrefunded, notRejected}, nil
}

// putReversed puts a reward reversed before it was granted, for reason.
func (s *Store) putReversed(ctx context.Context, op string, it rewardItem, reason string) error {
	it.Status, it.HoldUntil, it.Reason = refx.RewardReversed, nil, reason
	setListing(&it)
	return s.putRewardOnce(ctx, op, it)
}

// reverseRefereeRewards reverses the rewards a rejected referee's signup
// and events earned: the events are found on the referee's gsi1 listing,
// each reversal is idempotent, and eventGuards stop an event's reward
// granted after this read.
func (s *Store) reverseRefereeRewards(ctx context.Context, referee string) error {
	if err := s.ReverseRewards(ctx, refx.SignupQualifying(referee), refx.RewardReasonReviewRejected); err != nil {
		return err
	}
	in, err := s.indexKeysQuery(userEventsPK(referee), AttrPK, AttrSK, "entity", "id")
	if err != nil {
		return err
	}
	events, err := s.queryItems(ctx, "reverseRefereeRewards", in)
	if err != nil {
		return err
	}
	for _, e := range events {
		if stream.StringAttr(e, "entity") != entityEvent {
			continue
		}
		if err := s.ReverseRewards(ctx, refx.EventQualifying(stream.StringAttr(e, "id")), refx.RewardReasonReviewRejected); err != nil {
			return err
		}
	}
	return nil
}

// putRewardOnce puts a reward that takes no cap slot, if absent.
func (s *Store) putRewardOnce(ctx context.Context, op string, it rewardItem) error {
	err := s.putReward(ctx, it, "", nil, nil)
	if err == nil || conditionFailed(cancellationReasons(err), 0) {
		return nil
	}
	return storeError(op, err)
}

// conditionCheck is a transaction item requiring cond of key's item.
func conditionCheck(table *string, key itemKey, cond expression.ConditionBuilder) (types.TransactWriteItem, error) {
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: table, Key: key.Attributes(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}}, nil
}

// underCap is the condition that a cap item's count attr is below cap.
func underCap(attr string, cap int) expression.ConditionBuilder {
	name := expression.Name(attr)
	return expression.AttributeNotExists(name).Or(name.LessThan(expression.Value(cap)))
}

// putReward puts it if absent and adds it to its cap item's totals; month
// is the cap slot it takes ("" for a rejected reward, which takes none),
// capCond the cap item's condition (nil: no cap), guards further checks
// (eventGuards). The reward's put is reason 0, the cap item's reason 1,
// the guards' 2 on.
func (s *Store) putReward(ctx context.Context, it rewardItem, month string, capCond *expression.ConditionBuilder, guards []types.TransactWriteItem) error {
	put, err := putIfAbsent(s.table, it)
	if err != nil {
		return err
	}
	var update expression.UpdateBuilder
	update = addTotals(update, it, it.Status, 1).
		Set(expression.Name("entity"), expression.Value(entityRewardCap)).
		Set(expression.Name("beneficiary"), expression.Value(it.Beneficiary))
	if month != "" {
		update = update.Add(expression.Name(month), expression.Value(1)).Add(expression.Name(capLifetime), expression.Value(1))
	}
	var capWrite types.TransactWriteItem
	if capCond != nil {
		capWrite, err = conditionalUpdate(s.table, rewardCapKey(it.Beneficiary, it.CapScope), update, *capCond)
	} else {
		capWrite, err = updateItem(s.table, rewardCapKey(it.Beneficiary, it.CapScope), update)
	}
	if err != nil {
		return err
	}
	return s.transact(ctx, "putReward", append([]types.TransactWriteItem{put, capWrite}, guards...))
}

// addTotals adds to u the ADD of sign times the reward to its status's
// count and amount on the cap item.
func addTotals(u expression.UpdateBuilder, it rewardItem, status string, sign int) expression.UpdateBuilder {
	amount := it.Amount
	if sign < 0 {
		amount = "-" + amount
	}
	suffix := status + "_" + it.Currency
	return u.Add(expression.Name(capCountPrefix+suffix), expression.Value(sign)).
		Add(expression.Name(capAmountPrefix+suffix), expression.Value(decimalNumber(amount)))
}

// setListing files a reward on gsi1 under its status: a pending one by the
// end of its hold, the others by their last change.
func setListing(it *rewardItem) {
	it.GSI1PK = rewardListPK(it.Status)
	at := it.UpdatedAt
	if it.Status == refx.RewardPending && it.HoldUntil != nil {
		at = *it.HoldUntil
	}
	it.GSI1SK = rewardListSK(at, it.ID)
}

func numberAttr(av map[string]types.AttributeValue, name string) int64 {
	n, ok := av[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	v, _ := strconv.ParseInt(n.Value, 10, 64)
	return v
}

// Reward reads one reward.
func (s *Store) Reward(ctx context.Context, id string) (*refx.Reward, error) {
	it, err := s.rewardItem(ctx, id)
	if err != nil {
		return nil, err
	}
	return rewardOf(*it), nil
}

func (s *Store) rewardItem(ctx context.Context, id string) (*rewardItem, error) {
	q, role, err := refx.ParseRewardID(id)
	if err != nil {
		return nil, err
	}
	var it rewardItem
	found, err := s.getItem(ctx, "Reward", rewardKey(q, role), &it)
	switch {
	case err != nil:
		return nil, err
	case !found:
		return nil, refx.Errorf(refx.ENOTFOUND, "reward %s not found", id)
	}
	return &it, nil
}

// MoveReward applies an admin's move: one transaction of the reward's
// conditional status change, its cap item's totals and the audit entry.
// The same move again (the reward already has the status, and an issue
// the same reference) returns the reward unchanged.
func (s *Store) MoveReward(ctx context.Context, id string, m refx.RewardMove) (*refx.Reward, error) {
	const op = "MoveReward"
	for attempt := 0; attempt < maxStateRetries; attempt++ {
		it, err := s.rewardItem(ctx, id)
		if err != nil {
			return nil, err
		}
		to, done, err := m.Action.Move(it.Status)
		switch {
		case err != nil:
			return nil, err
		case done && m.Action == refx.RewardIssue && it.IssuedRef != m.Reference:
			return nil, refx.Errorf(refx.ECONFLICT, "reward %s was issued with another reference (%s)", id, it.IssuedRef)
		case done:
			return rewardOf(*it), nil
		}
		before := rewardOf(*it)
		next := s.moved(ctx, *it, to, m.Note, m.Reference)
		after := rewardOf(next)
		entry, err := s.auditNotePut(ctx, refx.AuditReward, id, string(m.Action), m.Note, before, after)
		if err != nil {
			return nil, storeError(op, err)
		}
		items, err := s.moveItems(*it, next)
		if err != nil {
			return nil, storeError(op, err)
		}
		err = s.transact(ctx, op, append(items, entry))
		switch {
		case err == nil:
			return after, nil
		case conditionFailed(cancellationReasons(err), 0):
			continue // moved meanwhile: decide again on what it is now
		}
		return nil, storeError(op, err)
	}
	return nil, refx.Errorf(refx.EUNAVAILABLE, "reward %s keeps changing; send the same request again", id)
}

// moved is it moved to status by ctx's actor, for reason (a note), with
// the shop's reference of an issue.
func (s *Store) moved(ctx context.Context, it rewardItem, status, reason, ref string) rewardItem {
	actor := toActorItem(refx.ActorOf(ctx))
	it.Status, it.UpdatedAt, it.By = status, s.opts.Now().UTC(), &actor
	if reason != "" {
		it.Reason = reason
	}
	if ref != "" {
		it.IssuedRef = ref
	}
	setListing(&it)
	return it
}

// moveItems are the writes of a move from old to next: the reward, on the
// condition that its status is still old's (reason 0), and its amount
// moved between the status totals of its cap item.
func (s *Store) moveItems(old, next rewardItem) ([]types.TransactWriteItem, error) {
	update := expression.Set(expression.Name("status"), expression.Value(next.Status)).
		Set(expression.Name("updated_at"), expression.Value(next.UpdatedAt)).
		Set(expression.Name(AttrGSI1PK), expression.Value(next.GSI1PK)).
		Set(expression.Name(AttrGSI1SK), expression.Value(next.GSI1SK)).
		Set(expression.Name("by"), expression.Value(next.By))
	if next.Reason != "" {
		update = update.Set(expression.Name("reason"), expression.Value(next.Reason))
	}
	if next.IssuedRef != "" {
		update = update.Set(expression.Name("issued_ref"), expression.Value(next.IssuedRef))
	}
	reward, err := conditionalUpdate(s.table, old.Key, update, expression.Name("status").Equal(expression.Value(old.Status)))
	if err != nil {
		return nil, err
	}
	var totals expression.UpdateBuilder
	totals = addTotals(addTotals(totals, old, old.Status, -1), next, next.Status, 1)
	capWrite, err := updateItem(s.table, rewardCapKey(old.Beneficiary, old.CapScope), totals)
	if err != nil {
		return nil, err
	}
	return []types.TransactWriteItem{reward, capWrite}, nil
}

// ReleaseHolds approves the pending rewards whose hold ended by now, at
// most maxReleasePerRun a call, and returns how many it approved. Each
// move is conditional on the reward still being pending, so two runs, or
// a run racing an admin's move, approve a reward at most once. A reward
// whose code or referrer is blocked stays held.
func (s *Store) ReleaseHolds(ctx context.Context, now time.Time) (int, error) {
	const op = "ReleaseHolds"
	keys, err := expression.NewBuilder().WithKeyCondition(
		expression.Key(AttrGSI1PK).Equal(expression.Value(rewardListPK(refx.RewardPending))).
			And(expression.Key(AttrGSI1SK).LessThanEqual(expression.Value(timeSK(now) + "#~")))).Build()
	if err != nil {
		return 0, storeError(op, err)
	}
	in := s.queryInput(keys, false)
	in.IndexName, in.Limit = aws.String(IndexGSI1), aws.Int32(100)
	released := 0
	ctx = refx.WithActor(ctx, refx.SystemActor)
	for {
		var page []rewardItem
		var next map[string]types.AttributeValue
		err := s.retry(ctx, op, func() error {
			out, err := s.client.Query(ctx, in)
			if err != nil {
				return err
			}
			next = out.LastEvaluatedKey
			return attributevalue.UnmarshalListOfMaps(out.Items, &page)
		})
		if err != nil {
			return released, storeError(op, err)
		}
		for _, it := range page {
			if released == maxReleasePerRun {
				return released, nil
			}
			blocked, err := s.blocked(ctx, it.Code, it.Referrer)
			if err != nil {
				return released, err
			}
			if blocked {
				continue
			}
			items, err := s.moveItems(it, s.moved(ctx, it, refx.RewardApproved, "", ""))
			if err != nil {
				return released, storeError(op, err)
			}
			err = s.transact(ctx, op, items)
			switch {
			case err == nil:
				released++
			case conditionFailed(cancellationReasons(err), 0):
				// Moved since the index was read.
			default:
				return released, storeError(op, err)
			}
		}
		if next == nil {
			return released, nil
		}
		in.ExclusiveStartKey = next
	}
}

// ReverseRewards reverses every reward of a qualifying signup or event
// (refx.SignupQualifying, EventQualifying) that is not already reversed or
// rejected, for reason ("refund", "review_rejected"): an issued one too,
// which records a chargeback. Idempotent: each move is conditional on the
// status read, and a reversed reward stays reversed. Called from stream
// handling (a refund, a rejected review), after the rewards of the same
// record were granted: the reward reactor runs first.
func (s *Store) ReverseRewards(ctx context.Context, qualifying, reason string) error {
	const op = "ReverseRewards"
	ctx = refx.WithActor(ctx, refx.SystemActor)
	for attempt := 0; attempt < maxStateRetries; attempt++ {
		got, err := s.getItems(ctx, op, rewardKey(qualifying, refx.RewardReferrer), rewardKey(qualifying, refx.RewardReferee))
		if err != nil {
			return err
		}
		var items []types.TransactWriteItem
		for _, av := range got {
			var it rewardItem
			if err := attributevalue.UnmarshalMap(av, &it); err != nil {
				return storeError(op, err)
			}
			if it.Status == refx.RewardReversed || it.Status == refx.RewardRejected {
				continue
			}
			moves, err := s.moveItems(it, s.moved(ctx, it, refx.RewardReversed, reason, ""))
			if err != nil {
				return storeError(op, err)
			}
			items = append(items, moves...)
		}
		if len(items) == 0 {
			return nil
		}
		err = s.transact(ctx, op, items)
		switch {
		case err == nil:
			return nil
		case anyConditionFailed(cancellationReasons(err)):
			continue // one moved meanwhile: read again
		}
		return storeError(op, err)
	}
	return refx.Errorf(refx.EUNAVAILABLE, "rewards of %s keep changing; try again", qualifying)
}

// RewardsEarned totals a beneficiary's rewards per currency and status,
// over every cap scope: one query of their cap items' partition.
func (s *Store) RewardsEarned(ctx context.Context, beneficiary string) ([]refx.RewardTotal, error) {
	const op = "RewardsEarned"
	keys, err := expression.NewBuilder().WithKeyCondition(
		expression.Key(AttrPK).Equal(expression.Value(rewardCapPrefix + beneficiary))).Build()
	if err != nil {
		return nil, storeError(op, err)
	}
	items, err := s.queryItems(ctx, op, s.queryInput(keys, false))
	if err != nil {
		return nil, err
	}
	type bucket struct{ status, currency string }
	counts, amounts := map[bucket]int64{}, map[bucket]*big.Rat{}
	for _, av := range items {
		for name, v := range av {
			n, isNumber := v.(*types.AttributeValueMemberN)
			if !isNumber {
				continue
			}
			if rest, ok := strings.CutPrefix(name, capAmountPrefix); ok {
				status, currency, _ := strings.Cut(rest, "_")
				b := bucket{status, currency}
				if amounts[b] == nil {
					amounts[b] = new(big.Rat)
				}
				x, ok := new(big.Rat).SetString(n.Value)
				if !ok {
					return nil, storeError(op, fmt.Errorf("%s %q is not a decimal", name, n.Value))
				}
				amounts[b].Add(amounts[b], x)
			} else if rest, ok := strings.CutPrefix(name, capCountPrefix); ok {
				status, currency, _ := strings.Cut(rest, "_")
				c, _ := strconv.ParseInt(n.Value, 10, 64)
				counts[bucket{status, currency}] += c
			}
		}
	}
	out := []refx.RewardTotal{}
	for b, c := range counts {
		if c == 0 {
			continue
		}
		out = append(out, refx.RewardTotal{Currency: b.currency, Status: b.status, Count: c, Amount: string(formatDecimal(amounts[b]))})
	}
	slices.SortFunc(out, func(a, b refx.RewardTotal) int {
		return strings.Compare(a.Currency+" "+a.Status, b.Currency+" "+b.Status)
	})
	return out, nil
}

// Rewards lists rewards, newest change first (pending ones latest hold
// first): one gsi1 partition per status, beneficiary and experiment as
// filters. Without a status, the listing walks the statuses in
// refx.RewardStatuses order; its cursor is "<status>.<cursor in it>".
func (s *Store) Rewards(ctx context.Context, f refx.RewardFilter) (*refx.RewardPage, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var filter *expression.ConditionBuilder
	add := func(c expression.ConditionBuilder) {
		if filter != nil {
			c = filter.And(c)
		}
		filter = &c
	}
	if f.Beneficiary != "" {
		add(expression.Name("beneficiary").Equal(expression.Value(f.Beneficiary)))
	}
	if f.Experiment != "" {
		add(expression.Name("experiment").Equal(expression.Value(f.Experiment)))
	}
	statuses, cursor := []string{f.Status}, f.Cursor
	if f.Status == "" {
		statuses = refx.RewardStatuses
		if f.Cursor != "" {
			status, inner, _ := strings.Cut(f.Cursor, ".")
			i := slices.Index(statuses, status)
			if i < 0 {
				return nil, refx.FieldErrorf("cursor", "is not a cursor this API returned")
			}
			statuses, cursor = statuses[i:], inner
		}
	}
	page := &refx.RewardPage{Rewards: []*refx.Reward{}}
	for i, status := range statuses {
		rewards, next, err := indexPage(ctx, s, "Rewards", rewardListPK(status), pageLimit(f.Limit)-len(page.Rewards), cursor, filter, func(it rewardItem) *refx.Reward { return rewardOf(it) })
		if err != nil {
			return nil, err
		}
		page.Rewards, cursor = append(page.Rewards, rewards...), ""
		switch {
		case f.Status != "":
			page.NextCursor = next
			return page, nil
		case next != "":
			page.NextCursor = status + "." + next
			return page, nil
		case i+1 < len(statuses) && len(page.Rewards) >= pageLimit(f.Limit):
			page.NextCursor = statuses[i+1] + "."
			return page, nil
		}
	}
	return page, nil
}

// pageLimit is the page size a limit asks for.
func pageLimit(limit int) int {
	if limit <= 0 {
		return defaultPageSize
	}
	return min(limit, maxPageSize)
}

func rewardOf(it rewardItem) *refx.Reward {
	r := &refx.Reward{
		ID: it.ID, Status: it.Status, Role: it.Role, Beneficiary: it.Beneficiary, Referrer: it.Referrer,
		Referee: it.Referee, Code: it.Code, Experiment: it.Experiment, Program: it.Program, Variant: it.Variant,
		Amount: it.Amount, Currency: it.Currency, QualifyingEvent: it.QualifyingEvent, HoldUntil: it.HoldUntil,
		Reason: it.Reason, IssuedRef: it.IssuedRef, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
	}
	if it.By != nil {
		a := actorOf(*it.By)
		r.By = &a
	}
	return r
}
