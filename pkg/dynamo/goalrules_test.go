package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/refx"
)

// TestServerOnlyGoal: an untrusted event that would count for a server-only
// goal is refused whole and leaves its id free, so that the backend's send
// of the same event counts; the browser's copy afterwards is a duplicate.
func TestServerOnlyGoal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	strict := newExperiment("server-only")
	strict.Goals = []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial}, {Key: "purchase", Kind: refx.GoalValue, ServerOnly: true}}
	strictExp := MustRunning(t, s, strict)
	// The same event type, not server-only, in a second experiment: the
	// refusal is whole, not a partial credit that would spend the id.
	lax := MustRunning(t, s, newExperiment("lax"))
	for _, exp := range []string{strictExp.ID, lax.ID} {
		if _, err := s.Assign(ctx, exp, "alice", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Assign(ctx, lax.ID, "bob", nil); err != nil {
		t.Fatal(err)
	}

	purchase := refx.Event{ID: uuid(), Type: "purchase", User: "alice", Value: decimal(t, "40")}
	trusted := purchase
	trusted.Trusted = true
	reused := purchase
	reused.Value = decimal(t, "41")
	other := refx.Event{ID: uuid(), Type: "purchase", User: "alice", Value: decimal(t, "5")}
	signup := refx.Event{ID: uuid(), Type: "signup", User: "alice"}
	bobs := refx.Event{ID: uuid(), Type: "purchase", User: "bob", Value: decimal(t, "7")}

	tests := []struct {
		name    string
		event   refx.Event
		status  string
		code    string
		credits int
	}{
		{"ErrUntrusted", purchase, "", refx.EFORBIDDEN, 0},
		{"ErrUntrustedAgain", purchase, "", refx.EFORBIDDEN, 0},
		{"Trusted", trusted, refx.EventRecorded, "", 2},
		{"UntrustedCopyIsDuplicate", purchase, refx.EventDuplicate, "", 2},
		{"ErrUntrustedReusedKey", reused, "", refx.EKEYREUSED, 0},
		{"ErrUntrustedOtherEvent", other, "", refx.EFORBIDDEN, 0},
		{"UntrustedOtherGoal", signup, refx.EventRecorded, "", 2},
		{"UntrustedNotServerOnlyForThisUser", bobs, refx.EventRecorded, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.event
			res, err := s.RecordEvent(ctx, &e)
			wantCode(t, err, tt.code)
			if err != nil {
				return
			}
			if res.Status != tt.status || len(res.Credits) != tt.credits {
				t.Fatalf("result = %+v, want status %s with %d credits", res, tt.status, tt.credits)
			}
		})
	}
	var purchases []refx.GoalCounts
	for _, v := range mustResults(t, s, strictExp.ID) {
		purchases = append(purchases, v.Goals["purchase"])
	}
	var events int64
	var sum refx.GoalCounts
	for _, g := range purchases {
		events += g.Events
		if g.Events > 0 {
			sum = g
		}
	}
	if events != 1 || sum.ValueSum != "40" {
		t.Fatalf("server-only purchases = %+v, want only the trusted one (40)", purchases)
	}
}

// TestValueCap: each credit counts the event's value within its goal's cap,
// and every sum (Σvalue, Σvalue², Σ over participants of total²) is the
// exact sum of the capped metric.
func TestValueCap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	n := newExperiment("capped")
	// Everyone in control, so that every sum is one variant's.
	n.Variants[1].Weight = 0
	n.Goals[1].Cap = decimal(t, "100")
	exp := MustRunning(t, s, n)
	// The same events in an uncapped experiment: its sums are the raw ones.
	raw := newExperiment("uncapped")
	raw.Variants[1].Weight = 0
	rawExp := MustRunning(t, s, raw)

	events := []capEvent{
		{"alice", "30", "30"},
		{"alice", "250", "100"},
		{"bob", "1000000000", "100"},
		{"bob", "-500", "-100"},
		{"bob", "12.3456", "12.3456"},
		{"carol", "100", "100"},
		{"carol", "-100", "-100"},
		{"carol", "100.0001", "100"},
	}
	for _, user := range []string{"alice", "bob", "carol"} {
		for _, id := range []string{exp.ID, rawExp.ID} {
			if _, err := s.Assign(ctx, id, user, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, ev := range events {
		t.Run(ev.user+"/"+ev.value, func(t *testing.T) {
			res, err := s.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: "purchase", User: ev.user, Value: decimal(t, ev.value)})
			if err != nil {
				t.Fatal(err)
			}
			capped := map[string]bool{}
			for _, c := range res.Credits {
				capped[c.Experiment] = c.Capped
			}
			want := map[string]bool{exp.ID: ev.counted != ev.value, rawExp.ID: false}
			if fmt.Sprint(capped) != fmt.Sprint(want) {
				t.Fatalf("capped per experiment = %v, want %v", capped, want)
			}
		})
	}

	// Totals per user of the capped values: alice 130, bob 12.3456,
	// carol 100. By hand: Σv = 242.3456; Σv² = 6·100² + 30² + 12.3456² =
	// 60900 + 152.41383936; Σ totals² = 16900 + 152.41383936 + 10000.
	hand := refx.GoalCounts{Users: 3, Events: 8, ValueSum: "242.3456", ValueSumSq: "61052.41383936", ValueParticipantSumSq: "27052.41383936"}
	if got := capSums(t, events, func(e capEvent) string { return e.counted }); got != hand {
		t.Fatalf("the table's capped sums = %+v, hand computation %+v", got, hand)
	}
	got := mustResults(t, s, exp.ID)["control"].Goals["purchase"]
	if got != hand {
		t.Fatalf("capped counts = %+v, want %+v", got, hand)
	}
	gotRaw := mustResults(t, s, rawExp.ID)["control"].Goals["purchase"]
	if want := capSums(t, events, func(e capEvent) string { return e.value }); gotRaw != want {
		t.Fatalf("uncapped counts = %+v, want %+v", gotRaw, want)
	}
}

// capEvent is a user's event of some value, and the value its capped goal
// counts.
type capEvent struct{ user, value, counted string }

// capSums computes a goal's counts from events, each counting pick(event).
func capSums(tb testing.TB, events []capEvent, pick func(capEvent) string) refx.GoalCounts {
	tb.Helper()
	sum, sumSq, partSq := new(big.Rat), new(big.Rat), new(big.Rat)
	totals := map[string]*big.Rat{}
	var order []string
	for _, e := range events {
		v, ok := new(big.Rat).SetString(pick(e))
		if !ok {
			tb.Fatalf("%q is not a decimal", pick(e))
		}
		user := e.user
		if totals[user] == nil {
			totals[user] = new(big.Rat)
			order = append(order, user)
		}
		totals[user].Add(totals[user], v)
		sum.Add(sum, v)
		sumSq.Add(sumSq, new(big.Rat).Mul(v, v))
	}
	for _, u := range order {
		partSq.Add(partSq, new(big.Rat).Mul(totals[u], totals[u]))
	}
	return refx.GoalCounts{Users: int64(len(order)), Events: int64(len(events)),
		ValueSum: exact(sum), ValueSumSq: exact(sumSq), ValueParticipantSumSq: exact(partSq)}
}

// exact formats r, a decimal, without trailing zeros, as the results do.
func exact(r *big.Rat) json.Number {
	s := r.FloatString(8)
	s = strings.TrimRight(s, "0")
	return json.Number(strings.TrimSuffix(s, "."))
}

// TestReferralConversionRules: a referee's conversion credited to the
// referrer follows the experiment's goal of that type: server-only refuses
// the browser's copy, the cap bounds the value the referrer is credited.
func TestReferralConversionRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	n := newReferralExperiment("ref-rules")
	n.Goals[1].ServerOnly = true
	n.Goals[1].Cap = decimal(t, "100")
	exp := MustRunning(t, s, n)
	link := mustLink(t, s, exp.ID, "referrer")
	mustAttribute(t, s, refx.Signup{Code: link.Code, Referee: "friend", IPHash: "ip-1"}, refx.AttributionAttributed)

	purchase := refx.Event{ID: uuid(), Type: exp.Referral.ConversionGoal, User: "friend", Value: decimal(t, "1000000000")}
	if _, err := s.RecordEvent(ctx, &purchase); refx.ErrorCode(err) != refx.EFORBIDDEN {
		t.Fatalf("untrusted referee conversion: %v, want %s", err, refx.EFORBIDDEN)
	}
	purchase.Trusted = true
	res, err := s.RecordEvent(ctx, &purchase)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Credits) != 1 || res.Credits[0].Referrer != "referrer" || !res.Credits[0].Capped {
		t.Fatalf("credits = %+v, want the referrer's, capped", res.Credits)
	}
	got := referralCounts(t, s, exp.ID, link.Variant)
	if got.Conversions != 1 || got.ConversionValue != "100" || got.PerReferrer.ValueSumSq != "10000" {
		t.Fatalf("referral counts = %+v, want one conversion of 100 (the cap)", got)
	}
}
