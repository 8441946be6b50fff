package stats

import (
	"fmt"
	"math"
)

// sequentialRho2 returns ρ² of the Gaussian mixture for a two-sided
// confidence sequence that is tightest at total sample size tuning
// (eq. 161 of Waudby-Smith et al., arXiv:2103.06476v7, as used by GrowthBook):
//
//	ρ² = (−2 ln α + ln(−2 ln α + 1)) / N.
func sequentialRho2(alpha, tuning float64) float64 {
	la := -2 * math.Log(alpha)
	return (la + math.Log(la+1)) / tuning
}

// sequentialPlanZ returns the half-width of the confidence sequence, in
// standard errors of the estimate, at the total sample size it is tuned at:
// there nρ² = c = −2 ln α + ln(−2 ln α + 1) whatever the size, so
//
//	half-width / se = sqrt( 2(c+1)/c · ln(sqrt(c+1)/α) )
//
// (3.04 at α = 0.05, against 1.96 for a single look): a sequential plan tuned
// at its own total is a fixed-horizon plan with this critical value.
func sequentialPlanZ(alpha float64) float64 {
	c := sequentialRho2(alpha, 1)
	return math.Sqrt(2 * (c + 1) / c * math.Log(math.Sqrt(c+1)/alpha))
}

// sequentialHalfWidth returns the half-width of the asymptotic confidence
// sequence for an estimator with variance v after n total units
// (eq. 9 of Waudby-Smith et al.; GrowthBook's SequentialTwoSidedTTest):
//
//	s² = v·n,  half-width = s·sqrt( 2(nρ²+1)/(n²ρ²) · ln( sqrt(nρ²+1)/α ) ).
func sequentialHalfWidth(v, n, alpha, rho2 float64) float64 {
	nr := n*rho2 + 1
	return math.Sqrt(v*n) * math.Sqrt(2*nr/(n*n*rho2)*math.Log(math.Sqrt(nr)/alpha))
}

// sequentialPValue returns the anytime-valid p-value min(1, 1/E) where E is the
// Gaussian-mixture e-value of the same confidence sequence (eq. 155 of
// Waudby-Smith et al.). It is exactly dual to the interval: p ≤ α iff the
// 1−α confidence sequence excludes zero.
func sequentialPValue(est, v, n, rho2 float64) float64 {
	nr := n*rho2 + 1
	logE := rho2*n*est*est/(2*v*nr) - 0.5*math.Log(nr)
	if logE <= 0 {
		return 1
	}
	return math.Exp(-logE)
}

// SequentialTest is the two-sided anytime-valid test of treatment t versus
// control c: the asymptotic confidence sequence of Waudby-Smith et al. (2023)
// with GrowthBook's parameterisation, where tuning is the
// sequential_tuning_parameter (total sample size at which the sequence is
// tightest; GrowthBook's default is 5000). Intervals and p-values remain valid
// when the experiment is checked after every new observation.
func SequentialTest(c, t Moments, scale Scale, alpha, tuning float64) (TestResult, error) {
	if !(alpha > 0 && alpha < 1) {
		return TestResult{}, fmt.Errorf("stats: alpha %g must be in (0, 1)", alpha)
	}
	if !(tuning > 0) || !isFinite(tuning) {
		return TestResult{}, fmt.Errorf("stats: sequential tuning parameter %g must be positive", tuning)
	}
	est, v, err := EffectEstimate(c, t, scale)
	if err != nil {
		return TestResult{}, err
	}
	n := c.N + t.N
	rho2 := sequentialRho2(alpha, tuning)
	return TestResult{
		Estimate: est,
		StdErr:   math.Sqrt(v),
		CI:       sequentialCI(est, v, n, alpha, rho2),
		PValue:   clamp01(sequentialPValue(est, v, n, rho2)),
	}, nil
}

// sequentialCI is SequentialTest's 1−alpha confidence sequence for an
// estimate est with variance v after n total units.
func sequentialCI(est, v, n, alpha, rho2 float64) Interval {
	w := sequentialHalfWidth(v, n, alpha, rho2)
	return Interval{Lower: est - w, Upper: est + w}
}

// SequentialLogRatioTest is the sequential engine's test of the relative lift
// μt/μc − 1: the same confidence sequence as SequentialTest, run on
// log(μt/μc) with its delta-method variance σt²/(nt·μt²) + σc²/(nc·μc²) and
// exponentiated back, so that, like LogRatioTest, the interval can never
// cross −100% and the anytime-valid p-value (the e-value of the same log
// ratio) is exactly dual to it. Both means must be positive. StdErr is
// (μt/μc)·se(log ratio), the linear delta-method standard error.
func SequentialLogRatioTest(c, t Moments, alpha, tuning float64) (TestResult, error) {
	if !(alpha > 0 && alpha < 1) {
		return TestResult{}, fmt.Errorf("stats: alpha %g must be in (0, 1)", alpha)
	}
	if !(tuning > 0) || !isFinite(tuning) {
		return TestResult{}, fmt.Errorf("stats: sequential tuning parameter %g must be positive", tuning)
	}
	r, err := logRatioOf(c, t)
	if err != nil {
		return TestResult{}, err
	}
	n, v, rho2 := c.N+t.N, r.se*r.se, sequentialRho2(alpha, tuning)
	ratio := t.Mean / c.Mean
	return TestResult{
		Estimate: ratio - 1,
		StdErr:   ratio * r.se,
		CI:       sequentialLogCI(r.est, v, n, alpha, rho2),
		PValue:   clamp01(sequentialPValue(r.est, v, n, rho2)),
	}, nil
}

// sequentialLogCI is the confidence sequence of a log ratio l with variance v,
// exponentiated to the relative lift.
func sequentialLogCI(l, v, n, alpha, rho2 float64) Interval {
	ci := sequentialCI(l, v, n, alpha, rho2)
	return Interval{Lower: math.Expm1(ci.Lower), Upper: math.Expm1(ci.Upper)}
}
