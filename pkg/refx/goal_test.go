package refx_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
)

// goalsOf decodes a goals list as a client sends it.
func goalsOf(t *testing.T, js string) []refx.Goal {
	t.Helper()
	var gs []refx.Goal
	if err := json.Unmarshal([]byte(js), &gs); err != nil {
		t.Fatal(err)
	}
	return gs
}

func TestGoalRules(t *testing.T) {
	tests := []struct {
		name, goals, code string
	}{
		{"OK", `[{"key":"purchase","kind":"value","cap":500.25,"server_only":true},{"key":"signup","kind":"binomial","server_only":true}]`, ""},
		{"OKCapAtMaxValue", `[{"key":"purchase","kind":"value","cap":1000000000}]`, ""},
		{"ErrCapOnBinomial", `[{"key":"signup","kind":"binomial","cap":1}]`, refx.EINVALID},
		{"ErrNegativeCap", `[{"key":"purchase","kind":"value","cap":-5}]`, refx.EINVALID},
		{"ErrZeroCap", `[{"key":"purchase","kind":"value","cap":0}]`, refx.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := refx.NewExperiment{
				ID:       "exp",
				Variants: []refx.Variant{{Key: "control", Weight: 1}, {Key: "bold", Weight: 1}},
				Goals:    goalsOf(t, tt.goals),
			}.Build(time.Now())
			if refx.ErrorCode(err) != tt.code {
				t.Fatalf("error %v, want code %q", err, tt.code)
			}
			if err != nil && refx.ErrorField(err) != "goals" {
				t.Fatalf("error field %q, want goals", refx.ErrorField(err))
			}
		})
	}
}

// TestGoalRulesWhileRunning: a running experiment's caps and server_only
// are frozen (its sums would mix two metrics); a draft may change them; the
// same rules sent again, in another spelling of the cap, are no change.
func TestGoalRulesWhileRunning(t *testing.T) {
	const base = `[{"key":"purchase","kind":"value","cap":100,"server_only":true}]`
	tests := []struct {
		name   string
		status refx.Status
		goals  string
		code   string
	}{
		{"DraftCap", refx.StatusDraft, `[{"key":"purchase","kind":"value","cap":50,"server_only":true}]`, ""},
		{"DraftServerOnly", refx.StatusDraft, `[{"key":"purchase","kind":"value","cap":100}]`, ""},
		{"RunningSame", refx.StatusRunning, `[{"key":"purchase","kind":"value","cap":100.000,"server_only":true}]`, ""},
		{"ErrRunningCap", refx.StatusRunning, `[{"key":"purchase","kind":"value","cap":50,"server_only":true}]`, refx.ECONFLICT},
		{"ErrRunningUncap", refx.StatusRunning, `[{"key":"purchase","kind":"value","server_only":true}]`, refx.ECONFLICT},
		{"ErrRunningServerOnly", refx.StatusRunning, `[{"key":"purchase","kind":"value","cap":100}]`, refx.ECONFLICT},
		{"ErrStoppedCap", refx.StatusStopped, `[{"key":"purchase","kind":"value","cap":50,"server_only":true}]`, refx.ECONFLICT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := refx.NewExperiment{
				ID:       "exp",
				Variants: []refx.Variant{{Key: "control", Weight: 1}, {Key: "bold", Weight: 1}},
				Goals:    goalsOf(t, base),
			}.Build(time.Now())
			if err != nil {
				t.Fatal(err)
			}
			e.Status = tt.status
			goals := goalsOf(t, tt.goals)
			next, err := e.Apply(refx.ExperimentPatch{Version: e.Version, Goals: &goals}, time.Now())
			if refx.ErrorCode(err) != tt.code {
				t.Fatalf("error %v, want code %q", err, tt.code)
			}
			if err == nil && next.Goals[0].Cap.String() != goals[0].Cap.String() {
				t.Fatalf("cap = %s, want %s", next.Goals[0].Cap, goals[0].Cap)
			}
		})
	}
}

func TestGoalCapped(t *testing.T) {
	limit := mustDecimal(t, "100")
	tests := []struct {
		value, want string
		capped      bool
	}{
		{"30", "30", false},
		{"100", "100", false},
		{"100.0001", "100", true},
		{"1000000000", "100", true},
		{"-100", "-100", false},
		{"-100.0001", "-100", true},
		{"0", "0", false},
	}
	g := refx.Goal{Key: "purchase", Kind: refx.GoalValue, Cap: &limit}
	for _, tt := range tests {
		got, capped := g.Capped(mustDecimal(t, tt.value))
		if got.String() != tt.want || capped != tt.capped {
			t.Errorf("Capped(%s) = %s, %v; want %s, %v", tt.value, got, capped, tt.want, tt.capped)
		}
	}
	if got, capped := (refx.Goal{Key: "purchase", Kind: refx.GoalValue}).Capped(mustDecimal(t, "1000000000")); capped || got.String() != "1000000000" {
		t.Errorf("an uncapped goal capped 1e9 to %s", got)
	}
}
