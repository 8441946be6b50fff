package dynamo

import (
	"cmp"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/item"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stream"
)

// deltasOf returns the counter changes one stream record makes: a pure
// function of the record and the experiments read with its batch. slot
// picks the counter shard an experiment's changes land on in this batch.
//
// A referral experiment's clicks, signups and referee conversions made
// after it ended count for its program (programAt) instead.
//
// Only the insert of an item the request path wrote counts (an item is put
// once, on the condition that it is new, so its insert appears once in the
// stream); a code's totals count through their changes, old and new image.
// Deletions, TTL expiry and other updates change no counter.
func deltasOf(r *stream.Record, exps map[string]*refx.Experiment, slot func(*refx.Experiment) int) ([]*counterChange, error) {
	image := r.Image()
	if image == nil {
		return nil, errors.New("record has no item image (the stream must be NEW_AND_OLD_IMAGES)")
	}
	entity := stream.StringAttr(image, "entity")
	if entity == "" {
		return nil, errors.New("item has no entity attribute")
	}
	if entity == entityCodeTotals {
		if r.Change != stream.Insert && r.Change != stream.Modify {
			return nil, nil
		}
		return codeTotalsDeltas(r, exps, slot)
	}
	if r.Change != stream.Insert {
		return nil, nil
	}
	d := deltaSet{exps: exps, slot: slot}
	var err error
	switch entity {
	case entityAssignment:
		err = d.assignment(r.New)
	case entityEvent:
		err = d.event(r.New)
	case entityReferral:
		err = d.code(r.New)
	case entityClick:
		err = d.click(r.New)
	case entityVisitor:
		err = d.visitor(r.New)
	case entityAttrib:
		err = d.attribution(r.New)
	case entityRefusal:
		err = d.refusal(r.New)
	case entityLamedKey:
		err = d.lamed(r.New)
	case entityRefund:
		err = d.refund(r.New)
	case entityConversion:
		err = d.conversion(r.New)
	case entityDecision:
		err = d.decision(r.New)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", entity, err)
	}
	return d.changes, nil
}

// deltaSet collects one record's changes.
type deltaSet struct {
	exps    map[string]*refx.Experiment
	slot    func(*refx.Experiment) int
	changes []*counterChange
}

func (d *deltaSet) change(key itemKey, identity map[string]string) *counterChange {
	c := &counterChange{key: key, identity: map[string]types.AttributeValue{}, add: map[string]*big.Rat{}}
	for k, v := range identity {
		c.identity[k] = &types.AttributeValueMemberS{Value: v}
	}
	d.changes = append(d.changes, c)
	return c
}

// participants, goal and ratio are counters of a phase of exp: phase 1's
// (or 0, an item of before phases) under the experiment's own keys.
func (d *deltaSet) participants(exp *refx.Experiment, phase int, variant string) *counterChange {
	return d.change(participantsKey(phaseScope(exp.ID, phase), d.slot(exp), variant),
		map[string]string{"entity": entityCounter, "experiment": exp.ID, "variant": variant})
}

func (d *deltaSet) goal(exp *refx.Experiment, phase int, variant, goal string) *counterChange {
	return d.change(goalKey(phaseScope(exp.ID, phase), d.slot(exp), variant, goal),
		map[string]string{"entity": entityCounter, "experiment": exp.ID, "variant": variant, "goal": goal})
}

func (d *deltaSet) ratio(exp *refx.Experiment, phase int, variant, ratio string) *counterChange {
	return d.change(ratioCounterKey(phaseScope(exp.ID, phase), d.slot(exp), variant, ratio),
		map[string]string{"entity": entityCounter, "experiment": exp.ID, "variant": variant, "ratio": ratio})
}

func (d *deltaSet) referral(exp *refx.Experiment, variant string) *counterChange {
	return d.change(referralCounterKey(exp.ID, d.slot(exp), variant),
		map[string]string{"entity": entityCounter, "experiment": exp.ID, "variant": variant})
}

func (d *deltaSet) codeTotals(exp *refx.Experiment, code, variant string) *counterChange {
	return d.change(codeTotalsKey(code),
		map[string]string{"entity": entityCodeTotals, "code": code, "experiment": exp.ID, "variant": variant})
}

// counting returns the experiment when a change at t counts in it, for
// what only phase 1 counts (referral experiments have no other).
func (d *deltaSet) counting(id string, t time.Time) *refx.Experiment {
	return d.countingIn(id, 1, t)
}

// countingIn returns the experiment when a change at t counts in its
// phase: the experiment counts at t, and the phase had not ended.
func (d *deltaSet) countingIn(id string, phase int, t time.Time) *refx.Experiment {
	if exp := d.exps[id]; countsAt(exp, t) && exp.Counts(max(phase, 1), t) {
		return exp
	}
	return nil
}

var one = big.NewRat(1, 1)

func (d *deltaSet) assignment(image map[string]types.AttributeValue) error {
	var a linkedAssignment
	if err := decodeImage(image, &a); err != nil {
		return err
	}
	if a.Experiment == "" || a.Variant == "" || a.AssignedAt.IsZero() {
		return errors.New("assignment lacks experiment, variant or assigned_at")
	}
	// A copy made when an anonymous visitor was identified: the visitor
	// was counted when enrolled.
	if a.LinkedFrom != "" {
		return nil
	}
	exp := d.countingIn(a.Experiment, a.Phase, a.AssignedAt)
	if exp == nil {
		return nil
	}
	d.participants(exp, a.Phase, a.Variant).addTo("participants", one)
	for key, n := range a.Covariates {
		if _, ok := exp.Goal(key); !ok {
			continue
		}
		x, err := decimalRat("covariate", n)
		if err != nil {
			return err
		}
		g := d.goal(exp, a.Phase, a.Variant, key)
		g.addTo("covariate_participants", one)
		g.addTo("covariate_sum", x)
		g.addTo("covariate_sum_sq", new(big.Rat).Mul(x, x))
	}
	return nil
}

// decimalRat parses a stored decimal number; what names it in the error.
func decimalRat(what string, n attributevalue.Number) (*big.Rat, error) {
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		return nil, fmt.Errorf("%s %q is not a decimal", what, n)
	}
	return r, nil
}

func (d *deltaSet) event(image map[string]types.AttributeValue) error {
	var e eventItem
	if err := decodeImage(image, &e); err != nil {
		return err
	}
	return d.countEvent(&e)
}

// countEvent adds what event e's credits count.
func (d *deltaSet) countEvent(e *eventItem) error {
	if e.ID == "" || e.Type == "" || e.ReceivedAt.IsZero() {
		return errors.New("event lacks id, type or received_at")
	}
	value := new(big.Rat)
	if e.Value != nil {
		if _, ok := value.SetString(*e.Value); !ok {
			return fmt.Errorf("event value %q is not a decimal", *e.Value)
		}
	}
	for _, c := range e.Credits {
		exp := d.countingIn(c.Experiment, c.Phase, e.ReceivedAt)
		var program string
		if c.Referrer != "" {
			program = programAt(d.exps[c.Experiment], e.ReceivedAt)
		}
		if exp == nil && program == "" {
			continue
		}
		value := value
		if c.Value != nil {
			// The goal's cap lowered the event's value for this credit.
			value = new(big.Rat)
			if _, ok := value.SetString(*c.Value); !ok {
				return fmt.Errorf("credit value %q is not a decimal", *c.Value)
			}
		}
		if program != "" {
			totals := d.program(program)
			totals.addTo("conversions", one)
			totals.addTo("value", value)
			if c.FirstConversion {
				totals.addTo("converting_referees", one)
			}
			continue
		}
		if c.Referrer != "" {
			if exp.Referral == nil || c.Code == "" {
				continue
			}
			totals := d.codeTotals(exp, c.Code, c.Variant)
			totals.addTo("conversions", one)
			totals.addTo("value", value)
			channel := cmp.Or(c.Channel, refx.ChannelUnknown)
			d.funnel(exp, totals, c.Code, c.Variant, channel, "conversions", one)
			d.funnel(exp, totals, c.Code, c.Variant, channel, "value", value)
			if c.FirstConversion {
				d.referral(exp, c.Variant).addTo("converting_referees", one)
			}
			continue
		}
		g := d.goal(exp, c.Phase, c.Variant, e.Type)
		g.addTo("events", one)
		if c.FirstConversion {
			g.addTo("users", one)
		}
		g.addTo("value_sum", value)
		g.addTo("value_sum_sq", new(big.Rat).Mul(value, value))
		if c.ParticipantSqDelta != "" {
			delta, ok := new(big.Rat).SetString(string(c.ParticipantSqDelta))
			if !ok {
				return fmt.Errorf("credit's value_participant_sq_delta %q is not a decimal", c.ParticipantSqDelta)
			}
			g.addTo("value_participant_sum_sq", delta)
		}
		if c.EventsSqDelta != "" {
			delta, err := decimalRat("credit's events_participant_sq_delta", c.EventsSqDelta)
			if err != nil {
				return err
			}
			g.addTo("events_participant_sum_sq", delta)
		}
		for key, n := range c.RatioProducts {
			p, err := decimalRat("credit's ratio product", n)
			if err != nil {
				return err
			}
			d.ratio(exp, c.Phase, c.Variant, key).addTo("products", p)
		}
		if c.Covariate != "" {
			// Σxy over participants, y their total value or whether they
			// converted: x·Δy as y grows.
			x, err := decimalRat("credit's covariate", c.Covariate)
			if err != nil {
				return err
			}
			g.addTo("covariate_value_products", new(big.Rat).Mul(x, value))
			if c.FirstConversion {
				g.addTo("covariate_users_products", x)
			}
		}
	}
	return nil
}

// refund subtracts what its credits count: the refunded event's credits
// as they stand at the refund (refundItem), counted as the event was, at
// its reception, and negated.
func (d *deltaSet) refund(image map[string]types.AttributeValue) error {
	var r refundItem
	if err := decodeImage(image, &r); err != nil {
		return err
	}
	if r.RefundedEvent == "" || r.Type == "" || r.EventReceivedAt.IsZero() {
		return errors.New("refund lacks refunded_event, type or event_received_at")
	}
	return d.subtract(func(reversed *deltaSet) error {
		return reversed.countEvent(&eventItem{ID: r.RefundedEvent, Type: r.Type, Value: r.Value,
			ReceivedAt: r.EventReceivedAt, Credits: r.Credits})
	})
}

// conversion counts a change refunds made to whether a user is converted.
func (d *deltaSet) conversion(image map[string]types.AttributeValue) error {
	var c conversionItem
	if err := decodeImage(image, &c); err != nil {
		return err
	}
	if c.Experiment == "" || c.Variant == "" || (c.Goal == "") == (c.Code == "") || c.CountedAt.IsZero() || (c.Delta != 1 && c.Delta != -1) {
		return errors.New("conversion change lacks experiment, variant, goal or code, counted_at, or a delta of ±1")
	}
	exp := d.countingIn(c.Experiment, c.Phase, c.CountedAt)
	if exp == nil {
		return nil
	}
	delta := big.NewRat(c.Delta, 1)
	if c.Code != "" {
		if exp.Referral != nil {
			d.referral(exp, c.Variant).addTo("converting_referees", delta)
		}
		return nil
	}
	g := d.goal(exp, c.Phase, c.Variant, c.Goal)
	g.addTo("users", delta)
	if c.Covariate != "" {
		x, err := decimalRat("conversion's covariate", c.Covariate)
		if err != nil {
			return err
		}
		g.addTo("covariate_users_products", x.Mul(x, delta))
	}
	return nil
}

func (d *deltaSet) code(image map[string]types.AttributeValue) error {
	var c codeItem
	if err := decodeImage(image, &c); err != nil {
		return err
	}
	if c.Code == "" || c.Experiment == "" || c.CreatedAt.IsZero() {
		return errors.New("code lacks code, experiment or created_at")
	}
	if exp := d.counting(c.Experiment, c.CreatedAt); exp != nil && c.Counted && exp.Referral != nil {
		d.referral(exp, c.Variant).addTo("referrers", one)
	}
	return nil
}

func (d *deltaSet) click(image map[string]types.AttributeValue) error {
	var c clickItem
	if err := decodeImage(image, &c); err != nil {
		return err
	}
	if c.Code == "" || c.Experiment == "" || c.ClickedAt.IsZero() {
		return errors.New("click lacks code, experiment or clicked_at")
	}
	if program := programAt(d.exps[c.Experiment], c.ClickedAt); program != "" {
		d.program(program).addTo("clicks", one)
	}
	if exp := d.counting(c.Experiment, c.ClickedAt); exp != nil && c.Counted && exp.Referral != nil {
		totals := d.codeTotals(exp, c.Code, c.Variant)
		totals.addTo("clicks", one)
		d.funnel(exp, totals, c.Code, c.Variant, channelOrDirect(c.Channel), "clicks", one)
	}
	return nil
}

func (d *deltaSet) visitor(image map[string]types.AttributeValue) error {
	var v seenItem
	if err := decodeImage(image, &v); err != nil {
		return err
	}
	if v.Experiment == "" || v.SeenAt.IsZero() {
		return errors.New("visitor mark lacks experiment or seen_at")
	}
	if exp := d.counting(v.Experiment, v.SeenAt); exp != nil && v.Counted && exp.Referral != nil {
		d.referral(exp, v.Variant).addTo("unique_visitors", one)
	}
	return nil
}

func (d *deltaSet) attribution(image map[string]types.AttributeValue) error {
	var a attributionItem
	if err := decodeImage(image, &a); err != nil {
		return err
	}
	return d.countAttribution(a)
}

// decision counts a review decision as the attribution it decided: an
// approval counts the signup a flagged attribution did not, the rejection
// of an attributed one subtracts the signup its insert counted (both as of
// the attribution's time, as its insert was). A flagged one's rejection
// changes no counter: it counted none.
func (d *deltaSet) decision(image map[string]types.AttributeValue) error {
	var r decisionItem
	if err := decodeImage(image, &r); err != nil {
		return err
	}
	a := r.Attribution
	from := a.Status
	a.Status = refx.AttributionAttributed
	switch {
	case r.Decision == refx.DecisionApprove:
		return d.countAttribution(a)
	case r.Decision == refx.DecisionReject && from == refx.AttributionAttributed:
		return d.subtract(func(reversed *deltaSet) error { return reversed.countAttribution(a) })
	}
	return nil
}

// subtract adds the opposite of what count adds: a reversal is counted as
// what it reverses was, negated.
func (d *deltaSet) subtract(count func(*deltaSet) error) error {
	reversed := deltaSet{exps: d.exps, slot: d.slot}
	if err := count(&reversed); err != nil {
		return err
	}
	for _, c := range reversed.changes {
		for _, v := range c.add {
			v.Neg(v)
		}
	}
	d.changes = append(d.changes, reversed.changes...)
	return nil
}

// countAttribution adds what attribution a counts.
func (d *deltaSet) countAttribution(a attributionItem) error {
	if a.Code == "" || a.Experiment == "" || a.AttributedAt.IsZero() {
		return errors.New("attribution lacks code, experiment or attributed_at")
	}
	if program := programAt(d.exps[a.Experiment], a.AttributedAt); program != "" {
		if a.Status == refx.AttributionAttributed {
			d.program(program).addTo("signups", one)
		}
		return nil
	}
	exp := d.counting(a.Experiment, a.AttributedAt)
	if exp == nil || !a.Counted || exp.Referral == nil {
		return nil
	}
	if a.Status == refx.AttributionAttributed {
		totals := d.codeTotals(exp, a.Code, a.Variant)
		totals.addTo("signups", one)
		d.funnel(exp, totals, a.Code, a.Variant, cmp.Or(a.Channel, refx.ChannelUnknown), "signups", one)
		return nil
	}
	if len(a.Reasons) > 0 {
		counter := d.referral(exp, a.Variant)
		for _, reason := range a.Reasons {
			counter.addTo("flagged_"+reason, one)
		}
	}
	return nil
}

func (d *deltaSet) refusal(image map[string]types.AttributeValue) error {
	var r refusalItem
	if err := decodeImage(image, &r); err != nil {
		return err
	}
	if r.Experiment == "" || r.Reason == "" || r.RefusedAt.IsZero() {
		return errors.New("refusal lacks experiment, reason or refused_at")
	}
	if exp := d.counting(r.Experiment, r.RefusedAt); exp != nil && r.Counted && exp.Referral != nil {
		d.referral(exp, r.Variant).addTo("refused_"+r.Reason, one)
	}
	return nil
}

func (d *deltaSet) lamed(image map[string]types.AttributeValue) error {
	var l lamedItem
	if err := decodeImage(image, &l); err != nil {
		return err
	}
	if l.Experiment == "" || l.Variant == "" || l.Event == "" || l.ReceivedAt.IsZero() {
		return errors.New("lamed key lacks experiment, variant, event or received_at")
	}
	exp := d.counting(l.Experiment, l.ReceivedAt)
	if exp == nil {
		return nil
	}
	if l.Event == refx.LamedParticipate {
		d.participants(exp, 1, l.Variant).addTo("participants", one)
		return nil
	}
	g := d.goal(exp, 1, l.Variant, l.Event)
	g.addTo("users", one)
	g.addTo("events", one)
	return nil
}

// codeTotalsDeltas turn a change of a code's totals, from (c, s, k, V) to
// (c', s', k', V'), into the changes of its variant's referral counter: the
// totals by their differences, and the per-referrer sums by the
// differences of the squares and products, c'² − c², V'² − V², c's' − cs.
func codeTotalsDeltas(r *stream.Record, exps map[string]*refx.Experiment, slot func(*refx.Experiment) int) ([]*counterChange, error) {
	var before, after codeTotalsItem
	if r.Old != nil {
		if err := decodeImage(r.Old, &before); err != nil {
			return nil, fmt.Errorf("code_totals old image: %w", err)
		}
	}
	if err := decodeImage(r.New, &after); err != nil {
		return nil, fmt.Errorf("code_totals new image: %w", err)
	}
	if after.Experiment == "" || after.Variant == "" {
		return nil, errors.New("code_totals lacks experiment or variant")
	}
	exp := exps[after.Experiment]
	if exp == nil {
		return nil, nil
	}
	v0, v1 := new(big.Rat), new(big.Rat)
	for _, p := range []struct {
		r *big.Rat
		s attributevalue.Number
	}{{v0, before.Value}, {v1, after.Value}} {
		if p.s == "" {
			continue
		}
		if _, ok := p.r.SetString(string(p.s)); !ok {
			return nil, fmt.Errorf("code_totals value %q is not a decimal", p.s)
		}
	}
	d := deltaSet{exps: exps, slot: slot}
	c := d.referral(exp, after.Variant)
	diff := func(a, b int64) *big.Rat { return new(big.Rat).SetInt64(b - a) }
	c.addTo("clicks", diff(before.Clicks, after.Clicks))
	c.addTo("signups", diff(before.Signups, after.Signups))
	c.addTo("conversions", diff(before.Conversions, after.Conversions))
	c.addTo("conversion_value", new(big.Rat).Sub(v1, v0))
	c.addTo("clicks_sq", diff(before.Clicks*before.Clicks, after.Clicks*after.Clicks))
	c.addTo("signups_sq", diff(before.Signups*before.Signups, after.Signups*after.Signups))
	c.addTo("conversions_sq", diff(before.Conversions*before.Conversions, after.Conversions*after.Conversions))
	c.addTo("clicks_x_signups", diff(before.Clicks*before.Signups, after.Clicks*after.Signups))
	c.addTo("value_sq", new(big.Rat).Sub(new(big.Rat).Mul(v1, v1), new(big.Rat).Mul(v0, v0)))
	if before.Clicks == 0 && after.Clicks > 0 {
		c.addTo("sharing_referrers", one)
	}
	if len(c.add) == 0 {
		return nil, nil
	}
	return d.changes, nil
}

func decodeImage(image map[string]types.AttributeValue, out any) error {
	if err := item.Decode(image, out); err != nil {
		return fmt.Errorf("cannot decode the item: %w", err)
	}
	return nil
}
