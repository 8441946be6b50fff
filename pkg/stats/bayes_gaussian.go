package stats

import (
	"fmt"
	"math"
)

// EffectPosterior is the posterior distribution summary of a lift.
type EffectPosterior struct {
	// ChanceToWin is P(lift > 0) under the posterior.
	ChanceToWin float64 `json:"chance_to_win"`
	// Mean is the posterior mean of the lift.
	Mean float64 `json:"mean"`
	// StdDev is the posterior standard deviation of the lift.
	StdDev float64 `json:"std_dev"`
	// CI is the equal-tailed 1−alpha credible interval.
	CI Interval `json:"ci"`
	// Risk is the expected loss of shipping control (E[max(lift,0)]) and of
	// shipping treatment (E[max(−lift,0)]).
	Risk Risk `json:"risk"`
}

// gaussianRisk returns E[max(X,0)] and E[max(−X,0)] for X ~ N(mu, sigma²),
// in the closed forms μΦ(μ/σ)+σφ(μ/σ) and −μΦ(−μ/σ)+σφ(μ/σ).
func gaussianRisk(mu, sigma float64) Risk {
	z := mu / sigma
	phi := sigma * normPDF(z)
	ctrl := mu*normCDF(z) + phi
	trt := -mu*normCDF(-z) + phi
	return Risk{Control: math.Max(ctrl, 0), Treatment: math.Max(trt, 0)}
}

// GaussianEffectTest is GrowthBook's Gaussian Bayesian effect test
// (EffectBayesianABTest): the likelihood of the lift is N(estimate, variance)
// from EffectEstimate on the requested scale, combined with a Gaussian prior on
// the effect. A nil prior (or a prior with zero StdDev) is GrowthBook's default
// improper flat prior, so the posterior equals the likelihood. A prior given on
// the other scale is rescaled by the control mean (relative→absolute multiplies
// mean and standard deviation by |control mean|). It returns the chance to
// win, the posterior mean and standard deviation, the equal-tailed 1−alpha
// credible interval and the expected losses.
func GaussianEffectTest(c, t Moments, scale Scale, prior *EffectPrior, alpha float64) (EffectPosterior, error) {
	if !(alpha > 0 && alpha < 1) {
		return EffectPosterior{}, fmt.Errorf("stats: alpha %g must be in (0, 1)", alpha)
	}
	est, v, err := EffectEstimate(c, t, scale)
	if err != nil {
		return EffectPosterior{}, err
	}
	mean, prec := est, 1/v
	if prior != nil && prior.StdDev > 0 {
		pm, ps := prior.Mean, prior.StdDev
		pscale := prior.Scale
		if pscale == "" {
			pscale = ScaleRelative
		}
		if pscale != scale {
			base := math.Abs(c.Mean)
			if base == 0 {
				return EffectPosterior{}, ErrZeroBaseline
			}
			if scale == ScaleAbsolute {
				pm, ps = pm*base, ps*base
			} else {
				pm, ps = pm/base, ps/base
			}
		}
		pp := 1 / (ps * ps)
		prec = 1/v + pp
		mean = (est/v + pm*pp) / prec
	}
	sd := math.Sqrt(1 / prec)
	z := normQuantile(1 - alpha/2)
	return EffectPosterior{
		ChanceToWin: normCDF(mean / sd),
		Mean:        mean,
		StdDev:      sd,
		CI:          Interval{Lower: mean - z*sd, Upper: mean + z*sd},
		Risk:        gaussianRisk(mean, sd),
	}, nil
}
