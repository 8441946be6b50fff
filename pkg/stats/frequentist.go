package stats

import (
	"errors"
	"fmt"
	"math"
)

// TestResult is the outcome of a frequentist or sequential test of
// treatment versus control on one scale.
type TestResult struct {
	// Estimate is the observed lift on the requested scale.
	Estimate float64 `json:"estimate"`
	// StdErr is the standard error of Estimate (delta method for the relative scale).
	StdErr float64 `json:"std_err"`
	// CI is the two-sided interval at level 1−alpha (a confidence sequence for SequentialTest).
	CI Interval `json:"ci"`
	// PValue is the two-sided p-value for "no effect" (anytime-valid for SequentialTest).
	PValue float64 `json:"p_value"`
	// DF is the Welch–Satterthwaite degrees of freedom (0 for SequentialTest).
	DF float64 `json:"df"`
}

// checkArms verifies that both arms have enough units and finite moments.
func checkArms(c, t Moments) error {
	if c.N < 1 || t.N < 1 {
		return ErrNoUnits
	}
	if c.N < 2 || t.N < 2 {
		return ErrTooFewUnits
	}
	for _, x := range []float64{c.Mean, t.Mean, c.Variance, t.Variance} {
		if !isFinite(x) {
			return fmt.Errorf("%w: non-finite moments", ErrInvalidStats)
		}
	}
	if c.Variance < 0 || t.Variance < 0 {
		return fmt.Errorf("%w: negative variance", ErrInvalidStats)
	}
	return nil
}

// EffectEstimate returns the lift of treatment t over control c on the given
// scale and the variance of that estimate. On the relative scale the variance
// is the delta-method approximation used by GrowthBook:
//
//	Var[(μt−μc)/μc] ≈ σt²/(μc² nt) + σc² μt²/(μc⁴ nc).
func EffectEstimate(c, t Moments, scale Scale) (estimate, variance float64, err error) {
	if err := checkArms(c, t); err != nil {
		return math.NaN(), math.NaN(), err
	}
	switch scale {
	case ScaleAbsolute:
		estimate = t.Mean - c.Mean
		variance = t.Variance/t.N + c.Variance/c.N
	case ScaleRelative:
		if c.Mean == 0 {
			return math.NaN(), math.NaN(), ErrZeroBaseline
		}
		mc2 := c.Mean * c.Mean
		estimate = (t.Mean - c.Mean) / c.Mean
		variance = t.Variance/(mc2*t.N) + c.Variance*t.Mean*t.Mean/(mc2*mc2*c.N)
	default:
		return math.NaN(), math.NaN(), fmt.Errorf("stats: unknown scale %q", scale)
	}
	if !(variance > 0) || !isFinite(variance) || !isFinite(estimate) {
		return estimate, math.NaN(), ErrZeroVariance
	}
	return estimate, variance, nil
}

// welchDF returns the Welch–Satterthwaite degrees of freedom for the two arms.
func welchDF(c, t Moments) float64 {
	a := t.Variance / t.N
	b := c.Variance / c.N
	den := a*a/(t.N-1) + b*b/(c.N-1)
	if den == 0 {
		return math.Inf(1)
	}
	return (a + b) * (a + b) / den
}

// WelchTTest is the two-sided Welch (unequal variance) t-test of treatment t
// versus control c, with the relative lift handled by the delta method. It
// reproduces GrowthBook's TwoSidedTTest: t-distribution with Welch–Satterthwaite
// degrees of freedom for the p-value and the 1−alpha confidence interval.
func WelchTTest(c, t Moments, scale Scale, alpha float64) (TestResult, error) {
	if !(alpha > 0 && alpha < 1) {
		return TestResult{}, fmt.Errorf("stats: alpha %g must be in (0, 1)", alpha)
	}
	est, v, err := EffectEstimate(c, t, scale)
	if err != nil {
		return TestResult{}, err
	}
	se := math.Sqrt(v)
	df := welchDF(c, t)
	p := tTwoSidedP(est/se, df)
	return TestResult{
		Estimate: est,
		StdErr:   se,
		CI:       welchCI(est, se, df, alpha),
		PValue:   clamp01(p),
		DF:       df,
	}, nil
}

// welchCI is WelchTTest's two-sided 1−alpha interval est ± t(1−alpha/2, df)·se.
func welchCI(est, se, df, alpha float64) Interval {
	w := tQuantile(1-alpha/2, df) * se
	return Interval{Lower: est - w, Upper: est + w}
}

// ZTestResult is the outcome of ProportionZTest.
type ZTestResult struct {
	// Estimate is the difference in proportions (treatment − control).
	Estimate float64 `json:"estimate"`
	// Z is the test statistic using the pooled standard error.
	Z float64 `json:"z"`
	// PValue is the two-sided p-value from the pooled z statistic.
	PValue float64 `json:"p_value"`
	// StdErr is the unpooled (Wald) standard error of the difference.
	StdErr float64 `json:"std_err"`
	// CI is the Wald interval Estimate ± z(1−alpha/2)·StdErr.
	CI Interval `json:"ci"`
}

// ProportionZTest is the textbook two-proportion z-test: the statistic uses the
// pooled proportion under H0 (as statsmodels' proportions_ztest), the interval
// is the unpooled Wald interval. Analyze does not use it (it uses WelchTTest for
// every metric kind, as GrowthBook does); it is provided for cross-checks.
func ProportionZTest(controlConversions, controlN, treatmentConversions, treatmentN int64, alpha float64) (ZTestResult, error) {
	if !(alpha > 0 && alpha < 1) {
		return ZTestResult{}, fmt.Errorf("stats: alpha %g must be in (0, 1)", alpha)
	}
	if controlN <= 0 || treatmentN <= 0 {
		return ZTestResult{}, ErrNoUnits
	}
	if controlConversions < 0 || controlConversions > controlN || treatmentConversions < 0 || treatmentConversions > treatmentN {
		return ZTestResult{}, ErrInvalidStats
	}
	n1, n2 := float64(controlN), float64(treatmentN)
	p1, p2 := float64(controlConversions)/n1, float64(treatmentConversions)/n2
	pp := float64(controlConversions+treatmentConversions) / (n1 + n2)
	sePooled := math.Sqrt(pp * (1 - pp) * (1/n1 + 1/n2))
	if sePooled == 0 {
		return ZTestResult{}, ErrZeroVariance
	}
	d := p2 - p1
	z := d / sePooled
	se := math.Sqrt(p1*(1-p1)/n1 + p2*(1-p2)/n2)
	w := normQuantile(1-alpha/2) * se
	return ZTestResult{
		Estimate: d,
		Z:        z,
		PValue:   clamp01(2 * normSF(math.Abs(z))),
		StdErr:   se,
		CI:       Interval{Lower: d - w, Upper: d + w},
	}, nil
}

// isUndefined reports whether err means "not computable from these data"
// rather than invalid input.
func isUndefined(err error) bool {
	return errors.Is(err, ErrNoUnits) || errors.Is(err, ErrTooFewUnits) || errors.Is(err, ErrZeroVariance) ||
		errors.Is(err, ErrZeroBaseline) || errors.Is(err, ErrZeroDenominator)
}

// ErrNonPositiveMean means a mean is zero or negative in an arm, so the log
// ratio behind the relative interval is undefined.
var ErrNonPositiveMean = errors.New("stats: a mean is not positive; the log-ratio relative lift is undefined")

// logRatio is the delta-method estimate of log(μt/μc): the statistic behind
// the frequentist engine's relative lift.
type logRatio struct {
	est, se, df float64
}

// logRatioOf returns log(μt/μc) with the delta-method variance
// σt²/(nt·μt²) + σc²/(nc·μc²) and Welch–Satterthwaite degrees of freedom
// computed from those two terms, as WelchTTest does from its own.
func logRatioOf(c, t Moments) (logRatio, error) {
	if err := checkArms(c, t); err != nil {
		return logRatio{}, err
	}
	if c.Mean == 0 {
		return logRatio{}, ErrZeroBaseline
	}
	if !(c.Mean > 0 && t.Mean > 0) {
		return logRatio{}, ErrNonPositiveMean
	}
	a := t.Variance / (t.N * t.Mean * t.Mean)
	b := c.Variance / (c.N * c.Mean * c.Mean)
	v := a + b
	if !(v > 0) || !isFinite(v) {
		return logRatio{}, ErrZeroVariance
	}
	df := math.Inf(1)
	if den := a*a/(t.N-1) + b*b/(c.N-1); den > 0 {
		df = v * v / den
	}
	return logRatio{est: math.Log(t.Mean / c.Mean), se: math.Sqrt(v), df: df}, nil
}

// ci is the two-sided 1−alpha interval of the relative lift exp(log ratio) − 1:
// it is never below −100% and is asymmetric like the ratio itself.
func (r logRatio) ci(alpha float64) Interval {
	w := tQuantile(1-alpha/2, r.df) * r.se
	return Interval{Lower: math.Expm1(r.est - w), Upper: math.Expm1(r.est + w)}
}

// pValue tests log(μt/μc) = null against alt.
func (r logRatio) pValue(null float64, alt Alternative) float64 {
	return tPValue((r.est-null)/r.se, r.df, alt)
}

// LogRatioTest is the frequentist engine's test of the relative lift
// μt/μc − 1: the delta method applied to log(μt/μc), whose distribution is far
// closer to normal than that of the ratio, with the interval exponentiated back.
// The interval cannot cross −100%, and the p-value (two-sided, from the same
// t statistic) agrees with it. Both means must be positive. StdErr is the
// delta-method standard error of the lift itself, (μt/μc)·se(log ratio),
// which equals GrowthBook's relative standard error.
func LogRatioTest(c, t Moments, alpha float64) (TestResult, error) {
	if !(alpha > 0 && alpha < 1) {
		return TestResult{}, fmt.Errorf("stats: alpha %g must be in (0, 1)", alpha)
	}
	r, err := logRatioOf(c, t)
	if err != nil {
		return TestResult{}, err
	}
	ratio := t.Mean / c.Mean
	return TestResult{
		Estimate: ratio - 1,
		StdErr:   ratio * r.se,
		CI:       r.ci(alpha),
		PValue:   r.pValue(0, AltTwoSided),
		DF:       r.df,
	}, nil
}

// tPValue is the p-value of statistic x under a Student t with df degrees of
// freedom for the given alternative.
func tPValue(x, df float64, alt Alternative) float64 {
	two := tTwoSidedP(x, df)
	switch alt {
	case AltGreater:
		if x > 0 {
			return clamp01(two / 2)
		}
		return clamp01(1 - two/2)
	case AltLess:
		if x < 0 {
			return clamp01(two / 2)
		}
		return clamp01(1 - two/2)
	}
	return clamp01(two)
}
