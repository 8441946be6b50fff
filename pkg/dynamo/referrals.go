package dynamo

import (
	"context"
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/refx"
)

var _ refx.ReferralService = (*Store)(nil)

// maxCodeCollisions bounds the fresh codes tried when a random code is
// already taken (about one chance in 10¹² per try).
const maxCodeCollisions = 5

// CreateReferral returns the referrer's code in a running referral
// experiment, creating it on the first call: the referrer is assigned like
// any user, then the code and the referrer's pointer to it are put if absent
// in one transaction with the referrer counter.
func (s *Store) CreateReferral(ctx context.Context, experiment, referrer string) (*refx.ReferralLink, error) {
	exp, err := s.cachedExperiment(ctx, experiment)
	if err != nil {
		return nil, err
	}
	if exp.Referral == nil {
		return nil, refx.Errorf(refx.ECONFLICT, "experiment %s is not a referral experiment", exp.ID)
	}
	if p, err := s.codePointer(ctx, referrer, exp.ID); err != nil || p != nil {
		return linkOf(exp, p), err
	}
	a, err := s.Assign(ctx, exp.ID, referrer)
	if err != nil {
		return nil, err
	}
	if a.AssignedAt == nil && exp.Status != refx.StatusRunning {
		return nil, refx.Errorf(refx.ECONFLICT, "experiment %s is %s: no new referral links", exp.ID, exp.Status)
	}
	for attempt := 0; attempt < maxCodeCollisions; attempt++ {
		rc := referralCode{
			Code: refx.NewCode(), Experiment: exp.ID, Referrer: referrer,
			Variant: a.Variant, Counted: a.InExperiment, CreatedAt: s.opts.Now().UTC(),
		}
		p := pointerItem{itemKey: codePointerKey(referrer, exp.ID), Entity: entityPointer, referralCode: rc}
		c := codeItem{itemKey: codeKey(rc.Code), Entity: entityReferral, referralCode: rc, Value: "0"}
		items, err := newCodeItems(s.table, exp, c, p)
		if err != nil {
			return nil, storeError("CreateReferral", err)
		}
		err = s.transact(ctx, "CreateReferral", items)
		reasons := cancellationReasons(err)
		switch {
		case err == nil:
			return linkOf(exp, &p), nil
		case conditionFailed(reasons, 2):
			// A concurrent first call created the referrer's code.
			stored, err := s.codePointer(ctx, referrer, exp.ID)
			return linkOf(exp, stored), err
		case conditionFailed(reasons, 0):
			s.cache.forget(exp.ID)
			return nil, refx.Errorf(refx.ECONFLICT, "experiment %s is not running: no new referral links", exp.ID)
		case conditionFailed(reasons, 1):
			continue // code collision: draw another
		default:
			return nil, storeError("CreateReferral", err)
		}
	}
	return nil, refx.Errorf(refx.EUNAVAILABLE, "could not draw a free referral code; try again")
}

func newCodeItems(table *string, exp *refx.Experiment, c codeItem, p pointerItem) ([]types.TransactWriteItem, error) {
	check, err := experimentCheck(table, exp, false)
	if err != nil {
		return nil, err
	}
	codePut, err := putIfAbsent(table, c)
	if err != nil {
		return nil, err
	}
	pointerPut, err := putIfAbsent(table, p)
	if err != nil {
		return nil, err
	}
	items := []types.TransactWriteItem{check, codePut, pointerPut}
	if c.Counted {
		counter, err := referralCounterUpdate(table, exp, c, []counterAdd{{"referrers", intN(1)}})
		if err != nil {
			return nil, err
		}
		items = append(items, counter)
	}
	return items, nil
}

func linkOf(exp *refx.Experiment, p *pointerItem) *refx.ReferralLink {
	if p == nil {
		return nil
	}
	v, _ := exp.Variant(p.Variant)
	return &refx.ReferralLink{
		Code: p.Code, Experiment: p.Experiment, Referrer: p.Referrer, Variant: p.Variant,
		Payload: v.Payload, InExperiment: p.Counted, CreatedAt: p.CreatedAt,
	}
}

func (s *Store) codePointer(ctx context.Context, referrer, experiment string) (*pointerItem, error) {
	var p pointerItem
	found, err := s.getItem(ctx, "codePointer", codePointerKey(referrer, experiment), &p)
	if err != nil || !found {
		return nil, err
	}
	return &p, nil
}

// Code describes a code for a landing page. An unknown code, or one whose
// experiment no longer runs, is not valid.
func (s *Store) Code(ctx context.Context, code string) (*refx.CodeInfo, error) {
	info := &refx.CodeInfo{Code: code}
	c, exp, err := s.liveCode(ctx, code)
	if err != nil || c == nil {
		return info, err
	}
	v, _ := exp.Variant(c.Variant)
	info.Valid, info.Experiment, info.Variant, info.Payload = true, exp.ID, c.Variant, v.Payload
	return info, nil
}

// liveCode reads a code and its experiment; both are nil when the code is
// unknown or its experiment is not a running referral experiment.
func (s *Store) liveCode(ctx context.Context, code string) (*codeItem, *refx.Experiment, error) {
	var c codeItem
	found, err := s.getItem(ctx, "liveCode", codeKey(code), &c)
	if err != nil || !found {
		return nil, nil, err
	}
	exp, err := s.cachedExperiment(ctx, c.Experiment)
	if refx.ErrorCode(err) == refx.ENOTFOUND {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if exp.Status != refx.StatusRunning || exp.Referral == nil {
		return nil, nil, nil
	}
	return &c, exp, nil
}

// RecordClick counts the first click of a visitor on a code: the click item
// is put if absent, in one transaction with the code's totals and the
// variant's counters (clicks, sharing referrers on a code's first click,
// unique visitors on a visitor's first click in the experiment).
func (s *Store) RecordClick(ctx context.Context, click refx.Click) (*refx.ClickResult, error) {
	res := &refx.ClickResult{}
	for attempt := 0; attempt < maxStateRetries; attempt++ {
		c, exp, err := s.liveCode(ctx, click.Code)
		if err != nil || c == nil {
			return res, err
		}
		res.Location = exp.Referral.LinkTarget(c.Code)
		got, err := s.getItems(ctx, "RecordClick", clickKey(c.Code, click.Visitor), visitorSeenKey(click.Visitor, exp.ID))
		if err != nil {
			return res, err
		}
		if got[clickKey(c.Code, click.Visitor)] != nil {
			return res, nil
		}
		seen := got[visitorSeenKey(click.Visitor, exp.ID)] != nil
		items, err := clickItems(s.table, exp, *c, click, seen, s.opts.Now().UTC())
		if err != nil {
			return res, storeError("RecordClick", err)
		}
		err = s.transact(ctx, "RecordClick", items)
		reasons := cancellationReasons(err)
		switch {
		case err == nil:
			res.Recorded = true
			return res, nil
		case conditionFailed(reasons, 0):
			return res, nil // a concurrent or retried copy of this click
		case anyConditionFailed(reasons):
			s.cache.forget(exp.ID)
		default:
			return res, storeError("RecordClick", err)
		}
	}
	return res, refx.Errorf(refx.EUNAVAILABLE, "code %s is busy", click.Code)
}

func clickItems(table *string, exp *refx.Experiment, c codeItem, click refx.Click, seen bool, now time.Time) ([]types.TransactWriteItem, error) {
	put, err := putIfAbsent(table, clickItem{
		itemKey: clickKey(c.Code, click.Visitor), Entity: entityClick, Code: c.Code, Experiment: exp.ID,
		Variant: c.Variant, Visitor: click.Visitor, IPHash: click.IPHash, ClickedAt: now,
	})
	if err != nil {
		return nil, err
	}
	check, err := experimentCheck(table, exp, false)
	if err != nil {
		return nil, err
	}
	code, err := codeUpdate(table, c, expression.Add(expression.Name("clicks"), expression.Value(1)))
	if err != nil {
		return nil, err
	}
	items := []types.TransactWriteItem{put, check, code}
	if !c.Counted {
		return items, nil
	}
	adds := []counterAdd{
		{"clicks", intN(1)},
		// Σclicks² over referrers grows by (c+1)² − c² = 2c+1.
		{"clicks_sq", intN(2*c.Clicks + 1)},
		{"clicks_x_signups", intN(c.Signups)},
	}
	if c.Clicks == 0 {
		adds = append(adds, counterAdd{"sharing_referrers", intN(1)})
	}
	if !seen {
		adds = append(adds, counterAdd{"unique_visitors", intN(1)})
		marker, err := putIfAbsent(table, struct {
			itemKey
			Entity string `dynamodbav:"entity"`
		}{visitorSeenKey(click.Visitor, exp.ID), entityVisitor})
		if err != nil {
			return nil, err
		}
		items = append(items, marker)
	}
	counter, err := referralCounterUpdate(table, exp, c, adds)
	if err != nil {
		return nil, err
	}
	return append(items, counter), nil
}

// Attribute attributes a referee to the referrer of a code. The guards run
// on what is read consistently first; the write is one transaction whose
// conditions (attribution absent, code revision unchanged, experiment
// running) make the outcome exact under concurrency: of two signups of one
// referee through different codes, exactly one attributes.
func (s *Store) Attribute(ctx context.Context, sig refx.Signup) (*refx.AttributionResult, error) {
	for attempt := 0; attempt < maxStateRetries; attempt++ {
		res, done, err := s.attributeOnce(ctx, sig)
		if err != nil || done {
			return res, err
		}
	}
	return nil, refx.Errorf(refx.EUNAVAILABLE, "code %s is busy; send the same signup again", sig.Code)
}

func (s *Store) attributeOnce(ctx context.Context, sig refx.Signup) (*refx.AttributionResult, bool, error) {
	var c codeItem
	found, err := s.getItem(ctx, "Attribute", codeKey(sig.Code), &c)
	if err != nil {
		return nil, true, err
	}
	if !found {
		return nil, true, refx.Errorf(refx.ENOTFOUND, "referral code %s not found", sig.Code)
	}
	exp, err := s.cachedExperiment(ctx, c.Experiment)
	if err != nil {
		return nil, true, err
	}
	if exp.Status != refx.StatusRunning || exp.Referral == nil {
		return &refx.AttributionResult{Status: refx.AttributionRefused, Reasons: []string{refx.ReasonNotRunning}}, true, nil
	}
	keys := []itemKey{attributionKey(sig.Referee), refusalKey(sig.Referee, c.Code)}
	if sig.Visitor != "" {
		keys = append(keys, clickKey(c.Code, sig.Visitor))
	}
	if sig.IPHash != "" {
		keys = append(keys, ipMarkerKey(c.Code, sig.IPHash))
	}
	if sig.Device != "" {
		keys = append(keys, deviceMarkerKey(c.Code, sig.Device))
	}
	got, err := s.getItems(ctx, "Attribute", keys...)
	if err != nil {
		return nil, true, err
	}
	if av := got[attributionKey(sig.Referee)]; av != nil {
		var a attributionItem
		if err := attributevalue.UnmarshalMap(av, &a); err != nil {
			return nil, true, storeError("Attribute", err)
		}
		if a.Code == c.Code {
			return &refx.AttributionResult{Status: refx.AttributionDuplicate, Reasons: a.Reasons, Attribution: a.attribution()}, true, nil
		}
		return s.refuse(ctx, exp, c, sig, refx.ReasonAlreadyAttributed, got)
	}
	if got[refusalKey(sig.Referee, c.Code)] != nil {
		return s.refuse(ctx, exp, c, sig, "", got)
	}
	now := s.opts.Now().UTC()
	windowStart := c.CreatedAt
	if av := got[clickKey(c.Code, sig.Visitor)]; av != nil {
		var click clickItem
		if err := attributevalue.UnmarshalMap(av, &click); err == nil {
			windowStart = click.ClickedAt
		}
	}
	switch {
	case sig.Referee == c.Referrer:
		return s.refuse(ctx, exp, c, sig, refx.ReasonSelfReferral, got)
	case now.After(windowStart.Add(exp.Referral.Window())):
		return s.refuse(ctx, exp, c, sig, refx.ReasonOutsideWindow, got)
	}

	hour, day := now.Format("2006010215"), now.Format("20060102")
	hourCount, dayCount := int64(1), int64(1)
	if c.HourBucket == hour {
		hourCount += c.HourCount
	}
	if c.DayBucket == day {
		dayCount += c.DayCount
	}
	var reasons []string
	if hourCount > int64(exp.Referral.MaxSignupsPerHour) {
		reasons = append(reasons, refx.ReasonVelocityHour)
	}
	if dayCount > int64(exp.Referral.MaxSignupsPerDay) {
		reasons = append(reasons, refx.ReasonVelocityDay)
	}
	if sig.IPHash != "" && got[ipMarkerKey(c.Code, sig.IPHash)] != nil {
		reasons = append(reasons, refx.ReasonRepeatedIP)
	}
	if sig.Device != "" && got[deviceMarkerKey(c.Code, sig.Device)] != nil {
		reasons = append(reasons, refx.ReasonRepeatedDevice)
	}
	status := refx.AttributionAttributed
	if len(reasons) > 0 {
		status = refx.AttributionFlagged
	}
	a := attributionItem{
		itemKey: attributionKey(sig.Referee), GSI1PK: referrerPK(c.Referrer), GSI1SK: referrerListSK(now, sig.Referee),
		Entity: entityAttrib, Referee: sig.Referee, Referrer: c.Referrer, Code: c.Code, Experiment: exp.ID,
		Variant: c.Variant, Counted: c.Counted, Status: status, Reasons: reasons, AttributedAt: now,
	}
	velocity := expression.Set(expression.Name("vel_hour"), expression.Value(hour)).
		Set(expression.Name("vel_hour_n"), expression.Value(hourCount)).
		Set(expression.Name("vel_day"), expression.Value(day)).
		Set(expression.Name("vel_day_n"), expression.Value(dayCount))
	items, err := attributionItems(s.table, exp, c, a, sig, velocity)
	if err != nil {
		return nil, true, storeError("Attribute", err)
	}
	err = s.transact(ctx, "Attribute", items)
	reasonsOut := cancellationReasons(err)
	switch {
	case err == nil:
		return &refx.AttributionResult{Status: status, Reasons: reasons, Attribution: a.attribution()}, true, nil
	case anyConditionFailed(reasonsOut):
		// Another signup of this referee, or through this code, got there
		// first, or the experiment stopped: read again and decide again.
		s.cache.forget(exp.ID)
		return nil, false, nil
	}
	return nil, true, storeError("Attribute", err)
}

func attributionItems(table *string, exp *refx.Experiment, c codeItem, a attributionItem, sig refx.Signup, velocity expression.UpdateBuilder) ([]types.TransactWriteItem, error) {
	put, err := putIfAbsent(table, a)
	if err != nil {
		return nil, err
	}
	check, err := experimentCheck(table, exp, false)
	if err != nil {
		return nil, err
	}
	clean := a.Status == refx.AttributionAttributed
	if clean {
		velocity = velocity.Add(expression.Name("signups"), expression.Value(1))
	}
	code, err := codeUpdate(table, c, velocity)
	if err != nil {
		return nil, err
	}
	items := []types.TransactWriteItem{put, check, code}
	for _, m := range []struct {
		hash string
		key  itemKey
	}{{sig.IPHash, ipMarkerKey(c.Code, sig.IPHash)}, {sig.Device, deviceMarkerKey(c.Code, sig.Device)}} {
		if m.hash == "" {
			continue
		}
		marker, err := updateItem(table, m.key, expression.Add(expression.Name("signups"), expression.Value(1)).
			Set(expression.Name("entity"), expression.Value(entityMarker)))
		if err != nil {
			return nil, err
		}
		items = append(items, marker)
	}
	if !c.Counted {
		return items, nil
	}
	var adds []counterAdd
	if clean {
		adds = []counterAdd{
			{"signups", intN(1)},
			{"signups_sq", intN(2*c.Signups + 1)},
			{"clicks_x_signups", intN(c.Clicks)},
		}
	}
	for _, r := range a.Reasons {
		adds = append(adds, counterAdd{"flagged_" + r, intN(1)})
	}
	counter, err := referralCounterUpdate(table, exp, c, adds)
	if err != nil {
		return nil, err
	}
	return append(items, counter), nil
}

// refuse records a refused signup once per (referee, code) and counts it by
// reason. With reason "" it returns the refusal already stored.
func (s *Store) refuse(ctx context.Context, exp *refx.Experiment, c codeItem, sig refx.Signup, reason string, got map[itemKey]map[string]types.AttributeValue) (*refx.AttributionResult, bool, error) {
	if av := got[refusalKey(sig.Referee, c.Code)]; av != nil {
		var r refusalItem
		if err := attributevalue.UnmarshalMap(av, &r); err != nil {
			return nil, true, storeError("refuse", err)
		}
		return &refx.AttributionResult{Status: refx.AttributionRefused, Reasons: []string{r.Reason}}, true, nil
	}
	put, err := putIfAbsent(s.table, refusalItem{
		itemKey: refusalKey(sig.Referee, c.Code), Entity: entityRefusal, Referee: sig.Referee, Code: c.Code,
		Experiment: exp.ID, Variant: c.Variant, Reason: reason, RefusedAt: s.opts.Now().UTC(),
	})
	if err != nil {
		return nil, true, storeError("refuse", err)
	}
	check, err := experimentCheck(s.table, exp, false)
	if err != nil {
		return nil, true, storeError("refuse", err)
	}
	items := []types.TransactWriteItem{put, check}
	if c.Counted {
		counter, err := referralCounterUpdate(s.table, exp, c, []counterAdd{{"refused_" + reason, intN(1)}})
		if err != nil {
			return nil, true, storeError("refuse", err)
		}
		items = append(items, counter)
	}
	err = s.transact(ctx, "refuse", items)
	reasons := cancellationReasons(err)
	switch {
	case err == nil:
		return &refx.AttributionResult{Status: refx.AttributionRefused, Reasons: []string{reason}}, true, nil
	case anyConditionFailed(reasons):
		s.cache.forget(exp.ID)
		return nil, false, nil
	}
	return nil, true, storeError("refuse", err)
}

// Referrals lists a referrer's referees, newest first, through gsi1.
func (s *Store) Referrals(ctx context.Context, referrer string, limit int, cursor string) (*refx.AttributionPage, error) {
	referrals, next, err := indexPage(ctx, s, "Referrals", referrerPK(referrer), limit, cursor, nil, attributionItem.attribution)
	if err != nil {
		return nil, err
	}
	return &refx.AttributionPage{Referrals: referrals, NextCursor: next}, nil
}

// referralCredit is a referee's conversion event credited to the referrer's
// variant.
type referralCredit struct {
	exp   *refx.Experiment
	attr  attributionItem
	code  codeItem
	first bool
}

// planReferralCredit returns the credit a referee's event earns their
// referrer, or nil: the event must be the experiment's conversion goal, the
// attribution clean and counted, the experiment running.
func (s *Store) planReferralCredit(ctx context.Context, e *refx.Event, attr *attributionItem) (*referralCredit, error) {
	if attr == nil || attr.Status != refx.AttributionAttributed || !attr.Counted {
		return nil, nil
	}
	exp, err := s.cachedExperiment(ctx, attr.Experiment)
	if refx.ErrorCode(err) == refx.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if exp.Status != refx.StatusRunning || exp.Referral == nil || exp.Referral.ConversionGoal != e.Type {
		return nil, nil
	}
	var c codeItem
	found, err := s.getItem(ctx, "planReferralCredit", codeKey(attr.Code), &c)
	if err != nil || !found {
		return nil, err
	}
	return &referralCredit{exp: exp, attr: *attr, code: c, first: attr.ConvertedAt == nil}, nil
}

// referralCreditItems count a referee's conversion: the referrer's totals
// (conditioned on the code's revision), the variant's counters, and the
// referee's first conversion (conditioned on it not being marked yet).
func referralCreditItems(table *string, e *refx.Event, rc *referralCredit, now time.Time, checked bool) ([]types.TransactWriteItem, error) {
	var items []types.TransactWriteItem
	if !checked {
		check, err := experimentCheck(table, rc.exp, false)
		if err != nil {
			return nil, err
		}
		items = append(items, check)
	}
	value := new(big.Rat)
	if e.Value != nil {
		value.SetString(e.Value.String())
	}
	total := new(big.Rat)
	total.SetString(string(rc.code.Value))
	update := expression.Add(expression.Name("conversions"), expression.Value(1))
	if value.Sign() != 0 {
		update = update.Add(expression.Name("value"), expression.Value(decimalNumber(e.Value.String())))
	}
	code, err := codeUpdate(table, rc.code, update)
	if err != nil {
		return nil, err
	}
	// Σvalue² over referrers grows by (V+v)² − V² = 2Vv + v².
	sq := new(big.Rat).Mul(big.NewRat(2, 1), new(big.Rat).Mul(total, value))
	sq.Add(sq, new(big.Rat).Mul(value, value))
	adds := []counterAdd{
		{"conversions", intN(1)},
		{"conversions_sq", intN(2*rc.code.Conversions + 1)},
		{"conversion_value", decimalNumber(string(formatDecimal(value)))},
		{"value_sq", decimalNumber(string(formatDecimal(sq)))},
	}
	if rc.first {
		adds = append(adds, counterAdd{"converting_referees", intN(1)})
	}
	counter, err := referralCounterUpdate(table, rc.exp, rc.code, adds)
	if err != nil {
		return nil, err
	}
	items = append(items, code, counter)
	if rc.first {
		mark := expression.Set(expression.Name("converted_at"), expression.Value(now))
		converted, err := expression.NewBuilder().WithUpdate(mark).
			WithCondition(expression.AttributeNotExists(expression.Name("converted_at"))).Build()
		if err != nil {
			return nil, err
		}
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName: table, Key: rc.attr.itemKey.attributes(),
			UpdateExpression:          converted.Update(),
			ConditionExpression:       converted.Condition(),
			ExpressionAttributeNames:  converted.Names(),
			ExpressionAttributeValues: converted.Values(),
		}})
	}
	return items, nil
}

// counterAdd is one ADD to a referral counter item.
type counterAdd struct {
	name  string
	value types.AttributeValue
}

func intN(n int64) types.AttributeValue { return &types.AttributeValueMemberN{Value: fmt.Sprint(n)} }

// referralCounterUpdate adds to the variant's referral counter, on the shard
// of the code.
func referralCounterUpdate(table *string, exp *refx.Experiment, c codeItem, adds []counterAdd) (types.TransactWriteItem, error) {
	sort.Slice(adds, func(i, j int) bool { return adds[i].name < adds[j].name })
	update := expression.Set(expression.Name("entity"), expression.Value(entityCounter)).
		Set(expression.Name("experiment"), expression.Value(exp.ID)).
		Set(expression.Name("variant"), expression.Value(c.Variant))
	for _, a := range adds {
		update = update.Add(expression.Name(a.name), expression.Value(a.value))
	}
	return updateItem(table, referralCounterKey(exp.ID, shardOf(c.Code, exp.CounterShards), c.Variant), update)
}

// codeUpdate applies update to a code item if its revision is still the one
// read, and bumps the revision.
func codeUpdate(table *string, c codeItem, update expression.UpdateBuilder) (types.TransactWriteItem, error) {
	update = update.Set(expression.Name("rev"), expression.Value(c.Rev+1))
	expr, err := expression.NewBuilder().WithUpdate(update).
		WithCondition(expression.Name("rev").Equal(expression.Value(c.Rev))).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName: table, Key: c.itemKey.attributes(),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}}, nil
}

func updateItem(table *string, key itemKey, update expression.UpdateBuilder) (types.TransactWriteItem, error) {
	expr, err := expression.NewBuilder().WithUpdate(update).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName: table, Key: key.attributes(),
		UpdateExpression:          expr.Update(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}}, nil
}

// putIfAbsent puts item on the condition that its key is new, returning the
// stored item when the condition fails.
func putIfAbsent(table *string, item any) (types.TransactWriteItem, error) {
	av, err := attributevalue.MarshalMap(item)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	expr, err := expression.NewBuilder().WithCondition(absent()).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName: table, Item: av,
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}, nil
}

// absent is the condition that an item's key is new.
func absent() expression.ConditionBuilder {
	return expression.AttributeNotExists(expression.Name(AttrPK))
}

func anyConditionFailed(reasons []types.CancellationReason) bool {
	for i := range reasons {
		if conditionFailed(reasons, i) {
			return true
		}
	}
	return false
}

// getItems reads several items consistently in one batch; absent items are
// missing from the map.
func (s *Store) getItems(ctx context.Context, op string, keys ...itemKey) (map[itemKey]map[string]types.AttributeValue, error) {
	req := make([]map[string]types.AttributeValue, len(keys))
	for i, k := range keys {
		req[i] = k.attributes()
	}
	in := &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		*s.table: {Keys: req, ConsistentRead: aws.Bool(true)},
	}}
	out := map[itemKey]map[string]types.AttributeValue{}
	for attempt := 0; len(in.RequestItems) > 0; attempt++ {
		if attempt == s.opts.RetryAttempts {
			return nil, refx.Errorf(refx.EUNAVAILABLE, "the store is busy; send the same request again")
		}
		var res *dynamodb.BatchGetItemOutput
		err := s.retry(ctx, op, func() (err error) {
			res, err = s.client.BatchGetItem(ctx, in)
			return err
		})
		if err != nil {
			return nil, storeError(op, err)
		}
		for _, item := range res.Responses[*s.table] {
			var k itemKey
			if err := attributevalue.UnmarshalMap(item, &k); err != nil {
				return nil, storeError(op, err)
			}
			out[k] = item
		}
		in.RequestItems = res.UnprocessedKeys
	}
	return out, nil
}
