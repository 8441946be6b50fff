package stats

import (
	"math"
	"strings"
	"testing"
)

// TestIssue14SmallArms: the examples of issue 14 under the frequentist engine.
// 15/15 vs 6/24 was a relative p of 0.045 from the linear delta method
// (absolute p 1.5e-8); the comparison is now Fisher's exact test, p 2.2e-6.
// 0/21 vs 6/24 had a zero-variance relative lift and a Welch absolute p of
// 0.0095; now Fisher's p is 0.023, still below 0.05, so the verdict stays
// "loser" unless a minimum sample is set, which turns it into
// "insufficient_data". Relative intervals stay above −100% ([50 2 50 1] was
// [−170%, +70%] with the linear delta method).
func TestIssue14SmallArms(t *testing.T) {
	cases := []struct {
		name         string
		ctl, trt     Stats
		minSample    int64
		wantP        float64
		wantCode     VerdictCode
		wantRelLower float64 // lower bound of the relative interval, to 1e-9
	}{
		{"15/15 vs 6/24", conv(24, 6), conv(15, 15), 0, 2.1908575271961494e-06, VerdictWinner, 0.9502017620664187},
		{"0/21 vs 6/24", conv(24, 6), conv(21, 0), 0, 0.023187060623248937, VerdictLoser, -0.9947622000237755},
		{"0/21 vs 6/24 below the minimum sample", conv(24, 6), conv(21, 0), 100, 0.023187060623248937, VerdictInsufficientData, -0.9947622000237755},
		{"1/50 vs 2/50", conv(50, 2), conv(50, 1), 0, 1, VerdictInconclusive, -0.9176793695123091},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := twoArm(EngineFrequentist, KindBinomial, c.ctl, c.trt)
			req.Metrics[0].MinSamplePerArm = c.minSample
			a, err := Analyze(req)
			if err != nil {
				t.Fatal(err)
			}
			cmp := a.Metrics[0].Comparisons[0]
			if cmp.Method != "fisher_exact" || cmp.PValue == nil || math.Abs(*cmp.PValue-c.wantP) > 1e-9 {
				t.Fatalf("method %q p %v, want Fisher's %v", cmp.Method, cmp.PValue, c.wantP)
			}
			if cmp.Verdict.Code != c.wantCode {
				t.Errorf("verdict %+v, want %s", cmp.Verdict, c.wantCode)
			}
			if cmp.Relative.CI == nil || math.Abs(cmp.Relative.CI.Lower-c.wantRelLower) > 1e-9 || cmp.Relative.CI.Lower <= -1 {
				t.Errorf("relative interval %+v", cmp.Relative.CI)
			}
			if cmp.Absolute.CI == nil || !(cmp.Absolute.CI.Lower < *cmp.Absolute.Estimate && *cmp.Absolute.Estimate < cmp.Absolute.CI.Upper) {
				t.Errorf("absolute interval %+v around %v", cmp.Absolute.CI, *cmp.Absolute.Estimate)
			}
			if c.minSample > 0 && (cmp.AdditionalUnitsPerArm == nil || *cmp.AdditionalUnitsPerArm != 79 ||
				cmp.Verdict.Text != "not enough data yet to compare bold with control on signup: 79 more participants per arm needed before a verdict (minimum 100 per arm)") {
				t.Errorf("minimum sample: %v %q", cmp.AdditionalUnitsPerArm, cmp.Verdict.Text)
			}
		})
	}
}

// TestRelativeIntervalNeverBelowMinus100: every engine's relative interval
// is an exponentiated log-ratio interval (the exact Beta posterior for the
// Bayesian engine's binomial metrics) on every metric kind, so it stays above
// −100% where the linear delta method went below (K-factor-like ratio metric
// with few referrers, a skewed mean metric), and the decision-scale p-value
// or chance to win agrees with it.
func TestRelativeIntervalNeverBelowMinus100(t *testing.T) {
	ratio := Stats{N: 12, Sum: 3, SumSquares: 5, DenominatorSum: 30, DenominatorSumSquares: 100, SumProducts: 12}
	ratioT := Stats{N: 11, Sum: 1, SumSquares: 1, DenominatorSum: 25, DenominatorSumSquares: 80, SumProducts: 4}
	for _, c := range []struct {
		name     string
		kind     MetricKind
		ctl, trt Stats
	}{
		{"ratio", KindRatio, ratio, ratioT},
		{"mean", KindMean, meanStats(20, 3, 9), meanStats(20, 1, 2)},
		{"binomial", KindBinomial, conv(400, 40), conv(400, 12)},
	} {
		mc, _ := MomentsOf(c.kind, c.ctl)
		mt, _ := MomentsOf(c.kind, c.trt)
		for _, e := range allEngines {
			a, err := Analyze(twoArm(e, c.kind, c.ctl, c.trt))
			if err != nil {
				t.Fatal(err)
			}
			cmp := a.Metrics[0].Comparisons[0]
			var linear Interval
			switch e {
			case EngineFrequentist:
				r, _ := WelchTTest(mc, mt, ScaleRelative, 0.05)
				linear = r.CI
			case EngineSequential:
				r, _ := SequentialTest(mc, mt, ScaleRelative, 0.05, DefaultSequentialTuning)
				linear = r.CI
			case EngineBayesian:
				r, _ := GaussianEffectTest(mc, mt, ScaleRelative, nil, 0.05)
				linear = r.CI
			}
			if cmp.Relative.CI == nil || cmp.DecisionScale != ScaleRelative {
				t.Errorf("%s %s: relative %+v, decision scale %s", e, c.name, cmp.Relative, cmp.DecisionScale)
				continue
			}
			ci := *cmp.Relative.CI
			t.Logf("%-12s %-8s linear delta method [%.1f%%, %.1f%%], refx [%.1f%%, %.1f%%]", e, c.name,
				100*linear.Lower, 100*linear.Upper, 100*ci.Lower, 100*ci.Upper)
			if ci.Lower <= -1 || *cmp.Relative.Estimate <= ci.Lower || *cmp.Relative.Estimate >= ci.Upper {
				t.Errorf("%s %s: relative %+v", e, c.name, cmp.Relative)
			}
			// The same statistic decides: significant exactly when the interval excludes 0.
			excludes := ci.Lower > 0 || ci.Upper < 0
			if e == EngineBayesian {
				if q := 2 * math.Min(*cmp.ChanceToWin, 1-*cmp.ChanceToWin); (q < 0.05) != excludes {
					t.Errorf("%s %s: posterior tail %v, interval %+v", e, c.name, q, ci)
				}
			} else if (*cmp.PValue < 0.05) != excludes {
				t.Errorf("%s %s: p %v, interval %+v", e, c.name, *cmp.PValue, ci)
			}
		}
	}
}

// TestFamiliesAreIndependent: adding secondary metrics or guardrails, however
// many and however significant, changes no primary metric's adjusted p-value,
// interval or verdict.
func TestFamiliesAreIndependent(t *testing.T) {
	primary := []Metric{
		{Key: "signup", Kind: KindBinomial, Stats: []Stats{conv(10000, 1000), conv(10000, 1090)}},
		{Key: "revenue", Kind: KindMean, Stats: []Stats{meanStats(10000, 5, 20), meanStats(10000, 5.5, 20)}},
	}
	extra := []Metric{
		{Key: "clicks", Kind: KindBinomial, Role: RoleSecondary, Stats: []Stats{conv(10000, 3000), conv(10000, 3020)}},
		{Key: "shares", Kind: KindBinomial, Role: RoleSecondary, Stats: []Stats{conv(10000, 100), conv(10000, 103)}},
		{Key: "refunds", Kind: KindBinomial, Role: RoleGuardrail, LowerIsBetter: true, NonInferiorityMargin: 0.1, Stats: []Stats{conv(10000, 200), conv(10000, 201)}},
	}
	for _, e := range allEngines {
		for _, corr := range []Correction{CorrectionHolm, CorrectionBH} {
			req := Request{Engine: e, Correction: corr, Variants: []Variant{{Key: "control"}, {Key: "bold"}}, Metrics: primary}
			base, err := Analyze(req)
			if err != nil {
				t.Fatal(err)
			}
			req.Metrics = append(append([]Metric{}, extra[:1]...), append(append([]Metric{}, primary...), extra[1:]...)...)
			more, err := Analyze(req)
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range base.Metrics {
				b, a := m.Comparisons[0], more.Metrics[i+1].Comparisons[0]
				if a.Verdict != b.Verdict || a.IntervalLevel != b.IntervalLevel || *a.Relative.CI != *b.Relative.CI ||
					(b.AdjustedPValue != nil && *a.AdjustedPValue != *b.AdjustedPValue) {
					t.Errorf("%s %s %s: with secondary metrics and guardrails %+v, without %+v", e, corr, m.Key, a, b)
				}
			}
			if more.Metrics[4].Role != RoleGuardrail || more.Metrics[4].NonInferiorityMargin != 0.1 || more.Metrics[0].Role != RoleSecondary || more.Metrics[1].Role != RolePrimary {
				t.Errorf("roles not echoed: %v %v %v", more.Metrics[4].Role, more.Metrics[0].Role, more.Metrics[1].Role)
			}
		}
	}
}

// TestGuardrails: non-inferiority verdicts for both directions and engines.
func TestGuardrails(t *testing.T) {
	cases := []struct {
		name          string
		ctl, trt      Stats
		lowerIsBetter bool
		margin        float64
		want          VerdictCode
		text          string
	}{
		{"unchanged within 5%", conv(500000, 50000), conv(500000, 50100), false, 0.05, VerdictGuardrailOK, "bold does not worsen signup by more than 5% compared with control"},
		{"clearly worse", conv(50000, 5000), conv(50000, 4500), false, 0.05, VerdictGuardrailViolated, "bold worsens the guardrail signup compared with control"},
		{"worse but within the margin", conv(50000, 5000), conv(50000, 4880), false, 0.1, VerdictGuardrailOK, ""},
		{"too few to tell", conv(2000, 200), conv(2000, 196), false, 0.05, VerdictInconclusive, "not yet shown that bold does not worsen signup by more than 5%, ~"},
		{"lower is better, fewer refunds", conv(500000, 10000), conv(500000, 9900), true, 0.1, VerdictGuardrailOK, ""},
		{"lower is better, more refunds", conv(50000, 1000), conv(50000, 1200), true, 0.05, VerdictGuardrailViolated, ""},
		{"no margin, unchanged", conv(50000, 5000), conv(50000, 5010), false, 0, VerdictInconclusive, "not yet shown that bold does not worsen signup"},
	}
	for _, e := range allEngines {
		for _, c := range cases {
			req := twoArm(e, KindBinomial, c.ctl, c.trt)
			req.Metrics[0].Role, req.Metrics[0].LowerIsBetter, req.Metrics[0].NonInferiorityMargin = RoleGuardrail, c.lowerIsBetter, c.margin
			a, err := Analyze(req)
			if err != nil {
				t.Fatal(err)
			}
			cmp := a.Metrics[0].Comparisons[0]
			if cmp.Verdict.Code != c.want || !strings.HasPrefix(cmp.Verdict.Text, c.text) {
				t.Errorf("%s %s: %+v, want %s %q", e, c.name, cmp.Verdict, c.want, c.text)
			}
			if cmp.Test != TestNonInferiority || cmp.DecisionScale != ScaleRelative {
				t.Errorf("%s %s: test %q scale %q", e, c.name, cmp.Test, cmp.DecisionScale)
			}
			if e == EngineFrequentist && math.Abs(cmp.IntervalLevel-0.9) > 1e-12 {
				t.Errorf("%s: interval level %v, want 0.9 (one-sided 95%% bound)", c.name, cmp.IntervalLevel)
			}
		}
	}
}

// TestOneSidedMetrics: a one-sided metric is a winner at half the two-sided
// p-value, never a loser, and its interval (level 1−2α) excludes zero
// exactly when the one-sided test rejects.
func TestOneSidedMetrics(t *testing.T) {
	for _, c := range []struct {
		name          string
		ctl, trt      Stats
		lowerIsBetter bool
		want          VerdictCode
	}{
		{"improves, p between α and 2α two-sided", conv(20000, 2000), conv(20000, 2110), false, VerdictWinner},
		{"worse", conv(20000, 2000), conv(20000, 1700), false, VerdictInconclusive},
		{"lower is better, lower", conv(20000, 2110), conv(20000, 2000), true, VerdictWinner},
	} {
		req := twoArm(EngineFrequentist, KindBinomial, c.ctl, c.trt)
		two, _ := Analyze(req)
		req.Metrics[0].OneSided, req.Metrics[0].LowerIsBetter = true, c.lowerIsBetter
		one, err := Analyze(req)
		if err != nil {
			t.Fatal(err)
		}
		o, tw := one.Metrics[0].Comparisons[0], two.Metrics[0].Comparisons[0]
		if o.Verdict.Code != c.want || o.Test != TestOneSided {
			t.Errorf("%s: %+v (%s)", c.name, o.Verdict, o.Test)
		}
		improving := (*o.Relative.Estimate > 0) != c.lowerIsBetter
		if want := *tw.PValue / 2; !improving {
			if want = 1 - want; math.Abs(*o.PValue-want) > 1e-12 {
				t.Errorf("%s: one-sided p %v, want %v", c.name, *o.PValue, want)
			}
		} else if math.Abs(*o.PValue-want) > 1e-12 {
			t.Errorf("%s: one-sided p %v, want %v", c.name, *o.PValue, want)
		}
		excludes := o.Relative.CI.Lower > 0 || o.Relative.CI.Upper < 0
		if excludes != (*o.PValue < 0.05) && improving {
			t.Errorf("%s: interval %+v and p %v disagree", c.name, *o.Relative.CI, *o.PValue)
		}
	}
	if tw, _ := Analyze(twoArm(EngineFrequentist, KindBinomial, conv(20000, 2000), conv(20000, 2110))); tw.Metrics[0].Comparisons[0].Verdict.Code != VerdictInconclusive {
		t.Errorf("the first case should be inconclusive two-sided: %+v", tw.Metrics[0].Comparisons[0].Verdict)
	}
	// Other engines run two-sided and say so.
	req := twoArm(EngineSequential, KindBinomial, conv(20000, 2000), conv(20000, 2110))
	req.Metrics[0].OneSided = true
	a, _ := Analyze(req)
	if c := a.Metrics[0].Comparisons[0]; c.Test != TestTwoSided || len(c.Notes) == 0 {
		t.Errorf("sequential one-sided: %s %v", c.Test, c.Notes)
	}
}

func TestDecisionValidation(t *testing.T) {
	for _, c := range []struct {
		name string
		mod  func(m *Metric)
	}{
		{"role", func(m *Metric) { m.Role = "tertiary" }},
		{"margin on a primary", func(m *Metric) { m.NonInferiorityMargin = 0.02 }},
		{"margin of 100%", func(m *Metric) { m.Role, m.NonInferiorityMargin = RoleGuardrail, 1 }},
		{"negative margin", func(m *Metric) { m.Role, m.NonInferiorityMargin = RoleGuardrail, -0.1 }},
		{"one-sided guardrail", func(m *Metric) { m.Role, m.OneSided = RoleGuardrail, true }},
		{"negative minimum", func(m *Metric) { m.MinSamplePerArm = -1 }},
	} {
		req := twoArm(EngineFrequentist, KindBinomial, conv(100, 10), conv(100, 12))
		c.mod(&req.Metrics[0])
		if _, err := Analyze(req); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}
