package stats

import (
	"math"
	"testing"
)

// TestSequentialPlannedTuning: the sequential engine is tuned at
// Request.PlannedSampleSize unless SequentialTuning is given, and at
// DefaultSequentialTuning without either.
func TestSequentialPlannedTuning(t *testing.T) {
	cases := []struct {
		name    string
		tuning  float64
		planned int64
		want    float64
	}{
		{"OKNoPlan", 0, 0, DefaultSequentialTuning},
		{"OKPlan", 0, 40000, 40000},
		{"OKExplicitTuningWins", 8000, 40000, 8000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := twoArm(EngineSequential, KindBinomial, conv(20000, 2000), conv(20000, 2100))
			req.SequentialTuning, req.PlannedSampleSize = c.tuning, c.planned
			a, err := Analyze(req)
			if err != nil {
				t.Fatal(err)
			}
			if a.SequentialTuning == nil || *a.SequentialTuning != c.want {
				t.Fatalf("tuning %v, want %v", a.SequentialTuning, c.want)
			}
			mc, _ := MomentsOf(KindBinomial, conv(20000, 2000))
			mt, _ := MomentsOf(KindBinomial, conv(20000, 2100))
			// The relative lift is the confidence sequence of the log ratio
			// since issue 14 (the linear one could cross −100%); the absolute
			// lift is still SequentialTest's. Both are run at the tuning.
			r, _ := SequentialLogRatioTest(mc, mt, DefaultAlpha, c.want)
			cmp := a.Metrics[0].Comparisons[0]
			if *cmp.PValue != r.PValue || cmp.Relative.CI.Lower != r.CI.Lower || cmp.Relative.CI.Upper != r.CI.Upper {
				t.Errorf("p %v ci %+v, want SequentialLogRatioTest at %v: p %v ci %+v", *cmp.PValue, *cmp.Relative.CI, c.want, r.PValue, r.CI)
			}
			ab, _ := SequentialTest(mc, mt, ScaleAbsolute, DefaultAlpha, c.want)
			if *cmp.Absolute.PValue != ab.PValue || cmp.Absolute.CI.Lower != ab.CI.Lower || cmp.Absolute.CI.Upper != ab.CI.Upper {
				t.Errorf("absolute p %v ci %+v, want SequentialTest at %v: p %v ci %+v", *cmp.Absolute.PValue, *cmp.Absolute.CI, c.want, ab.PValue, ab.CI)
			}
		})
	}
	t.Run("ErrNegativePlan", func(t *testing.T) {
		req := twoArm(EngineSequential, KindBinomial, conv(100, 10), conv(100, 12))
		req.PlannedSampleSize = -1
		if _, err := Analyze(req); err == nil {
			t.Error("negative planned sample size accepted")
		}
	})
}

// TestSequentialTunedAtPlanIsNarrowest: tuned at the planned total N, the
// confidence sequence's half-width at n = N is within 0.5% of the narrowest
// any tuning gives there (scipy's minimum over ρ², testdata/fixtures.json
// "sequential_tuning"), and narrower than with the default 5000 whenever the
// plan is not 5000.
func TestSequentialTunedAtPlanIsNarrowest(t *testing.T) {
	var cases []struct {
		Alpha        float64 `json:"alpha"`
		N            float64 `json:"n"`
		MinHalfWidth float64 `json:"min_half_width"`
	}
	readFixtureSection(t, "sequential_tuning", &cases)
	if len(cases) == 0 {
		t.Fatal("no sequential_tuning fixtures")
	}
	for _, c := range cases {
		// v·n = 1: the half-width is the factor multiplying sqrt(v·n).
		v := 1 / c.N
		got := sequentialHalfWidth(v, c.N, c.Alpha, sequentialRho2(c.Alpha, c.N))
		def := sequentialHalfWidth(v, c.N, c.Alpha, sequentialRho2(c.Alpha, DefaultSequentialTuning))
		t.Logf("alpha %.2f, planned N %8.0f: half-width at N tuned at N %.6f, narrowest %.6f (+%.3f%%), tuned at 5000 %.6f",
			c.Alpha, c.N, got, c.MinHalfWidth, 100*(got/c.MinHalfWidth-1), def)
		if got < c.MinHalfWidth*(1-1e-9) || got > c.MinHalfWidth*1.005 {
			t.Errorf("alpha %v N %v: half-width %v vs narrowest %v", c.Alpha, c.N, got, c.MinHalfWidth)
		}
		if c.N != DefaultSequentialTuning && !(got < def) {
			t.Errorf("alpha %v N %v: tuned at the plan %v not narrower than at 5000 %v", c.Alpha, c.N, got, def)
		}
	}
}

// TestPropertySequentialPlannedAA: A/A experiments planned at 10,000 units
// and looked at 20 times on the way (every 500 units) with the sequential
// engine tuned at the plan: a false winner or loser at any look in at most α
// of 2,000 runs (the confidence sequence is conservative with few looks; the
// rate is logged), while a fixed-horizon test at the same looks exceeds α +
// 1.5%. A real effect sized for 80% power of the fixed test at the plan is
// detected more often at the plan when tuned there than with the default.
func TestPropertySequentialPlannedAA(t *testing.T) {
	const alpha, looks, planned = 0.05, 20, 10000
	sims := 2000
	if raceEnabled {
		sims = 300
	}
	batch := planned / 2 / looks
	cases := []struct {
		name     string
		kind     MetricKind
		ctl, trt armSampler
		aa       bool
	}{
		{"binomial 10% A/A", KindBinomial, bernoulliArm(0.10), bernoulliArm(0.10), true},
		{"mean (exponential) A/A", KindMean, exponentialArm(3), exponentialArm(3), true},
		// Two-sided 80% power at 5,000 per arm: δ = 2.80·sqrt(2·0.09/5000) = 0.0168.
		{"binomial 10% vs 11.68%", KindBinomial, bernoulliArm(0.10), bernoulliArm(0.1168), false},
	}
	for ci, c := range cases {
		r := newRNG(uint64(5000 + ci))
		var planHit, defHit, fixedHit, planFinal, defFinal int
		for i := 0; i < sims; i++ {
			var sc, st Stats
			var ph, dh, fh bool
			for k := 0; k < looks; k++ {
				sc = addStats(sc, c.ctl(r, batch))
				st = addStats(st, c.trt(r, batch))
				mc, err1 := MomentsOf(c.kind, sc)
				mt, err2 := MomentsOf(c.kind, st)
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				p, err := SequentialTest(mc, mt, ScaleRelative, alpha, planned)
				if err != nil {
					t.Fatalf("%s: run %d look %d: %v", c.name, i, k, err)
				}
				d, _ := SequentialTest(mc, mt, ScaleRelative, alpha, DefaultSequentialTuning)
				f, _ := WelchTTest(mc, mt, ScaleRelative, alpha)
				ph = ph || p.PValue < alpha
				dh = dh || d.PValue < alpha
				fh = fh || f.PValue < alpha
				if k == looks-1 {
					if p.PValue < alpha && p.Estimate > 0 {
						planFinal++
					}
					if d.PValue < alpha && d.Estimate > 0 {
						defFinal++
					}
				}
			}
			for _, hit := range []struct {
				b bool
				n *int
			}{{ph, &planHit}, {dh, &defHit}, {fh, &fixedHit}} {
				if hit.b {
					*hit.n++
				}
			}
		}
		rate := func(n int) float64 { return float64(n) / float64(sims) }
		if c.aa {
			t.Logf("%-24s %d looks to %d units: false positive at any look %.4f tuned at the plan, %.4f at 5000, fixed-horizon t-test %.4f (%d runs)",
				c.name, looks, planned, rate(planHit), rate(defHit), rate(fixedHit), sims)
			if raceEnabled {
				continue
			}
			if rate(planHit) > alpha {
				t.Errorf("%s: sequential false positive rate %.4f > %v", c.name, rate(planHit), alpha)
			}
			if rate(fixedHit) <= alpha+0.015 {
				t.Errorf("%s: fixed-horizon peeking rate %.4f: the simulation does not show peeking inflation", c.name, rate(fixedHit))
			}
			continue
		}
		t.Logf("%-24s detected at the planned %d units: %.4f tuned at the plan, %.4f at 5000 (%d runs)",
			c.name, planned, rate(planFinal), rate(defFinal), sims)
		if !raceEnabled && !(rate(planFinal) > rate(defFinal)) {
			t.Errorf("%s: tuning at the plan (%.4f) should detect more often at the plan than at 5000 (%.4f)", c.name, rate(planFinal), rate(defFinal))
		}
	}
}

// TestPowerSequentialAtPlan: sequential planning without a tuning parameter
// is tuned at the plan itself: the units per arm it finds are the ones a plan
// tuned at their total (2n) finds, and the design is the fixed-horizon test
// at the critical value sequentialPlanZ (3.04 at α = 0.05).
func TestPowerSequentialAtPlan(t *testing.T) {
	if z := sequentialPlanZ(0.05); z < 3.03 || z > 3.04 {
		t.Errorf("sequentialPlanZ(0.05) = %v, want about 3.035", z)
	}
	for _, base := range []PowerRequest{
		{Kind: KindBinomial, BaselineRate: 0.1, RelativeMDE: 0.1},
		{Kind: KindBinomial, BaselineRate: 0.02, RelativeMDE: 0.2, Alpha: 0.01, Power: 0.9},
		{Kind: KindMean, BaselineMean: 10, BaselineStdDev: 4, RelativeMDE: 0.05, Comparisons: 3},
	} {
		seq := base
		seq.Engine = EngineSequential
		atPlan, err := Power(seq)
		if err != nil {
			t.Fatal(err)
		}
		n := *atPlan.RequiredUnitsPerArmExact
		seq.SequentialTuning = 2 * n
		tuned, _ := Power(seq)
		if m := *tuned.RequiredUnitsPerArmExact; math.Abs(m-n) > 1e-6*n {
			t.Errorf("%+v: at the plan %v units per arm, tuned at its total %v: %v", base, n, 2*n, m)
		}
		fixed := base
		fixed.Alpha = 2 * normSF(sequentialPlanZ(atPlan.Alpha)) * float64(max(base.Comparisons, 1))
		f, _ := Power(fixed)
		if m := *f.RequiredUnitsPerArmExact; math.Abs(m-n) > 1e-9*n {
			t.Errorf("%+v: at the plan %v, fixed horizon at z* %v", base, n, m)
		}
		seq.SequentialTuning = DefaultSequentialTuning
		def, _ := Power(seq)
		t.Logf("%s baseline %v, MDE %v: sequential units per arm %d tuned at the plan (total %d), %d tuned at 5000; fixed horizon %d",
			base.Kind, base.BaselineRate+base.BaselineMean, base.RelativeMDE, *atPlan.RequiredUnitsPerArm, 2**atPlan.RequiredUnitsPerArm,
			*def.RequiredUnitsPerArm, *mustPower(t, base).RequiredUnitsPerArm)
	}
	if _, err := Power(PowerRequest{Kind: KindBinomial, Engine: EngineSequential, BaselineRate: 0.1, RelativeMDE: 0.1, SequentialTuning: -1}); err == nil {
		t.Error("negative tuning accepted")
	}
}

func mustPower(tb testing.TB, req PowerRequest) PowerResult {
	tb.Helper()
	r, err := Power(req)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}
