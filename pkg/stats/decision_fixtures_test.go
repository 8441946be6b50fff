package stats

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"
)

// Fixtures for issue 14's frequentist decisions (scripts/stats-fixtures.py:
// log_ratio_cases, exact_cases, one_sided_cases, family_cases).
type decisionFixtures struct {
	LogRatio []struct {
		Kind         MetricKind  `json:"kind"`
		C            fxSums      `json:"control"`
		T            fxSums      `json:"treatment"`
		Alpha        float64     `json:"alpha"`
		Est          float64     `json:"estimate"`
		DF           float64     `json:"df"`
		PValue       float64     `json:"p_value"`
		CI           [2]float64  `json:"ci"`
		CINormal     *[2]float64 `json:"ci_normal"`
		PValueNormal *float64    `json:"p_value_normal"`
	} `json:"log_ratio"`
	Exact    []map[string]any `json:"exact"`
	OneSided []struct {
		Control        fxSums `json:"control"`
		Treatment      fxSums `json:"treatment"`
		Margin         float64
		PGreater       float64 `json:"p_greater"`
		PLess          float64 `json:"p_less"`
		NIHigherBetter float64 `json:"ni_higher_better"`
		NILowerBetter  float64 `json:"ni_lower_better"`
	} `json:"one_sided"`
	NIRatio []struct {
		Control, Treatment fxConv
		Margin             float64
		NIHigherBetter     float64 `json:"ni_higher_better"`
		NILowerBetter      float64 `json:"ni_lower_better"`
	} `json:"non_inferiority_ratio"`
	Families struct {
		Margin  float64
		Metrics []struct {
			Key                string
			Role               Role
			Control, Treatment fxConv
		}
		PValues []float64 `json:"p_values"`
		Holm    []float64
		BH      []float64
	} `json:"families"`
}

type fxSums struct {
	N          int64   `json:"n"`
	Sum        float64 `json:"sum"`
	SumSquares float64 `json:"sum_squares"`
}

func (s fxSums) stats() Stats { return Stats{N: s.N, Sum: s.Sum, SumSquares: s.SumSquares} }

func loadDecisionFixtures(t *testing.T) decisionFixtures {
	t.Helper()
	var fx decisionFixtures
	raw, err := os.ReadFile("testdata/fixtures.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.LogRatio) == 0 || len(fx.Exact) == 0 || len(fx.OneSided) == 0 || len(fx.NIRatio) == 0 || len(fx.Families.Metrics) == 0 {
		t.Fatal("fixtures.json lacks issue 14 sections; run scripts/stats-fixtures.py")
	}
	return fx
}

func moments(t *testing.T, kind MetricKind, s Stats) Moments {
	t.Helper()
	m, err := MomentsOf(kind, s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestFixturesLogRatio: the relative lift's log-ratio interval and p-value
// (Welch df on the log scale) match scipy; with normal quantiles they match
// statsmodels' independent "log" method for the risk ratio.
func TestFixturesLogRatio(t *testing.T) {
	fx := loadDecisionFixtures(t)
	maxDev = 0
	for i, c := range fx.LogRatio {
		name := fmt.Sprintf("log_ratio[%d] %s", i, c.Kind)
		mc, mt := moments(t, c.Kind, c.C.stats()), moments(t, c.Kind, c.T.stats())
		r, err := LogRatioTest(mc, mt, c.Alpha)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		closeTo(t, name+" estimate", r.Estimate, c.Est)
		closeTo(t, name+" df", r.DF, c.DF)
		closeTo(t, name+" p", r.PValue, c.PValue)
		closeTo(t, name+" ci.lower", r.CI.Lower, c.CI[0])
		closeTo(t, name+" ci.upper", r.CI.Upper, c.CI[1])
		if r.CI.Lower <= -1 {
			t.Errorf("%s: interval %v crosses −100%%", name, r.CI)
		}
		if c.CINormal != nil {
			lr, _ := logRatioOf(mc, mt)
			lr.df = math.Inf(1)
			ci := lr.ci(c.Alpha)
			closeTo(t, name+" normal ci.lower", ci.Lower, c.CINormal[0])
			closeTo(t, name+" normal ci.upper", ci.Upper, c.CINormal[1])
			closeTo(t, name+" normal p", lr.pValue(0, AltTwoSided), *c.PValueNormal)
		}
	}
	t.Logf("%d cases, max scaled deviation %.2g", len(fx.LogRatio), maxDev)
}

// TestFixturesExact: Fisher's exact p-values (two-sided and both one-sided)
// match scipy.stats.fisher_exact, and the small-arm intervals match
// statsmodels (Newcombe hybrid score, log-adjusted ratio).
func TestFixturesExact(t *testing.T) {
	fx := loadDecisionFixtures(t)
	maxDev = 0
	num := func(c map[string]any, k string) float64 { return c[k].(float64) }
	for i, c := range fx.Exact {
		ctl, trt := c["control"].(map[string]any), c["treatment"].(map[string]any)
		xc, nc, xt, nt := num(ctl, "conversions"), num(ctl, "n"), num(trt, "conversions"), num(trt, "n")
		name := fmt.Sprintf("exact[%d] %g/%g vs %g/%g", i, xt, nt, xc, nc)
		for _, alt := range []Alternative{AltTwoSided, AltGreater, AltLess} {
			p, err := FisherExact(int64(xc), int64(nc), int64(xt), int64(nt), alt)
			if err != nil {
				t.Fatal(err)
			}
			key := map[Alternative]string{AltTwoSided: "fisher_two_sided", AltGreater: "fisher_greater", AltLess: "fisher_less"}[alt]
			closeTo(t, name+" "+key, p, num(c, key))
		}
		for _, alpha := range []float64{0.05, 0.1} {
			ci := newcombeCI(xc, nc, xt, nt, alpha)
			want := c[fmt.Sprintf("newcombe_%g", alpha)].([]any)
			closeTo(t, name+" newcombe.lower", ci.Lower, want[0].(float64))
			closeTo(t, name+" newcombe.upper", ci.Upper, want[1].(float64))
			if w, ok := c[fmt.Sprintf("log_adjusted_%g", alpha)].([]any); ok {
				l, v := logAdjusted(xc, nc, xt, nt)
				h := normQuantile(1-alpha/2) * math.Sqrt(v)
				closeTo(t, name+" log-adjusted.lower", math.Expm1(l-h), w[0].(float64))
				closeTo(t, name+" log-adjusted.upper", math.Expm1(l+h), w[1].(float64))
			}
		}
	}
	t.Logf("%d cases, max scaled deviation %.2g", len(fx.Exact), maxDev)
}

// TestFixturesOneSidedAndNonInferiority: one-sided Welch p-values and
// absolute non-inferiority p-values match scipy.stats.ttest_ind (alternative=,
// shifted data); relative non-inferiority on proportions matches statsmodels'
// test_proportions_2indep (ratio, log method, value 1∓margin).
func TestFixturesOneSidedAndNonInferiority(t *testing.T) {
	fx := loadDecisionFixtures(t)
	maxDev = 0
	for i, c := range fx.OneSided {
		name := fmt.Sprintf("one_sided[%d]", i)
		mc, mt := moments(t, KindMean, c.Control.stats()), moments(t, KindMean, c.Treatment.stats())
		r, err := WelchTTest(mc, mt, ScaleAbsolute, 0.05)
		if err != nil {
			t.Fatal(err)
		}
		closeTo(t, name+" greater", tPValue(r.Estimate/r.StdErr, r.DF, AltGreater), c.PGreater)
		closeTo(t, name+" less", tPValue(r.Estimate/r.StdErr, r.DF, AltLess), c.PLess)
		for _, lower := range []bool{false, true} {
			m := Metric{Key: "m", Kind: KindMean, Role: RoleGuardrail, LowerIsBetter: lower, NonInferiorityMargin: c.Margin,
				Stats: []Stats{c.Control.stats(), c.Treatment.stats()}}
			req := Request{Engine: EngineFrequentist, DecisionScale: ScaleAbsolute, Variants: []Variant{{Key: "control"}, {Key: "bold"}}, Metrics: []Metric{m}}
			a, err := Analyze(req)
			if err != nil {
				t.Fatal(err)
			}
			want := c.NIHigherBetter
			if lower {
				want = c.NILowerBetter
			}
			closeTo(t, fmt.Sprintf("%s non-inferiority (lower is better %v) absolute", name, lower), *a.Metrics[0].Comparisons[0].Absolute.PValue, want)
		}
	}
	for i, c := range fx.NIRatio {
		name := fmt.Sprintf("non_inferiority_ratio[%d]", i)
		mc := moments(t, KindBinomial, conv(c.Control.N, float64(c.Control.Conversions)))
		mt := moments(t, KindBinomial, conv(c.Treatment.N, float64(c.Treatment.Conversions)))
		lr, err := logRatioOf(mc, mt)
		if err != nil {
			t.Fatal(err)
		}
		lr.df = math.Inf(1) // statsmodels' test is normal-theory
		closeTo(t, name+" higher is better", lr.pValue(math.Log1p(-c.Margin), AltGreater), c.NIHigherBetter)
		closeTo(t, name+" lower is better", lr.pValue(math.Log1p(c.Margin), AltLess), c.NILowerBetter)
	}
	t.Logf("%d + %d cases, max scaled deviation %.2g", len(fx.OneSided), len(fx.NIRatio), maxDev)
}

// TestFixturesFamilies: Analyze adjusts p-values within each role's family
// exactly as statsmodels' multipletests run on each family separately.
func TestFixturesFamilies(t *testing.T) {
	fx := loadDecisionFixtures(t).Families
	maxDev = 0
	req := Request{Engine: EngineFrequentist, Variants: []Variant{{Key: "control"}, {Key: "bold"}}}
	for _, m := range fx.Metrics {
		metric := Metric{Key: m.Key, Kind: KindBinomial, Role: m.Role,
			Stats: []Stats{conv(m.Control.N, float64(m.Control.Conversions)), conv(m.Treatment.N, float64(m.Treatment.Conversions))}}
		if m.Role == RoleGuardrail {
			metric.NonInferiorityMargin = fx.Margin
		}
		req.Metrics = append(req.Metrics, metric)
	}
	for _, corr := range []Correction{CorrectionHolm, CorrectionBH} {
		req.Correction = corr
		a, err := Analyze(req)
		if err != nil {
			t.Fatal(err)
		}
		want := fx.Holm
		if corr == CorrectionBH {
			want = fx.BH
		}
		for i, m := range a.Metrics {
			c := m.Comparisons[0]
			closeTo(t, fmt.Sprintf("%s %s p", corr, m.Key), *c.PValue, fx.PValues[i])
			closeTo(t, fmt.Sprintf("%s %s adjusted p", corr, m.Key), *c.AdjustedPValue, want[i])
		}
	}
	t.Logf("%d metrics in 3 families, max scaled deviation %.2g", len(fx.Metrics), maxDev)
}
