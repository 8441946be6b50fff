package analysis_test

import (
	"testing"

	"github.com/refx-dev/refx/pkg/analysis"
	"github.com/refx-dev/refx/pkg/stats"
)

// TestExtremeOptions: levels and lifts at the edges of what the API accepts
// still give JSON-encodable answers.
func TestExtremeOptions(t *testing.T) {
	for _, engine := range []stats.Engine{stats.EngineFrequentist, stats.EngineSequential, stats.EngineBayesian} {
		for _, alpha := range []float64{1e-300, 1e-12, 0.4999999} {
			for _, mde := range []float64{1e-300, 1e-9, 0.5, 1e300} {
				opts := analysis.Options{Engine: engine, Alpha: alpha, Correction: stats.CorrectionBH}
				a, err := analysis.Analyze(MustExperiment(t, true), referralResults(), opts)
				if err != nil {
					t.Fatalf("%s alpha %g: %v", engine, alpha, err)
				}
				mustJSON(t, a)
				p, err := analysis.Power(MustExperiment(t, true), referralResults(), analysis.PowerOptions{Options: opts, MDE: mde, Power: 0.999})
				if err != nil {
					t.Fatalf("%s alpha %g mde %g: %v", engine, alpha, mde, err)
				}
				mustJSON(t, p)
			}
		}
	}
}
