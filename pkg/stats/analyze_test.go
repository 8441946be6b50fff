package stats

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

var allEngines = []Engine{EngineFrequentist, EngineSequential, EngineBayesian}

func twoArm(engine Engine, kind MetricKind, c, t Stats) Request {
	return Request{Engine: engine,
		Variants: []Variant{{Key: "control", Weight: 1, Participants: c.N}, {Key: "bold", Weight: 1, Participants: t.N}},
		Metrics:  []Metric{{Key: "signup", Kind: kind, Stats: []Stats{c, t}}}}
}

func conv(n int64, c float64) Stats { return Stats{N: n, Sum: c, SumSquares: c} }

// meanStats returns sufficient statistics of n values with the given mean and standard deviation.
func meanStats(n int64, mean, sd float64) Stats {
	fn := float64(n)
	return Stats{N: n, Sum: mean * fn, SumSquares: sd*sd*(fn-1) + mean*mean*fn}
}

// checkFinite walks v and fails on any NaN or ±Inf float.
func checkFinite(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			t.Errorf("%s = %v", path, f)
		}
	case reflect.Pointer:
		if !v.IsNil() {
			checkFinite(t, path, v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			checkFinite(t, path+"."+v.Type().Field(i).Name, v.Field(i))
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			checkFinite(t, path+"[]", v.Index(i))
		}
	}
}

var validCodes = map[VerdictCode]bool{VerdictWinner: true, VerdictLoser: true, VerdictInconclusive: true, VerdictSRM: true, VerdictInsufficientData: true}

// TestAnalyzeDegenerateInputsJSON runs every engine and correction over
// degenerate inputs and requires that the analysis succeeds, contains no NaN
// or ±Inf anywhere, and encodes to JSON.
func TestAnalyzeDegenerateInputsJSON(t *testing.T) {
	type tc struct {
		name string
		req  Request
	}
	var cases []tc
	add := func(name string, kind MetricKind, c, tr Stats) {
		cases = append(cases, tc{name, twoArm("", kind, c, tr)})
	}
	add("zero participants everywhere", KindBinomial, Stats{}, Stats{})
	add("zero participants in treatment", KindBinomial, conv(1000, 100), Stats{})
	add("zero participants in control (mean)", KindMean, Stats{}, meanStats(100, 3, 1))
	add("one participant per arm (binomial)", KindBinomial, conv(1, 1), conv(1, 0))
	add("one participant per arm (mean)", KindMean, Stats{N: 1, Sum: 5, SumSquares: 25}, Stats{N: 1, Sum: 7, SumSquares: 49})
	add("0% in both arms", KindBinomial, conv(5000, 0), conv(5000, 0))
	add("100% in both arms", KindBinomial, conv(5000, 5000), conv(5000, 5000))
	add("0% versus 100%", KindBinomial, conv(5000, 0), conv(5000, 5000))
	add("control 0% (zero baseline)", KindBinomial, conv(1000, 0), conv(1000, 7))
	add("control 1 conversion (Beta shape 2)", KindBinomial, conv(1000, 1), conv(1000, 9))
	add("treatment 0%", KindBinomial, conv(1000, 12), conv(1000, 0))
	add("zero variance means", KindMean, Stats{N: 100, Sum: 300, SumSquares: 900}, Stats{N: 100, Sum: 300, SumSquares: 900})
	add("zero variance, different means", KindMean, Stats{N: 100, Sum: 300, SumSquares: 900}, Stats{N: 100, Sum: 400, SumSquares: 1600})
	add("control mean zero (mean)", KindMean, Stats{N: 100}, meanStats(100, 2, 1))
	add("negative control mean", KindMean, meanStats(100, -2, 1), meanStats(100, -1.5, 1))
	add("huge magnitudes", KindMean, Stats{N: 2, Sum: 2e150, SumSquares: 2e300}, Stats{N: 2, Sum: 3e150, SumSquares: 1e301})
	add("tiny magnitudes", KindMean, meanStats(50, 1e-300, 1e-300), meanStats(50, 2e-300, 1e-300))
	add("ratio with zero denominator", KindRatio, Stats{N: 10, Sum: 3, SumSquares: 3}, Stats{N: 10, Sum: 4, SumSquares: 4, DenominatorSum: 10, DenominatorSumSquares: 10, SumProducts: 4})
	add("ratio with constant denominator", KindRatio,
		Stats{N: 10, Sum: 5, SumSquares: 5, DenominatorSum: 10, DenominatorSumSquares: 10, SumProducts: 5},
		Stats{N: 10, Sum: 6, SumSquares: 6, DenominatorSum: 10, DenominatorSumSquares: 10, SumProducts: 6})
	add("ratio zero numerator", KindRatio,
		Stats{N: 10, DenominatorSum: 20, DenominatorSumSquares: 50},
		Stats{N: 10, Sum: 2, SumSquares: 2, DenominatorSum: 20, DenominatorSumSquares: 50, SumProducts: 5})
	cases = append(cases,
		tc{"single variant", Request{Variants: []Variant{{Key: "control", Participants: 100}},
			Metrics: []Metric{{Key: "signup", Kind: KindBinomial, Stats: []Stats{conv(100, 10)}}}}},
		tc{"no metrics, SRM only", Request{Variants: []Variant{{Key: "a", Participants: 100}, {Key: "b", Participants: 500}}}},
		tc{"participants in a zero-weight arm", Request{Variants: []Variant{{Key: "a", Weight: 1, Participants: 100}, {Key: "b", Weight: 0, Participants: 3}},
			Metrics: []Metric{{Key: "signup", Kind: KindBinomial, Stats: []Stats{conv(100, 10), conv(3, 1)}}}}},
		tc{"tiny Beta prior", Request{Variants: []Variant{{Key: "a"}, {Key: "b"}},
			Metrics: []Metric{{Key: "signup", Kind: KindBinomial, BetaPrior: &BetaPrior{Alpha: 0.5, Beta: 0.5}, Stats: []Stats{conv(40, 0), conv(40, 2)}}}}},
		tc{"informative effect prior, zero baseline", Request{Variants: []Variant{{Key: "a"}, {Key: "b"}},
			Metrics: []Metric{{Key: "rev", Kind: KindMean, EffectPrior: &EffectPrior{Mean: 0, StdDev: 0.1, Scale: ScaleRelative}, Stats: []Stats{{N: 10}, meanStats(10, 1, 1)}}}}},
	)
	for _, c := range cases {
		for _, e := range allEngines {
			for _, corr := range []Correction{CorrectionNone, CorrectionHolm, CorrectionBH} {
				for _, tl := range []*float64{nil, ptr(0.05)} {
					req := c.req
					req.Engine, req.Correction, req.TargetLift = e, corr, tl
					a, err := Analyze(req)
					if err != nil {
						t.Errorf("%s/%s/%s: %v", c.name, e, corr, err)
						continue
					}
					checkFinite(t, c.name+"/"+string(e), reflect.ValueOf(a))
					if _, err := json.Marshal(a); err != nil {
						t.Errorf("%s/%s/%s: json: %v", c.name, e, corr, err)
					}
					for _, m := range a.Metrics {
						for _, cmp := range m.Comparisons {
							if !validCodes[cmp.Verdict.Code] || cmp.Verdict.Text == "" {
								t.Errorf("%s/%s: bad verdict %+v", c.name, e, cmp.Verdict)
							}
							if cmp.Notes == nil {
								t.Errorf("%s/%s: nil notes encode as null", c.name, e)
							}
						}
					}
				}
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestAnalyzeDegenerateVerdicts(t *testing.T) {
	for _, e := range allEngines {
		a, _ := Analyze(twoArm(e, KindBinomial, conv(1000, 0), conv(1000, 0)))
		c := a.Metrics[0].Comparisons[0]
		if e == EngineBayesian {
			// Exact Beta posteriors handle 0% fine: equal posteriors, chance 0.5.
			if c.ChanceToWin == nil || math.Abs(*c.ChanceToWin-0.5) > 1e-9 || c.Verdict.Code != VerdictInconclusive {
				t.Errorf("bayes 0%% vs 0%%: %+v", c)
			}
		} else if c.Verdict.Code != VerdictInsufficientData || c.PValue != nil || c.Absolute.CI != nil {
			t.Errorf("%s 0%% vs 0%%: %+v", e, c)
		}
		if c.Absolute.Estimate == nil || *c.Absolute.Estimate != 0 || c.Relative.Estimate != nil {
			t.Errorf("%s: observed lifts %v %v", e, c.Absolute.Estimate, c.Relative.Estimate)
		}

		// Zero baseline: relative lift undefined, decisions fall back to the absolute lift.
		a, _ = Analyze(twoArm(e, KindBinomial, conv(20000, 0), conv(20000, 60)))
		c = a.Metrics[0].Comparisons[0]
		if c.DecisionScale != ScaleAbsolute || c.Relative.Estimate != nil || c.Relative.CI != nil || len(c.Notes) == 0 {
			t.Errorf("%s zero baseline: scale %s rel %v notes %v", e, c.DecisionScale, c.Relative.Estimate, c.Notes)
		}
		if c.Verdict.Code != VerdictWinner {
			t.Errorf("%s zero baseline: 60/20000 vs 0/20000 should win, got %+v", e, c.Verdict)
		}

		// No units in an arm (the metric's unit, e.g. referrers, need not be the assignment unit).
		req := twoArm(e, KindMean, meanStats(100, 1, 1), Stats{})
		req.Variants[1].Participants = 100
		a, _ = Analyze(req)
		c = a.Metrics[0].Comparisons[0]
		if c.Verdict.Code != VerdictInsufficientData || c.Absolute.Estimate != nil || a.Metrics[0].Variants[1].Mean != nil {
			t.Errorf("%s empty arm: %+v", e, c)
		}
		if !strings.HasPrefix(c.Verdict.Text, "not enough data yet to compare bold with control on signup") {
			t.Errorf("%s: text %q", e, c.Verdict.Text)
		}
	}
}

func TestAnalyzeVerdicts(t *testing.T) {
	for _, e := range allEngines {
		win, _ := Analyze(twoArm(e, KindBinomial, conv(20000, 2000), conv(20000, 2400)))
		if v := win.Metrics[0].Comparisons[0].Verdict; v.Code != VerdictWinner || v.Text != "bold beats control on signup" {
			t.Errorf("%s winner: %+v", e, v)
		}
		lose, _ := Analyze(twoArm(e, KindBinomial, conv(20000, 2400), conv(20000, 2000)))
		if v := lose.Metrics[0].Comparisons[0].Verdict; v.Code != VerdictLoser || v.Text != "control beats bold on signup" {
			t.Errorf("%s loser: %+v", e, v)
		}
		// Lower is better flips the verdict and the chance to win.
		req := twoArm(e, KindBinomial, conv(20000, 2400), conv(20000, 2000))
		req.Metrics[0].LowerIsBetter = true
		flip, _ := Analyze(req)
		c := flip.Metrics[0].Comparisons[0]
		if c.Verdict.Code != VerdictWinner {
			t.Errorf("%s lower-is-better: %+v", e, c.Verdict)
		}
		if e == EngineBayesian && (*c.ChanceToWin < 0.99 || c.Risk.Treatment > c.Risk.Control) {
			t.Errorf("lower-is-better chance %v risk %+v", *c.ChanceToWin, *c.Risk)
		}
		inc, _ := Analyze(twoArm(e, KindBinomial, conv(2000, 200), conv(2000, 210)))
		c = inc.Metrics[0].Comparisons[0]
		if c.Verdict.Code != VerdictInconclusive || c.AdditionalUnitsPerArm == nil || *c.AdditionalUnitsPerArm <= 0 {
			t.Fatalf("%s inconclusive: %+v", e, c)
		}
		if !strings.Contains(c.Verdict.Text, "no detectable difference between bold and control on signup yet, ~") ||
			!strings.HasSuffix(c.Verdict.Text, "more participants per arm needed") {
			t.Errorf("%s text: %q", e, c.Verdict.Text)
		}
		// The suggested sample has roughly the target power for the observed lift.
		n := float64(2000 + *c.AdditionalUnitsPerArm)
		design := newPowerDesign(e, 0.05, DefaultSequentialTuning)
		if p := design.power(0.005, 0.1*0.9+0.105*0.895, n); math.Abs(p-0.8) > 0.01 {
			t.Errorf("%s: power at suggested n = %.4f", e, p)
		}
		// SRM overrides everything.
		req = twoArm(e, KindBinomial, conv(20000, 2000), conv(20000, 2400))
		req.Variants[1].Participants = 21000
		srm, _ := Analyze(req)
		if v := srm.Metrics[0].Comparisons[0].Verdict; !srm.SRM.Mismatch || v.Code != VerdictSRM || v.Text != "sample ratio mismatch: do not trust these results" {
			t.Errorf("%s srm: %+v %+v", e, srm.SRM, v)
		}
	}
}

func TestAnalyzeTargetLiftAndUnitLabel(t *testing.T) {
	req := twoArm(EngineFrequentist, KindMean, meanStats(400, 10, 5), meanStats(400, 10.1, 5))
	req.TargetLift = ptr(0.05)
	req.Metrics[0].UnitLabel = "referrers"
	a, err := Analyze(req)
	if err != nil {
		t.Fatal(err)
	}
	c := a.Metrics[0].Comparisons[0]
	// Required per arm for a 0.5 absolute lift with σ² = 25 + 25: (1.96+0.8416)²·50/0.25 ≈ 1570.
	if c.AdditionalUnitsPerArm == nil || math.Abs(float64(*c.AdditionalUnitsPerArm+400)-1570) > 2 {
		t.Fatalf("additional %v", c.AdditionalUnitsPerArm)
	}
	if !strings.HasSuffix(c.Verdict.Text, "~1,200 more referrers per arm needed to detect a 5% lift") {
		t.Errorf("text %q", c.Verdict.Text)
	}
	req.Metrics[0].Stats = []Stats{meanStats(5000, 10, 5), meanStats(5000, 10.01, 5)}
	a, _ = Analyze(req)
	if c := a.Metrics[0].Comparisons[0]; *c.AdditionalUnitsPerArm != 0 || !strings.Contains(c.Verdict.Text, "already has enough referrers to detect a 5% lift") {
		t.Errorf("powered: %v %q", *c.AdditionalUnitsPerArm, c.Verdict.Text)
	}
}

// TestAnalyzeAgreesWithLowLevelTests checks that Analyze reports exactly the
// low-level test results for each engine and scale.
func TestAnalyzeAgreesWithLowLevelTests(t *testing.T) {
	cs, ts := meanStats(3000, 4, 9), meanStats(3100, 4.3, 10)
	mc, _ := MomentsOf(KindMean, cs)
	mt, _ := MomentsOf(KindMean, ts)
	for _, e := range allEngines {
		a, err := Analyze(twoArm(e, KindMean, cs, ts))
		if err != nil {
			t.Fatal(err)
		}
		c := a.Metrics[0].Comparisons[0]
		for _, s := range scales {
			l := c.Absolute
			if s == ScaleRelative {
				l = c.Relative
			}
			var est, lo, hi float64
			switch e {
			case EngineFrequentist:
				// The relative lift is the log-ratio test since issue 14
				// (GrowthBook's linear delta-method interval could cross −100%).
				r, _ := WelchTTest(mc, mt, s, 0.05)
				if s == ScaleRelative {
					r, _ = LogRatioTest(mc, mt, 0.05)
				}
				est, lo, hi = r.Estimate, r.CI.Lower, r.CI.Upper
				if *l.PValue != r.PValue {
					t.Errorf("%s %s p %v vs %v", e, s, *l.PValue, r.PValue)
				}
			case EngineSequential:
				// Likewise the sequential and Bayesian relative lifts work on the
				// log ratio since issue 14.
				r, _ := SequentialTest(mc, mt, s, 0.05, DefaultSequentialTuning)
				if s == ScaleRelative {
					r, _ = SequentialLogRatioTest(mc, mt, 0.05, DefaultSequentialTuning)
				}
				est, lo, hi = r.Estimate, r.CI.Lower, r.CI.Upper
			case EngineBayesian:
				r, _ := GaussianEffectTest(mc, mt, s, nil, 0.05)
				if s == ScaleRelative {
					r, _ = GaussianLogRatioTest(mc, mt, nil, 0.05)
				}
				est, lo, hi = r.Mean, r.CI.Lower, r.CI.Upper
				if s == ScaleRelative && *c.ChanceToWin != r.ChanceToWin {
					t.Errorf("chance %v vs %v", *c.ChanceToWin, r.ChanceToWin)
				}
			}
			if *l.Estimate != est || l.CI.Lower != lo || l.CI.Upper != hi {
				t.Errorf("%s %s: %v %+v vs %v [%v %v]", e, s, *l.Estimate, *l.CI, est, lo, hi)
			}
		}
	}
}

func TestAnalyzeCorrections(t *testing.T) {
	req := Request{Engine: EngineFrequentist,
		Variants: []Variant{{Key: "control"}, {Key: "a"}, {Key: "b"}, {Key: "c"}},
		Metrics: []Metric{
			{Key: "signup", Kind: KindBinomial, Stats: []Stats{conv(10000, 1000), conv(10000, 1080), conv(10000, 1020), conv(10000, 1130)}},
			{Key: "revenue", Kind: KindMean, Stats: []Stats{meanStats(10000, 5, 20), meanStats(10000, 5.3, 20), meanStats(10000, 5.2, 20), meanStats(10000, 4.9, 20)}},
		}}
	for _, e := range []Engine{EngineFrequentist, EngineSequential} {
		req.Engine = e
		base, _ := Analyze(req)
		var raw []float64
		for _, m := range base.Metrics {
			for _, c := range m.Comparisons {
				raw = append(raw, *c.PValue)
				if *c.AdjustedPValue != *c.PValue || c.IntervalLevel != 0.95 {
					t.Errorf("none: adjusted %v level %v", *c.AdjustedPValue, c.IntervalLevel)
				}
			}
		}
		for _, corr := range []Correction{CorrectionHolm, CorrectionBH} {
			req.Correction = corr
			a, _ := Analyze(req)
			want, _ := AdjustPValues(raw, corr)
			i := 0
			sig := 0
			for mi, m := range a.Metrics {
				for ci, c := range m.Comparisons {
					if *c.PValue != raw[i] || *c.AdjustedPValue != want[i] {
						t.Errorf("%s %s: p %v adj %v want %v", e, corr, *c.PValue, *c.AdjustedPValue, want[i])
					}
					if want[i] < 0.05 {
						sig++
					}
					b := base.Metrics[mi].Comparisons[ci]
					if !(c.Absolute.CI.Lower < b.Absolute.CI.Lower && c.Absolute.CI.Upper > b.Absolute.CI.Upper) {
						t.Errorf("%s %s: corrected interval %v not wider than %v", e, corr, *c.Absolute.CI, *b.Absolute.CI)
					}
					i++
				}
			}
			level := a.Metrics[0].Comparisons[0].IntervalLevel
			wantLevel := 1 - 0.05/6
			if corr == CorrectionBH {
				wantLevel = 1 - 0.05*float64(max(sig, 1))/6
			}
			if math.Abs(level-wantLevel) > 1e-15 {
				t.Errorf("%s %s: interval level %v want %v", e, corr, level, wantLevel)
			}
		}
		req.Correction = CorrectionNone
	}
	// The Bayesian engine applies the correction to its posterior tail
	// probabilities (TestBayesianDecisionRule checks the verdicts).
	req.Engine, req.Correction = EngineBayesian, CorrectionHolm
	a, _ := Analyze(req)
	if a.Correction != CorrectionHolm || len(a.Notes) != 0 {
		t.Errorf("bayes correction %q notes %v", a.Correction, a.Notes)
	}
}

func TestAnalyzeDeterministic(t *testing.T) {
	for _, e := range allEngines {
		req := benchRequest(e)
		a1, err := Analyze(req)
		if err != nil {
			t.Fatal(err)
		}
		b1, _ := json.Marshal(a1)
		for i := 0; i < 3; i++ {
			a2, _ := Analyze(req)
			b2, _ := json.Marshal(a2)
			if !bytes.Equal(b1, b2) {
				t.Fatalf("%s: results differ between runs", e)
			}
		}
	}
}

func TestAnalyzeJSONFieldNames(t *testing.T) {
	a, _ := Analyze(benchRequest(EngineBayesian))
	b, _ := json.Marshal(a)
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, vv := range x {
				if k != strings.ToLower(k) || strings.Contains(k, "-") {
					t.Errorf("key %q is not snake_case", k)
				}
				walk(vv)
			}
		case []any:
			for _, vv := range x {
				walk(vv)
			}
		}
	}
	walk(generic)
	for _, key := range []string{`"chance_to_win"`, `"adjusted_p_value"`, `"additional_units_per_arm"`, `"interval_level"`, `"srm"`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("missing %s", key)
		}
	}
}

func TestAnalyzeValidation(t *testing.T) {
	good := twoArm(EngineFrequentist, KindBinomial, conv(100, 10), conv(100, 12))
	bad := []struct {
		name string
		mod  func(r *Request)
	}{
		{"engine", func(r *Request) { r.Engine = "magic" }},
		{"correction", func(r *Request) { r.Correction = "sidak" }},
		{"alpha", func(r *Request) { r.Alpha = 0.7 }},
		{"scale", func(r *Request) { r.DecisionScale = "log" }},
		{"control index", func(r *Request) { r.ControlIndex = 2 }},
		{"no variants", func(r *Request) { r.Variants = nil }},
		{"duplicate key", func(r *Request) { r.Variants[1].Key = "control" }},
		{"empty key", func(r *Request) { r.Variants[1].Key = "" }},
		{"stats length", func(r *Request) { r.Metrics[0].Stats = r.Metrics[0].Stats[:1] }},
		{"conversions > n", func(r *Request) { r.Metrics[0].Stats[0].Sum = 101 }},
		{"fractional conversions", func(r *Request) { r.Metrics[0].Stats[0].Sum = 1.5 }},
		{"negative n", func(r *Request) { r.Metrics[0].Stats[0].N = -1 }},
		{"NaN sum", func(r *Request) { r.Metrics[0].Stats[0].Sum = math.NaN() }},
		{"kind", func(r *Request) { r.Metrics[0].Kind = "median" }},
		{"negative weight", func(r *Request) { r.Variants[0].Weight = -1 }},
		{"target lift", func(r *Request) { r.TargetLift = ptr(-1.0) }},
		{"target power", func(r *Request) { r.TargetPower = 1 }},
		{"tuning", func(r *Request) { r.SequentialTuning = -5 }},
		{"beta prior", func(r *Request) { r.Metrics[0].BetaPrior = &BetaPrior{Alpha: -1, Beta: 1} }},
		{"effect prior", func(r *Request) { r.Metrics[0].EffectPrior = &EffectPrior{StdDev: math.Inf(1)} }},
		{"sum of squares", func(r *Request) {
			r.Metrics[0].Kind = KindMean
			r.Metrics[0].Stats[0] = Stats{N: 10, Sum: 10, SumSquares: 5}
		}},
	}
	if _, err := Analyze(good); err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		req := twoArm(EngineFrequentist, KindBinomial, conv(100, 10), conv(100, 12))
		b.mod(&req)
		if _, err := Analyze(req); err == nil {
			t.Errorf("%s: expected an error", b.name)
		}
	}
	_, err := Analyze(twoArm(EngineFrequentist, KindMean, Stats{N: 10, Sum: 10, SumSquares: 5}, meanStats(10, 1, 1)))
	if !errors.Is(err, ErrInvalidStats) {
		t.Errorf("err %v should wrap ErrInvalidStats", err)
	}
}

func TestPowerPlanning(t *testing.T) {
	base := PowerRequest{Kind: KindBinomial, BaselineRate: 0.1, RelativeMDE: 0.1}
	f, err := Power(base)
	if err != nil {
		t.Fatal(err)
	}
	// Textbook approximation n = (z_{α/2}+z_β)²(p1q1+p2q2)/δ² = 7.8489·0.1879/0.0001 ≈ 14,748.
	if n := *f.RequiredUnitsPerArm; n < 14745 || n > 14752 {
		t.Errorf("binomial n = %d", n)
	}
	seq := base
	seq.Engine = EngineSequential
	s, _ := Power(seq)
	if *s.RequiredUnitsPerArm <= *f.RequiredUnitsPerArm {
		t.Errorf("sequential %d should need more than fixed %d", *s.RequiredUnitsPerArm, *f.RequiredUnitsPerArm)
	}
	bay := base
	bay.Engine = EngineBayesian
	b, _ := Power(bay)
	if *b.RequiredUnitsPerArm != *f.RequiredUnitsPerArm {
		t.Errorf("bayesian at alpha (chance ≥ 1−alpha/2) should equal two-sided frequentist at alpha: %d vs %d", *b.RequiredUnitsPerArm, *f.RequiredUnitsPerArm)
	}
	bonf := base
	bonf.Comparisons = 4
	bn, _ := Power(bonf)
	if bn.Alpha != 0.0125 || *bn.RequiredUnitsPerArm <= *f.RequiredUnitsPerArm {
		t.Errorf("bonferroni: %+v", bn)
	}
	// Round trip: the MDE at the required n is the requested MDE.
	rt := base
	rt.UnitsPerArm = *f.RequiredUnitsPerArm
	r, _ := Power(rt)
	if math.Abs(*r.RelativeMDE-0.1) > 1e-3 || *r.Power < 0.8 || *r.Power > 0.801 {
		t.Errorf("round trip: mde %v power %v", *r.RelativeMDE, *r.Power)
	}
	for _, badReq := range []PowerRequest{
		{Kind: KindBinomial, BaselineRate: 0, RelativeMDE: 0.1},
		{Kind: KindBinomial, BaselineRate: 0.6, RelativeMDE: 1},
		{Kind: KindMean, BaselineMean: 1, BaselineStdDev: 0, RelativeMDE: 0.1},
		{Kind: KindRatio, BaselineMean: 1, BaselineStdDev: 1, RelativeMDE: 0.1},
		{Kind: KindBinomial, BaselineRate: 0.1},
		{Kind: KindBinomial, BaselineRate: 0.1, RelativeMDE: 0.1, Alpha: 2},
	} {
		if _, err := Power(badReq); err == nil {
			t.Errorf("expected error for %+v", badReq)
		}
	}
	// Unattainable MDE: with 10 units per arm no lift up to a rate of 1 reaches 80% power at a 90% baseline.
	r, err = Power(PowerRequest{Kind: KindBinomial, BaselineRate: 0.9, UnitsPerArm: 3})
	if err != nil || r.RelativeMDE != nil {
		t.Errorf("unattainable MDE: %+v %v", r, err)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Error(err)
	}
}

func TestFormatting(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 12: "12", 1234: "1,234", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := formatCount(n); got != want {
			t.Errorf("formatCount(%d) = %q", n, got)
		}
	}
	for n, want := range map[int64]int64{7: 7, 95: 95, 123: 120, 995: 1000, 1408053: 1400000, 1450000: 1500000} {
		if got := roundSignificant(n, 2); got != want {
			t.Errorf("roundSignificant(%d) = %d want %d", n, got, want)
		}
	}
	for x, want := range map[float64]string{0.05: "5%", 0.125: "12.5%", -0.1: "-10%", 0.0001: "0.01%"} {
		if got := formatPercent(x); got != want {
			t.Errorf("formatPercent(%v) = %q", x, got)
		}
	}
}
