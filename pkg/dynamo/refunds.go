package dynamo

import (
	"context"
	"math/big"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stream"
)

// A refund reverses an earlier event of its user exactly once.
//
// The refund's own id is its idempotency key, as any event's: its event
// item (type refund, no credits) is put if absent. In the same transaction
// the refund item, keyed by the REFUNDED event's id, is put if absent: of
// any number of refunds of one event, sent once or many times, concurrently
// or not, one transaction succeeds, and the refund item's insert carries the
// reversal the aggregator subtracts. The user's running totals on their
// assignments (vt_<goal>, ec_<goal>) go down in that transaction, on the
// condition that they still hold what the reversal was computed from (as
// an event's own update does), so that the per-participant sums stay exact
// under the same user's concurrent events.
//
// Whether the user still counts as converted on the goal is decided after
// that write, by converge: from the user's events on gsi1 (refunds beside
// them, each candidate confirmed by a consistent read of its refund item),
// and changed through the state's version (see converge).

// conversionMargin is how far back a removed conversion's horizon is set:
// an event planned before the removal was received less than this before
// it, so it still counts as held if it lands later.
const conversionMargin = time.Minute

// recordRefund records the refund e (Type refx.EventRefund).
func (s *Store) recordRefund(ctx context.Context, e *refx.Event) (*refx.EventResult, error) {
	if !e.Trusted {
		// A browser could take back its own conversions.
		return nil, &refx.Error{Code: refx.EFORBIDDEN, Field: "type",
			Message: "refunds are accepted only from a server with a secret key"}
	}
	self, err := s.newEventItem(e)
	if err != nil {
		return nil, err
	}
	for attempt := 0; attempt < maxStateRetries; attempt++ {
		orig, err := s.refundedEvent(ctx, e)
		switch refx.ErrorCode(err) {
		case "":
		case refx.ENOTFOUND, refx.ECONFLICT, refx.EINVALID:
			// The refund's id may be taken already: a reused key is
			// answered as such, whatever it names now.
			return s.refuseUntrusted(ctx, &self, err)
		default:
			return nil, err
		}
		rev, err := s.planReversal(ctx, orig)
		if err != nil {
			return nil, err
		}
		marker := refundItem{
			Key: refundKey(orig.ID), Entity: entityRefund,
			GSI1PK: userEventsPK(e.User), GSI1SK: refundIndexSK(self.ReceivedAt, orig.ID),
			ID: e.ID, RefundedEvent: orig.ID, User: e.User, Type: orig.Type, Value: orig.Value,
			EventReceivedAt: orig.ReceivedAt, RefundedAt: self.ReceivedAt, Credits: rev.credits,
			ExpiresAt: self.ExpiresAt,
		}
		status, stored, err := s.writeRefund(ctx, self, marker, rev.updates)
		switch {
		case err != nil:
			return nil, err
		case status == "":
			continue // the user's totals moved: plan again
		case stored != nil:
			if _, err := answerStored(&self, stored); err != nil {
				return nil, err
			}
		}
		// Recorded or not, the conversions are settled again: a retried
		// refund repairs what an event landing after the first answer
		// left out (see converge).
		for _, sc := range rev.scopes {
			if err := s.converge(ctx, e.User, sc); err != nil {
				return nil, err
			}
		}
		return &refx.EventResult{ID: e.ID, Status: status, Credits: creditsOf(orig.Credits)}, nil
	}
	return nil, refx.Errorf(refx.EUNAVAILABLE, "the user's experiments keep changing; send the same refund again")
}

// refundedEvent reads the event e refunds: it must exist (events are
// remembered for the idempotency window), be e's user's, and not be a
// refund itself.
func (s *Store) refundedEvent(ctx context.Context, e *refx.Event) (*eventItem, error) {
	var orig eventItem
	found, err := s.getItem(ctx, "RecordRefund", eventKey(e.Refund), &orig)
	switch {
	case err != nil:
		return nil, err
	case !found:
		return nil, &refx.Error{Code: refx.ENOTFOUND, Field: "refund",
			Message: "no event with this id (events are remembered for the idempotency window)"}
	case orig.User != e.User:
		return nil, &refx.Error{Code: refx.ECONFLICT, Field: "refund", Message: "the event named is another user's"}
	case orig.Type == refx.EventRefund:
		return nil, refx.FieldErrorf("refund", "names a refund, which cannot be refunded")
	}
	return &orig, nil
}

// writeRefund puts the refund's event item and the refund item, with the
// updates of the user's totals, in one transaction. status is recorded, or
// duplicate when either put found its key taken (stored is then the
// refund's own stored event when its id was used before); "" when the
// user's totals moved and the refund must be planned again.
func (s *Store) writeRefund(ctx context.Context, self eventItem, marker refundItem, updates []types.TransactWriteItem) (status string, stored *eventItem, err error) {
	putSelf, err := putIfAbsent(s.table, self)
	if err != nil {
		return "", nil, storeError("RecordRefund", err)
	}
	putMarker, err := putIfAbsent(s.table, marker)
	if err != nil {
		return "", nil, storeError("RecordRefund", err)
	}
	err = s.transact(ctx, "RecordRefund", append([]types.TransactWriteItem{putSelf, putMarker}, updates...))
	reasons := cancellationReasons(err)
	switch {
	case err == nil:
		return refx.EventRecorded, nil, nil
	case conditionFailed(reasons, 0):
		stored, _, err := decodeStoredEvent(reasons[0].Item)
		return refx.EventDuplicate, stored, err
	case conditionFailed(reasons, 1):
		// Another refund of the same event came first.
		return refx.EventDuplicate, nil, nil
	case anyConditionFailed(reasons):
		return "", nil, nil
	}
	return "", nil, storeError("RecordRefund", err)
}

// reversal is what a refund writes: the reversed credits, the updates of
// the user's totals, and the conversions to settle afterwards.
type reversal struct {
	credits []creditItem
	updates []types.TransactWriteItem
	scopes  []conversionScope
}

// planReversal computes, from the user's state read now, what the refund
// subtracts: orig's credits as they stand today. For a goal credit one
// event, its counted value and x·v, and the per-participant sums as the
// user's totals go back (the value total from T to T−v, the events total
// from n to n−1, the ratio products by Δa·b); for a referral credit one
// conversion and its value on the code's totals.
func (s *Store) planReversal(ctx context.Context, orig *eventItem) (*reversal, error) {
	asns, attr, err := s.userState(ctx, orig.User)
	if err != nil {
		return nil, err
	}
	rev := &reversal{credits: make([]creditItem, 0, len(orig.Credits))}
	for _, c := range orig.Credits {
		if c.Referrer != "" {
			rev.credits = append(rev.credits, creditItem{Experiment: c.Experiment, Variant: c.Variant,
				Referrer: c.Referrer, Code: c.Code, Channel: c.Channel, Value: c.Value})
			if attr != nil && attr.Code == c.Code {
				rev.scopes = append(rev.scopes, referralScope(attr, orig.ReceivedAt))
				// The referee's fence, as totalsBack's.
				version := expression.Name("conversion_version")
				u, err := conditionalUpdate(s.table, attr.Key,
					expression.Set(version, version.IfNotExists(expression.Value(0))),
					expression.AttributeExists(expression.Name(AttrPK)))
				if err != nil {
					return nil, storeError("RecordRefund", err)
				}
				rev.updates = append(rev.updates, u)
			}
			continue
		}
		exp, err := s.cachedExperiment(ctx, c.Experiment)
		if refx.ErrorCode(err) == refx.ENOTFOUND {
			continue // deleted, with its counters
		}
		if err != nil {
			return nil, err
		}
		rc := creditItem{Experiment: c.Experiment, Phase: c.Phase, Variant: c.Variant, Value: c.Value, Covariate: c.Covariate}
		i := slices.IndexFunc(asns, func(a assignmentItem) bool {
			return a.Experiment == c.Experiment && max(a.Phase, 1) == max(c.Phase, 1)
		})
		if i < 0 {
			// The user's state is gone (expired or erased): nothing of
			// theirs to move, only the event to take back.
			rev.credits = append(rev.credits, rc)
			continue
		}
		planned, update, err := s.reverseCredit(exp, asns[i], orig, c)
		if err != nil {
			return nil, err
		}
		rc.ParticipantSqDelta, rc.EventsSqDelta, rc.RatioProducts = planned.ParticipantSqDelta, planned.EventsSqDelta, planned.RatioProducts
		rev.credits = append(rev.credits, rc)
		if update != nil {
			rev.updates = append(rev.updates, *update)
		}
		rev.scopes = append(rev.scopes, goalScope(asns[i], orig))
	}
	return rev, nil
}

// reverseCredit plans the reversal of goal credit c on the user's
// assignment a: the per-participant deltas and the update taking the
// user's totals back.
func (s *Store) reverseCredit(exp *refx.Experiment, a assignmentItem, orig *eventItem, c creditItem) (creditItem, *types.TransactWriteItem, error) {
	g, ok := exp.Goal(orig.Type)
	if !ok {
		g = refx.Goal{Key: orig.Type, Kind: refx.GoalBinomial}
	}
	pc := credit{exp: exp, asn: a}
	counted := orig.Value
	if c.Value != nil {
		counted = c.Value
	}
	if counted != nil {
		v, ok := new(big.Rat).SetString(*counted)
		if !ok {
			return creditItem{}, nil, storeError("RecordRefund", strconv.ErrSyntax)
		}
		if v.Sign() != 0 {
			pc.total = valueTotal(a, orig.Type)
			pc.next = new(big.Rat).Sub(pc.total, v)
			pc.growth = new(big.Rat).Mul(pc.next, pc.next)
			pc.growth.Sub(pc.growth, new(big.Rat).Mul(pc.total, pc.total))
		}
	}
	pc.planRatios(g)
	// The credit as the event would add it on top of the totals the
	// refund leaves, which the aggregator subtracts: T² − (T−v)², the
	// events' n² − (n−1)² = 2n − 1, and Δa·b with Δa = v (planRatios
	// took the value's Δa from the totals going down) or one event.
	var out creditItem
	if g.Kind == refx.GoalValue {
		for _, p := range pc.ratioProducts {
			p.Neg(p)
		}
	}
	if pc.count != nil && pc.count.Sign() == 0 {
		pc.count = nil // no events counted on the total: nothing to take back
	}
	if pc.count != nil {
		d := new(big.Rat).Sub(new(big.Rat).Add(pc.count, pc.count), one)
		out.EventsSqDelta = attributevalue.Number(formatDecimal(d))
	}
	for key, p := range pc.ratioProducts {
		if out.RatioProducts == nil {
			out.RatioProducts = map[string]attributevalue.Number{}
		}
		out.RatioProducts[key] = attributevalue.Number(formatDecimal(p))
	}
	if pc.growth != nil {
		out.ParticipantSqDelta = attributevalue.Number(formatDecimal(new(big.Rat).Neg(pc.growth)))
	}
	u, err := totalsBack(s.table, orig.Type, pc)
	if err != nil {
		return creditItem{}, nil, storeError("RecordRefund", err)
	}
	return out, &u, nil
}

// totalsBack sets the user's totals on goal to what the refund leaves, on
// the condition that they still hold what was read (and the ratios' other
// totals too, as pinned), and puts up the fence of the goal's conversion:
// from now on the user's events of the goal require its version unchanged
// (credit.version), so none planned as not the first conversion can land
// after converge removed the conversion without being seen.
func totalsBack(table *string, goal string, c credit) (types.TransactWriteItem, error) {
	version := expression.Name(conversionVersionPrefix + goal)
	update := expression.Set(version, version.IfNotExists(expression.Value(decimalNumber("0"))))
	cond := expression.AttributeExists(expression.Name(AttrPK))
	if c.growth != nil {
		name := expression.Name(valueTotalPrefix + goal)
		update = update.Set(name, expression.Value(decimalNumber(string(formatDecimal(c.next)))))
		cond = cond.And(unchanged(name, c.total))
	}
	if c.count != nil {
		name := expression.Name(eventCountPrefix + goal)
		update = update.Set(name, expression.Value(decimalNumber(string(formatDecimal(new(big.Rat).Sub(c.count, one))))))
		cond = cond.And(unchanged(name, c.count))
	}
	for _, p := range c.pins {
		cond = cond.And(unchanged(expression.Name(p.attr), p.total))
	}
	return conditionalUpdate(table, c.asn.Key, update, cond)
}

// conversionScope is one state of a user that refunds can change: whether
// they count as converted on a goal in an experiment's phase (the goal in
// their assignment's converted set), or as a converting referee (their
// attribution's converted_at). Beside it on the same item, a version counts
// the changes refunds made (each change's item is keyed by it) and a
// horizon bounds from below when the events holding the conversion were
// received.
type conversionScope struct {
	state      itemKey
	scope      string
	experiment string
	phase      int
	variant    string
	goal       string
	code       string
	covariate  attributevalue.Number
	// floor is a horizon known without one stored: the enrolment or the
	// attribution, before which no event counted.
	floor time.Time
	// countedAt is the refunded event's reception: a removal counts, or
	// not, as its event did.
	countedAt time.Time
	// versionAttr and horizonAttr name the version and the horizon on the
	// state item.
	versionAttr, horizonAttr string
}

func goalScope(a assignmentItem, orig *eventItem) conversionScope {
	return conversionScope{
		state: a.Key, scope: goalConversionScope(a.Experiment, a.Phase, orig.Type),
		experiment: a.Experiment, phase: a.Phase, variant: a.Variant, goal: orig.Type,
		covariate: a.Covariates[orig.Type], floor: a.AssignedAt, countedAt: orig.ReceivedAt,
		versionAttr: conversionVersionPrefix + orig.Type, horizonAttr: conversionHorizonPrefix + orig.Type,
	}
}

func referralScope(attr *attributionItem, receivedAt time.Time) conversionScope {
	return conversionScope{
		state: attr.Key, scope: referralConversionScope(attr.Experiment),
		experiment: attr.Experiment, variant: attr.Variant, code: attr.Code,
		floor: attr.AttributedAt, countedAt: receivedAt,
		versionAttr: "conversion_version", horizonAttr: "conversion_horizon",
	}
}

// holds reports whether e counts as a conversion in the scope, and whether
// it was counted as the first.
func (sc conversionScope) holds(e *eventItem) (held, first bool) {
	for _, c := range e.Credits {
		switch {
		case c.Experiment != sc.experiment:
		case sc.code != "" && c.Referrer != "" && c.Code == sc.code:
			return true, c.FirstConversion
		case sc.code == "" && c.Referrer == "" && e.Type == sc.goal && max(c.Phase, 1) == max(sc.phase, 1):
			return true, c.FirstConversion
		}
	}
	return false, false
}

func (sc conversionScope) isMember(av map[string]types.AttributeValue) bool {
	if sc.code != "" {
		_, ok := av["converted_at"]
		return ok
	}
	set, _ := av["converted"].(*types.AttributeValueMemberSS)
	return set != nil && slices.Contains(set.Value, sc.goal)
}

// membership is the update making the user (not) converted in the scope,
// on the condition that they were not (were).
func (sc conversionScope) membership(converted bool, at time.Time) (expression.UpdateBuilder, expression.ConditionBuilder) {
	var u expression.UpdateBuilder
	if sc.code != "" {
		name := expression.Name("converted_at")
		if converted {
			return u.Set(name, expression.Value(at)), expression.AttributeNotExists(name)
		}
		return u.Remove(name), expression.AttributeExists(name)
	}
	name := expression.Name("converted")
	goal := expression.Value(&types.AttributeValueMemberSS{Value: []string{sc.goal}})
	if converted {
		return u.Add(name, goal), expression.Not(name.Contains(sc.goal))
	}
	return u.Delete(name, goal), name.Contains(sc.goal)
}

// holders is what the user's events say about a scope: how many unrefunded
// events hold the conversion, the oldest of them, and the latest event
// counted as the first conversion (refunded or not).
type holders struct {
	held            int
	oldest          time.Time
	latestFirst     time.Time
	latestFirstSeen bool
}

// converge makes the user's conversion in sc what their events say: counted
// when at least one unrefunded event holds it, not counted when none does.
// A change is a transaction: the state's update on the condition that its
// version and membership are as read, and the put, if absent, of the
// change's item keyed by the new version, whose insert counts ±1. A
// concurrent change or a first conversion by a new event fails the
// condition and the state is read again, so each change counts once and the
// last one agrees with the events.
//
// The events come from gsi1, which lags the table; an event that lands after
// the last read (planned, as not the first conversion, before a removal,
// and written after converge returned) is not seen: sending the same
// refund again, as a client retrying does, runs converge again and
// repairs it. Events expire after the idempotency TTL: when the ones after
// the horizon may have expired and none is seen, the state is kept (an
// expired event may hold it) and a warning logged.
func (s *Store) converge(ctx context.Context, user string, sc conversionScope) error {
	changed := false
	for attempt := 0; attempt < maxStateRetries; attempt++ {
		items, err := s.getItems(ctx, "RecordRefund", sc.state)
		if err != nil {
			return err
		}
		state, ok := items[sc.state]
		if !ok {
			return nil // the user's state is gone: nothing counts for them
		}
		h, err := s.holdersOf(ctx, user, sc)
		if err != nil {
			return err
		}
		member := sc.isMember(state)
		version := new(big.Rat)
		if n, ok := state[sc.versionAttr].(*types.AttributeValueMemberN); ok {
			version.SetString(n.Value)
		}
		horizon := sc.floor
		if t, ok := timeAttr(state, sc.horizonAttr); ok && t.After(horizon) {
			horizon = t
		}
		if h.latestFirstSeen && h.latestFirst.After(horizon) {
			horizon = h.latestFirst
		}
		now := s.opts.Now().UTC()
		complete := now.Before(horizon.Add(s.opts.IdempotencyTTL - conversionMargin))
		want := h.held > 0 || (member && !complete)
		if want == member {
			if member && h.held == 0 {
				s.opts.Logger.WarnContext(ctx, "refund: events holding a conversion may have expired; it stays counted",
					"scope", sc.scope, "horizon", horizon)
			}
			if member && h.held > 0 && complete && h.oldest.After(horizon) && !changed {
				// Later decisions see every event after the horizon as long
				// as it is recent: move it up to the oldest holder.
				return s.raiseHorizon(ctx, sc, version, h.oldest)
			}
			return nil
		}
		stored, err := s.changeConversion(ctx, user, sc, version, want, h, now)
		if err != nil {
			return err
		}
		// Changed or not (another change came first), look again: an
		// event written meanwhile may undo a removal.
		changed = changed || stored
	}
	return refx.Errorf(refx.EUNAVAILABLE, "the user's conversions keep changing; send the same refund again")
}

// changeConversion writes the change of sc to want at version+1; stored is
// false when the state was no longer as read.
func (s *Store) changeConversion(ctx context.Context, user string, sc conversionScope, version *big.Rat, want bool, h holders, now time.Time) (stored bool, err error) {
	next := new(big.Rat).Add(version, one)
	n, _ := strconv.Atoi(next.RatString())
	change := conversionItem{
		Key: conversionChangeKey(user, sc.scope, n), Entity: entityConversion,
		GSI1PK: userEventsPK(user), User: user,
		Experiment: sc.experiment, Phase: sc.phase, Variant: sc.variant, Goal: sc.goal, Code: sc.code,
		Delta: -1, Covariate: sc.covariate, CountedAt: sc.countedAt, ChangedAt: now,
	}
	change.GSI1SK = timeSK(now) + "#" + conversionPrefix + change.SK
	change.ExpiresAt = now.Add(s.opts.UserTTL)
	// After a removal only events from about now can hold the conversion;
	// after a restoring, the oldest holder bounds them.
	horizon := now.Add(-conversionMargin)
	if want {
		change.Delta, change.CountedAt, horizon = 1, h.oldest, h.oldest
	}
	update, cond := sc.membership(want, h.oldest)
	update = update.Set(expression.Name(sc.versionAttr), expression.Value(decimalNumber(next.RatString()))).
		Set(expression.Name(sc.horizonAttr), expression.Value(horizon))
	cond = cond.And(unchanged(expression.Name(sc.versionAttr), version))
	u, err := conditionalUpdate(s.table, sc.state, update, cond)
	if err != nil {
		return false, storeError("RecordRefund", err)
	}
	put, err := putIfAbsent(s.table, change)
	if err != nil {
		return false, storeError("RecordRefund", err)
	}
	err = s.transact(ctx, "RecordRefund", []types.TransactWriteItem{u, put})
	switch {
	case err == nil:
		return true, nil
	case anyConditionFailed(cancellationReasons(err)):
		return false, nil
	}
	return false, storeError("RecordRefund", err)
}

// raiseHorizon stores a later horizon, if the state is still at version.
func (s *Store) raiseHorizon(ctx context.Context, sc conversionScope, version *big.Rat, at time.Time) error {
	_, err := s.updateIf(ctx, "RecordRefund", sc.state,
		expression.Set(expression.Name(sc.horizonAttr), expression.Value(at)),
		expression.AttributeExists(expression.Name(AttrPK)).And(unchanged(expression.Name(sc.versionAttr), version)))
	return err
}

// holdersOf reads the user's events and refunds on gsi1 and counts the
// events holding sc that are not refunded; each candidate's refund is
// confirmed with a consistent read, so a refund the index has not caught
// up with is not missed.
func (s *Store) holdersOf(ctx context.Context, user string, sc conversionScope) (holders, error) {
	var h holders
	in, err := s.indexKeysQuery(userEventsPK(user), AttrPK, AttrSK, "entity", "id", "type", "received_at", "credits", "refunded_event")
	if err != nil {
		return h, err
	}
	items, err := s.queryItems(ctx, "RecordRefund", in)
	if err != nil {
		return h, err
	}
	refunded := map[string]bool{}
	var candidates []eventItem
	for _, it := range items {
		switch stream.StringAttr(it, "entity") {
		case entityRefund:
			refunded[stream.StringAttr(it, "refunded_event")] = true
		case entityEvent:
			var e eventItem
			if err := attributevalue.UnmarshalMap(it, &e); err != nil {
				return h, storeError("RecordRefund", err)
			}
			held, first := sc.holds(&e)
			if first && e.ReceivedAt.After(h.latestFirst) {
				h.latestFirst, h.latestFirstSeen = e.ReceivedAt, true
			}
			if held {
				candidates = append(candidates, e)
			}
		}
	}
	for chunk := range slices.Chunk(candidates, 100) {
		keys := make([]itemKey, 0, len(chunk))
		for _, e := range chunk {
			if !refunded[e.ID] {
				keys = append(keys, refundKey(e.ID))
			}
		}
		if len(keys) == 0 {
			continue
		}
		markers, err := s.getItems(ctx, "RecordRefund", keys...)
		if err != nil {
			return h, err
		}
		for _, e := range chunk {
			if _, ok := markers[refundKey(e.ID)]; ok || refunded[e.ID] {
				continue
			}
			h.held++
			if h.oldest.IsZero() || e.ReceivedAt.Before(h.oldest) {
				h.oldest = e.ReceivedAt
			}
		}
	}
	return h, nil
}

// timeAttr reads a time stored as the SDK stores a time.Time (RFC 3339).
func timeAttr(av map[string]types.AttributeValue, name string) (time.Time, bool) {
	var t time.Time
	v, ok := av[name]
	if !ok || attributevalue.Unmarshal(v, &t) != nil {
		return t, false
	}
	return t, true
}

// versionRead is the referee's conversion version as the event's plan read
// it: nil when refunds never fenced it, or without a referral credit.
func (r *referralCredit) versionRead() *int64 {
	if r == nil {
		return nil
	}
	return r.attr.ConversionVersion
}
