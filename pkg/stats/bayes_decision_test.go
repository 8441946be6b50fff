package stats

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
)

// gaussianArms builds a two-arm mean-metric request whose relative lift has
// the given chance to win under the flat prior: control N(10, sd²/n) summary
// statistics, treatment mean shifted so that the z-score of the log ratio
// l = log(mt/mc) is z.
func gaussianArms(z, sd float64, n int64) Request {
	fn := float64(n)
	mc := 10.0
	// l has delta-method variance sd²/(mc²n)·(1 + e^{−2l}); |l|/se(l) grows
	// from 0 as l moves away from 0 (up to a maximum for l < 0), so step out to
	// the first crossing of |z| and bisect.
	zOf := func(l float64) float64 { return l / math.Sqrt(sd*sd/(mc*mc*fn)*(1+math.Exp(-2*l))) }
	step := math.Copysign(1e-3, z)
	lo, hi := 0.0, step
	for math.Abs(zOf(hi)) < math.Abs(z) {
		lo, hi = hi, hi+step
	}
	for i := 0; i < 60; i++ {
		if mid := (lo + hi) / 2; math.Abs(zOf(mid)) < math.Abs(z) {
			lo = mid
		} else {
			hi = mid
		}
	}
	mt := mc * math.Exp((lo+hi)/2)
	stat := func(mean float64) Stats {
		return Stats{N: n, Sum: mean * fn, SumSquares: (sd*sd*(fn-1) + mean*mean*fn)}
	}
	return Request{Engine: EngineBayesian,
		Variants: []Variant{{Key: "control", Participants: n}, {Key: "bold", Participants: n}},
		Metrics:  []Metric{{Key: "revenue", Kind: KindMean, Stats: []Stats{stat(mc), stat(mt)}}}}
}

// TestBayesianDecisionRule: a verdict needs the posterior tail probability
// 2·min(chance, 1−chance), after the correction, below alpha and the relative
// risk of the decision at or below the metric's acceptable risk.
func TestBayesianDecisionRule(t *testing.T) {
	cases := []struct {
		name      string
		z         float64 // relative z-score: chance to win Φ(z)
		n         int64
		threshold float64
		lower     bool
		want      VerdictCode
		note      string
	}{
		// Φ(1.80) = 0.964: a winner under GrowthBook's 95% rule, not under 1−α/2 = 97.5%.
		{"OKChance96Inconclusive", 1.80, 20000, 0, false, VerdictInconclusive, ""},
		{"OKChance99Winner", 2.6, 20000, 0, false, VerdictWinner, ""},
		{"OKChance1Loser", -2.6, 20000, 0, false, VerdictLoser, ""},
		{"OKLowerIsBetterFlips", -2.6, 20000, 0, true, VerdictWinner, ""},
		// Few units, large relative uncertainty: chance 97.7% (above 97.5%) but
		// the log ratio's posterior sd is 0.44, so the risk of shipping is 0.32%.
		{"RiskTooHigh", 2.0, 6, 0, false, VerdictInconclusive, "the risk of shipping bold"},
		// Chance 2.3%, log-ratio sd 0.48: the risk of keeping the control is 0.48%.
		{"RiskTooHighLoser", -2.0, 34, 0, false, VerdictInconclusive, "the risk of keeping control"},
		{"RiskAcceptedWhenThresholdRaised", 2.0, 6, 0.05, false, VerdictWinner, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := gaussianArms(c.z, 10, c.n)
			req.Metrics[0].RiskThreshold = c.threshold
			req.Metrics[0].LowerIsBetter = c.lower
			a, err := Analyze(req)
			if err != nil {
				t.Fatal(err)
			}
			cmp := a.Metrics[0].Comparisons[0]
			if cmp.Verdict.Code != c.want {
				t.Fatalf("verdict %+v, want %s (chance %v, risk %+v, notes %v)", cmp.Verdict, c.want, *cmp.ChanceToWin, *cmp.Risk, cmp.Notes)
			}
			if want := normCDF(c.z); c.lower {
				if math.Abs(*cmp.ChanceToWin-(1-want)) > 0.01 {
					t.Errorf("chance %v, want about %v", *cmp.ChanceToWin, 1-want)
				}
			} else if math.Abs(*cmp.ChanceToWin-want) > 0.01 {
				t.Errorf("chance %v, want about %v", *cmp.ChanceToWin, want)
			}
			hasNote := false
			for _, n := range cmp.Notes {
				hasNote = hasNote || (c.note != "" && strings.Contains(n, c.note) && strings.Contains(n, "above the acceptable 0.25%"))
			}
			if (c.note != "") != hasNote {
				t.Errorf("notes %v, want one containing %q", cmp.Notes, c.note)
			}
		})
	}

	// Six comparisons: a chance of 98.5% (tail 0.03) wins alone but not after
	// Holm or Benjamini–Hochberg when the other five are null.
	t.Run("CorrectionRaisesTheBar", func(t *testing.T) {
		req := Request{Engine: EngineBayesian, Variants: []Variant{{Key: "control", Participants: 20000}, {Key: "bold", Participants: 20000}}}
		for i, z := range []float64{2.17, 0.1, -0.3, 0.5, 0, -0.8} {
			m := gaussianArms(z, 30, 20000).Metrics[0]
			m.Key = string(rune('a' + i))
			req.Metrics = append(req.Metrics, m)
		}
		for _, c := range []struct {
			corr Correction
			want VerdictCode
		}{{CorrectionNone, VerdictWinner}, {CorrectionHolm, VerdictInconclusive}, {CorrectionBH, VerdictInconclusive}} {
			req.Correction = c.corr
			a, err := Analyze(req)
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Metrics[0].Comparisons[0].Verdict.Code; got != c.want || a.Correction != c.corr {
				t.Errorf("%s: verdict %s (correction %s), want %s", c.corr, got, a.Correction, c.want)
			}
		}
	})

	// A control mean of zero leaves no relative risk: the chance decides, and a note says so.
	t.Run("OKZeroControlMean", func(t *testing.T) {
		req := Request{Engine: EngineBayesian, Variants: []Variant{{Key: "control", Participants: 1000}, {Key: "bold", Participants: 1000}},
			Metrics: []Metric{{Key: "balance", Kind: KindMean, Stats: []Stats{{N: 1000, Sum: 0, SumSquares: 1000}, {N: 1000, Sum: 200, SumSquares: 1039}}}}}
		a, err := Analyze(req)
		if err != nil {
			t.Fatal(err)
		}
		c := a.Metrics[0].Comparisons[0]
		found := false
		for _, n := range c.Notes {
			found = found || strings.Contains(n, "only the chance to win decides")
		}
		if c.Verdict.Code != VerdictWinner || c.DecisionScale != ScaleAbsolute || !found {
			t.Errorf("verdict %s on %s scale, notes %v", c.Verdict.Code, c.DecisionScale, c.Notes)
		}
	})

	t.Run("ErrInvalidThreshold", func(t *testing.T) {
		for _, r := range []float64{-0.01, math.NaN(), math.Inf(1)} {
			req := gaussianArms(1, 30, 100)
			req.Metrics[0].RiskThreshold = r
			if _, err := Analyze(req); err == nil {
				t.Errorf("risk threshold %v accepted", r)
			}
		}
	})
}

// TestRelativeRiskFallback: without a relative lift the absolute risk is
// expressed relative to the control mean; without that nothing is formed.
func TestRelativeRiskFallback(t *testing.T) {
	abs := &Risk{Control: 0.002, Treatment: 0.0005}
	rel := &Risk{Control: 0.03, Treatment: 0.01}
	cases := []struct {
		name string
		c    Comparison
		base float64
		want *Risk
	}{
		{"OKRelative", Comparison{Absolute: Lift{Risk: abs}, Relative: Lift{Risk: rel}}, 0.1, rel},
		{"OKFromAbsolute", Comparison{Absolute: Lift{Risk: abs}}, 0.1, &Risk{Control: 0.02, Treatment: 0.005}},
		{"ZeroBase", Comparison{Absolute: Lift{Risk: abs}}, 0, nil},
		{"NoRisk", Comparison{}, 0.1, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := relativeRisk(&c.c, c.base)
			if (got == nil) != (c.want == nil) || got != nil && (math.Abs(got.Control-c.want.Control) > 1e-15 || math.Abs(got.Treatment-c.want.Treatment) > 1e-15) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestPropertyBayesianAAFalsePositives: in simulated A/A experiments the
// Bayesian decision rule calls a false winner or loser in α ± 1.5% of runs,
// with one comparison (no correction) and with six (control and two variants
// on three metrics, Holm). On the same runs it measures GrowthBook's rule
// (chance ≥ 95% with the risk of shipping ≤ 0.25%, or ≤ 5% with the risk of
// keeping the control ≤ 0.25%), which exceeds α + 1.5% (why refx's rule
// differs, see doc.go), and refx's rule without the correction on six
// comparisons. Rates are logged for the closing note.
func TestPropertyBayesianAAFalsePositives(t *testing.T) {
	const alpha, lo, hi = 0.05, 0.035, 0.065
	sims := 2000
	if raceEnabled {
		sims = 200 // the rates are asserted without -race
	}
	cases := []struct {
		name string
		kind MetricKind
		n    int
		arm  armSampler
	}{
		// 4,000 units per arm: the relative posterior sd (~7% for 10%
		// conversion) keeps GrowthBook's risk condition from binding, as in
		// most experiments that reach a decision.
		{"binomial 10%", KindBinomial, 4000, bernoulliArm(0.10)},
		{"mean (exponential)", KindMean, 2000, exponentialArm(3)},
	}
	for ci, c := range cases {
		for _, shape := range []struct {
			variants, metrics int
			corr              Correction
		}{{2, 1, CorrectionNone}, {3, 3, CorrectionHolm}} {
			r := newRNG(uint64(4000 + 10*ci + shape.variants*shape.metrics))
			var refx, uncorrected, growthbook int
			for i := 0; i < sims; i++ {
				req := Request{Engine: EngineBayesian, Correction: shape.corr}
				for v := 0; v < shape.variants; v++ {
					req.Variants = append(req.Variants, Variant{Key: string(rune('a' + v)), Participants: int64(c.n)})
				}
				for m := 0; m < shape.metrics; m++ {
					metric := Metric{Key: string(rune('m' + m)), Kind: c.kind}
					for v := 0; v < shape.variants; v++ {
						metric.Stats = append(metric.Stats, c.arm(r, c.n))
					}
					req.Metrics = append(req.Metrics, metric)
				}
				a, err := Analyze(req)
				if err != nil {
					t.Fatal(err)
				}
				var refxHit, rawHit, gbHit bool
				for _, m := range a.Metrics {
					for _, cmp := range m.Comparisons {
						if cmp.Verdict.Code == VerdictWinner || cmp.Verdict.Code == VerdictLoser {
							refxHit = true
						}
						if cmp.ChanceToWin == nil || cmp.Relative.Risk == nil {
							t.Fatalf("%s: undefined chance or relative risk: %+v", c.name, cmp)
						}
						ctw, risk := *cmp.ChanceToWin, *cmp.Relative.Risk
						if ctw >= 0.95 && risk.Treatment <= DefaultRiskThreshold || ctw <= 0.05 && risk.Control <= DefaultRiskThreshold {
							gbHit = true
						}
						if ctw > 1-alpha/2 && risk.Treatment <= DefaultRiskThreshold || ctw < alpha/2 && risk.Control <= DefaultRiskThreshold {
							rawHit = true
						}
					}
				}
				if refxHit {
					refx++
				}
				if rawHit {
					uncorrected++
				}
				if gbHit {
					growthbook++
				}
			}
			k := (shape.variants - 1) * shape.metrics
			rr, ur, gr := float64(refx)/float64(sims), float64(uncorrected)/float64(sims), float64(growthbook)/float64(sims)
			t.Logf("%-20s %d comparison(s), correction %-4s: A/A false winner or loser in %.4f of %d runs (uncorrected %.4f; GrowthBook's rule %.4f)",
				c.name, k, shape.corr, rr, sims, ur, gr)
			if raceEnabled {
				continue
			}
			if rr < lo || rr > hi {
				t.Errorf("%s, %d comparisons, %s: false positive rate %.4f outside [%v, %v]", c.name, k, shape.corr, rr, lo, hi)
			}
			if k == 1 && ur != rr {
				t.Errorf("%s: one comparison: rule %.4f differs from chance ≥ 1−α/2 with acceptable risk %.4f", c.name, rr, ur)
			}
			if gr <= hi {
				t.Errorf("%s, %d comparisons: GrowthBook's rule at %.4f is within α+1.5%%; the doc's reason to differ no longer holds", c.name, k, gr)
			}
		}
	}
}

// readFixtureSection decodes one top-level section of testdata/fixtures.json
// (scripts/stats-fixtures.py) into v.
func readFixtureSection(tb testing.TB, name string, v any) {
	tb.Helper()
	raw, err := os.ReadFile("testdata/fixtures.json")
	if err != nil {
		tb.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		tb.Fatal(err)
	}
	sec, ok := doc[name]
	if !ok {
		tb.Fatalf("fixtures.json has no %q section: run scripts/stats-fixtures.py", name)
	}
	if err := json.Unmarshal(sec, v); err != nil {
		tb.Fatal(err)
	}
}

// TestFixturesBayesDecision: chances to win, relative risks and verdicts of
// the Bayesian rule match an independent computation (scipy quadrature,
// statsmodels multipletests on the posterior tail probabilities) for mean and
// binomial metrics, each correction and risk thresholds that bind or not.
func TestFixturesBayesDecision(t *testing.T) {
	var cases []struct {
		Kind          MetricKind    `json:"kind"`
		Correction    Correction    `json:"correction"`
		RiskThreshold float64       `json:"risk_threshold"`
		Alpha         float64       `json:"alpha"`
		Stats         []Stats       `json:"stats"`
		ChanceToWin   []float64     `json:"chance_to_win"`
		RelativeRisk  [][2]float64  `json:"relative_risk"`
		Verdicts      []VerdictCode `json:"verdicts"`
	}
	readFixtureSection(t, "bayes_decision", &cases)
	if len(cases) == 0 {
		t.Fatal("no bayes_decision fixtures")
	}
	for i, c := range cases {
		req := Request{Engine: EngineBayesian, Alpha: c.Alpha, Correction: c.Correction,
			Metrics: []Metric{{Key: "m", Kind: c.Kind, RiskThreshold: c.RiskThreshold, Stats: c.Stats}}}
		for v, s := range c.Stats {
			req.Variants = append(req.Variants, Variant{Key: string(rune('a' + v)), Participants: s.N})
		}
		a, err := Analyze(req)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		for j, cmp := range a.Metrics[0].Comparisons {
			if !closeRel(*cmp.ChanceToWin, c.ChanceToWin[j], 1e-6) {
				t.Errorf("case %d (%s, %s) variant %d: chance %v, want %v", i, c.Kind, c.Correction, j, *cmp.ChanceToWin, c.ChanceToWin[j])
			}
			r := cmp.Relative.Risk
			if r == nil || !closeRel(r.Control, c.RelativeRisk[j][0], 1e-6) || !closeRel(r.Treatment, c.RelativeRisk[j][1], 1e-6) {
				t.Errorf("case %d (%s, %s) variant %d: relative risk %+v, want %v", i, c.Kind, c.Correction, j, r, c.RelativeRisk[j])
			}
			if cmp.Verdict.Code != c.Verdicts[j] {
				t.Errorf("case %d (%s, %s, risk threshold %v) variant %d: verdict %s, want %s (notes %v)",
					i, c.Kind, c.Correction, c.RiskThreshold, j, cmp.Verdict.Code, c.Verdicts[j], cmp.Notes)
			}
		}
	}
}

// closeRel reports whether got is within rel of want, relative to |want|
// (absolutely for values below 1e-9, where risks round to zero).
func closeRel(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Max(math.Abs(want), 1e-9)
}
