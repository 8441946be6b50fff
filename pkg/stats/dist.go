package stats

import (
	"math"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// This file holds the numerical building blocks shared by the engines:
// normal, Student t and chi-square tail functions, log-beta, and helpers
// that turn non-finite numbers into nil pointers for JSON encoding.

const (
	invSqrt2   = 0.70710678118654752440084436210484903928483593768847
	invSqrt2Pi = 0.39894228040143267793994605993438186847585863116493
	ln2Pi      = 1.8378770664093454835606594728112352797227949472756
)

// normCDF is the standard normal distribution function, accurate in both tails.
func normCDF(x float64) float64 { return 0.5 * math.Erfc(-x*invSqrt2) }

// normSF is the standard normal survival function 1-Φ(x), accurate in the upper tail.
func normSF(x float64) float64 { return 0.5 * math.Erfc(x*invSqrt2) }

// normPDF is the standard normal density.
func normPDF(x float64) float64 { return invSqrt2Pi * math.Exp(-0.5*x*x) }

// normQuantile is the standard normal quantile function (Wichura AS241 via gonum).
func normQuantile(p float64) float64 {
	switch {
	case p <= 0:
		return math.Inf(-1)
	case p >= 1:
		return math.Inf(1)
	}
	return mathext.NormalQuantile(p)
}

// tHugeDF is the number of degrees of freedom beyond which the Student t
// distribution is replaced by the standard normal (the difference in the
// 97.5% quantile is below 1e-12 there).
const tHugeDF = 1e12

// tTwoSidedP returns P(|T| >= |t|) for T ~ Student t with df degrees of freedom.
// It is computed directly from the regularized incomplete beta function, so
// tiny p-values keep their relative accuracy.
func tTwoSidedP(t, df float64) float64 {
	t = math.Abs(t)
	if math.IsInf(t, 1) {
		return 0
	}
	if df >= tHugeDF || math.IsInf(df, 1) {
		return 2 * normSF(t)
	}
	if t == 0 {
		return 1
	}
	return mathext.RegIncBeta(0.5*df, 0.5, df/(df+t*t))
}

// tExpansionDF is the number of degrees of freedom above which tQuantile uses
// the Cornish–Fisher expansion instead of inverting the incomplete beta
// function (which is slow for large df). Its truncation error there is below
// 1e-12 for |z| < 6.
const tExpansionDF = 1000

// tQuantile returns the p-quantile of a Student t distribution with df degrees of freedom.
func tQuantile(p, df float64) float64 {
	if df >= tHugeDF || math.IsInf(df, 1) {
		return normQuantile(p)
	}
	if df >= tExpansionDF {
		// Abramowitz & Stegun 26.7.5: t = z + g1/ν + g2/ν² + g3/ν³ + g4/ν⁴.
		z := normQuantile(p)
		z2 := z * z
		g1 := (z2 + 1) * z / 4
		g2 := ((5*z2+16)*z2 + 3) * z / 96
		g3 := (((3*z2+19)*z2+17)*z2 - 15) * z / 384
		g4 := ((((79*z2+776)*z2+1482)*z2-1920)*z2 - 945) * z / 92160
		v := 1 / df
		return z + v*(g1+v*(g2+v*(g3+v*g4)))
	}
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(p)
}

// chi2SF returns P(X >= x) for X ~ chi-square with k degrees of freedom.
func chi2SF(x, k float64) float64 {
	if x <= 0 {
		return 1
	}
	if math.IsInf(x, 1) {
		return 0
	}
	return mathext.GammaIncRegComp(0.5*k, 0.5*x)
}

// stirlingCorrection returns lgamma(x) - [(x-1/2)ln x - x + ln(2π)/2] for x >= 10
// using its asymptotic series (absolute error < 1e-17 for x >= 10).
func stirlingCorrection(x float64) float64 {
	x2 := 1 / (x * x)
	return (1.0 / 12.0 / x) * (1 - x2*(1.0/30.0-x2*(1.0/105.0-x2*(1.0/140.0-x2*(1.0/99.0)))))
}

// lbeta returns ln B(a, b) for a, b > 0. For large arguments it uses a
// Stirling-series form that avoids the cancellation of lgamma(a)+lgamma(b)-lgamma(a+b).
func lbeta(a, b float64) float64 {
	if a < 10 || b < 10 {
		la, _ := math.Lgamma(a)
		lb, _ := math.Lgamma(b)
		lab, _ := math.Lgamma(a + b)
		return la + lb - lab
	}
	s := a + b
	// (a-1/2)ln a + (b-1/2)ln b - (s-1/2)ln s - ln(2π)/2 rewritten with log1p.
	main := -a*math.Log1p(b/a) - b*math.Log1p(a/b) + 0.5*(math.Log(s)-math.Log(a)-math.Log(b))
	return main + 0.5*ln2Pi + stirlingCorrection(a) + stirlingCorrection(b) - stirlingCorrection(s)
}

// isFinite reports whether x is neither NaN nor ±Inf.
func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// opt returns a pointer to x, or nil if x is NaN or ±Inf. Every optional
// float in a result goes through opt so results are always JSON-encodable.
func opt(x float64) *float64 {
	if !isFinite(x) {
		return nil
	}
	return &x
}

// optInterval returns an interval, or nil if either bound is not finite.
func optInterval(lo, hi float64) *Interval {
	if !isFinite(lo) || !isFinite(hi) {
		return nil
	}
	return &Interval{Lower: lo, Upper: hi}
}

// clamp01 limits x to [0, 1] (used to tidy probabilities after floating point error).
func clamp01(x float64) float64 {
	switch {
	case x < 0:
		return 0
	case x > 1:
		return 1
	}
	return x
}
