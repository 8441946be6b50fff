package stats

import "fmt"

// SRMTest is the sample-ratio-mismatch check: Pearson's chi-square
// goodness-of-fit test of the observed unit counts per variant against the
// configured weights (expected_i = total · w_i / Σw), with k−1 degrees of
// freedom where k is the number of variants with positive weight. Mismatch is
// flagged when the p-value is below threshold (0 means DefaultSRMThreshold).
// If all weights are zero, equal weights are assumed. With fewer than two
// variants or no units the p-value is nil and no mismatch is flagged. Units
// observed in a variant with zero weight are a certain mismatch (p = 0,
// chi-square nil because it is infinite).
func SRMTest(observed []int64, weights []float64, threshold float64) (SRMResult, error) {
	if threshold == 0 {
		threshold = DefaultSRMThreshold
	}
	if !(threshold > 0 && threshold < 1) {
		return SRMResult{}, fmt.Errorf("stats: SRM threshold %g must be in (0, 1)", threshold)
	}
	if len(observed) != len(weights) {
		return SRMResult{}, fmt.Errorf("stats: %d observed counts but %d weights", len(observed), len(weights))
	}
	res := SRMResult{Observed: append([]int64{}, observed...), Expected: make([]float64, len(observed)), Threshold: threshold}
	var total int64
	var wsum float64
	for i, o := range observed {
		if o < 0 {
			return SRMResult{}, fmt.Errorf("stats: negative participant count %d", o)
		}
		if !(weights[i] >= 0) || !isFinite(weights[i]) {
			return SRMResult{}, fmt.Errorf("stats: weight %g must be finite and non-negative", weights[i])
		}
		total += o
		wsum += weights[i]
	}
	w := weights
	if wsum == 0 {
		w = make([]float64, len(weights))
		for i := range w {
			w[i] = 1
		}
		wsum = float64(len(w))
	}
	positive := 0
	for i := range w {
		res.Expected[i] = float64(total) * w[i] / wsum
		if w[i] > 0 {
			positive++
		}
	}
	res.DF = positive - 1
	if len(observed) < 2 || total == 0 {
		if res.DF < 0 {
			res.DF = 0
		}
		return res, nil
	}
	var chi2 float64
	for i, o := range observed {
		e := res.Expected[i]
		if e == 0 {
			if o > 0 {
				zero := 0.0
				res.PValue = &zero
				res.Mismatch = true
				return res, nil
			}
			continue
		}
		d := float64(o) - e
		chi2 += d * d / e
	}
	if res.DF < 1 {
		// A single positive-weight variant holding every unit: nothing to test.
		res.DF = 0
		res.ChiSquare = opt(chi2)
		return res, nil
	}
	p := chi2SF(chi2, float64(res.DF))
	res.ChiSquare = opt(chi2)
	res.PValue = opt(clamp01(p))
	res.Mismatch = p < threshold
	return res, nil
}
