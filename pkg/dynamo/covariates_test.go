package dynamo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/refx"
)

// usersIn returns n users (prefix0, prefix1, ...) the experiment's hash
// puts in arm.
func usersIn(tb testing.TB, e *refx.Experiment, arm, prefix string, n int) []string {
	tb.Helper()
	var out []string
	for i := 0; len(out) < n; i++ {
		u := fmt.Sprintf("%s%d", prefix, i)
		if v, ok := e.Bucket(u); ok && v.Key == arm {
			out = append(out, u)
		}
	}
	return out
}

func decimals(tb testing.TB, kv ...string) map[string]refx.Decimal {
	tb.Helper()
	out := map[string]refx.Decimal{}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = *decimal(tb, kv[i+1])
	}
	return out
}

// TestCovariateSums checks Σx, Σx², Σxy and Σxc per arm and goal against
// sums worked out by hand: x from the enrolling assign only, a user
// without a covariate counted as x = 0, y the user's total value, c whether
// they converted.
func TestCovariateSums(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	e := MustRunning(t, s, newExperiment("cuped"))
	a := usersIn(t, e, "control", "a", 3)
	b := usersIn(t, e, "bold", "b", 2)

	enrol := []struct {
		user       string
		covariates map[string]refx.Decimal
	}{
		{a[0], decimals(t, "purchase", "10", "signup", "1")},
		{a[1], decimals(t, "purchase", "2.5")},
		{a[2], nil},
		{b[0], decimals(t, "purchase", "-1.5")},
		{b[1], decimals(t, "purchase", "0")},
		// Already assigned: keeps the covariates it enrolled with.
		{a[0], decimals(t, "purchase", "99", "signup", "7")},
	}
	for _, en := range enrol {
		if _, err := s.AssignWith(ctx, e.ID, en.user, refx.AssignInput{Covariates: en.covariates}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("ErrUnknownGoal", func(t *testing.T) {
		_, err := s.AssignWith(ctx, e.ID, "nobody", refx.AssignInput{Covariates: decimals(t, "refund", "3")})
		wantCode(t, err, refx.EINVALID)
		if f := refx.ErrorField(err); f != "covariates.refund" {
			t.Fatalf("field %q", f)
		}
	})
	for _, ev := range []struct{ user, goal, value string }{
		{a[0], "purchase", "5"}, {a[0], "purchase", "3"}, {a[0], "signup", ""},
		{a[1], "purchase", "4"}, {a[1], "signup", ""}, {a[2], "purchase", "7"},
		{b[0], "purchase", "2.25"}, {b[1], "purchase", "6"},
	} {
		event := &refx.Event{ID: uuid(), Type: ev.goal, User: ev.user}
		if ev.value != "" {
			event.Value = decimal(t, ev.value)
		}
		if _, err := s.RecordEvent(ctx, event); err != nil {
			t.Fatal(err)
		}
	}
	got := mustResults(t, s, e.ID)
	tests := []struct {
		arm, goal string
		want      *refx.CovariateCounts
	}{
		// x: a0 10, a1 2.5, a2 0; y: a0 8, a1 4, a2 7; all three converted.
		{"control", "purchase", &refx.CovariateCounts{Participants: 2, Sum: "12.5", SumSq: "106.25", ValueProducts: "90", UsersProducts: "12.5"}},
		// x: a0 1; both a0 and a1 converted, without values.
		{"control", "signup", &refx.CovariateCounts{Participants: 1, Sum: "1", SumSq: "1", ValueProducts: "0", UsersProducts: "1"}},
		// x: b0 -1.5, b1 0 (sent, so counted among participants); y: 2.25, 6.
		{"bold", "purchase", &refx.CovariateCounts{Participants: 2, Sum: "-1.5", SumSq: "2.25", ValueProducts: "-3.375", UsersProducts: "-1.5"}},
		{"bold", "signup", nil},
	}
	for _, tt := range tests {
		t.Run(tt.arm+"/"+tt.goal, func(t *testing.T) {
			c := got[tt.arm].Goals[tt.goal].Covariate
			if fmt.Sprint(c) != fmt.Sprint(tt.want) {
				t.Fatalf("covariate sums = %+v, want %+v", c, tt.want)
			}
		})
	}
	if got["control"].Participants != 3 || got["bold"].Participants != 2 {
		t.Fatalf("participants %d, %d: the refused assign must write nothing", got["control"].Participants, got["bold"].Participants)
	}
}

// TestRatioSums checks a ratio metric's exact sums per arm against sums
// worked out by hand: a and b each participant's totals of the numerator
// and denominator goals (value for a value goal, events for a binomial one),
// Σab kept as Δa·b when either grows, whatever the order of the events.
func TestRatioSums(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	n := newExperiment("ratios")
	n.Goals = []refx.Goal{{Key: "purchase", Kind: refx.GoalValue}, {Key: "order", Kind: refx.GoalBinomial}, {Key: "click", Kind: refx.GoalBinomial}}
	n.RatioMetrics = []refx.RatioMetric{
		{Key: "revenue_per_order", Numerator: "purchase", Denominator: "order"},
		{Key: "orders_per_click", Numerator: "order", Denominator: "click"},
	}
	e := MustRunning(t, s, n)
	a := usersIn(t, e, "control", "a", 2)
	b := usersIn(t, e, "bold", "b", 1)
	for _, u := range append(a, b...) {
		if _, err := s.Assign(ctx, e.ID, u, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, ev := range []struct{ user, goal, value string }{
		{a[0], "click", ""}, {a[0], "purchase", "10"}, {a[0], "order", ""}, {a[0], "click", ""},
		{a[0], "order", ""}, {a[0], "purchase", "5.5"}, {a[0], "click", ""},
		{a[1], "purchase", "4"}, {a[1], "purchase", ""}, {a[1], "click", ""},
		{b[0], "purchase", "7"}, {b[0], "click", ""}, {b[0], "order", ""}, {b[0], "click", ""},
	} {
		event := &refx.Event{ID: uuid(), Type: ev.goal, User: ev.user}
		if ev.value != "" {
			event.Value = decimal(t, ev.value)
		}
		if _, err := s.RecordEvent(ctx, event); err != nil {
			t.Fatal(err)
		}
	}
	got := mustResults(t, s, e.ID)
	tests := []struct {
		arm, ratio string
		want       refx.RatioCounts
	}{
		// purchase a0 15.5, a1 4; orders a0 2, a1 0.
		{"control", "revenue_per_order", refx.RatioCounts{NumeratorSum: "19.5", NumeratorSumSq: "256.25", DenominatorSum: "2", DenominatorSumSq: "4", SumProducts: "31"}},
		// orders a0 2, a1 0; clicks a0 3, a1 1.
		{"control", "orders_per_click", refx.RatioCounts{NumeratorSum: "2", NumeratorSumSq: "4", DenominatorSum: "4", DenominatorSumSq: "10", SumProducts: "6"}},
		{"bold", "revenue_per_order", refx.RatioCounts{NumeratorSum: "7", NumeratorSumSq: "49", DenominatorSum: "1", DenominatorSumSq: "1", SumProducts: "7"}},
		{"bold", "orders_per_click", refx.RatioCounts{NumeratorSum: "1", NumeratorSumSq: "1", DenominatorSum: "2", DenominatorSumSq: "4", SumProducts: "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.arm+"/"+tt.ratio, func(t *testing.T) {
			if c := got[tt.arm].Ratios[tt.ratio]; c != tt.want {
				t.Fatalf("ratio sums = %+v, want %+v", c, tt.want)
			}
		})
	}
}

// TestRatioSumsConcurrent sends one user's orders and clicks at the same
// time: each event's Δa·b reads the other goal's total, and the write's
// condition that this total is unchanged makes a racing event replan, so
// Σab ends at exactly orders × clicks.
func TestRatioSumsConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	n := newExperiment("ratio-race")
	n.Goals = []refx.Goal{{Key: "order", Kind: refx.GoalBinomial}, {Key: "click", Kind: refx.GoalBinomial}}
	n.RatioMetrics = []refx.RatioMetric{{Key: "orders_per_click", Numerator: "order", Denominator: "click"}}
	e := MustRunning(t, s, n)
	asn, err := s.Assign(ctx, e.ID, "racer", nil)
	if err != nil {
		t.Fatal(err)
	}
	const each = 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*each)
	for i := range 2 * each {
		goal := []string{"order", "click"}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			event := &refx.Event{ID: uuid(), Type: goal, User: "racer"}
			for {
				// A client retries a contended event with the same id.
				_, err := s.RecordEvent(ctx, event)
				if refx.ErrorCode(err) != refx.EUNAVAILABLE {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := refx.RatioCounts{NumeratorSum: "8", NumeratorSumSq: "64", DenominatorSum: "8", DenominatorSumSq: "64", SumProducts: "64"}
	if got := mustResults(t, s, e.ID)[asn.Variant].Ratios["orders_per_click"]; got != want {
		t.Fatalf("ratio sums = %+v, want %+v", got, want)
	}
}
