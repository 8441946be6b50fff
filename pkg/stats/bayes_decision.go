package stats

import (
	"fmt"
	"math"
)

// The Bayesian decision rule (see doc.go, "Bayesian decisions"): a variant
// wins when its posterior tail probability 2·min(chance, 1−chance), after the
// requested multiple-comparison correction, is below alpha, the chance to win
// is above one half and the expected relative loss of shipping it is at most
// the metric's acceptable risk; it loses in the mirror case, judged by the
// risk of keeping the control. GrowthBook's rule (chance ≥ 1−alpha, risk ≤
// 0.25%) calls a false winner or loser in about 2·alpha of A/A comparisons,
// and in 43–46% of A/A experiments with six comparisons; this rule keeps
// both at about alpha (TestPropertyBayesianAAFalsePositives).

// bayesState carries one comparison's Bayesian decision inputs.
type bayesState struct {
	padj          float64 // posterior tail probability after the correction (NaN when undefined)
	relRisk       *Risk   // risk in relative units, direction-aware (nil when undefined)
	riskThreshold float64 // acceptable relative risk
}

// posteriorTail returns 2·min(chance, 1−chance): under a flat prior and a
// Gaussian likelihood it equals the two-sided p-value of the same estimate,
// which is why the p-value corrections apply to it unchanged.
func posteriorTail(chance float64) float64 {
	return 2 * math.Min(chance, 1-chance)
}

// relativeRisk returns the comparison's risk in relative units: the risk of
// the relative lift when that is defined, otherwise the absolute risk divided
// by base (the control's mean), or nil when neither can be formed.
func relativeRisk(c *Comparison, base float64) *Risk {
	if c.Relative.Risk != nil {
		r := *c.Relative.Risk
		return &r
	}
	if c.Absolute.Risk == nil || !(base > 0) || !isFinite(base) {
		return nil
	}
	r := Risk{Control: c.Absolute.Risk.Control / base, Treatment: c.Absolute.Risk.Treatment / base}
	if !isFinite(r.Control) || !isFinite(r.Treatment) {
		return nil
	}
	return &r
}

// bayesAdjust applies the correction to the posterior tail probabilities of
// all comparisons (one family) and returns the per-comparison level that the
// "more units needed" estimate plans for.
func bayesAdjust(cfg config, all []*work) (float64, error) {
	ps := make([]float64, len(all))
	for i, w := range all {
		ps[i] = w.p
	}
	adj, err := AdjustPValues(ps, cfg.correction)
	if err != nil {
		return 0, err
	}
	for i, w := range all {
		w.bayes.padj = adj[i]
	}
	return intervalAlpha(cfg.alpha, cfg.correction, adj), nil
}

// bayesVerdict applies the rule to one comparison with a defined chance to
// win; ok is false when the comparison is inconclusive. A chance high enough
// whose risk is above the acceptable one is inconclusive with a note.
func bayesVerdict(cfg config, w *work) (v Verdict, ok bool) {
	if !(w.bayes.padj < cfg.alpha) {
		return Verdict{}, false
	}
	win := w.ctw > 0.5
	if w.bayes.relRisk == nil {
		w.out.Notes = append(w.out.Notes, "the relative risk is undefined (control mean zero), so only the chance to win decides")
	} else {
		risk, who := w.bayes.relRisk.Treatment, "shipping "+w.variantName
		if !win {
			risk, who = w.bayes.relRisk.Control, "keeping "+w.controlName
		}
		if risk > w.bayes.riskThreshold {
			w.out.Notes = append(w.out.Notes, fmt.Sprintf("the risk of %s (expected relative loss %s) is above the acceptable %s",
				who, formatPercent(risk), formatPercent(w.bayes.riskThreshold)))
			return Verdict{}, false
		}
	}
	if win {
		return winnerVerdict(w.variantName, w.controlName, w.metric), true
	}
	return loserVerdict(w.variantName, w.controlName, w.metric), true
}
