package stats_test

import (
	"fmt"

	"github.com/refx-dev/refx/pkg/stats"
)

func ExampleAnalyze() {
	fivePercent := 0.05
	req := stats.Request{
		Engine:     stats.EngineFrequentist,
		Correction: stats.CorrectionHolm,
		TargetLift: &fivePercent, // "N more" is computed for a +5% relative lift
		Variants: []stats.Variant{
			{Key: "control", Weight: 1, Participants: 20000},
			{Key: "bold", Weight: 1, Participants: 20100},
			{Key: "calm", Weight: 1, Participants: 19950},
		},
		Metrics: []stats.Metric{{
			Key:  "signup",
			Kind: stats.KindBinomial,
			Stats: []stats.Stats{
				{N: 20000, Sum: 2000, SumSquares: 2000},
				{N: 20100, Sum: 2261, SumSquares: 2261},
				{N: 19950, Sum: 2010, SumSquares: 2010},
			},
		}},
	}
	a, err := stats.Analyze(req)
	if err != nil {
		panic(err)
	}
	for _, c := range a.Metrics[0].Comparisons {
		fmt.Printf("%s: %s (%s)\n", c.Variant, c.Verdict.Text, c.Verdict.Code)
	}
	// Output:
	// bold: bold beats control on signup (winner)
	// calm: no detectable difference between calm and control on signup yet, ~49,000 more participants per arm needed to detect a 5% lift (inconclusive)
}

func ExamplePower() {
	res, err := stats.Power(stats.PowerRequest{
		Kind:         stats.KindBinomial,
		BaselineRate: 0.10,
		RelativeMDE:  0.05, // detect a +5% relative lift
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(*res.RequiredUnitsPerArm)
	// Output:
	// 57760
}
