package export_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/export"
)

// TestExportMetricDecisions: every experiment version carries its goals'
// decisions and its ratio metrics with theirs, defaults as stored, so that
// an analysis of an old version is read as it was then: here a running
// experiment's primary moves from signup to purchase in version 3.
func TestExportMetricDecisions(t *testing.T) {
	st := MustStack(t, stackOptions{})
	create := `{"id":"dec","variants":[{"key":"a","weight":1},{"key":"b","weight":1}],
"goals":[{"key":"signup","kind":"binomial"},{"key":"purchase","kind":"value","min_sample":200,"one_sided":true},
 {"key":"refund","kind":"binomial","role":"guardrail","direction":"decrease","margin":0.02}],
"ratio_metrics":[{"key":"value_per_signup","numerator":"purchase","denominator":"signup"}]}`
	if code := st.Call(t, "POST", "/v1/experiments", create, nil); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	if code := st.Call(t, "POST", "/v1/experiments/dec/start", "", nil); code != http.StatusOK {
		t.Fatalf("start: %d", code)
	}
	patch := `{"version":2,"goals":[{"key":"signup","kind":"binomial","role":"secondary"},{"key":"purchase","kind":"value","role":"primary"},
 {"key":"refund","kind":"binomial","role":"guardrail","direction":"decrease","margin":0.05}],
"ratio_metrics":[{"key":"value_per_signup","numerator":"purchase","denominator":"signup","role":"guardrail","margin":0.1}]}`
	if code := st.Call(t, "PATCH", "/v1/experiments/dec", patch, nil); code != http.StatusOK {
		t.Fatalf("patch: %d", code)
	}
	st.Drain(t)

	margin := func(m *float64) string {
		if m == nil {
			return "-"
		}
		return fmt.Sprint(*m)
	}
	var goals []string
	for _, g := range readRows[export.ExperimentGoalRow](t, st, export.ExperimentGoals) {
		goals = append(goals, fmt.Sprintf("v%d %s %s %s %d %v %s", g.Version, g.Goal, g.Role, g.Direction, g.MinSample, g.OneSided, margin(g.Margin)))
	}
	var ratios []string
	for _, r := range readRows[export.ExperimentRatioMetricRow](t, st, export.ExperimentRatios) {
		ratios = append(ratios, fmt.Sprintf("v%d %s %s/%s %s %s %d %v %s", r.Version, r.RatioMetric, r.Numerator, r.Denominator,
			r.Role, r.Direction, r.MinSample, r.OneSided, margin(r.Margin)))
	}
	slices.Sort(goals)
	slices.Sort(ratios)
	var wantGoals, wantRatios []string
	for _, v := range []string{"v1", "v2"} {
		wantGoals = append(wantGoals,
			v+" purchase secondary increase 200 true -",
			v+" refund guardrail decrease 0 false 0.02",
			v+" signup primary increase 0 false -")
		wantRatios = append(wantRatios, v+" value_per_signup purchase/signup secondary increase 0 false -")
	}
	wantGoals = append(wantGoals,
		"v3 purchase primary increase 0 false -",
		"v3 refund guardrail decrease 0 false 0.05",
		"v3 signup secondary increase 0 false -")
	wantRatios = append(wantRatios, "v3 value_per_signup purchase/signup guardrail increase 0 false 0.1")
	if got, want := strings.Join(goals, "\n"), strings.Join(wantGoals, "\n"); got != want {
		t.Errorf("goal rows:\n%s\nwant\n%s", got, want)
	}
	if got, want := strings.Join(ratios, "\n"), strings.Join(wantRatios, "\n"); got != want {
		t.Errorf("ratio metric rows:\n%s\nwant\n%s", got, want)
	}
}

// TestExportReferralMetricDecisions: a referral experiment's versions carry
// the decisions of its configured referral metrics as JSON, null without.
func TestExportReferralMetricDecisions(t *testing.T) {
	st := MustStack(t, stackOptions{})
	create := `{"id":"refdec","variants":[{"key":"a","weight":1},{"key":"b","weight":1}],"goals":[{"key":"purchase","kind":"value"}],
"referral":{"landing_url":"https://shop.example/"}}`
	if code := st.Call(t, "POST", "/v1/experiments", create, nil); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	patch := `{"version":1,"referral":{"landing_url":"https://shop.example/","metrics":{"k_factor":{"role":"primary","min_sample":50}}}}`
	if code := st.Call(t, "PATCH", "/v1/experiments/refdec", patch, nil); code != http.StatusOK {
		t.Fatalf("patch: %d", code)
	}
	st.Drain(t)
	got := map[int64]string{}
	for _, r := range readRows[export.ExperimentRow](t, st, export.Experiments) {
		got[r.Version] = "null"
		if r.ReferralMetrics != nil {
			got[r.Version] = *r.ReferralMetrics
		}
	}
	want := map[int64]string{1: "null", 2: `{"k_factor":{"role":"primary","direction":"increase","min_sample":50}}`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("referral_metrics per version = %v, want %v", got, want)
	}
}
