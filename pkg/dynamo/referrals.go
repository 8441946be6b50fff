package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stream"
)

var _ refx.ReferralService = (*Store)(nil)

// maxCodeCollisions bounds the fresh codes tried when a random code is
// already taken (about one chance in 10¹² per try).
const maxCodeCollisions = 5

// CreateReferral returns the referrer's random code in a running referral
// experiment, creating it on the first call (createCode).
func (s *Store) CreateReferral(ctx context.Context, experiment, referrer string) (*refx.ReferralLink, error) {
	return s.createCode(ctx, refx.CodeRequest{Experiment: experiment, Referrer: referrer}, false)
}

func linkOf(exp *refx.Experiment, p *pointerItem) *refx.ReferralLink {
	if p == nil {
		return nil
	}
	v, _ := exp.Variant(p.Variant)
	return &refx.ReferralLink{
		Code: p.Code, Experiment: p.Experiment, Referrer: p.Referrer, Variant: p.Variant,
		Payload: v.Payload, InExperiment: p.Counted, CreatedAt: p.CreatedAt,
		ExpiresAt: refx.CodeExpiry(p.CreatedAt, p.ExpiresAt, exp.Referral),
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

// Code describes a code for a landing page: the variant it serves, its
// experiment's while that runs, its program's current offer once the
// experiment has ended. An unknown code, or one that serves nothing
// (currentOffer), is not valid.
func (s *Store) Code(ctx context.Context, code string) (*refx.CodeInfo, error) {
	info := &refx.CodeInfo{Code: code}
	_, o, err := s.liveCode(ctx, code)
	if err != nil || o == nil {
		return info, err
	}
	info.Valid, info.Experiment, info.Variant, info.Payload, info.Rewards = true, o.Experiment.ID, o.Key, o.Payload, o.Rewards
	info.Program = o.ProgramID()
	return info, nil
}

// liveCode reads a code and what it serves (currentOffer); both are nil
// when the code is unknown or serves nothing. A code never changes once
// written, so an eventually consistent read is enough.
func (s *Store) liveCode(ctx context.Context, code string) (*codeItem, *offer, error) {
	var c codeItem
	found, err := s.readItem(ctx, "liveCode", &dynamodb.GetItemInput{TableName: s.table, Key: codeKey(code).Attributes()}, &c)
	if err != nil || !found {
		return nil, nil, err
	}
	o, err := s.currentOffer(ctx, c)
	if err != nil || o == nil {
		return nil, nil, err
	}
	if s.codeExpired(&c, o.Experiment) {
		return nil, nil, nil
	}
	if blocked, err := s.blocked(ctx, c.Code, c.Referrer); err != nil || blocked {
		return nil, nil, err
	}
	return &c, o, nil
}

// RecordClick records the first click of a visitor on a code: the
// visitor's first click in the experiment puts a seen mark, then the click
// item is put if absent. Each is the visitor's own item; the aggregator
// counts unique visitors from the marks and clicks from the click items.
// The mark goes first so that a click whose mark failed is retried whole.
// A click on the code of an ended experiment leads to its program's
// landing URL and puts the click alone: the aggregator counts it for the
// program, which counts no unique visitors.
func (s *Store) RecordClick(ctx context.Context, click refx.Click) (*refx.ClickResult, error) {
	res := &refx.ClickResult{}
	c, o, err := s.liveCode(ctx, click.Code)
	if err != nil || c == nil {
		return res, err
	}
	exp := o.Experiment
	res.Location = o.Location(c.Code)
	got, err := s.getItems(ctx, "RecordClick", clickKey(c.Code, click.Visitor), visitorSeenKey(click.Visitor, exp.ID))
	if err != nil {
		return res, err
	}
	if got[clickKey(c.Code, click.Visitor)] != nil {
		return res, nil
	}
	now := s.opts.Now().UTC()
	if got[visitorSeenKey(click.Visitor, exp.ID)] == nil && o.InExperiment {
		seen, err := attributevalue.MarshalMap(seenItem{
			Key: visitorSeenKey(click.Visitor, exp.ID), Entity: entityVisitor,
			Experiment: exp.ID, Variant: c.Variant, Code: c.Code, Counted: c.Counted, SeenAt: now,
			UserExpiry: s.userExpiry(now),
		})
		if err != nil {
			return res, storeError("RecordClick", err)
		}
		if _, err := s.putIf(ctx, "RecordClick", seen, absent()); err != nil {
			return res, err
		}
	}
	item, err := attributevalue.MarshalMap(clickItem{
		Key: clickKey(c.Code, click.Visitor), Entity: entityClick, Code: c.Code, Experiment: exp.ID,
		Variant: c.Variant, Counted: c.Counted, Visitor: click.Visitor, IPHash: click.IPHash, ClickedAt: now,
		Channel: click.Channel, UTMSource: click.UTM.Source, UTMMedium: click.UTM.Medium, UTMCampaign: click.UTM.Campaign,
		UserExpiry: s.userExpiry(now),
	})
	if err != nil {
		return res, storeError("RecordClick", err)
	}
	failed, err := s.putIf(ctx, "RecordClick", item, absent())
	if err != nil {
		return res, err
	}
	res.Recorded = failed == nil
	return res, nil
}

// maxSlotRaces bounds the re-plans of one signup that lost a velocity slot
// to a concurrent signup through the same code: each race has a winner, so
// the limit only matters past a code's daily limit of concurrent signups.
const maxSlotRaces = 64

// Attribute attributes a referee to the referrer of a code. The guards run
// on what is read consistently first; the write is one transaction of the
// referee's attribution (put if absent: one per referee, first wins), the
// code's guard markers for the signup's IP and device, and the signup's
// velocity slot: items of the referee, of that IP or device, of that slot,
// never one every signup through the code writes.
func (s *Store) Attribute(ctx context.Context, sig refx.Signup) (*refx.AttributionResult, error) {
	for attempt := 0; attempt < maxSlotRaces; attempt++ {
		res, done, err := s.attributeOnce(ctx, sig)
		if err != nil || done {
			return res, err
		}
	}
	return nil, refx.Errorf(refx.EUNAVAILABLE, "code %s is busy; send the same signup again", sig.Code)
}

func (s *Store) attributeOnce(ctx context.Context, sig refx.Signup) (*refx.AttributionResult, bool, error) {
	var c codeItem
	found, err := s.readItem(ctx, "Attribute", &dynamodb.GetItemInput{TableName: s.table, Key: codeKey(sig.Code).Attributes()}, &c)
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
	// After the experiment, a code of its program signs up for the program.
	o, err := s.currentOffer(ctx, c)
	if err != nil {
		return nil, true, err
	}
	if o == nil {
		return &refx.AttributionResult{Status: refx.AttributionRefused, Reasons: []string{refx.ReasonNotRunning}}, true, nil
	}
	if s.codeExpired(&c, exp) {
		return s.refuse(ctx, exp, c, sig, refx.ReasonCodeExpired, nil)
	}
	if blocked, err := s.blocked(ctx, c.Code, c.Referrer); err != nil {
		return nil, true, err
	} else if blocked {
		return s.refuse(ctx, exp, c, sig, refx.ReasonBlocked, nil)
	}
	keys := []itemKey{attributionKey(sig.Referee), refusalKey(sig.Referee, c.Code)}
	if sig.Visitor != "" {
		keys = append(keys, clickKey(c.Code, sig.Visitor))
	}
	for _, h := range []string{sig.IPHash, sig.PreviousIPHash} {
		if h != "" {
			keys = append(keys, ipMarkerKey(c.Code, h))
		}
	}
	for _, h := range []string{sig.Device, sig.PreviousDevice} {
		if h != "" {
			keys = append(keys, deviceMarkerKey(c.Code, h))
		}
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
			return &refx.AttributionResult{Status: refx.AttributionDuplicate, Reasons: a.Reasons, Attribution: attributionOf(a)}, true, nil
		}
		return s.refuse(ctx, exp, c, sig, refx.ReasonAlreadyAttributed, got)
	}
	if got[refusalKey(sig.Referee, c.Code)] != nil {
		return s.refuse(ctx, exp, c, sig, "", got)
	}
	now := s.opts.Now().UTC()
	windowStart, channel := c.CreatedAt, refx.ChannelUnknown
	if av := got[clickKey(c.Code, sig.Visitor)]; av != nil {
		var click clickItem
		if err := attributevalue.UnmarshalMap(av, &click); err == nil {
			windowStart, channel = click.ClickedAt, channelOrDirect(click.Channel)
		}
	}
	switch {
	case sig.Referee == c.Referrer, sameHash(c.EmailHash, sig.EmailHash, sig.PreviousEmailHash):
		// An e-mail address is the referrer's own as surely as the id.
		return s.refuse(ctx, exp, c, sig, refx.ReasonSelfReferral, got)
	case now.After(windowStart.Add(exp.Referral.Window())):
		return s.refuse(ctx, exp, c, sig, refx.ReasonOutsideWindow, got)
	}

	today, thisHour, err := s.signupsToday(ctx, c.Code, now)
	if err != nil {
		return nil, true, err
	}
	var reasons []string
	if thisHour+1 > exp.Referral.MaxSignupsPerHour {
		reasons = append(reasons, refx.ReasonVelocityHour)
	}
	if today+1 > exp.Referral.MaxSignupsPerDay {
		reasons = append(reasons, refx.ReasonVelocityDay)
	}
	switch {
	case sig.IPHash == "":
		reasons = append(reasons, refx.ReasonIPMissing)
	case got[ipMarkerKey(c.Code, sig.IPHash)] != nil,
		sig.PreviousIPHash != "" && got[ipMarkerKey(c.Code, sig.PreviousIPHash)] != nil:
		reasons = append(reasons, refx.ReasonRepeatedIP)
	}
	if sig.Device != "" && (got[deviceMarkerKey(c.Code, sig.Device)] != nil ||
		sig.PreviousDevice != "" && got[deviceMarkerKey(c.Code, sig.PreviousDevice)] != nil) {
		reasons = append(reasons, refx.ReasonRepeatedDevice)
	}
	if sameHash(c.IPHash, sig.IPHash, sig.PreviousIPHash) {
		reasons = append(reasons, refx.ReasonSelfReferralIP)
	}
	if sameHash(c.DeviceHash, sig.Device, sig.PreviousDevice) {
		reasons = append(reasons, refx.ReasonSelfReferralDevice)
	}
	status := refx.AttributionAttributed
	if len(reasons) > 0 {
		status = refx.AttributionFlagged
	}
	a := attributionItem{
		Key: attributionKey(sig.Referee), GSI1PK: referrerPK(c.Referrer), GSI1SK: referrerListSK(now, sig.Referee),
		Entity: entityAttrib, Referee: sig.Referee, Referrer: c.Referrer, Code: c.Code, Experiment: exp.ID,
		Variant: c.Variant, Counted: c.Counted, Status: status, Reasons: reasons, AttributedAt: now,
		Visitor: sig.Visitor, Program: o.ProgramID(), Channel: channel, UserExpiry: s.userExpiry(now),
	}
	items, err := attributionItems(s.table, c, a, sig, got, today, exp.Referral.MaxSignupsPerDay, now)
	if err != nil {
		return nil, true, storeError("Attribute", err)
	}
	if status == refx.AttributionFlagged {
		marker, err := reviewMarkerPut(s.table, a)
		if err != nil {
			return nil, true, storeError("Attribute", err)
		}
		items = append(items, marker)
	}
	err = s.transact(ctx, "Attribute", items)
	switch {
	case err == nil:
		return &refx.AttributionResult{Status: status, Reasons: reasons, Attribution: attributionOf(a)}, true, nil
	case anyConditionFailed(cancellationReasons(err)), refx.ErrorCode(err) == refx.EUNAVAILABLE && today < exp.Referral.MaxSignupsPerDay:
		// Another signup of this referee got there first, or one through
		// this code took (or is taking: its transaction holds the slot)
		// the velocity slot or the first IP or device mark: read again and
		// decide again.
		return nil, false, nil
	}
	return nil, true, storeError("Attribute", err)
}

// sameHash reports whether a code's stored hash equals a signup's, hashed
// with the current key or, while a rotation is under way, the previous one:
// a code created before the rotation holds the previous key's hash. An
// absent hash on either side matches nothing.
func sameHash(stored, current, previous string) bool {
	return stored != "" && (stored == current || stored == previous)
}

// signupsToday counts the signups through code on now's UTC day, and in
// its hour, from the day's velocity slots: one consistent query of the
// code's partition, at most the daily limit of small items.
func (s *Store) signupsToday(ctx context.Context, code string, now time.Time) (today, thisHour int, err error) {
	prefix := velocityPrefix + now.Format("20060102") + "#"
	keys, err := expression.NewBuilder().
		WithKeyCondition(expression.Key(AttrPK).Equal(expression.Value(codeKey(code).PK)).And(expression.Key(AttrSK).BeginsWith(prefix))).
		WithProjection(expression.NamesList(expression.Name("hour"))).Build()
	if err != nil {
		return 0, 0, storeError("signupsToday", err)
	}
	hour := now.Format("15")
	items, err := s.queryItems(ctx, "signupsToday", s.queryInput(keys, true))
	if err != nil {
		return 0, 0, err
	}
	for _, it := range items {
		today++
		if stream.StringAttr(it, "hour") == hour {
			thisHour++
		}
	}
	return today, thisHour, nil
}

// attributionItems are the transaction of a signup: the attribution, the
// day's next velocity slot while the day is under its limit, and the
// code's IP and device marks (put if absent for the first signup from
// them, counted up after).
func attributionItems(table *string, c codeItem, a attributionItem, sig refx.Signup, got map[itemKey]map[string]types.AttributeValue, today, maxDay int, now time.Time) ([]types.TransactWriteItem, error) {
	put, err := putIfAbsent(table, a)
	if err != nil {
		return nil, err
	}
	items := []types.TransactWriteItem{put}
	if today < maxDay {
		slot, err := putIfAbsent(table, struct {
			itemKey
			Entity    string    `dynamodbav:"entity"`
			Hour      string    `dynamodbav:"hour"`
			Referee   string    `dynamodbav:"referee"`
			ExpiresAt time.Time `dynamodbav:"ttl,unixtime"`
		}{velocitySlotKey(c.Code, now.Format("20060102"), today+1), entityVelocity, now.Format("15"), a.Referee, now.Add(48 * time.Hour)})
		if err != nil {
			return nil, err
		}
		items = append(items, slot)
	}
	for _, m := range []struct {
		hash string
		key  itemKey
	}{{sig.IPHash, ipMarkerKey(c.Code, sig.IPHash)}, {sig.Device, deviceMarkerKey(c.Code, sig.Device)}} {
		if m.hash == "" {
			continue
		}
		count := expression.Add(expression.Name("signups"), expression.Value(1)).
			Set(expression.Name("entity"), expression.Value(entityMarker))
		cond := expression.AttributeExists(expression.Name(AttrPK))
		if got[m.key] == nil {
			cond = absent()
		}
		marker, err := conditionalUpdate(table, m.key, count, cond)
		if err != nil {
			return nil, err
		}
		items = append(items, marker)
	}
	return items, nil
}

// refuse records a refused signup once per (referee, code): the refusal is
// the referee's own item, put if absent, and the aggregator counts it by
// reason. With reason "" it returns the refusal already stored.
func (s *Store) refuse(ctx context.Context, exp *refx.Experiment, c codeItem, sig refx.Signup, reason string, got map[itemKey]map[string]types.AttributeValue) (*refx.AttributionResult, bool, error) {
	stored := got[refusalKey(sig.Referee, c.Code)]
	if stored == nil {
		now := s.opts.Now().UTC()
		item, err := attributevalue.MarshalMap(refusalItem{
			Key: refusalKey(sig.Referee, c.Code), Entity: entityRefusal, Referee: sig.Referee, Code: c.Code,
			Experiment: exp.ID, Variant: c.Variant, Counted: c.Counted, Reason: reason, RefusedAt: now,
			UserExpiry: s.userExpiry(now),
		})
		if err != nil {
			return nil, true, storeError("refuse", err)
		}
		failed, err := s.putIf(ctx, "refuse", item, absent())
		if err != nil {
			return nil, true, err
		}
		if failed == nil {
			return &refx.AttributionResult{Status: refx.AttributionRefused, Reasons: []string{reason}}, true, nil
		}
		stored = failed.Item
	}
	var r refusalItem
	if err := attributevalue.UnmarshalMap(stored, &r); err != nil {
		return nil, true, storeError("refuse", err)
	}
	return &refx.AttributionResult{Status: refx.AttributionRefused, Reasons: []string{r.Reason}}, true, nil
}

// Referrals lists a referrer's referees, newest first, through gsi1.
func (s *Store) Referrals(ctx context.Context, referrer string, limit int, cursor string) (*refx.AttributionPage, error) {
	referrals, next, err := indexPage(ctx, s, "Referrals", referrerPK(referrer), limit, cursor, nil, attributionOf)
	if err != nil {
		return nil, err
	}
	return &refx.AttributionPage{Referrals: referrals, NextCursor: next}, nil
}

// referralCredit is a referee's conversion event credited to the referrer's
// variant and code.
type referralCredit struct {
	exp   *refx.Experiment
	attr  attributionItem
	first bool
	// capped is the value the credit counts when the conversion goal's cap
	// lowered the event's.
	capped *string
	// program is set when the experiment has ended: the conversion counts
	// for its program.
	program string
}

// planReferralCredit returns the credit a referee's event earns their
// referrer, or nil: the event must be the experiment's conversion goal and
// the attribution clean; the experiment running and the attribution
// counted, or the experiment ended and its program (which counts every
// referee) there to credit.
func (s *Store) planReferralCredit(ctx context.Context, e *refx.Event, attr *attributionItem) (*referralCredit, error) {
	if attr == nil || attr.Status != refx.AttributionAttributed {
		return nil, nil
	}
	exp, err := s.cachedExperiment(ctx, attr.Experiment)
	if refx.ErrorCode(err) == refx.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if exp.Referral == nil || exp.Referral.ConversionGoal != e.Type {
		return nil, nil
	}
	credit := &referralCredit{exp: exp, attr: *attr, first: attr.ConvertedAt == nil}
	switch {
	case exp.Status == refx.StatusRunning && attr.Counted:
		return credit, nil
	case programAt(exp, s.opts.Now()) != "":
		credit.program = exp.Referral.Program
		return credit, nil
	}
	return nil, nil
}

func updateItem(table *string, key itemKey, update expression.UpdateBuilder) (types.TransactWriteItem, error) {
	expr, err := expression.NewBuilder().WithUpdate(update).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName: table, Key: key.Attributes(),
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
	return s.batchGet(ctx, op, true, keys...)
}

// batchGet reads several items in one batch, strongly consistent when
// consistent says so; absent items are missing from the map.
func (s *Store) batchGet(ctx context.Context, op string, consistent bool, keys ...itemKey) (map[itemKey]map[string]types.AttributeValue, error) {
	req := make([]map[string]types.AttributeValue, len(keys))
	for i, k := range keys {
		req[i] = k.Attributes()
	}
	in := &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		*s.table: {Keys: req, ConsistentRead: aws.Bool(consistent)},
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
