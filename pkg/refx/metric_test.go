package refx_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
)

// buildMetrics builds a draft with the goals and ratio metrics given as a
// client sends them.
func buildMetrics(t *testing.T, goals, ratios string) (*refx.Experiment, error) {
	t.Helper()
	var rs []refx.RatioMetric
	if ratios != "" {
		if err := json.Unmarshal([]byte(ratios), &rs); err != nil {
			t.Fatal(err)
		}
	}
	return refx.NewExperiment{
		ID:           "exp",
		Variants:     []refx.Variant{{Key: "control", Weight: 1}, {Key: "bold", Weight: 1}},
		Goals:        goalsOf(t, goals),
		RatioMetrics: rs,
	}.Build(time.Now())
}

func TestMetricDecisionValidation(t *testing.T) {
	const two = `{"key":"purchase","kind":"value"},{"key":"order","kind":"binomial"}`
	tests := []struct {
		name, goals, ratios string
		field, message      string // message: a part of the error's
	}{
		{"OK", `[{"key":"purchase","kind":"value","role":"primary","direction":"increase","min_sample":200,"one_sided":true},
			{"key":"refund","kind":"binomial","role":"guardrail","direction":"decrease","margin":0.02}]`, "", "", ""},
		{"OKGuardrailOneSided", `[{"key":"refund","kind":"binomial","role":"guardrail","one_sided":true,"margin":0.5}]`, "", "", ""},
		{"OKRatio", `[` + two + `]`, `[{"key":"revenue_per_order","numerator":"purchase","denominator":"order","role":"primary","min_sample":100}]`, "", ""},
		{"ErrRole", `[{"key":"purchase","kind":"value","role":"main"}]`, "", "goals", `role of "purchase" must be`},
		{"ErrDirection", `[{"key":"purchase","kind":"value","direction":"up"}]`, "", "goals", `direction of "purchase" must be`},
		{"ErrNegativeMinSample", `[{"key":"purchase","kind":"value","min_sample":-1}]`, "", "goals", `min_sample of "purchase"`},
		{"ErrHugeMinSample", `[{"key":"purchase","kind":"value","min_sample":1000000001}]`, "", "goals", `min_sample of "purchase"`},
		{"ErrGuardrailWithoutMargin", `[{"key":"purchase","kind":"value"},{"key":"refund","kind":"binomial","role":"guardrail"}]`, "", "goals", `margin of "refund" is required`},
		{"ErrMarginOnSecondary", `[{"key":"purchase","kind":"value"},{"key":"refund","kind":"binomial","margin":0.1}]`, "", "goals", `margin of "refund" applies only to a guardrail`},
		{"ErrZeroMargin", `[{"key":"refund","kind":"binomial","role":"guardrail","margin":0}]`, "", "goals", `margin of "refund" must be greater than 0`},
		{"ErrWholeMargin", `[{"key":"refund","kind":"binomial","role":"guardrail","margin":1}]`, "", "goals", `margin of "refund" must be greater than 0`},
		{"ErrRatioKeyIsGoal", `[` + two + `]`, `[{"key":"order","numerator":"purchase","denominator":"order"}]`, "ratio_metrics", `key "order" is a goal's key`},
		{"ErrRatioKeyTwice", `[` + two + `]`, `[{"key":"rpo","numerator":"purchase","denominator":"order"},{"key":"rpo","numerator":"order","denominator":"purchase"}]`, "ratio_metrics", `key "rpo" appears twice`},
		{"ErrRatioBadKey", `[` + two + `]`, `[{"key":"per order","numerator":"purchase","denominator":"order"}]`, "ratio_metrics", `key "per order" must be`},
		{"ErrRatioUnknownNumerator", `[` + two + `]`, `[{"key":"rpo","numerator":"revenue","denominator":"order"}]`, "ratio_metrics", `numerator of "rpo" must be the key of one of the goals`},
		{"ErrRatioUnknownDenominator", `[` + two + `]`, `[{"key":"rpo","numerator":"purchase","denominator":""}]`, "ratio_metrics", `denominator of "rpo" must be the key of one of the goals`},
		{"ErrRatioSameGoals", `[` + two + `]`, `[{"key":"rpo","numerator":"order","denominator":"order"}]`, "ratio_metrics", `must be different goals`},
		{"ErrRatioDirection", `[` + two + `]`, `[{"key":"rpo","numerator":"purchase","denominator":"order","direction":"down"}]`, "ratio_metrics", `direction of "rpo" must be`},
		{"ErrRatioGuardrailWithoutMargin", `[` + two + `]`, `[{"key":"rpo","numerator":"purchase","denominator":"order","role":"guardrail"}]`, "ratio_metrics", `margin of "rpo" is required`},
		{"ErrTooManyRatios", `[` + two + `]`, `[` + strings.Repeat(`{"key":"rpo","numerator":"purchase","denominator":"order"},`, refx.MaxRatioMetrics) +
			`{"key":"last","numerator":"purchase","denominator":"order"}]`, "ratio_metrics", "at most 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := buildMetrics(t, tt.goals, tt.ratios)
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if refx.ErrorCode(err) != refx.EINVALID || refx.ErrorField(err) != tt.field || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("error %v (field %q), want %s on %s saying %q", err, refx.ErrorField(err), refx.EINVALID, tt.field, tt.message)
			}
		})
	}
}

// TestMetricDecisionDefaults: without a primary, the first goal without a
// role is primary and every other metric without one secondary; a primary
// anywhere (a ratio metric too) leaves every unmarked metric secondary;
// directions default to increase. Build stores the defaults.
func TestMetricDecisionDefaults(t *testing.T) {
	const ratio = `[{"key":"rpo","numerator":"purchase","denominator":"order"}]`
	tests := []struct {
		name, goals, ratios string
		want                []refx.Role // goals', then ratio metrics'
	}{
		{"FirstGoalPrimary", `[{"key":"purchase","kind":"value"},{"key":"order","kind":"binomial"}]`, ratio,
			[]refx.Role{refx.RolePrimary, refx.RoleSecondary, refx.RoleSecondary}},
		{"FirstUnmarkedGoalPrimary", `[{"key":"purchase","kind":"value","role":"guardrail","margin":0.1},{"key":"order","kind":"binomial"}]`, ratio,
			[]refx.Role{refx.RoleGuardrail, refx.RolePrimary, refx.RoleSecondary}},
		{"ExplicitPrimary", `[{"key":"purchase","kind":"value"},{"key":"order","kind":"binomial","role":"primary"}]`, ratio,
			[]refx.Role{refx.RoleSecondary, refx.RolePrimary, refx.RoleSecondary}},
		{"RatioPrimary", `[{"key":"purchase","kind":"value"},{"key":"order","kind":"binomial"}]`, `[{"key":"rpo","numerator":"purchase","denominator":"order","role":"primary"}]`,
			[]refx.Role{refx.RoleSecondary, refx.RoleSecondary, refx.RolePrimary}},
		{"NoPrimaryLeft", `[{"key":"purchase","kind":"value","role":"secondary"},{"key":"order","kind":"binomial","role":"secondary"}]`, ratio,
			[]refx.Role{refx.RoleSecondary, refx.RoleSecondary, refx.RoleSecondary}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := buildMetrics(t, tt.goals, tt.ratios)
			if err != nil {
				t.Fatal(err)
			}
			var got []refx.Role
			for _, g := range e.Goals {
				got = append(got, g.Role)
				if g.Direction != refx.DirectionIncrease {
					t.Errorf("goal %s direction %q, want increase", g.Key, g.Direction)
				}
			}
			for _, r := range e.RatioMetrics {
				got = append(got, r.Role)
			}
			if strings.Join(roles(got), ",") != strings.Join(roles(tt.want), ",") {
				t.Fatalf("roles %v, want %v", got, tt.want)
			}
		})
	}

	// An experiment stored before roles existed reads with the same defaults.
	legacy := &refx.Experiment{Goals: []refx.Goal{{Key: "a", Kind: refx.GoalBinomial}, {Key: "b", Kind: refx.GoalBinomial}}}
	goals, _ := legacy.Decisions()
	if goals[0].Role != refx.RolePrimary || goals[1].Role != refx.RoleSecondary || goals[1].Direction != refx.DirectionIncrease {
		t.Fatalf("legacy decisions %+v", goals)
	}
	if legacy.Goals[0].Role != "" {
		t.Fatal("Decisions changed the experiment")
	}
}

func roles(rs []refx.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

// TestMetricDecisionsWhileRunning: a running experiment may change how its
// metrics are judged, not which ratio metrics exist; a stopped one may
// change neither.
func TestMetricDecisionsWhileRunning(t *testing.T) {
	const goals = `[{"key":"purchase","kind":"value"},{"key":"order","kind":"binomial"}]`
	const ratios = `[{"key":"rpo","numerator":"purchase","denominator":"order"}]`
	tests := []struct {
		name          string
		status        refx.Status
		goals, ratios string // "" leaves them out of the patch
		code, field   string
	}{
		{"RunningRoles", refx.StatusRunning, `[{"key":"purchase","kind":"value","role":"guardrail","margin":0.05,"direction":"decrease"},{"key":"order","kind":"binomial","min_sample":50}]`, "", "", ""},
		{"RunningRatioDecision", refx.StatusRunning, "", `[{"key":"rpo","numerator":"purchase","denominator":"order","role":"primary","one_sided":true}]`, "", ""},
		{"RunningSameAgain", refx.StatusRunning, goals, ratios, "", ""},
		{"ErrRunningRatioAdded", refx.StatusRunning, "", `[{"key":"rpo","numerator":"purchase","denominator":"order"},{"key":"opp","numerator":"order","denominator":"purchase"}]`, refx.ECONFLICT, "ratio_metrics"},
		{"ErrRunningRatioChanged", refx.StatusRunning, "", `[{"key":"rpo","numerator":"order","denominator":"purchase"}]`, refx.ECONFLICT, "ratio_metrics"},
		{"ErrRunningRatioRemoved", refx.StatusRunning, "", `[]`, refx.ECONFLICT, "ratio_metrics"},
		{"ErrRunningBadDecision", refx.StatusRunning, `[{"key":"purchase","kind":"value","role":"guardrail"},{"key":"order","kind":"binomial"}]`, "", refx.EINVALID, "goals"},
		{"DraftRatioAdded", refx.StatusDraft, "", `[{"key":"rpo","numerator":"purchase","denominator":"order"},{"key":"opp","numerator":"order","denominator":"purchase"}]`, "", ""},
		{"StoppedSameAgain", refx.StatusStopped, goals, ratios, "", ""},
		{"ErrStoppedRole", refx.StatusStopped, `[{"key":"purchase","kind":"value","role":"secondary"},{"key":"order","kind":"binomial","role":"primary"}]`, "", refx.ECONFLICT, "goals"},
		{"ErrStoppedRatioDirection", refx.StatusStopped, "", `[{"key":"rpo","numerator":"purchase","denominator":"order","direction":"decrease"}]`, refx.ECONFLICT, "goals"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := buildMetrics(t, goals, ratios)
			if err != nil {
				t.Fatal(err)
			}
			e.Status = tt.status
			p := refx.ExperimentPatch{Version: e.Version}
			if tt.goals != "" {
				gs := goalsOf(t, tt.goals)
				p.Goals = &gs
			}
			if tt.ratios != "" {
				var rs []refx.RatioMetric
				if err := json.Unmarshal([]byte(tt.ratios), &rs); err != nil {
					t.Fatal(err)
				}
				p.RatioMetrics = &rs
			}
			next, err := e.Apply(p, time.Now())
			if refx.ErrorCode(err) != tt.code || (err != nil && refx.ErrorField(err) != tt.field) {
				t.Fatalf("error %v (field %q), want %q on %q", err, refx.ErrorField(err), tt.code, tt.field)
			}
			if err != nil {
				return
			}
			if tt.name == "RunningRoles" { // the first goal without a role is now order
				g := next.Goals[0]
				if g.Role != refx.RoleGuardrail || g.Direction != refx.DirectionDecrease || *g.Margin != 0.05 || next.Goals[1].Role != refx.RolePrimary {
					t.Fatalf("goals after the patch %+v", next.Goals)
				}
				if e.Goals[0].Role != refx.RolePrimary {
					t.Fatal("Apply changed the experiment it patched")
				}
			}
		})
	}
}

// TestMetricDecisionJSON: a goal's decision is flat in its JSON, as
// clients send it, and an experiment without ratio metrics has no
// ratio_metrics field.
func TestMetricDecisionJSON(t *testing.T) {
	e, err := buildMetrics(t, `[{"key":"refund","kind":"binomial","role":"guardrail","direction":"decrease","margin":0.02,"min_sample":100,"one_sided":true}]`, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(e.Goals[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"key":"refund","kind":"binomial","role":"guardrail","direction":"decrease","min_sample":100,"one_sided":true,"margin":0.02}`; string(b) != want {
		t.Fatalf("goal JSON %s, want %s", b, want)
	}
	b, err = json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "ratio_metrics") {
		t.Fatalf("experiment JSON %s has ratio_metrics", b)
	}
}

// TestReferralMetricDecisions: a referral experiment may judge its
// per-referrer metrics by name; one configured primary takes the place of
// the first goal's default, the others stay secondary and increasing.
func TestReferralMetricDecisions(t *testing.T) {
	build := func(metrics string) (*refx.Experiment, error) {
		var ms map[string]refx.Decision
		if err := json.Unmarshal([]byte(metrics), &ms); err != nil {
			t.Fatal(err)
		}
		return refx.NewExperiment{
			ID:       "exp",
			Variants: []refx.Variant{{Key: "control", Weight: 1}, {Key: "bold", Weight: 1}},
			Goals:    goalsOf(t, `[{"key":"signup","kind":"binomial"},{"key":"purchase","kind":"value"}]`),
			Referral: &refx.ReferralConfig{LandingURL: "https://shop.example/", Metrics: ms},
		}.Build(time.Now())
	}
	tests := []struct {
		name, metrics  string
		field, message string
	}{
		{"OK", `{"k_factor":{"role":"primary"},"share_rate":{"role":"guardrail","margin":0.1}}`, "", ""},
		{"ErrUnknownMetric", `{"k":{"role":"primary"}}`, "referral.metrics", `"k" is not a referral metric`},
		{"ErrGuardrailWithoutMargin", `{"share_rate":{"role":"guardrail"}}`, "referral.metrics", `margin of "share_rate" is required`},
		{"ErrDirection", `{"signups_per_click":{"direction":"sideways"}}`, "referral.metrics", `direction of "signups_per_click"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := build(tt.metrics)
			if tt.field != "" {
				if refx.ErrorCode(err) != refx.EINVALID || refx.ErrorField(err) != tt.field || !strings.Contains(err.Error(), tt.message) {
					t.Fatalf("error %v (field %q), want %s saying %q", err, refx.ErrorField(err), tt.field, tt.message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.Goals[0].Role != refx.RoleSecondary || e.Goals[1].Role != refx.RoleSecondary {
				t.Fatalf("goals %+v: a configured primary referral metric leaves them secondary", e.Goals)
			}
			k, share, click := e.ReferralDecision("k_factor"), e.ReferralDecision("share_rate"), e.ReferralDecision("signups_per_click")
			if k.Role != refx.RolePrimary || k.Direction != refx.DirectionIncrease || share.Role != refx.RoleGuardrail ||
				click.Role != refx.RoleSecondary || click.Direction != refx.DirectionIncrease || e.Referral.Metrics["k_factor"].Direction != refx.DirectionIncrease {
				t.Fatalf("referral decisions %+v %+v %+v stored %+v", k, share, click, e.Referral.Metrics)
			}
			// A stopped experiment keeps them.
			e.Status = refx.StatusStopped
			r := *e.Referral
			r.Metrics = map[string]refx.Decision{"share_rate": {Role: refx.RolePrimary}}
			if _, err := e.Apply(refx.ExperimentPatch{Version: e.Version, Referral: &r}, time.Now()); refx.ErrorCode(err) != refx.ECONFLICT {
				t.Fatalf("a stopped experiment's referral roles changed: %v", err)
			}
		})
	}
}
