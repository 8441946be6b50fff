package stats

import (
	"fmt"
	"math"
)

// PowerRequest describes a planned two-arm comparison (each treatment arm
// against the control, equal allocation).
type PowerRequest struct {
	// Kind is KindBinomial or KindMean.
	Kind MetricKind `json:"kind"`
	// Engine is the engine the experiment will be analysed with (default
	// frequentist). Sequential planning accounts for the wider confidence
	// sequence; Bayesian planning uses the flat-prior equivalence of its
	// decision "chance to win ≥ 1−alpha/2 or ≤ alpha/2" with the two-sided
	// z-test at level alpha (the risk condition is not modelled).
	Engine Engine `json:"engine"`
	// BaselineRate is the control conversion rate (binomial).
	BaselineRate float64 `json:"baseline_rate"`
	// BaselineMean is the control mean value per unit (mean metrics).
	BaselineMean float64 `json:"baseline_mean"`
	// BaselineStdDev is the per-unit standard deviation (mean metrics); the
	// treatment is assumed to have the same standard deviation.
	BaselineStdDev float64 `json:"baseline_std_dev"`
	// Alpha is the two-sided significance level (0 means DefaultAlpha).
	Alpha float64 `json:"alpha"`
	// Power is the target power (0 means DefaultTargetPower).
	Power float64 `json:"power"`
	// Comparisons is the number of simultaneous comparisons; alpha is divided
	// by it (Bonferroni). 0 means 1.
	Comparisons int `json:"comparisons"`
	// SequentialTuning is the sequential tuning parameter. 0 means tuned at
	// the plan: at the total 2·n of whatever units per arm n is planned or
	// found (as Analyze does with Request.PlannedSampleSize), where the
	// confidence sequence's critical value is a constant (sequentialPlanZ).
	SequentialTuning float64 `json:"sequential_tuning"`
	// RelativeMDE, if positive, is the relative lift to detect; the required
	// units per arm are computed.
	RelativeMDE float64 `json:"relative_mde"`
	// UnitsPerArm, if positive, is the planned units per arm; the minimum
	// detectable effect at the target power is computed, and the achieved power
	// when RelativeMDE is also given.
	UnitsPerArm int64 `json:"units_per_arm"`
}

// PowerResult is the answer to a PowerRequest. Unrequested or unattainable values are nil.
type PowerResult struct {
	// Alpha is the per-comparison two-sided level actually used.
	Alpha float64 `json:"alpha"`
	// RequiredUnitsPerArm is the smallest whole number of units per arm that
	// reaches the target power for RelativeMDE.
	RequiredUnitsPerArm *int64 `json:"required_units_per_arm"`
	// RequiredUnitsPerArmExact is the continuous solution before rounding up.
	RequiredUnitsPerArmExact *float64 `json:"required_units_per_arm_exact"`
	// Power is the power at UnitsPerArm for RelativeMDE.
	Power *float64 `json:"power"`
	// RelativeMDE is the smallest positive relative lift detectable with
	// UnitsPerArm at the target power.
	RelativeMDE *float64 `json:"relative_mde"`
	// AbsoluteMDE is the same lift on the absolute scale.
	AbsoluteMDE *float64 `json:"absolute_mde"`
}

// powerDesign is the normal-approximation power model shared by Power and Analyze.
type powerDesign struct {
	engine Engine
	alpha  float64 // two-sided level for the frequentist test
	zAlpha float64 // normQuantile(1 − alpha/2), the fixed-horizon critical value
	rho2   float64 // sequential mixing parameter; 0 when tuned at the plan
}

// newPowerDesign returns the model for an engine at two-sided level alpha.
// A sequential design with tuning 0 is tuned at the total it is evaluated
// at, so its critical value is sequentialPlanZ(alpha) standard errors.
func newPowerDesign(engine Engine, alpha, tuning float64) powerDesign {
	d := powerDesign{engine: engine, alpha: alpha}
	d.zAlpha = normQuantile(1 - d.alpha/2)
	if engine == EngineSequential {
		if tuning == 0 {
			d.zAlpha = sequentialPlanZ(alpha)
		} else {
			d.rho2 = sequentialRho2(alpha, tuning)
		}
	}
	return d
}

// power returns the probability of a significant result in either direction
// for a true absolute effect delta when the estimate has per-arm unit
// variance sum v1 (σc²+σt²) and n units per arm.
func (d powerDesign) power(delta, v1, n float64) float64 {
	se := math.Sqrt(v1 / n)
	delta = math.Abs(delta)
	var crit float64
	if d.engine == EngineSequential && d.rho2 > 0 {
		crit = sequentialHalfWidth(v1/n, 2*n, d.alpha, d.rho2)
	} else {
		crit = d.zAlpha * se
	}
	return normSF((crit-delta)/se) + normCDF((-crit-delta)/se)
}

// unitsPerArm solves power(delta, v1, n) = target for continuous n > 0.
func (d powerDesign) unitsPerArm(delta, v1, target float64) float64 {
	if !(delta != 0) || !(v1 > 0) || !isFinite(delta) || !isFinite(v1) {
		return math.NaN()
	}
	z := d.zAlpha + normQuantile(target)
	guess := z * z * v1 / (delta * delta)
	if !isFinite(guess) {
		// delta² underflowed (|delta| < ~1e-154): an infinite bracket
		// would never shrink below.
		return math.NaN()
	}
	lo, hi := guess/4, guess*2
	if hi < 4 {
		hi = 4
	}
	for i := 0; d.power(delta, v1, hi) < target; i++ {
		if i > 200 {
			return math.NaN()
		}
		lo, hi = hi, hi*2
	}
	for lo > 1e-9 && d.power(delta, v1, lo) > target {
		hi, lo = lo, lo/2
	}
	for i := 0; i < 200 && hi-lo > 1e-10*hi; i++ {
		mid := 0.5 * (lo + hi)
		if d.power(delta, v1, mid) < target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return 0.5 * (lo + hi)
}

// Power plans an experiment: the units per arm needed to detect a relative
// lift, the power for a given sample size, and the minimum detectable effect.
// The model is the two-sided normal approximation with unpooled variances
// (binomial: p1(1−p1)+p2(1−p2); mean: 2σ²), and agrees with statsmodels'
// NormalIndPower with effect size δ/sqrt(v1/2).
func Power(req PowerRequest) (PowerResult, error) {
	alpha := req.Alpha
	if alpha == 0 {
		alpha = DefaultAlpha
	}
	target := req.Power
	if target == 0 {
		target = DefaultTargetPower
	}
	k := req.Comparisons
	if k == 0 {
		k = 1
	}
	tuning := req.SequentialTuning
	engine := req.Engine
	if engine == "" {
		engine = EngineFrequentist
	}
	switch {
	case !(alpha > 0 && alpha < 1):
		return PowerResult{}, fmt.Errorf("stats: alpha %g must be in (0, 1)", alpha)
	case !(target > 0 && target < 1):
		return PowerResult{}, fmt.Errorf("stats: power %g must be in (0, 1)", target)
	case k < 1:
		return PowerResult{}, fmt.Errorf("stats: comparisons %d must be positive", k)
	case !(tuning >= 0) || !isFinite(tuning):
		return PowerResult{}, fmt.Errorf("stats: sequential tuning %g must be positive (or 0: at the plan)", tuning)
	case engine != EngineFrequentist && engine != EngineSequential && engine != EngineBayesian:
		return PowerResult{}, fmt.Errorf("stats: unknown engine %q", engine)
	case req.UnitsPerArm < 0 || !(req.RelativeMDE >= 0) || !isFinite(req.RelativeMDE):
		return PowerResult{}, fmt.Errorf("stats: units per arm and relative MDE must be non-negative")
	case req.UnitsPerArm == 0 && req.RelativeMDE == 0:
		return PowerResult{}, fmt.Errorf("stats: set RelativeMDE, UnitsPerArm, or both")
	}
	a := alpha / float64(k)
	d := newPowerDesign(engine, a, tuning)
	res := PowerResult{Alpha: a}

	var base float64
	var v1 func(delta float64) float64 // per-unit variance sum under the alternative
	maxDelta := math.Inf(1)
	switch req.Kind {
	case KindBinomial:
		p := req.BaselineRate
		if !(p > 0 && p < 1) {
			return PowerResult{}, fmt.Errorf("stats: baseline rate %g must be in (0, 1)", p)
		}
		base = p
		v1 = func(delta float64) float64 { q := p + delta; return p*(1-p) + q*(1-q) }
		maxDelta = 1 - p
	case KindMean:
		if req.BaselineMean == 0 || !isFinite(req.BaselineMean) || !(req.BaselineStdDev > 0) || !isFinite(req.BaselineStdDev) {
			return PowerResult{}, fmt.Errorf("stats: baseline mean must be non-zero and standard deviation positive")
		}
		base = math.Abs(req.BaselineMean)
		s2 := req.BaselineStdDev * req.BaselineStdDev
		v1 = func(float64) float64 { return 2 * s2 }
	default:
		return PowerResult{}, fmt.Errorf("stats: power analysis supports binomial and mean metrics, not %q", req.Kind)
	}

	if req.RelativeMDE > 0 {
		delta := req.RelativeMDE * base
		if delta >= maxDelta {
			return PowerResult{}, fmt.Errorf("stats: relative MDE %g implies a rate of at least 1", req.RelativeMDE)
		}
		n := d.unitsPerArm(delta, v1(delta), target)
		res.RequiredUnitsPerArmExact = opt(n)
		if isFinite(n) {
			ni := int64(math.Ceil(n - 1e-9))
			if ni < 2 {
				ni = 2
			}
			res.RequiredUnitsPerArm = &ni
		}
		if req.UnitsPerArm > 0 {
			res.Power = opt(d.power(delta, v1(delta), float64(req.UnitsPerArm)))
		}
	}
	if req.UnitsPerArm > 0 {
		n := float64(req.UnitsPerArm)
		hi := maxDelta
		if math.IsInf(hi, 1) {
			hi = base
			for i := 0; d.power(hi, v1(hi), n) < target && i < 200; i++ {
				hi *= 2
			}
		} else {
			hi = hi * (1 - 1e-12)
		}
		if d.power(hi, v1(hi), n) >= target {
			lo := 0.0
			for i := 0; i < 200 && hi-lo > 1e-13*hi; i++ {
				mid := 0.5 * (lo + hi)
				if d.power(mid, v1(mid), n) < target {
					lo = mid
				} else {
					hi = mid
				}
			}
			delta := 0.5 * (lo + hi)
			res.AbsoluteMDE = opt(delta)
			res.RelativeMDE = opt(delta / base)
		}
	}
	return res, nil
}
