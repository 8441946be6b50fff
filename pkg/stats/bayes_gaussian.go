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

// GaussianLogRatioTest is the Bayesian engine's test of the relative lift
// μt/μc − 1 for mean and ratio metrics: GaussianEffectTest's normal model put
// on L = log(μt/μc), whose likelihood is N(log(μt/μc), σt²/(nt·μt²) +
// σc²/(nc·μc²)) by the delta method, so the lift exp(L) − 1 has a lognormal
// posterior that can never put mass below −100%. A prior on the relative lift
// N(m, s²) (an absolute one divided by the control mean first) enters as
// N(log(1+m), (s/(1+m))²), its delta-method image on the log scale; m must be
// above −1. Chance to win is P(L > 0) = Φ(μ/σ) for the posterior N(μ, σ²) of
// L, the credible interval exp(μ ± z(1−α/2)σ) − 1, the posterior mean and
// standard deviation are the lognormal's, exp(μ+σ²/2) − 1 and
// exp(μ+σ²/2)·sqrt(exp(σ²) − 1), and the risks its exact partial expectations
// E[(e^L − 1)⁺] = e^{μ+σ²/2}Φ(μ/σ + σ) − Φ(μ/σ) and E[(1 − e^L)⁺] =
// Φ(−μ/σ) − e^{μ+σ²/2}Φ(−μ/σ − σ). Both means must be positive.
func GaussianLogRatioTest(c, t Moments, prior *EffectPrior, alpha float64) (EffectPosterior, error) {
	if !(alpha > 0 && alpha < 1) {
		return EffectPosterior{}, fmt.Errorf("stats: alpha %g must be in (0, 1)", alpha)
	}
	r, err := logRatioOf(c, t)
	if err != nil {
		return EffectPosterior{}, err
	}
	v := r.se * r.se
	mean, prec := r.est, 1/v
	if prior != nil && prior.StdDev > 0 {
		pm, ps := prior.Mean, prior.StdDev
		if prior.Scale == ScaleAbsolute {
			pm, ps = pm/c.Mean, ps/c.Mean
		}
		if !(pm > -1) {
			return EffectPosterior{}, fmt.Errorf("%w: a relative prior mean of %g is not above −100%%, so it has no log-ratio image", ErrInvalidStats, pm)
		}
		lm, ls := math.Log1p(pm), ps/(1+pm)
		pp := 1 / (ls * ls)
		prec = 1/v + pp
		mean = (r.est/v + lm*pp) / prec
	}
	sd := math.Sqrt(1 / prec)
	z := normQuantile(1 - alpha/2)
	k := mean / sd
	// e^{μ+σ²/2}: the posterior mean of the ratio μt/μc.
	m := math.Exp(mean + sd*sd/2)
	return EffectPosterior{
		ChanceToWin: normCDF(k),
		Mean:        m - 1,
		StdDev:      m * math.Sqrt(math.Expm1(sd*sd)),
		CI:          Interval{Lower: math.Expm1(mean - z*sd), Upper: math.Expm1(mean + z*sd)},
		Risk: Risk{
			Control:   math.Max(m*normCDF(k+sd)-normCDF(k), 0),
			Treatment: math.Max(normCDF(-k)-m*normCDF(-k-sd), 0),
		},
	}, nil
}
