package stats

import "testing"

// Simulations of issue 14's frequentist decisions, seeded and deterministic.
// Under the race detector they run with a tenth of the simulations and only
// their mechanics are checked (CI runs them in full without -race).

func decisionSims(full int) int {
	if raceEnabled {
		return full / 10
	}
	return full
}

// TestPropertyRelativeIntervalCoverage: the 95% log-ratio interval of the
// relative lift covers the true lift (+10%) in 94–96% of 4,000 simulated
// experiments at control rates of 1% (5,000 units per arm), 2%, 5% and 20%
// (3,000 units per arm) and for a skewed mean metric (500 per arm).
func TestPropertyRelativeIntervalCoverage(t *testing.T) {
	sims := decisionSims(4000)
	cases := []struct {
		name     string
		kind     MetricKind
		n        int
		ctl, trt armSampler
	}{
		{"binomial 1%", KindBinomial, 5000, bernoulliArm(0.01), bernoulliArm(0.011)},
		{"binomial 2%", KindBinomial, 3000, bernoulliArm(0.02), bernoulliArm(0.022)},
		{"binomial 5%", KindBinomial, 3000, bernoulliArm(0.05), bernoulliArm(0.055)},
		{"binomial 20%", KindBinomial, 3000, bernoulliArm(0.20), bernoulliArm(0.22)},
		{"mean (exponential)", KindMean, 500, exponentialArm(3), exponentialArm(3.3)},
	}
	const trueLift = 0.1
	for ci, c := range cases {
		r := newRNG(uint64(14000 + ci))
		covered, exact := 0, 0
		for i := 0; i < sims; i++ {
			a, err := Analyze(twoArm(EngineFrequentist, c.kind, c.ctl(r, c.n), c.trt(r, c.n)))
			if err != nil {
				t.Fatal(err)
			}
			cmp := a.Metrics[0].Comparisons[0]
			if cmp.Relative.CI == nil {
				t.Fatalf("%s: no relative interval: %v", c.name, cmp.Notes)
			}
			if covers(cmp.Relative.CI, trueLift) {
				covered++
			}
			if cmp.Method == "fisher_exact" {
				exact++
			}
		}
		cov := float64(covered) / float64(sims)
		t.Logf("%-20s coverage of the true relative lift %.4f (%d runs, %d on the small-arm path)", c.name, cov, sims, exact)
		if !raceEnabled && (cov < 0.94 || cov > 0.96) {
			t.Errorf("%s: coverage %.4f outside [0.94, 0.96]", c.name, cov)
		}
	}
}

// TestPropertyFrequentistAAFalsePositives: in A/A experiments the
// frequentist decision rule (a winner or loser verdict) fires in
// α ± 1.5% of 4,000 runs for one comparison, and for six comparisons (six
// primary metrics) with Holm or Benjamini–Hochberg the family-wise rate (any
// winner or loser among the six) is in the same band; without a correction it
// is about 1 − 0.95⁶ ≈ 26%, which shows the simulation can detect inflation.
// The small-arm path (Fisher's exact test, conservative by construction) is
// measured and logged, and must not exceed α + 1.5%.
func TestPropertyFrequentistAAFalsePositives(t *testing.T) {
	sims := decisionSims(4000)
	const alpha = 0.05
	rates := []float64{0.1, 0.03, 0.2, 0.05, 0.5, 0.08}
	cases := []struct {
		name    string
		metrics int
		n       int
		corr    Correction
		lo, hi  float64
	}{
		{"1 comparison", 1, 2000, CorrectionNone, alpha - 0.015, alpha + 0.015},
		{"6 comparisons, Holm", 6, 2000, CorrectionHolm, alpha - 0.015, alpha + 0.015},
		{"6 comparisons, BH", 6, 2000, CorrectionBH, alpha - 0.015, alpha + 0.015},
		{"6 comparisons, none", 6, 2000, CorrectionNone, 0.2, 0.32},
		{"1 comparison, small arms", 1, 60, CorrectionNone, 0, alpha + 0.015},
	}
	for ci, c := range cases {
		r := newRNG(uint64(14100 + ci))
		hits, exact := 0, 0
		for i := 0; i < sims; i++ {
			req := Request{Engine: EngineFrequentist, Correction: c.corr, Variants: []Variant{{Key: "control"}, {Key: "bold"}}}
			for k := 0; k < c.metrics; k++ {
				arm := bernoulliArm(rates[k])
				req.Metrics = append(req.Metrics, Metric{Key: "m", Kind: KindBinomial, Stats: []Stats{arm(r, c.n), arm(r, c.n)}})
			}
			a, err := Analyze(req)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range a.Metrics {
				cmp := m.Comparisons[0]
				if cmp.Method == "fisher_exact" {
					exact++
				}
				if code := cmp.Verdict.Code; code == VerdictWinner || code == VerdictLoser {
					hits++
					break
				}
			}
		}
		rate := float64(hits) / float64(sims)
		t.Logf("%-26s A/A rate of a false winner or loser %.4f (%d runs, %d comparisons on the small-arm path)", c.name, rate, sims, exact)
		if !raceEnabled && (rate < c.lo || rate > c.hi) {
			t.Errorf("%s: false positive rate %.4f outside [%.3f, %.3f]", c.name, rate, c.lo, c.hi)
		}
	}
}

// TestPropertyGuardrailSize: a variant exactly at the non-inferiority margin
// (10% → 9.5%, margin 5%) is passed as "guardrail_ok" in α ± 1.5% of 4,000
// runs (the test's size at the boundary of its null hypothesis), and one that
// changes nothing is flagged "guardrail_violated" in at most α + 1.5% (harm
// is tested one-sided at α without correction).
func TestPropertyGuardrailSize(t *testing.T) {
	sims := decisionSims(4000)
	const alpha, n = 0.05, 10000
	for ci, c := range []struct {
		name   string
		trt    float64
		code   VerdictCode
		lo, hi float64
	}{
		{"at the margin", 0.095, VerdictGuardrailOK, alpha - 0.015, alpha + 0.015},
		{"unchanged", 0.10, VerdictGuardrailViolated, 0, alpha + 0.015},
	} {
		r := newRNG(uint64(14200 + ci))
		hits := 0
		for i := 0; i < sims; i++ {
			req := twoArm(EngineFrequentist, KindBinomial, bernoulliArm(0.10)(r, n), bernoulliArm(c.trt)(r, n))
			req.Metrics[0].Role, req.Metrics[0].NonInferiorityMargin = RoleGuardrail, 0.05
			a, err := Analyze(req)
			if err != nil {
				t.Fatal(err)
			}
			if a.Metrics[0].Comparisons[0].Verdict.Code == c.code {
				hits++
			}
		}
		rate := float64(hits) / float64(sims)
		t.Logf("guardrail %-14s %s in %.4f of %d runs", c.name, c.code, rate, sims)
		if !raceEnabled && (rate < c.lo || rate > c.hi) {
			t.Errorf("%s: %s rate %.4f outside [%.3f, %.3f]", c.name, c.code, rate, c.lo, c.hi)
		}
	}
}
