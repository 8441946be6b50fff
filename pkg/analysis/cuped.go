package analysis

import (
	"errors"
	"fmt"

	"github.com/refx-dev/refx/pkg/stats"
)

// CUPEDMetric is the regression-adjusted (CUPED) reading of a goal's metric
// whose participants sent covariates (POST /v1/assign): each arm's mean
// adjusted by θ·(its mean covariate − the overall mean covariate), θ pooled
// within arms (stats.CUPED). Arrays follow the results' variants.
type CUPEDMetric struct {
	Theta       *float64 `json:"theta"`
	Correlation *float64 `json:"correlation"`
	// CovariateParticipants counts, per variant, those who sent a
	// covariate; the others count as 0.
	CovariateParticipants []int64    `json:"covariate_participants"`
	AdjustedMeans         []*float64 `json:"adjusted_means"`
	// IntervalLevel is that of the comparisons' intervals: 1 − alpha,
	// without the multiple-comparison correction the verdicts use.
	IntervalLevel float64           `json:"interval_level"`
	Comparisons   []CUPEDComparison `json:"comparisons"`
	Notes         []string          `json:"notes"`
}

// CUPEDComparison is a variant against the control on the absolute scale,
// adjusted (Welch's test of the adjusted means), with the share of the
// estimate's variance the covariate removed.
type CUPEDComparison struct {
	Variant          string          `json:"variant"`
	Control          string          `json:"control"`
	Estimate         *float64        `json:"estimate"`
	StdErr           *float64        `json:"std_err"`
	CI               *stats.Interval `json:"ci"`
	PValue           *float64        `json:"p_value"`
	UnadjustedStdErr *float64        `json:"unadjusted_std_err"`
	// VarianceReduction is 1 − (StdErr / UnadjustedStdErr)².
	VarianceReduction *float64 `json:"variance_reduction"`
}

// cuped reads s with its goal's covariates: nil unless s is a goal's
// conversion rate or value per participant and some participant sent a
// covariate for that goal. y is whether a participant converted, or their
// total value; Σxy the matching product sum.
func (f *frame) cuped(s spec, alpha float64) *CUPEDMetric {
	if s.goal == "" || (s.measure != MeasureConversionRate && s.measure != MeasureValuePerParticipant) {
		return nil
	}
	out := &CUPEDMetric{IntervalLevel: 1 - alpha, Comparisons: []CUPEDComparison{}, Notes: []string{}}
	arms := make([]stats.CovariateStats, len(f.res.Variants))
	sent := false
	valid := s.invalid == ""
	for i, v := range f.res.Variants {
		arms[i] = stats.CovariateStats{N: s.stats[i].N, Sum: s.stats[i].Sum, SumSquares: s.stats[i].SumSquares}
		c := v.Goals[s.goal].Covariate
		if c == nil {
			out.CovariateParticipants = append(out.CovariateParticipants, 0)
			continue
		}
		sent = true
		out.CovariateParticipants = append(out.CovariateParticipants, c.Participants)
		products := c.ValueProducts
		if s.measure == MeasureConversionRate {
			products = c.UsersProducts
		}
		var ok [3]bool
		arms[i].CovariateSum, ok[0] = number(c.Sum)
		arms[i].CovariateSumSquares, ok[1] = number(c.SumSq)
		arms[i].SumProducts, ok[2] = number(products)
		valid = valid && ok[0] && ok[1] && ok[2]
	}
	if !sent {
		return nil
	}
	if !valid {
		out.Notes = append(out.Notes, "a sum is not a finite number: no adjustment")
		return out
	}
	r, err := stats.CUPED(arms)
	switch {
	case errors.Is(err, stats.ErrNoCovariateVariance):
		out.Notes = append(out.Notes, "the covariate does not vary within the arms: nothing to adjust by")
		return out
	case err != nil:
		out.Notes = append(out.Notes, fmt.Sprintf("no adjustment: %v", err))
		return out
	}
	out.Theta, out.Correlation = opt(r.Theta), opt(r.Correlation)
	for _, a := range r.Arms {
		out.AdjustedMeans = append(out.AdjustedMeans, opt(a.Adjusted.Mean))
	}
	for i, key := range f.keys {
		if i == f.control {
			continue
		}
		cmp := CUPEDComparison{Variant: key, Control: f.keys[f.control]}
		if c, err := r.Compare(f.control, i, stats.ScaleAbsolute, alpha); err == nil {
			ci := c.Adjusted.CI
			cmp.Estimate, cmp.StdErr, cmp.CI, cmp.PValue = opt(c.Adjusted.Estimate), opt(c.Adjusted.StdErr), &ci, opt(c.Adjusted.PValue)
			cmp.UnadjustedStdErr, cmp.VarianceReduction = opt(c.Unadjusted.StdErr), opt(c.VarianceReduction)
		}
		out.Comparisons = append(out.Comparisons, cmp)
	}
	return out
}
