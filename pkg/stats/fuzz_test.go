package stats

import (
	"encoding/json"
	"testing"
)

// FuzzAnalyze feeds arbitrary sufficient statistics to every engine: Analyze
// must either reject the request with an error or return a result that
// encodes to JSON (no NaN or ±Inf), without panicking.
func FuzzAnalyze(f *testing.F) {
	f.Add(uint8(0), uint8(0), int64(1000), 100.0, 100.0, int64(1000), 120.0, 120.0, 0.0, 0.0, 0.0, uint8(0))
	f.Add(uint8(1), uint8(1), int64(50), 150.0, 600.0, int64(60), 200.0, 900.0, 0.0, 0.0, 0.0, uint8(1))
	f.Add(uint8(2), uint8(2), int64(10), 5.0, 5.0, int64(10), 6.0, 6.0, 20.0, 50.0, 12.0, uint8(2))
	f.Add(uint8(2), uint8(0), int64(0), 0.0, 0.0, int64(1), 1.0, 1.0, 0.0, 0.0, 0.0, uint8(0))
	f.Fuzz(func(t *testing.T, engine, kind uint8, n1 int64, s1, ss1 float64, n2 int64, s2, ss2, dx, dxx, dxy float64, corr uint8) {
		engines := []Engine{EngineFrequentist, EngineSequential, EngineBayesian}
		kinds := []MetricKind{KindBinomial, KindMean, KindRatio}
		corrs := []Correction{CorrectionNone, CorrectionHolm, CorrectionBH}
		k := kinds[int(kind)%3]
		st := func(n int64, s, ss float64) Stats {
			x := Stats{N: n, Sum: s, SumSquares: ss}
			if k == KindRatio {
				x.DenominatorSum, x.DenominatorSumSquares, x.SumProducts = dx, dxx, dxy
			}
			return x
		}
		req := Request{
			Engine:     engines[int(engine)%3],
			Correction: corrs[int(corr)%3],
			Variants:   []Variant{{Key: "control", Participants: n1 % 1e12}, {Key: "bold", Participants: n2 % 1e12}, {Key: "calm", Participants: n2 % 1e12}},
			Metrics:    []Metric{{Key: "goal", Kind: k, Stats: []Stats{st(n1, s1, ss1), st(n2, s2, ss2), st(n1, s1, ss1)}}},
		}
		a, err := Analyze(req)
		if err != nil {
			return
		}
		if _, err := json.Marshal(a); err != nil {
			t.Fatalf("json: %v (%+v)", err, req.Metrics[0].Stats)
		}
	})
}
