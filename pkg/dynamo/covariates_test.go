package dynamo_test

import (
	"context"
	"fmt"
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
