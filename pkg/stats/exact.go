package stats

import (
	"fmt"
	"math"
)

// exactMinCount is the number of conversions and of non-conversions each arm
// of a binomial metric needs before the frequentist engine trusts the normal
// approximation (the usual np ≥ 10, n(1−p) ≥ 10 rule). Below it, in either
// arm, p-values come from Fisher's exact test and intervals from score-type
// methods that stay sensible at 0% and 100% (see smallBinomialTest).
const exactMinCount = 10

// needsExact reports whether a binomial comparison is too small or too
// degenerate for the Welch test: an arm with fewer than exactMinCount
// conversions or non-conversions (which includes arms at 0% or 100%, whose
// zero variance would make a Wald statistic look infinitely precise).
func needsExact(c, t Moments) bool {
	for _, m := range []Moments{c, t} {
		x := math.Round(m.Mean * m.N)
		if x < exactMinCount || m.N-x < exactMinCount {
			return true
		}
	}
	return false
}

// Alternative is the alternative hypothesis of a one- or two-sided test.
type Alternative string

// Supported alternatives.
const (
	// AltTwoSided: the treatment differs from the control.
	AltTwoSided Alternative = "two-sided"
	// AltGreater: the treatment is above the control (above the null shift).
	AltGreater Alternative = "greater"
	// AltLess: the treatment is below the control (below the null shift).
	AltLess Alternative = "less"
)

// FisherExact returns Fisher's exact p-value comparing treatment conversions
// xt of nt with control conversions xc of nc, conditional on the total number
// of conversions (hypergeometric). The two-sided p-value sums every table no
// more likely than the observed one (with scipy's relative tolerance 1e-7 for
// ties); AltGreater is P(X ≥ xt), AltLess P(X ≤ xt), X the treatment's
// conversions. It agrees with scipy.stats.fisher_exact on the table
// [[xt, nt−xt], [xc, nc−xc]].
func FisherExact(xc, nc, xt, nt int64, alt Alternative) (float64, error) {
	if nc <= 0 || nt <= 0 {
		return math.NaN(), ErrNoUnits
	}
	if xc < 0 || xc > nc || xt < 0 || xt > nt {
		return math.NaN(), fmt.Errorf("%w: conversions outside [0, n]", ErrInvalidStats)
	}
	n, k := nt+nc, xt+xc
	lo, hi := max(0, k-nc), min(k, nt)
	// log P(X = x) = log C(k, x) + log C(n−k, nt−x) − log C(n, nt)
	logPMF := func(x int64) float64 {
		return lchoose(k, x) + lchoose(n-k, nt-x) - lchoose(n, nt)
	}
	// The distribution is unimodal: walk from a start point away from the
	// mode with the ratio P(x+1)/P(x), in units of P(mode) so nothing
	// overflows, and stop once the terms no longer change the sum. The cost
	// is the distance walked plus a few standard deviations, not the support.
	mode := min(max(int64(math.Floor(float64(k+1)*float64(nt+1)/float64(n+2))), lo), hi)
	lref := logPMF(mode)
	walk := func(from int64, dir int64, keep func(t float64) bool) float64 {
		s := 0.0
		t := math.Exp(logPMF(from) - lref)
		for x := from; x >= lo && x <= hi; x += dir {
			if keep(t) {
				s += t
			}
			if (x-mode)*dir >= 0 && (t == 0 || t < 1e-17*s) {
				break
			}
			if dir > 0 {
				t *= float64(k-x) * float64(nt-x) / (float64(x+1) * float64(n-k-nt+x+1))
			} else {
				t *= float64(x) * float64(n-k-nt+x) / (float64(k-x+1) * float64(nt-x+1))
			}
		}
		return s * math.Exp(lref)
	}
	all := func(float64) bool { return true }
	// upper is P(X ≥ x), lower P(X ≤ x), each summed on its side of the mode.
	upper := func(x int64) float64 {
		if x > mode {
			return walk(x, 1, all)
		}
		return 1 - walk(x-1, -1, all)
	}
	lower := func(x int64) float64 {
		if x < mode {
			return walk(x, -1, all)
		}
		return 1 - walk(x+1, 1, all)
	}
	switch alt {
	case AltGreater:
		return clamp01(upper(xt)), nil
	case AltLess:
		return clamp01(lower(xt)), nil
	case AltTwoSided:
		limit := math.Exp(logPMF(xt)-lref) * (1 + 1e-7)
		keep := func(t float64) bool { return t <= limit }
		return clamp01(walk(mode, 1, keep) + walk(mode-1, -1, keep)), nil
	}
	return math.NaN(), fmt.Errorf("stats: unknown alternative %q", alt)
}

// lchoose returns log C(n, k).
func lchoose(n, k int64) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// wilson is the Wilson score interval for x conversions of n at critical value z.
func wilson(x, n, z float64) (lo, hi float64) {
	p := x / n
	z2 := z * z
	center := (p + z2/(2*n)) / (1 + z2/n)
	half := z / (1 + z2/n) * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	return math.Max(0, center-half), math.Min(1, center+half)
}

// newcombeCI is Newcombe's (1998, method 10) hybrid score interval for the
// difference of proportions pt − pc at level 1−alpha, built from the two Wilson
// intervals; unlike the Wald interval it has a sensible width when an arm is at
// 0% or 100%. It matches statsmodels' confint_proportions_2indep(method="newcomb").
func newcombeCI(xc, nc, xt, nt, alpha float64) Interval {
	z := normQuantile(1 - alpha/2)
	pc, pt := xc/nc, xt/nt
	lc, uc := wilson(xc, nc, z)
	lt, ut := wilson(xt, nt, z)
	d := pt - pc
	return Interval{
		Lower: d - math.Sqrt((pt-lt)*(pt-lt)+(uc-pc)*(uc-pc)),
		Upper: d + math.Sqrt((ut-pt)*(ut-pt)+(pc-lc)*(pc-lc)),
	}
}

// logAdjusted returns the log risk ratio log(pt/pc) with 0.5 added to every
// count and its variance, statsmodels' "log-adjusted" method: defined at 0%
// and 100% and, exponentiated, never below a ratio of 0 (a lift of −100%).
func logAdjusted(xc, nc, xt, nt float64) (logRatio, variance float64) {
	logRatio = math.Log((xt+0.5)/(nt+0.5)) - math.Log((xc+0.5)/(nc+0.5))
	variance = 1/(xt+0.5) - 1/(nt+0.5) + 1/(xc+0.5) - 1/(nc+0.5)
	return logRatio, variance
}
