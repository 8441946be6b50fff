package stats

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

type cupedFixture struct {
	Kind        string           `json:"kind"`
	Alpha       float64          `json:"alpha"`
	Arms        []CovariateStats `json:"arms"`
	Theta       float64          `json:"theta"`
	Correlation float64          `json:"correlation"`
	AdjMeans    []float64        `json:"adjusted_means"`
	AdjVars     []float64        `json:"adjusted_variances"`
	Comparisons []struct {
		Treatment         int        `json:"treatment"`
		Estimate          float64    `json:"estimate"`
		OLSEstimate       float64    `json:"ols_estimate"`
		StdErr            float64    `json:"std_err"`
		OLSStdErr         float64    `json:"ols_std_err"`
		DF                float64    `json:"df"`
		PValue            float64    `json:"p_value"`
		CI                [2]float64 `json:"ci"`
		VarianceReduction float64    `json:"variance_reduction"`
	} `json:"comparisons"`
}

// cupedTol is the agreement required with numpy/statsmodels on raw data,
// relative to max(1, |want|): the sums lose a few digits to cancellation.
const cupedTol = 1e-9

func agree(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if d := math.Abs(got-want) / math.Max(1, math.Abs(want)); !(d <= tol) {
		t.Errorf("%s = %.12g, want %.12g (relative diff %.3g)", what, got, want, d)
	}
}

// TestCUPEDFixtures compares CUPED with statsmodels' OLS of y on the arm
// indicators and x (θ, every adjusted difference) and numpy on the raw data
// (adjusted means and variances, correlation, the Welch test of the
// adjusted means); scripts/stats-fixtures.py, section cuped.
func TestCUPEDFixtures(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/fixtures.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		CUPED []cupedFixture `json:"cuped"`
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.CUPED) == 0 {
		t.Fatal("no cuped fixtures: run scripts/stats-fixtures.py")
	}
	for i, c := range fx.CUPED {
		t.Run(fmt.Sprintf("%d_%s_%darms", i, c.Kind, len(c.Arms)), func(t *testing.T) {
			r, err := CUPED(c.Arms)
			if err != nil {
				t.Fatal(err)
			}
			agree(t, "theta", r.Theta, c.Theta, cupedTol)
			agree(t, "correlation", r.Correlation, c.Correlation, cupedTol)
			for k := range c.Arms {
				agree(t, fmt.Sprintf("arm %d adjusted mean", k), r.Arms[k].Adjusted.Mean, c.AdjMeans[k], cupedTol)
				agree(t, fmt.Sprintf("arm %d adjusted variance", k), r.Arms[k].Adjusted.Variance, c.AdjVars[k], cupedTol)
			}
			for _, want := range c.Comparisons {
				got, err := r.Compare(0, want.Treatment, ScaleAbsolute, c.Alpha)
				if err != nil {
					t.Fatal(err)
				}
				a := got.Adjusted
				agree(t, "estimate", a.Estimate, want.Estimate, cupedTol)
				agree(t, "estimate vs OLS coefficient", a.Estimate, want.OLSEstimate, cupedTol)
				agree(t, "std_err", a.StdErr, want.StdErr, cupedTol)
				agree(t, "df", a.DF, want.DF, 1e-7)
				agree(t, "p_value", a.PValue, want.PValue, 1e-7)
				agree(t, "ci.lower", a.CI.Lower, want.CI[0], 1e-7)
				agree(t, "ci.upper", a.CI.Upper, want.CI[1], 1e-7)
				agree(t, "variance_reduction", got.VarianceReduction, want.VarianceReduction, cupedTol)
				// The Welch standard error of the adjusted means leaves out
				// θ's own uncertainty and does not pool the residual
				// variance; at these sizes it is within 3% of OLS's.
				if d := math.Abs(a.StdErr/want.OLSStdErr - 1); d > 0.03 {
					t.Errorf("std_err %.6g is %.1f%% from OLS's %.6g", a.StdErr, 100*d, want.OLSStdErr)
				}
			}
		})
	}
}

func TestCUPEDErrors(t *testing.T) {
	t.Parallel()
	ok := CovariateStats{N: 3, Sum: 6, SumSquares: 14, CovariateSum: 3, CovariateSumSquares: 5, SumProducts: 7}
	tests := []struct {
		name string
		arms []CovariateStats
		want error
	}{
		{"ErrTooFewUnits", []CovariateStats{ok, {N: 1, Sum: 1, SumSquares: 1}}, ErrTooFewUnits},
		// y = 1, 2, 3 and x constant 1.
		{"ErrNoCovariateVariance", []CovariateStats{{N: 3, Sum: 6, SumSquares: 14, CovariateSum: 3, CovariateSumSquares: 3, SumProducts: 6}, {N: 3, Sum: 6, SumSquares: 14, CovariateSum: 3, CovariateSumSquares: 3, SumProducts: 6}}, ErrNoCovariateVariance},
		{"ErrInvalidSumSquares", []CovariateStats{ok, {N: 3, Sum: 6, SumSquares: 10, CovariateSum: 3, CovariateSumSquares: 5, SumProducts: 7}}, ErrInvalidStats},
		{"ErrInvalidProducts", []CovariateStats{ok, {N: 3, Sum: 6, SumSquares: 14, CovariateSum: 3, CovariateSumSquares: 5, SumProducts: 100}}, ErrInvalidStats},
		{"OK", []CovariateStats{ok, ok}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := CUPED(tt.arms)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if errors.Is(err, ErrNoCovariateVariance) && r.Arms[1].Adjusted != r.Arms[1].Unadjusted {
				t.Fatalf("without covariate variance the arms must stay unadjusted: %+v", r.Arms[1])
			}
		})
	}
}

// TestCUPEDVarianceReductionSimulation draws, with a fixed seed, 4,000
// experiments of 500 users per arm whose covariate has correlation ρ with
// the outcome, and checks that the adjusted estimate's variance across them
// is (1 − ρ²) times the unadjusted one's, within 5%, as is the reduction
// each experiment reports; and that the adjustment costs no bias.
func TestCUPEDVarianceReductionSimulation(t *testing.T) {
	t.Parallel()
	const runs, n, effect = 4000, 500, 0.1
	for _, rho := range []float64{0.3, 0.6, 0.9} {
		t.Run(fmt.Sprint("rho", rho), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(20261206, uint64(rho*1000)))
			var adj, unadj, reported []float64
			for range runs {
				arms := make([]CovariateStats, 2)
				for a := range arms {
					s := &arms[a]
					s.N = n
					for range n {
						z1, z2 := rng.NormFloat64(), rng.NormFloat64()
						x := 10 + 3*z1
						y := 5 + 2*(rho*z1+math.Sqrt(1-rho*rho)*z2) + effect*float64(a)
						s.Sum += y
						s.SumSquares += y * y
						s.CovariateSum += x
						s.CovariateSumSquares += x * x
						s.SumProducts += x * y
					}
				}
				r, err := CUPED(arms)
				if err != nil {
					t.Fatal(err)
				}
				c, err := r.Compare(0, 1, ScaleAbsolute, 0.05)
				if err != nil {
					t.Fatal(err)
				}
				adj = append(adj, c.Adjusted.Estimate)
				unadj = append(unadj, c.Unadjusted.Estimate)
				reported = append(reported, c.VarianceReduction)
			}
			theory := 1 - rho*rho
			ratio := varianceOf(adj) / varianceOf(unadj)
			t.Logf("ρ=%.1f: Var(adjusted)/Var(unadjusted) %.4f, reported 1−reduction %.4f, theory 1−ρ² %.4f, mean adjusted estimate %.4f",
				rho, ratio, 1-meanOf(reported), theory, meanOf(adj))
			if math.Abs(ratio/theory-1) > 0.05 {
				t.Errorf("variance ratio %.4f, want 1−ρ² = %.4f within 5%%", ratio, theory)
			}
			if got := 1 - meanOf(reported); math.Abs(got/theory-1) > 0.05 {
				t.Errorf("reported 1 − reduction %.4f, want %.4f within 5%%", got, theory)
			}
			// Bias: the mean estimate within 4 standard errors of the effect.
			if se := math.Sqrt(varianceOf(adj) / runs); math.Abs(meanOf(adj)-effect) > 4*se {
				t.Errorf("mean adjusted estimate %.5f, effect %.2f (se %.5f)", meanOf(adj), effect, se)
			}
		})
	}
}

func meanOf(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func varianceOf(xs []float64) float64 {
	m, s := meanOf(xs), 0.0
	for _, x := range xs {
		s += (x - m) * (x - m)
	}
	return s / float64(len(xs)-1)
}
