package httpapi_test

import (
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stats"
)

// TestResultsDecisions: two experiments with one seed, so that every user
// is in the same arm of both, count the same events on DynamoDB Local. In
// "lean" signup is the only goal; "full" adds secondary goals, a refund rate
// that should decrease, a guardrail and a ratio metric. Refunds and
// unsubscribes rise in bold.
func TestResultsDecisions(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	lean := `{"id":"lean","seed":"shared","variants":[{"key":"control","weight":50},{"key":"bold","weight":50}],
"goals":[{"key":"signup","kind":"binomial"}]}`
	full := `{"id":"full","seed":"shared","variants":[{"key":"control","weight":50},{"key":"bold","weight":50}],
"goals":[{"key":"signup","kind":"binomial"},{"key":"purchase","kind":"value"},
 {"key":"refund","kind":"binomial","direction":"decrease"},
 {"key":"unsubscribe","kind":"binomial","role":"guardrail","direction":"decrease","margin":0.05}],
"ratio_metrics":[{"key":"value_per_signup","numerator":"purchase","denominator":"signup","min_sample":10}]}`
	for _, body := range []string{lean, full} {
		a.mustDo("POST", "/v1/experiments", body, true, http.StatusCreated)
	}
	for _, id := range []string{"lean", "full"} {
		a.mustDo("POST", "/v1/experiments/"+id+"/start", "", true, http.StatusOK)
	}

	const users = 400
	type sums struct{ a, b float64 } // Σ purchase value, Σ signup events
	ratio := map[string]*sums{"control": {}, "bold": {}}
	var events []string
	event := func(kind, typ, user, extra string, i int) {
		events = append(events, fmt.Sprintf(`{"id":"00000000-0000-4000-8%03d-%012d","type":"%s","user":"%s"%s}`, len(kind), i, typ, user, extra))
	}
	for i := range users {
		user := fmt.Sprintf("u%d", i)
		var arm string
		for _, id := range []string{"lean", "full"} {
			as := a.mustDo("POST", "/v1/assign", `{"experiment":"`+id+`","user":"`+user+`"}`, false, http.StatusOK)
			if v := as.Body["variant"].(string); arm != "" && v != arm {
				t.Fatalf("%s is in %s of lean but %s of full: the seed should make them one", user, arm, v)
			}
			arm = as.Body["variant"].(string)
		}
		bad := i%10 == 0 || (arm == "bold" && i%10 < 4) // 10% of control, 40% of bold
		if i%3 == 0 || (arm == "bold" && i%3 == 1) {
			event("s", "signup", user, "", i)
			ratio[arm].b++
		}
		if i%4 == 0 {
			v := 10 + i%7
			event("pp", "purchase", user, fmt.Sprintf(`,"value":%d`, v), i)
			ratio[arm].a += float64(v)
		}
		if bad {
			event("rrr", "refund", user, "", i)
			event("uuuu", "unsubscribe", user, "", i)
		}
	}
	for len(events) > 0 {
		batch := events[:min(25, len(events))]
		events = events[len(batch):]
		a.mustDo("POST", "/v1/events:batch", `{"events":[`+strings.Join(batch, ",")+`]}`, false, http.StatusOK)
	}

	leanRes, fullRes := a.results("/v1/experiments/lean/results"), a.results("/v1/experiments/full/results")
	goal := func(key string) stats.Comparison { return fullRes.Analysis.Goals[key].ConversionRate.Comparisons[0] }
	t.Run("DecreaseGoalThatRisesLoses", func(t *testing.T) {
		m := fullRes.Analysis.Goals["refund"].ConversionRate
		c := goal("refund")
		if m.Direction != refx.DirectionDecrease || !m.LowerIsBetter || m.Role != stats.RoleSecondary ||
			c.Verdict.Code != stats.VerdictLoser || *c.Relative.Estimate <= 0 {
			t.Fatalf("refund: %s", jsonOf(t, m))
		}
	})
	t.Run("GuardrailJudgedAsGuardrail", func(t *testing.T) {
		m := fullRes.Analysis.Goals["unsubscribe"].ConversionRate
		c := goal("unsubscribe")
		if m.Role != stats.RoleGuardrail || m.NonInferiorityMargin != 0.05 || m.Direction != refx.DirectionDecrease ||
			c.Test != stats.TestNonInferiority || c.Verdict.Code != stats.VerdictGuardrailViolated {
			t.Fatalf("unsubscribe: %s", jsonOf(t, m))
		}
	})
	t.Run("PrimaryUnchangedBySecondaries", func(t *testing.T) {
		got, want := fullRes.Analysis.Goals["signup"].ConversionRate, leanRes.Analysis.Goals["signup"].ConversionRate
		if got.Role != stats.RolePrimary || !reflect.DeepEqual(got.MetricResult, want.MetricResult) {
			t.Fatalf("signup in full:\n%s\nin lean:\n%s", jsonOf(t, got.MetricResult), jsonOf(t, want.MetricResult))
		}
		if got.Comparisons[0].PValue == nil || got.Variants[1].Units == 0 {
			t.Fatalf("signup not analysed: %s", jsonOf(t, got))
		}
	})
	t.Run("RatioMetricFromCounters", func(t *testing.T) {
		m, ok := fullRes.Analysis.RatioMetrics["value_per_signup"]
		if !ok || m.Role != stats.RoleSecondary || m.Direction != refx.DirectionIncrease || m.MinSample != 10 || len(m.Notes) != 0 {
			t.Fatalf("ratio metric: %s", jsonOf(t, fullRes.Analysis.RatioMetrics))
		}
		for _, arm := range m.Variants {
			s := ratio[arm.Variant]
			if arm.Mean == nil || math.Abs(*arm.Mean-s.a/s.b) > 1e-12 || arm.Sum != s.a || *arm.DenominatorSum != s.b {
				t.Errorf("%s: %s, want Σa %g Σb %g", arm.Variant, jsonOf(t, arm), s.a, s.b)
			}
		}
		if c := m.Comparisons[0]; c.Relative.CI == nil || c.Verdict.Code == stats.VerdictInsufficientData {
			t.Fatalf("ratio comparison not analysed: %s", jsonOf(t, c))
		}
	})
	t.Run("RolesChangeWhileRunning", func(t *testing.T) {
		exp := a.mustDo("GET", "/v1/experiments/full", "", true, http.StatusOK)
		patch := `{"version":` + jsonOf(t, exp.Body["version"]) + `,"goals":[{"key":"signup","kind":"binomial","role":"secondary"},
 {"key":"purchase","kind":"value"},{"key":"refund","kind":"binomial","direction":"decrease","role":"primary"},
 {"key":"unsubscribe","kind":"binomial","role":"guardrail","direction":"decrease","margin":0.05}]}`
		a.mustDo("PATCH", "/v1/experiments/full", patch, true, http.StatusOK)
		res := a.results("/v1/experiments/full/results")
		if r := res.Analysis.Goals["refund"].ConversionRate; r.Role != stats.RolePrimary || r.Comparisons[0].Verdict.Code != stats.VerdictLoser {
			t.Fatalf("refund after the patch: %s", jsonOf(t, r))
		}
		if r := res.Analysis.Goals["signup"].ConversionRate; r.Role != stats.RoleSecondary {
			t.Fatalf("signup after the patch: role %q", r.Role)
		}
		bad := `{"version":` + jsonOf(t, exp.Body["version"].(float64)+1) + `,"goals":[{"key":"signup","kind":"binomial","role":"guardrail"},
 {"key":"purchase","kind":"value"},{"key":"refund","kind":"binomial"},{"key":"unsubscribe","kind":"binomial"}]}`
		if r := a.do("PATCH", "/v1/experiments/full", bad, true); r.Status != http.StatusBadRequest || r.errorField() != "goals" ||
			!strings.Contains(r.Raw, `margin of \"signup\" is required`) {
			t.Fatalf("a guardrail without a margin = %d %s", r.Status, r.Raw)
		}
	})
}
