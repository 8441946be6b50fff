package stats

import "math"

// scaleTest is one scale's frequentist or sequential test of a comparison,
// kept so that finish can recompute the interval at the level its correction
// family and test kind call for, and p-values for shifted nulls
// (non-inferiority) and other alternatives.
type scaleTest struct {
	est, se float64
	// pValue tests "effect = null" against alt; null is on the statistic's
	// scale (log ratio for the frequentist relative lift). NaN when the
	// method cannot test that hypothesis.
	pValue func(null float64, alt Alternative) float64
	// ci is the two-sided 1−alpha interval of the lift.
	ci func(alpha float64) Interval
	// logScale says the statistic is log(μt/μc), so a relative null m enters as log(1+m).
	logScale bool
}

// newScaleTest builds the test of w on scale s for the engine in cfg:
// the sequential confidence sequence (two-sided only), or for the
// frequentist engine Welch on the absolute scale, the log ratio on the
// relative scale, and for small or degenerate binomial arms Fisher's exact
// p-value with Newcombe (absolute) and log-adjusted (relative) intervals.
func newScaleTest(cfg config, w *work, s Scale) (*scaleTest, error) {
	if cfg.engine == EngineSequential {
		return sequentialScaleTest(cfg, w, s)
	}
	if w.exact {
		return exactScaleTest(w, s)
	}
	if s == ScaleAbsolute {
		r, err := WelchTTest(w.c, w.t, s, cfg.alpha)
		if err != nil {
			return nil, err
		}
		return &scaleTest{est: r.Estimate, se: r.StdErr,
			pValue: func(null float64, alt Alternative) float64 { return tPValue((r.Estimate-null)/r.StdErr, r.DF, alt) },
			ci:     func(alpha float64) Interval { return welchCI(r.Estimate, r.StdErr, r.DF, alpha) }}, nil
	}
	lr, err := logRatioOf(w.c, w.t)
	if err != nil {
		return nil, err
	}
	ratio := w.t.Mean / w.c.Mean
	return &scaleTest{est: ratio - 1, se: ratio * lr.se, pValue: lr.pValue, ci: lr.ci, logScale: true}, nil
}

// sequentialScaleTest is the confidence sequence of w on scale s: the
// absolute difference, or the log ratio for the relative lift
// (SequentialLogRatioTest), so that its interval never crosses −100%. Its
// p-value is the two-sided anytime-valid one whatever the null and alternative
// asked for: guardrails read their rule off the interval instead.
func sequentialScaleTest(cfg config, w *work, s Scale) (*scaleTest, error) {
	n := w.c.N + w.t.N
	if s == ScaleAbsolute {
		r, err := SequentialTest(w.c, w.t, s, cfg.alpha, cfg.tuning)
		if err != nil {
			return nil, err
		}
		_, v, _ := EffectEstimate(w.c, w.t, s)
		return &scaleTest{est: r.Estimate, se: r.StdErr,
			pValue: func(float64, Alternative) float64 { return r.PValue },
			ci: func(alpha float64) Interval {
				return sequentialCI(r.Estimate, v, n, alpha, sequentialRho2(alpha, cfg.tuning))
			}}, nil
	}
	r, err := SequentialLogRatioTest(w.c, w.t, cfg.alpha, cfg.tuning)
	if err != nil {
		return nil, err
	}
	lr, _ := logRatioOf(w.c, w.t)
	v := lr.se * lr.se
	return &scaleTest{est: r.Estimate, se: r.StdErr, logScale: true,
		pValue: func(float64, Alternative) float64 { return r.PValue },
		ci: func(alpha float64) Interval {
			return sequentialLogCI(lr.est, v, n, alpha, sequentialRho2(alpha, cfg.tuning))
		}}, nil
}

// exactScaleTest is the frequentist test of a binomial comparison with an arm
// below exactMinCount conversions or non-conversions. Fisher's exact test
// gives the p-value of "no difference" (on both scales: it is the same
// hypothesis); the log-adjusted statistic tests relative non-inferiority.
func exactScaleTest(w *work, s Scale) (*scaleTest, error) {
	xc, nc := math.Round(w.c.Mean*w.c.N), w.c.N
	xt, nt := math.Round(w.t.Mean*w.t.N), w.t.N
	if xc+xt == 0 || xc+xt == nc+nt {
		// Every unit in both arms converted, or none did: no table is more
		// extreme than another and nothing can be learnt yet.
		return nil, ErrZeroVariance
	}
	fisher := func(alt Alternative) float64 {
		p, err := FisherExact(int64(xc), int64(nc), int64(xt), int64(nt), alt)
		if err != nil {
			return math.NaN()
		}
		return p
	}
	if s == ScaleAbsolute {
		return &scaleTest{est: w.t.Mean - w.c.Mean, se: math.Sqrt(w.t.Variance/nt + w.c.Variance/nc),
			pValue: func(null float64, alt Alternative) float64 {
				if null != 0 {
					// Fisher's test is conditional on the total conversions and
					// has no shifted null: no absolute non-inferiority p-value
					// (guardrails decide on the relative scale).
					return math.NaN()
				}
				return fisher(alt)
			},
			ci: func(alpha float64) Interval { return newcombeCI(xc, nc, xt, nt, alpha) }}, nil
	}
	if xc == 0 {
		return nil, ErrZeroBaseline
	}
	l, v := logAdjusted(xc, nc, xt, nt)
	se := math.Sqrt(v)
	ratio := w.t.Mean / w.c.Mean
	return &scaleTest{est: ratio - 1, se: math.Exp(l) * se, logScale: true,
		pValue: func(null float64, alt Alternative) float64 {
			if null == 0 {
				return fisher(alt)
			}
			return tPValue((l-null)/se, math.Inf(1), alt)
		},
		ci: func(alpha float64) Interval {
			h := normQuantile(1-alpha/2) * se
			return Interval{Lower: math.Expm1(l - h), Upper: math.Expm1(l + h)}
		}}, nil
}
