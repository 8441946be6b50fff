package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Property tests on simulated data with a fixed-seed PCG generator: interval
// coverage, anytime validity under continuous peeking, and Bayesian
// calibration. Sizes are the ones CI runs (no testing.Short reductions).

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

func drawBinomial(r *rand.Rand, n int, p float64) float64 {
	c := 0
	for i := 0; i < n; i++ {
		if r.Float64() < p {
			c++
		}
	}
	return float64(c)
}

// armSampler draws the sufficient statistics of n units.
type armSampler func(r *rand.Rand, n int) Stats

func bernoulliArm(p float64) armSampler {
	return func(r *rand.Rand, n int) Stats {
		c := drawBinomial(r, n, p)
		return Stats{N: int64(n), Sum: c, SumSquares: c}
	}
}

// exponentialArm draws skewed values (e.g. revenue per participant).
func exponentialArm(mean float64) armSampler {
	return func(r *rand.Rand, n int) Stats {
		s := Stats{N: int64(n)}
		for i := 0; i < n; i++ {
			y := mean * r.ExpFloat64()
			s.Sum += y
			s.SumSquares += y * y
		}
		return s
	}
}

// referralArm draws, per referrer, x = invitations sent (1..5) and
// y = invitations converted ~ Binomial(x, q); the ratio metric Σy/Σx estimates q.
func referralArm(q float64) armSampler {
	return func(r *rand.Rand, n int) Stats {
		s := Stats{N: int64(n)}
		for i := 0; i < n; i++ {
			x := 1 + drawBinomial(r, 4, 0.5)
			y := drawBinomial(r, int(x), q)
			s.Sum += y
			s.SumSquares += y * y
			s.DenominatorSum += x
			s.DenominatorSumSquares += x * x
			s.SumProducts += x * y
		}
		return s
	}
}

func addStats(a, b Stats) Stats {
	return Stats{N: a.N + b.N, Sum: a.Sum + b.Sum, SumSquares: a.SumSquares + b.SumSquares,
		DenominatorSum: a.DenominatorSum + b.DenominatorSum, DenominatorSumSquares: a.DenominatorSumSquares + b.DenominatorSumSquares,
		SumProducts: a.SumProducts + b.SumProducts}
}

func covers(ci *Interval, x float64) bool { return ci != nil && ci.Lower <= x && x <= ci.Upper }

// TestPropertyFrequentistCoverage: 95% Welch intervals from Analyze cover the
// true absolute and relative lift in 93–97% of 2,000 simulated experiments
// (A/A and A/B, binomial, skewed mean, and ratio metrics).
func TestPropertyFrequentistCoverage(t *testing.T) {
	const sims = 2000
	cases := []struct {
		name     string
		kind     MetricKind
		n        int
		ctl, trt armSampler
		muC, muT float64
	}{
		{"binomial A/A", KindBinomial, 1000, bernoulliArm(0.10), bernoulliArm(0.10), 0.10, 0.10},
		{"binomial A/B", KindBinomial, 1000, bernoulliArm(0.10), bernoulliArm(0.12), 0.10, 0.12},
		{"mean A/A (exponential)", KindMean, 500, exponentialArm(3), exponentialArm(3), 3, 3},
		{"mean A/B (exponential)", KindMean, 500, exponentialArm(3), exponentialArm(3.3), 3, 3.3},
		{"ratio A/B (referrals)", KindRatio, 1000, referralArm(0.30), referralArm(0.33), 0.30, 0.33},
	}
	for ci, c := range cases {
		r := newRNG(uint64(1000 + ci))
		var absCov, relCov, rejections int
		for i := 0; i < sims; i++ {
			req := Request{Engine: EngineFrequentist,
				Variants: []Variant{{Key: "control", Participants: int64(c.n)}, {Key: "treatment", Participants: int64(c.n)}},
				Metrics:  []Metric{{Key: "m", Kind: c.kind, Stats: []Stats{c.ctl(r, c.n), c.trt(r, c.n)}}}}
			a, err := Analyze(req)
			if err != nil {
				t.Fatal(err)
			}
			cmp := a.Metrics[0].Comparisons[0]
			if covers(cmp.Absolute.CI, c.muT-c.muC) {
				absCov++
			}
			if covers(cmp.Relative.CI, c.muT/c.muC-1) {
				relCov++
			}
			if cmp.Verdict.Code == VerdictWinner || cmp.Verdict.Code == VerdictLoser {
				rejections++
			}
		}
		abs, rel := float64(absCov)/sims, float64(relCov)/sims
		t.Logf("%-26s absolute coverage %.4f, relative coverage %.4f, significant %.4f", c.name, abs, rel, float64(rejections)/sims)
		for _, cov := range []float64{abs, rel} {
			if cov < 0.93 || cov > 0.97 {
				t.Errorf("%s: coverage %.4f outside [0.93, 0.97]", c.name, cov)
			}
		}
		if c.muC == c.muT && float64(rejections)/sims > 0.07 {
			t.Errorf("%s: A/A false positive rate %.4f", c.name, float64(rejections)/sims)
		}
	}
}

// TestPropertySequentialPeeking: in A/A experiments checked after every batch
// (500 simulations × 100 peeks) the anytime-valid test declares a difference
// at some peek in at most 5% of simulations, while the fixed-horizon Welch
// test peeked at the same times exceeds 10% (showing the simulation detects
// peeking inflation). In A/B experiments the confidence sequence covers the
// true relative lift at every peek in about 95% of simulations (at least 94%),
// and the test has power: it detects the real effect, in the right direction,
// at some peek in at least minPower of the simulations (a test that never
// rejects would pass every bound above). At every peek the p-value and the
// interval agree (p < α exactly when the interval excludes zero), and no peek
// is left out: every batch has conversions in both arms, so an error from
// either test fails instead of being skipped.
func TestPropertySequentialPeeking(t *testing.T) {
	const sims, peeks, alpha = 500, 100, 0.05
	cases := []struct {
		name     string
		kind     MetricKind
		batch    int
		ctl, trt armSampler
		trueRel  float64
		aa       bool
		// minPower is the least share of A/B simulations detecting the
		// effect; the observed rates are 0.25, 0.90 and 0.96.
		minPower float64
	}{
		{"binomial A/A", KindBinomial, 100, bernoulliArm(0.10), bernoulliArm(0.10), 0, true, 0},
		{"mean A/A (exponential)", KindMean, 50, exponentialArm(2), exponentialArm(2), 0, true, 0},
		{"binomial A/B +10%", KindBinomial, 100, bernoulliArm(0.10), bernoulliArm(0.11), 0.1, false, 0.15},
		{"binomial A/B +20%", KindBinomial, 100, bernoulliArm(0.10), bernoulliArm(0.12), 0.2, false, 0.8},
		{"mean A/B +10% (exponential)", KindMean, 50, exponentialArm(2), exponentialArm(2.2), 0.1, false, 0.8},
	}
	for ci, c := range cases {
		r := newRNG(uint64(2000 + ci))
		var seqFP, naiveFP, uniformCover, detected int
		for i := 0; i < sims; i++ {
			var sc, st Stats
			seqHit, naiveHit, missed, rightHit := false, false, false, false
			for k := 0; k < peeks; k++ {
				sc = addStats(sc, c.ctl(r, c.batch))
				st = addStats(st, c.trt(r, c.batch))
				mc, err1 := MomentsOf(c.kind, sc)
				mt, err2 := MomentsOf(c.kind, st)
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				seq, err := SequentialTest(mc, mt, ScaleRelative, alpha, DefaultSequentialTuning)
				if err != nil {
					t.Fatalf("%s: simulation %d, peek %d (control %+v, treatment %+v): %v", c.name, i, k, sc, st, err)
				}
				excludesZero := seq.CI.Lower > 0 || seq.CI.Upper < 0
				if rejects := seq.PValue < alpha; rejects != excludesZero && math.Abs(seq.PValue-alpha) > 1e-9 {
					t.Fatalf("%s: simulation %d, peek %d: p = %g but interval [%g, %g]", c.name, i, k, seq.PValue, seq.CI.Lower, seq.CI.Upper)
				}
				if seq.PValue < alpha {
					seqHit = true
					if c.trueRel > 0 && seq.Estimate > 0 || c.trueRel < 0 && seq.Estimate < 0 {
						rightHit = true
					}
				}
				if seq.CI.Lower > c.trueRel || seq.CI.Upper < c.trueRel {
					missed = true
				}
				w, err := WelchTTest(mc, mt, ScaleRelative, alpha)
				if err != nil {
					t.Fatalf("%s: simulation %d, peek %d: Welch: %v", c.name, i, k, err)
				}
				if w.PValue < alpha {
					naiveHit = true
				}
			}
			if seqHit {
				seqFP++
			}
			if rightHit {
				detected++
			}
			if naiveHit {
				naiveFP++
			}
			if !missed {
				uniformCover++
			}
		}
		if c.aa {
			seq, naive := float64(seqFP)/sims, float64(naiveFP)/sims
			t.Logf("%-28s sequential false positives with peeking %.4f, fixed-horizon t-test %.4f", c.name, seq, naive)
			if seq > alpha {
				t.Errorf("%s: sequential false positive rate %.4f > %v", c.name, seq, alpha)
			}
			if naive < 0.10 {
				t.Errorf("%s: naive peeking false positive rate %.4f unexpectedly low", c.name, naive)
			}
		} else {
			cov, power := float64(uniformCover)/sims, float64(detected)/sims
			t.Logf("%-28s time-uniform coverage of the true lift %.4f, power (detected at some peek, right sign) %.4f", c.name, cov, power)
			// 0.94 allows one Monte Carlo standard error (≈0.01 with 500 simulations)
			// below the nominal 95% for this asymptotic confidence sequence.
			if cov < 0.94 {
				t.Errorf("%s: time-uniform coverage %.4f < 0.94", c.name, cov)
			}
			if power < c.minPower {
				t.Errorf("%s: power %.4f < %v: the sequential test misses a real effect", c.name, power, c.minPower)
			}
		}
	}
}

// TestPropertyBayesianBetaCalibration: when true rates are drawn from the
// Beta(1,1) prior, the exact 95% credible intervals cover the true lifts in
// 93–97% of 2,000 simulations and the chance to win is calibrated.
func TestPropertyBayesianBetaCalibration(t *testing.T) {
	const sims, n = 2000, 60
	r := newRNG(3000)
	var absCov, relCov, relN, confident, confidentRight int
	var brier, meanGap float64
	for i := 0; i < sims; i++ {
		pc, pt := r.Float64(), r.Float64()
		cc, ct := drawBinomial(r, n, pc), drawBinomial(r, n, pt)
		res, err := BetaBinomialTest(BetaPosteriorOf(int64(cc), n, nil), BetaPosteriorOf(int64(ct), n, nil), 0.05)
		if err != nil {
			t.Fatal(err)
		}
		if covers(&res.Absolute.CI, pt-pc) {
			absCov++
		}
		if res.Relative != nil {
			relN++
			if covers(&res.Relative.CI, pt/pc-1) {
				relCov++
			}
		}
		win := 0.0
		if pt > pc {
			win = 1
		}
		meanGap += win - res.ChanceToWin
		brier += (win - res.ChanceToWin) * (win - res.ChanceToWin)
		if res.ChanceToWin >= 0.95 {
			confident++
			if pt > pc {
				confidentRight++
			}
		}
	}
	abs, rel := float64(absCov)/sims, float64(relCov)/float64(relN)
	t.Logf("Beta–binomial: absolute coverage %.4f, relative coverage %.4f (%d sims), mean(win − chance) %.4f, P(win | chance ≥ 0.95) %.4f (%d sims)",
		abs, rel, relN, meanGap/sims, float64(confidentRight)/float64(confident), confident)
	for _, cov := range []float64{abs, rel} {
		if cov < 0.93 || cov > 0.97 {
			t.Errorf("credible interval coverage %.4f outside [0.93, 0.97]", cov)
		}
	}
	// Each term has variance ≤ 1/4, so |mean gap| > 4·sqrt(1/(4·sims)) ≈ 0.045 would be a 4σ event.
	if math.Abs(meanGap/sims) > 0.045 {
		t.Errorf("chance to win is not calibrated: mean(win − chance) = %.4f", meanGap/sims)
	}
	if float64(confidentRight)/float64(confident) < 0.93 {
		t.Errorf("P(win | chance ≥ 0.95) = %.4f", float64(confidentRight)/float64(confident))
	}
}
