package dynamo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/refx"
)

// refundExperiment measures signup, purchase (value, capped at 100) and
// the purchase value per signup, so that a refund moves every kind of sum:
// events, values, per-participant squares, the ratio's products (its
// binomial denominator keeps a running events total) and, with covariates,
// Σxy.
func refundExperiment(tb testing.TB, id string) refx.NewExperiment {
	n := newExperiment(id)
	n.Goals[1].Cap = decimal(tb, "100")
	n.RatioMetrics = []refx.RatioMetric{{Key: "value_per_signup", Numerator: "purchase", Denominator: "signup"}}
	return n
}

// refundEnrolment is a user enrolled with their covariates.
type refundEnrolment struct {
	user       string
	covariates map[string]refx.Decimal
}

func mustEnrol(tb testing.TB, s *dynamo.Store, exp string, u refundEnrolment) {
	tb.Helper()
	if _, err := s.AssignWith(context.Background(), exp, u.user, refx.AssignInput{Covariates: u.covariates}); err != nil {
		tb.Fatal(err)
	}
}

// recount records only the surviving events, in order, for the same users
// on a fresh table: what the counters must equal once refunds are counted.
func recount(tb testing.TB, n refx.NewExperiment, users []refundEnrolment, events []*refx.Event) map[string]any {
	tb.Helper()
	s := MustStore(tb, dynamo.Options{})
	e := MustRunning(tb, s, n)
	for _, u := range users {
		mustEnrol(tb, s, e.ID, u)
	}
	for _, ev := range events {
		if _, err := s.RecordEvent(context.Background(), ev); err != nil {
			tb.Fatal(err)
		}
	}
	return canonicalResults(tb, mustResults(tb, s, e.ID))
}

// canonicalResults is results with every number exact (big.Rat) and zeros
// dropped: a counter the refunds brought back to zero equals one never
// written.
func canonicalResults(tb testing.TB, res map[string]refx.VariantResults) map[string]any {
	tb.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		tb.Fatal(err)
	}
	var v map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		tb.Fatal(err)
	}
	out, _ := canonical(v).(map[string]any)
	return out
}

func canonical(v any) any {
	switch v := v.(type) {
	case json.Number:
		r, ok := new(big.Rat).SetString(string(v))
		if !ok || r.Sign() == 0 {
			return nil
		}
		return r.RatString()
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			if c := canonical(x); c != nil {
				out[k] = c
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		if len(v) == 0 {
			return nil
		}
		return v
	case string:
		if v == "" {
			return nil
		}
	}
	return v
}

// survivors are the events not refunded.
func survivors(events []*refx.Event, refunded map[string]bool) []*refx.Event {
	var out []*refx.Event
	for _, ev := range events {
		if !refunded[ev.ID] {
			out = append(out, ev)
		}
	}
	return out
}

func refundOf(ev *refx.Event) *refx.Event {
	return &refx.Event{ID: uuid(), Type: refx.EventRefund, User: ev.User, Refund: ev.ID, Trusted: true}
}

// TestRefundRecount plays users' events and refunds in random order
// (refunds of the first, the last and every event of a goal, of capped
// values, a refund and then a new first conversion, second refunds of one
// event under other ids, retries), and compares the counters with a recount
// of the surviving events alone.
func TestRefundRecount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	n := refundExperiment(t, "refund-recount")
	e := MustRunning(t, s, n)
	rng := rand.New(rand.NewPCG(16, 16))
	var (
		users    []refundEnrolment
		events   []*refx.Event
		refunded = map[string]bool{}
	)
	for u := range 40 {
		en := refundEnrolment{user: fmt.Sprintf("user-%02d", u)}
		if u%3 != 0 {
			en.covariates = decimals(t, "purchase", fmt.Sprintf("%d.5", u%7), "signup", "1")
		}
		mustEnrol(t, s, e.ID, en)
		users = append(users, en)
		var mine []*refx.Event
		for range 2 + rng.IntN(6) {
			if len(mine) > 0 && rng.IntN(3) == 0 {
				ev := mine[rng.IntN(len(mine))]
				r := refundOf(ev)
				res, err := s.RecordEvent(ctx, r)
				if err != nil {
					t.Fatal(err)
				}
				want := refx.EventRecorded
				if refunded[ev.ID] {
					want = refx.EventDuplicate
				}
				if res.Status != want {
					t.Fatalf("refund of %s: status %s, want %s", ev.ID, res.Status, want)
				}
				refunded[ev.ID] = true
				if rng.IntN(2) == 0 {
					// The shop's retry of the same refund.
					if res, err := s.RecordEvent(ctx, r); err != nil || res.Status != refx.EventDuplicate {
						t.Fatalf("retried refund: %+v, %v", res, err)
					}
				}
				continue
			}
			ev := &refx.Event{ID: uuid(), Type: "signup", User: en.user, Trusted: true}
			if rng.IntN(3) != 0 {
				ev.Type = "purchase"
				if rng.IntN(4) != 0 {
					ev.Value = decimal(t, fmt.Sprintf("%d.%02d", rng.IntN(140), rng.IntN(100)))
				}
			}
			if _, err := s.RecordEvent(ctx, ev); err != nil {
				t.Fatal(err)
			}
			mine = append(mine, ev)
			events = append(events, ev)
		}
	}
	got := canonicalResults(t, mustResults(t, s, e.ID))
	want := recount(t, n, users, survivors(events, refunded))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("counters after %d refunds of %d events:\n got %v\nwant %v", len(refunded), len(events), got, want)
	}
	// The refunds moved the counters: without them the recount differs.
	if all := recount(t, n, users, events); reflect.DeepEqual(got, all) {
		t.Errorf("the counters equal those of all %d events, as if the %d refunds counted nothing", len(events), len(refunded))
	}
}

// TestRefundErrors checks the refusals and answers of a refund.
func TestRefundErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	e := MustRunning(t, s, refundExperiment(t, "refund-errors"))
	for _, u := range []string{"ann", "bob"} {
		mustEnrol(t, s, e.ID, refundEnrolment{user: u})
	}
	purchase := &refx.Event{ID: uuid(), Type: "purchase", User: "ann", Value: decimal(t, "30"), Trusted: true}
	if _, err := s.RecordEvent(ctx, purchase); err != nil {
		t.Fatal(err)
	}
	first := refundOf(purchase)
	if res, err := s.RecordEvent(ctx, first); err != nil || res.Status != refx.EventRecorded || len(res.Credits) != 1 {
		t.Fatalf("refund: %+v, %v", res, err)
	}
	reused := *first
	reused.Refund = uuid()
	untrusted := *refundOf(purchase)
	untrusted.Trusted = false
	bobs := *refundOf(purchase)
	bobs.User = "bob"
	for _, tt := range []struct {
		name   string
		refund *refx.Event
		code   string
		status string
	}{
		{"ErrNotFound", &refx.Event{ID: uuid(), Type: refx.EventRefund, User: "ann", Refund: uuid(), Trusted: true}, refx.ENOTFOUND, ""},
		{"ErrOtherUser", &bobs, refx.ECONFLICT, ""},
		{"ErrRefundOfRefund", refundOf(first), refx.EINVALID, ""},
		{"ErrUntrusted", &untrusted, refx.EFORBIDDEN, ""},
		{"ErrKeyReused", &reused, refx.EKEYREUSED, ""},
		{"Retry", first, "", refx.EventDuplicate},
		{"OtherID", refundOf(purchase), "", refx.EventDuplicate},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := s.RecordEvent(ctx, tt.refund)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil || res.Status != tt.status {
				t.Fatalf("%+v, %v; want status %s", res, err, tt.status)
			}
		})
	}
	for _, g := range mustResults(t, s, e.ID) {
		if c := g.Goals["purchase"]; c.Events != 0 || c.Users != 0 {
			t.Errorf("purchase counts %+v after its refund, want none", c)
		}
	}
}

// TestContentionRefunds proves refunds exact under DynamoDB's transaction
// conflicts: storms of one refund sent 20 times at once and of 5 refunds
// (other ids) of one event reverse it once; a refund racing its user's next
// purchase or signup leaves the counters of the surviving events.
func TestContentionRefunds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := MustContention(t, true)
	n := refundExperiment(t, "refund-storm")
	e := MustRunning(t, c.direct, n)
	var (
		users    []refundEnrolment
		events   []*refx.Event
		refunded = map[string]bool{}
		ops      []func() error
		mu       sync.Mutex
		recorded = map[string]int{}
	)
	record := func(ev *refx.Event) func() error {
		return func() error {
			res, err := retry(c, func() (*refx.EventResult, error) { return c.through.RecordEvent(ctx, ev) })
			if err == nil && ev.Type == refx.EventRefund && res.Status == refx.EventRecorded {
				mu.Lock()
				recorded[ev.Refund]++
				mu.Unlock()
			}
			return err
		}
	}
	mustRecord := func(ev *refx.Event) {
		if _, err := c.direct.RecordEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	for u := range 24 {
		en := refundEnrolment{user: fmt.Sprintf("user-%02d", u), covariates: decimals(t, "purchase", fmt.Sprint(u%4))}
		mustEnrol(t, c.direct, e.ID, en)
		users = append(users, en)
		buy := &refx.Event{ID: uuid(), Type: "purchase", User: en.user, Trusted: true}
		if u%2 == 0 {
			buy.Value = decimal(t, fmt.Sprintf("%d.25", 10+u))
		}
		signup := &refx.Event{ID: uuid(), Type: "signup", User: en.user, Trusted: true}
		mustRecord(buy)
		mustRecord(signup)
		refunded[buy.ID] = true
		switch u % 3 {
		case 0: // the same refund 20 times at once
			r := refundOf(buy)
			for range 20 {
				ops = append(ops, record(r))
			}
		case 1: // five refunds of one event
			for range 5 {
				ops = append(ops, record(refundOf(buy)))
			}
		case 2: // the refund racing the user's next purchase and signup
			next := &refx.Event{ID: uuid(), Type: "purchase", User: en.user, Trusted: true}
			if u%4 == 0 {
				next.Value = decimal(t, "7.5")
			}
			again := &refx.Event{ID: uuid(), Type: "signup", User: en.user, Trusted: true}
			refunded[signup.ID] = true
			events = append(events, next, again)
			ops = append(ops, record(refundOf(buy)), record(next), record(refundOf(signup)), record(again))
		}
	}
	runAll(t, contentionClients, ops)
	c.report(t)
	c.mustNotConflictOn(t, "EXP#", "COUNT#")
	// A refund whose write went through may still be answered 503 (its
	// conversions were not settled): the retry is then a duplicate, so
	// some events have no "recorded" answer; none may have two.
	for id := range refunded {
		if recorded[id] > 1 {
			t.Errorf("event %s: %d refunds recorded, want at most 1", id, recorded[id])
		}
	}
	got := canonicalResults(t, mustResults(t, c.direct, e.ID))
	want := recount(t, n, users, survivors(events, refunded))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("counters after the storms:\n got %v\nwant %v", got, want)
	}
}

// TestRefundWRU measures the write units of a refund, on the request path
// and by the aggregator: of a user's only purchase (the conversion goes)
// and of one of two (it stays).
func TestRefundWRU(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	direct := MustStore(t, dynamo.Options{})
	e := MustRunning(t, direct, refundExperiment(t, "refund-wru"))
	c := mustContentionOn(t, direct, false)
	const k = 20
	for _, tt := range []struct {
		name      string
		purchases int
	}{{"refund-last-purchase", 1}, {"refund-one-of-two", 2}} {
		var refunds []*refx.Event
		for i := range k {
			user := fmt.Sprintf("%s-%02d", tt.name, i)
			mustEnrol(t, direct, e.ID, refundEnrolment{user: user})
			for p := range tt.purchases {
				ev := &refx.Event{ID: uuid(), Type: "purchase", User: user, Value: decimal(t, "19.99"), Trusted: true}
				if _, err := direct.RecordEvent(ctx, ev); err != nil {
					t.Fatal(err)
				}
				if p == 0 {
					refunds = append(refunds, refundOf(ev))
				}
			}
		}
		dynamotest.MustCount(t, c.through)
		c.proxy.Reset()
		for _, r := range refunds {
			if res, err := c.through.RecordEvent(ctx, r); err != nil || res.Status != refx.EventRecorded {
				t.Fatalf("%+v, %v", res, err)
			}
		}
		request := c.proxy.Usage().WRU()
		dynamotest.MustCount(t, c.through)
		total := c.proxy.Usage().WRU()
		t.Logf("%s: %.2f WRU per refund (%.2f on the request path, %.2f by the aggregator)", tt.name,
			float64(total)/k, float64(request)/k, float64(total-request)/k)
	}
}
