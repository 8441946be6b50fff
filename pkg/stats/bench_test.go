package stats

import (
	"fmt"
	"testing"
)

// benchRequest builds a realistic request: 5 variants × 10 goals
// (4 binomial, 4 mean, 2 ratio) with around 20k participants per variant.
func benchRequest(engine Engine) Request {
	req := Request{Engine: engine, Correction: CorrectionHolm}
	for v := 0; v < 5; v++ {
		req.Variants = append(req.Variants, Variant{Key: fmt.Sprintf("v%d", v), Weight: 1, Participants: 20000 + int64(37*v)})
	}
	for g := 0; g < 10; g++ {
		m := Metric{Key: fmt.Sprintf("goal%d", g)}
		for v := 0; v < 5; v++ {
			n := int64(20000 + 37*v)
			fn := float64(n)
			switch {
			case g < 4:
				m.Kind = KindBinomial
				conv := float64(int64(fn * (0.02 + 0.03*float64(g)) * (1 + 0.01*float64(v))))
				m.Stats = append(m.Stats, Stats{N: n, Sum: conv, SumSquares: conv})
			case g < 8:
				m.Kind = KindMean
				mean := 3.0 * (1 + 0.01*float64(v)) * float64(g)
				sd := 10.0
				m.Stats = append(m.Stats, Stats{N: n, Sum: mean * fn, SumSquares: (sd*sd + mean*mean) * fn})
			default:
				m.Kind = KindRatio
				my, mx := 2.0*(1+0.01*float64(v)), 4.0
				vy, vx, cxy := 9.0, 16.0, 6.0
				m.Stats = append(m.Stats, Stats{N: n, Sum: my * fn, SumSquares: (vy + my*my) * fn,
					DenominatorSum: mx * fn, DenominatorSumSquares: (vx + mx*mx) * fn, SumProducts: (cxy + mx*my) * fn})
			}
		}
		req.Metrics = append(req.Metrics, m)
	}
	return req
}

func benchmarkEngine(b *testing.B, engine Engine) {
	req := benchRequest(engine)
	if _, err := Analyze(req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Analyze(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAnalyzeFrequentist analyses 5 variants × 10 goals with the frequentist engine.
func BenchmarkAnalyzeFrequentist(b *testing.B) { benchmarkEngine(b, EngineFrequentist) }

// BenchmarkAnalyzeSequential analyses 5 variants × 10 goals with the sequential engine.
func BenchmarkAnalyzeSequential(b *testing.B) { benchmarkEngine(b, EngineSequential) }

// BenchmarkAnalyzeBayesian analyses 5 variants × 10 goals with the Bayesian engine.
func BenchmarkAnalyzeBayesian(b *testing.B) { benchmarkEngine(b, EngineBayesian) }
