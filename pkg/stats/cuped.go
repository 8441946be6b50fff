package stats

import (
	"errors"
	"fmt"
	"math"
)

// CovariateStats are one arm's sufficient statistics of an outcome y and a
// covariate x measured before enrolment (CUPED): N, Σy, Σy², Σx, Σx², Σxy
// over the arm's units, x = 0 for a unit without one.
type CovariateStats struct {
	N                   int64   `json:"n"`
	Sum                 float64 `json:"sum"`
	SumSquares          float64 `json:"sum_squares"`
	CovariateSum        float64 `json:"covariate_sum"`
	CovariateSumSquares float64 `json:"covariate_sum_squares"`
	SumProducts         float64 `json:"sum_products"`
}

// CUPEDArm is one arm before and after the adjustment. Adjusted.Mean is
// ȳ − θ(x̄ − x̄_all) and Adjusted.Variance the per-unit variance of y − θx.
type CUPEDArm struct {
	Unadjusted Moments `json:"unadjusted"`
	Adjusted   Moments `json:"adjusted"`
}

// CUPEDResult is the regression adjustment of every arm with one θ.
type CUPEDResult struct {
	// Theta is the pooled within-arm slope of y on x, Σ Sxy / Σ Sxx over the
	// arms (S the centred sums): the coefficient of x in the OLS fit of y
	// on the arm indicators and x, so that an adjusted difference is that
	// fit's coefficient of the treatment.
	Theta float64 `json:"theta"`
	// Correlation is the pooled within-arm correlation of x and y; the
	// adjustment leaves about 1 − Correlation² of each arm's variance.
	Correlation float64    `json:"correlation"`
	Arms        []CUPEDArm `json:"arms"`
}

// CUPEDComparison is treatment against control with and without the
// adjustment.
type CUPEDComparison struct {
	Adjusted   TestResult `json:"adjusted"`
	Unadjusted TestResult `json:"unadjusted"`
	// VarianceReduction is 1 − Var(adjusted estimate)/Var(unadjusted
	// estimate): the share of the estimate's variance the covariate
	// removed, about Correlation².
	VarianceReduction float64 `json:"variance_reduction"`
}

// ErrNoCovariateVariance means x is constant within every arm: there is
// nothing to regress on, and the adjusted estimates equal the unadjusted.
var ErrNoCovariateVariance = errors.New("stats: the covariate does not vary within the arms")

// CUPED adjusts every arm with θ pooled across arms (Deng, Xu, Kohavi &
// Walker 2013). θ is estimated from the data being adjusted, which costs a
// bias of order 1/N, negligible at experiment sizes; pooling it across
// arms keeps the adjusted difference equal to the ANCOVA estimate. Each arm
// needs N ≥ 2; ErrInvalidStats for sums no data can produce,
// ErrNoCovariateVariance (with the result unadjusted) when x is constant.
func CUPED(arms []CovariateStats) (CUPEDResult, error) {
	out := CUPEDResult{Arms: make([]CUPEDArm, len(arms))}
	var sxx, syy, sxy, sumX, n float64
	type centred struct{ yy, xx, xy float64 }
	cs := make([]centred, len(arms))
	for i, a := range arms {
		if a.N < 2 {
			return out, fmt.Errorf("%w: arm %d has %d", ErrTooFewUnits, i, a.N)
		}
		ni := float64(a.N)
		vy, err := sampleVar(ni, a.Sum, a.SumSquares)
		if err != nil {
			return out, err
		}
		vx, err := sampleVar(ni, a.CovariateSum, a.CovariateSumSquares)
		if err != nil {
			return out, err
		}
		c := centred{yy: vy * (ni - 1), xx: vx * (ni - 1), xy: a.SumProducts - a.CovariateSum*a.Sum/ni}
		// Cauchy–Schwarz: Sxy² ≤ Sxx·Syy, up to rounding.
		if c.xy*c.xy > c.xx*c.yy*(1+1e-9)+1e-12 {
			return out, fmt.Errorf("%w: Σxy is outside what Σx² and Σy² allow", ErrInvalidStats)
		}
		cs[i] = c
		sxx, syy, sxy = sxx+c.xx, syy+c.yy, sxy+c.xy
		sumX, n = sumX+a.CovariateSum, n+ni
		out.Arms[i].Unadjusted = Moments{N: ni, Mean: a.Sum / ni, Variance: vy}
		out.Arms[i].Adjusted = out.Arms[i].Unadjusted
	}
	if !(sxx > 0) {
		return out, ErrNoCovariateVariance
	}
	out.Theta = sxy / sxx
	if syy > 0 {
		out.Correlation = sxy / math.Sqrt(sxx*syy)
	}
	meanX := sumX / n
	for i, a := range arms {
		ni := float64(a.N)
		c, th := cs[i], out.Theta
		v := (c.yy - 2*th*c.xy + th*th*c.xx) / (ni - 1)
		out.Arms[i].Adjusted = Moments{N: ni, Mean: a.Sum/ni - th*(a.CovariateSum/ni-meanX), Variance: math.Max(v, 0)}
	}
	return out, nil
}

// Compare tests arm t against arm c on scale with and without the
// adjustment, each with WelchTTest (the relative lift of the adjusted
// means by the delta method, their variances taken as known).
func (r CUPEDResult) Compare(c, t int, scale Scale, alpha float64) (CUPEDComparison, error) {
	var out CUPEDComparison
	if c < 0 || t < 0 || c >= len(r.Arms) || t >= len(r.Arms) {
		return out, fmt.Errorf("stats: CUPED arms %d, %d out of range", c, t)
	}
	var err error
	if out.Unadjusted, err = WelchTTest(r.Arms[c].Unadjusted, r.Arms[t].Unadjusted, scale, alpha); err != nil {
		return out, err
	}
	if out.Adjusted, err = WelchTTest(r.Arms[c].Adjusted, r.Arms[t].Adjusted, scale, alpha); err != nil {
		return out, err
	}
	out.VarianceReduction = 1 - (out.Adjusted.StdErr*out.Adjusted.StdErr)/(out.Unadjusted.StdErr*out.Unadjusted.StdErr)
	return out, nil
}
