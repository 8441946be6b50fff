package stats

import (
	"errors"
	"fmt"
	"math"
)

// Errors describing why a quantity cannot be computed. Low-level functions
// return them (possibly wrapped); Analyze turns them into nil fields, notes and
// the "insufficient_data" verdict.
var (
	// ErrNoUnits means an arm has no units (N = 0).
	ErrNoUnits = errors.New("stats: an arm has no units")
	// ErrTooFewUnits means an arm has fewer than two units, so its variance is undefined.
	ErrTooFewUnits = errors.New("stats: an arm has fewer than two units")
	// ErrZeroVariance means both arms have zero variance, so no test statistic exists.
	ErrZeroVariance = errors.New("stats: both arms have zero variance")
	// ErrZeroBaseline means the control mean is zero, so the relative lift is undefined.
	ErrZeroBaseline = errors.New("stats: control mean is zero; relative lift is undefined")
	// ErrZeroDenominator means a ratio metric has Σx = 0 in an arm.
	ErrZeroDenominator = errors.New("stats: ratio denominator sum is zero")
	// ErrInvalidStats means the sufficient statistics are inconsistent (e.g. Σy² < (Σy)²/N).
	ErrInvalidStats = errors.New("stats: inconsistent sufficient statistics")
)

// Moments summarises one arm by its unit count, mean and per-unit variance.
// For binomial metrics Mean is the conversion rate p and Variance is p(1−p)
// (GrowthBook's ProportionStatistic); for mean metrics Variance is the sample
// variance with N−1 in the denominator; for ratio metrics Mean is Σy/Σx and
// Variance is the delta-method per-unit variance of the ratio.
type Moments struct {
	// N is the number of units.
	N float64 `json:"n"`
	// Mean is the rate, mean or ratio.
	Mean float64 `json:"mean"`
	// Variance is the per-unit variance (the estimate's variance times N).
	Variance float64 `json:"variance"`
}

// relTol is the relative tolerance used to absorb floating point error in
// variance computations from sums.
const relTol = 1e-9

// sampleVar returns (ss − s²/n)/(n−1), clamping rounding noise to zero and
// reporting materially negative values as ErrInvalidStats.
func sampleVar(n, s, ss float64) (float64, error) {
	v := (ss - s*s/n) / (n - 1)
	if v < 0 {
		if -v*(n-1) <= relTol*math.Max(math.Abs(ss), 1e-300)+1e-12 {
			return 0, nil
		}
		return math.NaN(), fmt.Errorf("%w: sum of squares %g below (sum)²/n %g", ErrInvalidStats, ss, s*s/n)
	}
	return v, nil
}

// MomentsOf derives the Moments of one arm from its sufficient statistics.
// The returned Moments carry N and, when N > 0 (and Σx ≠ 0 for ratios), the
// Mean, even if the variance is undefined; in that case Variance is NaN and
// the error says why.
func MomentsOf(kind MetricKind, s Stats) (Moments, error) {
	m := Moments{N: float64(s.N), Mean: math.NaN(), Variance: math.NaN()}
	if err := validateStats(kind, s); err != nil {
		return m, err
	}
	if s.N == 0 {
		return m, ErrNoUnits
	}
	n := float64(s.N)
	switch kind {
	case KindBinomial:
		p := s.Sum / n
		m.Mean = p
		m.Variance = p * (1 - p)
		return m, nil
	case KindMean:
		m.Mean = s.Sum / n
		if s.N < 2 {
			return m, ErrTooFewUnits
		}
		v, err := sampleVar(n, s.Sum, s.SumSquares)
		m.Variance = v
		return m, err
	case KindRatio:
		if s.DenominatorSum == 0 {
			return m, ErrZeroDenominator
		}
		my, mx := s.Sum/n, s.DenominatorSum/n
		m.Mean = my / mx
		if s.N < 2 {
			return m, ErrTooFewUnits
		}
		vy, err := sampleVar(n, s.Sum, s.SumSquares)
		if err != nil {
			return m, err
		}
		vx, err := sampleVar(n, s.DenominatorSum, s.DenominatorSumSquares)
		if err != nil {
			return m, err
		}
		cov := (s.SumProducts - s.Sum*s.DenominatorSum/n) / (n - 1)
		v := vy/(mx*mx) - 2*cov*my/(mx*mx*mx) + my*my*vx/(mx*mx*mx*mx)
		if v < 0 {
			// The delta-method variance is a PSD quadratic form; tiny negatives are rounding.
			scale := vy/(mx*mx) + my*my*vx/(mx*mx*mx*mx)
			if -v > 1e-7*scale {
				return m, fmt.Errorf("%w: covariance inconsistent with variances", ErrInvalidStats)
			}
			v = 0
		}
		m.Variance = v
		return m, nil
	}
	return m, fmt.Errorf("stats: unknown metric kind %q", kind)
}

// validateStats checks structural consistency of one arm's sufficient statistics.
func validateStats(kind MetricKind, s Stats) error {
	for _, x := range []float64{s.Sum, s.SumSquares, s.DenominatorSum, s.DenominatorSumSquares, s.SumProducts} {
		if !isFinite(x) {
			return fmt.Errorf("%w: non-finite sum", ErrInvalidStats)
		}
	}
	if s.N < 0 {
		return fmt.Errorf("%w: negative unit count %d", ErrInvalidStats, s.N)
	}
	switch kind {
	case KindBinomial:
		if s.Sum < 0 || s.Sum > float64(s.N) || s.Sum != math.Trunc(s.Sum) {
			return fmt.Errorf("%w: conversions %g must be an integer in [0, %d]", ErrInvalidStats, s.Sum, s.N)
		}
	case KindMean, KindRatio:
		if s.SumSquares < 0 || s.DenominatorSumSquares < 0 {
			return fmt.Errorf("%w: negative sum of squares", ErrInvalidStats)
		}
		if s.N == 0 && (s.Sum != 0 || s.SumSquares != 0 || s.DenominatorSum != 0) {
			return fmt.Errorf("%w: non-zero sums with zero units", ErrInvalidStats)
		}
		if s.N > 0 {
			n := float64(s.N)
			if s.SumSquares-s.Sum*s.Sum/n < -relTol*math.Max(s.SumSquares, 1)-1e-12 {
				return fmt.Errorf("%w: sum of squares below (sum)²/n", ErrInvalidStats)
			}
			if kind == KindRatio && s.DenominatorSumSquares-s.DenominatorSum*s.DenominatorSum/n < -relTol*math.Max(s.DenominatorSumSquares, 1)-1e-12 {
				return fmt.Errorf("%w: denominator sum of squares below (sum)²/n", ErrInvalidStats)
			}
		}
	default:
		return fmt.Errorf("stats: unknown metric kind %q", kind)
	}
	return nil
}
