package stats

import (
	"fmt"
	"math"
	"sort"
)

// AdjustPValues returns multiplicity-adjusted p-values in the input order.
// NaN entries are treated as missing: they are excluded from the family and
// stay NaN. Methods:
//
//   - CorrectionHolm: Holm (1979) step-down, p̃(i) = max_{j≤i} min(1, (m−j+1)·p(j));
//   - CorrectionBH: Benjamini & Hochberg (1995) step-up, p̃(i) = min_{j≥i} min(1, m·p(j)/j);
//   - CorrectionNone (or ""): unchanged.
//
// Both match statsmodels.stats.multitest.multipletests ("holm", "fdr_bh").
func AdjustPValues(p []float64, method Correction) ([]float64, error) {
	out := make([]float64, len(p))
	copy(out, p)
	idx := make([]int, 0, len(p))
	for i, v := range p {
		if math.IsNaN(v) {
			continue
		}
		if v < 0 || v > 1 {
			return nil, fmt.Errorf("stats: p-value %g outside [0, 1]", v)
		}
		idx = append(idx, i)
	}
	m := len(idx)
	switch method {
	case CorrectionNone, "":
		return out, nil
	case CorrectionHolm, CorrectionBH:
	default:
		return nil, fmt.Errorf("stats: unknown correction %q", method)
	}
	if m == 0 {
		return out, nil
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	fm := float64(m)
	if method == CorrectionHolm {
		running := 0.0
		for j, i := range idx {
			v := math.Min(1, (fm-float64(j))*p[i])
			running = math.Max(running, v)
			out[i] = running
		}
		return out, nil
	}
	running := 1.0
	for j := m - 1; j >= 0; j-- {
		i := idx[j]
		v := math.Min(1, fm*p[i]/float64(j+1))
		running = math.Min(running, v)
		out[i] = running
	}
	return out, nil
}

// intervalAlpha returns the per-interval alpha after a correction:
// Holm uses the Bonferroni level alpha/m (simultaneous coverage, conservative
// relative to Holm's step-down p-values); BH uses the Benjamini–Yekutieli
// (2005) false-coverage-rate level alpha·R/m, where R is the number of
// adjusted p-values below alpha (alpha/m when R = 0).
func intervalAlpha(alpha float64, method Correction, adjusted []float64) float64 {
	m := 0
	r := 0
	for _, v := range adjusted {
		if math.IsNaN(v) {
			continue
		}
		m++
		if v < alpha {
			r++
		}
	}
	if m <= 1 {
		return alpha
	}
	switch method {
	case CorrectionHolm:
		return alpha / float64(m)
	case CorrectionBH:
		if r == 0 {
			r = 1
		}
		return alpha * float64(r) / float64(m)
	}
	return alpha
}
