package analysis_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/refx-dev/refx/pkg/analysis"
	"github.com/refx-dev/refx/pkg/refx"
)

// participant is one simulated user: covariate x of purchase, their total
// purchase value y, whether they signed up.
type participant struct {
	x, y   float64
	signup bool
}

// TestCUPEDAnalysis builds the counters the store would keep for simulated
// participants and checks the adjusted reading of each goal against a
// two-pass computation on the raw data: θ = Σ Sxy / Σ Sxx within arms, the
// adjusted difference (ȳt − ȳc) − θ(x̄t − x̄c). The value per participant
// uses Σxy of the values, the conversion rate Σxc of the conversions; a
// goal without covariates has no CUPED reading.
func TestCUPEDAnalysis(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(14, 3))
	round := func(v float64) float64 { return math.Round(v*100) / 100 }
	arms := make([][]participant, 2)
	for a := range arms {
		for range 400 {
			z1, z2 := rng.NormFloat64(), rng.NormFloat64()
			arms[a] = append(arms[a], participant{
				x: round(20 + 5*z1), y: round(20 + 4*z1 + 3*z2 + float64(a)), signup: z1+z2 > 0.5,
			})
		}
	}
	res := &refx.Results{Experiment: "cta-test", Status: refx.StatusRunning}
	for a, key := range []string{"control", "bold"} {
		var users int64
		var sy, syy, sx, sxx, sxy, sxc float64
		for _, p := range arms[a] {
			sy, syy, sx, sxx, sxy = sy+p.y, syy+p.y*p.y, sx+p.x, sxx+p.x*p.x, sxy+p.x*p.y
			if p.signup {
				users++
				sxc += p.x
			}
		}
		num := func(v float64) refx.Decimal { d, _ := refx.ParseDecimal(strconv.FormatFloat(v, 'f', 4, 64)); return d }
		cov := &refx.CovariateCounts{Participants: int64(len(arms[a])), Sum: jsonNum(num(sx)), SumSq: jsonNum(num(sxx)),
			ValueProducts: jsonNum(num(sxy)), UsersProducts: jsonNum(num(sxc))}
		res.Variants = append(res.Variants, refx.VariantResults{Key: key, Participants: int64(len(arms[a])), Goals: map[string]refx.GoalCounts{
			"signup":   {Users: users, Events: users, ValueSum: "0", ValueSumSq: "0", ValueParticipantSumSq: "0", Covariate: cov},
			"purchase": {Users: int64(len(arms[a])), Events: int64(len(arms[a])), ValueSum: jsonNum(num(sy)), ValueSumSq: jsonNum(num(syy)), ValueParticipantSumSq: jsonNum(num(syy))},
		}})
	}
	// The purchase covariate is sent for purchase; signup's sums reuse it.
	for i := range res.Variants {
		g := res.Variants[i].Goals["purchase"]
		g.Covariate = res.Variants[i].Goals["signup"].Covariate
		res.Variants[i].Goals["purchase"] = g
	}
	exp := MustExperiment(t, false)
	an, err := analysis.Analyze(exp, res, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		m    analysis.Metric
		y    func(p participant) float64
	}{
		{"ValuePerParticipant", *an.Goals["purchase"].ValuePerParticipant, func(p participant) float64 { return p.y }},
		{"ConversionRate", an.Goals["signup"].ConversionRate, func(p participant) float64 {
			if p.signup {
				return 1
			}
			return 0
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.m.CUPED
			if c == nil || len(c.Comparisons) != 1 || c.Comparisons[0].Estimate == nil {
				t.Fatalf("CUPED = %+v", c)
			}
			theta, diff := rawCUPED(arms, tt.y)
			if math.Abs(*c.Theta-theta) > 1e-9*math.Max(1, math.Abs(theta)) {
				t.Errorf("theta %.12g, raw data %.12g", *c.Theta, theta)
			}
			if got := *c.Comparisons[0].Estimate; math.Abs(got-diff) > 1e-9 {
				t.Errorf("adjusted difference %.12g, raw data %.12g", got, diff)
			}
			if r := *c.Comparisons[0].VarianceReduction; !(r > 0.2 && r < 1) {
				t.Errorf("variance reduction %.3f with a covariate this correlated", r)
			}
			t.Logf("θ %.4f, ρ %.3f, adjusted %.4f (se %.4f, unadjusted se %.4f, reduction %.1f%%)", *c.Theta, *c.Correlation,
				diff, *c.Comparisons[0].StdErr, *c.Comparisons[0].UnadjustedStdErr, 100**c.Comparisons[0].VarianceReduction)
		})
	}
	t.Run("NoCovariates", func(t *testing.T) {
		an, err := analysis.Analyze(exp, results(), analysis.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if c := an.Goals["purchase"].ValuePerParticipant.CUPED; c != nil {
			t.Fatalf("CUPED without covariates: %+v", c)
		}
	})
}

// rawCUPED is θ and the adjusted difference of arm 1 against arm 0,
// computed in two passes over the raw data.
func rawCUPED(arms [][]participant, y func(participant) float64) (theta, diff float64) {
	var sxy, sxx float64
	mx, my := make([]float64, len(arms)), make([]float64, len(arms))
	for a, ps := range arms {
		for _, p := range ps {
			mx[a] += p.x / float64(len(ps))
			my[a] += y(p) / float64(len(ps))
		}
		for _, p := range ps {
			sxy += (p.x - mx[a]) * (y(p) - my[a])
			sxx += (p.x - mx[a]) * (p.x - mx[a])
		}
	}
	theta = sxy / sxx
	return theta, (my[1] - my[0]) - theta*(mx[1]-mx[0])
}

func jsonNum(d refx.Decimal) json.Number { return json.Number(d.String()) }
