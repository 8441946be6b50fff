package analysis_test

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/analysis"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stats"
)

// mustBuild builds the two-arm cta-test experiment with goals and ratios.
func mustBuild(tb testing.TB, goals []refx.Goal, ratios []refx.RatioMetric) *refx.Experiment {
	tb.Helper()
	e, err := refx.NewExperiment{
		ID:           "cta-test",
		Variants:     []refx.Variant{{Key: "control", Weight: 50}, {Key: "bold", Weight: 50}},
		Goals:        goals,
		RatioMetrics: ratios,
	}.Build(time.Unix(1700000000, 0))
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func ptr[T any](v T) *T { return &v }

// TestDecisionMapping: each goal's decision reaches stats on both of its
// metrics (role, direction as LowerIsBetter, minimum sample, one-sidedness,
// margin), and the answer says the role and direction of every metric, the
// referral metrics secondary and increasing.
func TestDecisionMapping(t *testing.T) {
	goals := []refx.Goal{
		{Key: "signup", Kind: refx.GoalBinomial, Decision: refx.Decision{OneSided: true, MinSample: 500}},
		{Key: "purchase", Kind: refx.GoalValue, Decision: refx.Decision{Role: refx.RoleGuardrail, Direction: refx.DirectionDecrease, Margin: ptr(0.05)}},
	}
	exp := mustBuild(t, goals, nil)
	exp.Referral = &refx.ReferralConfig{LandingURL: "https://shop.example/welcome"}
	for _, engine := range []stats.Engine{stats.EngineFrequentist, stats.EngineSequential, stats.EngineBayesian} {
		t.Run(string(engine), func(t *testing.T) {
			got, err := analysis.Analyze(exp, referralResults(), analysis.Options{Engine: engine})
			if err != nil {
				t.Fatal(err)
			}
			ms := expectedMetrics(true)
			ms[0].OneSided, ms[0].MinSamplePerArm = true, 500
			for i := 1; i <= 2; i++ {
				ms[i].Role, ms[i].LowerIsBetter, ms[i].NonInferiorityMargin = stats.RoleGuardrail, true, 0.05
			}
			want, err := stats.Analyze(stats.Request{
				Engine: engine, Alpha: 0.05, Correction: stats.CorrectionHolm, DecisionScale: stats.ScaleRelative,
				Variants: []stats.Variant{{Key: "control", Weight: 50, Participants: 1021}, {Key: "bold", Weight: 50, Participants: 1003}},
				Metrics:  ms,
			})
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range metricsOf(got) {
				if !reflect.DeepEqual(m.MetricResult, want.Metrics[i]) {
					t.Errorf("metric %s:\n got %s\nwant %s", ms[i].Key, mustJSON(t, m.MetricResult), mustJSON(t, want.Metrics[i]))
				}
				wantDirection, wantMin := refx.DirectionIncrease, int64(0)
				switch i {
				case 0:
					wantMin = 500
				case 1, 2:
					wantDirection = refx.DirectionDecrease
				}
				if m.Direction != wantDirection || m.MinSample != wantMin || m.Role != ms[i].Role {
					t.Errorf("metric %s: role %q direction %q min_sample %d, want %q %q %d", m.Key, m.Role, m.Direction, m.MinSample, ms[i].Role, wantDirection, wantMin)
				}
			}
		})
	}
}

// TestDecreaseGoalThatRisesLoses: a refund rate that should go down and
// rises significantly makes the variant the loser; the same counts on a
// goal that should go up make it the winner.
func TestDecreaseGoalThatRisesLoses(t *testing.T) {
	tests := []struct {
		name      string
		direction refx.Direction
		want      stats.VerdictCode
	}{
		{"Decrease", refx.DirectionDecrease, stats.VerdictLoser},
		{"Increase", refx.DirectionIncrease, stats.VerdictWinner},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp := mustBuild(t, []refx.Goal{{Key: "refund", Kind: refx.GoalBinomial, Decision: refx.Decision{Direction: tt.direction}}}, nil)
			res := &refx.Results{Experiment: "cta-test", Status: refx.StatusRunning, Variants: []refx.VariantResults{
				{Key: "control", Participants: 2000, Goals: map[string]refx.GoalCounts{"refund": {Users: 100, Events: 100}}},
				{Key: "bold", Participants: 2000, Goals: map[string]refx.GoalCounts{"refund": {Users: 180, Events: 180}}},
			}}
			a, err := analysis.Analyze(exp, res, analysis.Options{})
			if err != nil {
				t.Fatal(err)
			}
			m := a.Goals["refund"].ConversionRate
			if c := m.Comparisons[0]; c.Verdict.Code != tt.want || *c.Relative.Estimate <= 0 {
				t.Fatalf("verdict %s (lift %v), want %s: %s", c.Verdict.Code, *c.Relative.Estimate, tt.want, mustJSON(t, m))
			}
			if m.Direction != tt.direction || m.LowerIsBetter != (tt.direction == refx.DirectionDecrease) {
				t.Fatalf("direction %q lower_is_better %v", m.Direction, m.LowerIsBetter)
			}
		})
	}
}

// TestPrimaryUnchangedBySecondary: adding secondary goals and a guardrail
// leaves the primary metric's result as it was, correction included: each
// role is its own family.
func TestPrimaryUnchangedBySecondary(t *testing.T) {
	counts := func(users ...int64) map[string]refx.GoalCounts {
		keys := []string{"signup", "click", "share", "refund"}
		out := map[string]refx.GoalCounts{}
		for i, u := range users {
			out[keys[i]] = refx.GoalCounts{Users: u, Events: u}
		}
		return out
	}
	res := &refx.Results{Experiment: "cta-test", Status: refx.StatusRunning, Variants: []refx.VariantResults{
		{Key: "control", Participants: 3000, Goals: counts(300, 900, 40, 60)},
		{Key: "bold", Participants: 3000, Goals: counts(350, 960, 55, 62)},
	}}
	alone := mustBuild(t, []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial}}, nil)
	crowded := mustBuild(t, []refx.Goal{
		{Key: "signup", Kind: refx.GoalBinomial},
		{Key: "click", Kind: refx.GoalBinomial},
		{Key: "share", Kind: refx.GoalBinomial, Decision: refx.Decision{Role: refx.RoleSecondary}},
		{Key: "refund", Kind: refx.GoalBinomial, Decision: refx.Decision{Role: refx.RoleGuardrail, Direction: refx.DirectionDecrease, Margin: ptr(0.1)}},
	}, nil)
	for _, engine := range []stats.Engine{stats.EngineFrequentist, stats.EngineSequential, stats.EngineBayesian} {
		for _, correction := range []stats.Correction{stats.CorrectionHolm, stats.CorrectionBH} {
			t.Run(string(engine)+"/"+string(correction), func(t *testing.T) {
				opts := analysis.Options{Engine: engine, Correction: correction}
				a, err := analysis.Analyze(alone, res, opts)
				if err != nil {
					t.Fatal(err)
				}
				b, err := analysis.Analyze(crowded, res, opts)
				if err != nil {
					t.Fatal(err)
				}
				got, want := b.Goals["signup"].ConversionRate, a.Goals["signup"].ConversionRate
				if got.Role != stats.RolePrimary || b.Goals["click"].ConversionRate.Role != stats.RoleSecondary {
					t.Fatalf("roles %q %q, want the first goal primary and the next secondary", got.Role, b.Goals["click"].ConversionRate.Role)
				}
				if !reflect.DeepEqual(got.MetricResult, want.MetricResult) {
					t.Fatalf("the primary changed when secondaries were added:\n got %s\nwant %s", mustJSON(t, got.MetricResult), mustJSON(t, want.MetricResult))
				}
			})
		}
	}
}

// TestRatioMetric: a ratio metric is analysed from its exact sums, with
// its decision, in the same request as the goals (so in its role's
// family); results without its sums list it with its role and direction,
// its verdict insufficient_data and a note saying why, never a number that
// looks like inference. Either way the goals read as without it.
func TestRatioMetric(t *testing.T) {
	exp := mustBuild(t, []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial}, {Key: "purchase", Kind: refx.GoalValue}},
		[]refx.RatioMetric{{Key: "value_per_signup", Numerator: "purchase", Denominator: "signup",
			Decision: refx.Decision{Role: refx.RoleGuardrail, Margin: ptr(0.03)}}})
	counted := results()
	counted.Variants[0].Ratios = map[string]refx.RatioCounts{"value_per_signup": {
		NumeratorSum: "512.75", NumeratorSumSq: "9153.8125", DenominatorSum: "97", DenominatorSumSq: "97", SumProducts: "120.5"}}
	counted.Variants[1].Ratios = map[string]refx.RatioCounts{"value_per_signup": {
		NumeratorSum: "689.5", NumeratorSumSq: "12203.25", DenominatorSum: "121", DenominatorSumSq: "140", SumProducts: "200"}}
	ratio := stats.Metric{Key: "value_per_signup:ratio", Name: "value_per_signup", Kind: stats.KindRatio, UnitLabel: "participants",
		Role: stats.RoleGuardrail, NonInferiorityMargin: 0.03, Stats: []stats.Stats{
			{N: 1021, Sum: 512.75, SumSquares: 9153.8125, DenominatorSum: 97, DenominatorSumSquares: 97, SumProducts: 120.5},
			{N: 1003, Sum: 689.5, SumSquares: 12203.25, DenominatorSum: 121, DenominatorSumSquares: 140, SumProducts: 200},
		}}
	plain, err := analysis.Analyze(MustExperiment(t, false), results(), analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, engine := range []stats.Engine{stats.EngineFrequentist, stats.EngineSequential, stats.EngineBayesian} {
		t.Run("Counted/"+string(engine), func(t *testing.T) {
			a, err := analysis.Analyze(exp, counted, analysis.Options{Engine: engine})
			if err != nil {
				t.Fatal(err)
			}
			want, err := stats.Analyze(stats.Request{
				Engine: engine, Alpha: 0.05, Correction: stats.CorrectionHolm, DecisionScale: stats.ScaleRelative,
				Variants: []stats.Variant{{Key: "control", Weight: 50, Participants: 1021}, {Key: "bold", Weight: 50, Participants: 1003}},
				Metrics:  append(expectedMetrics(false), ratio),
			})
			if err != nil {
				t.Fatal(err)
			}
			m := a.RatioMetrics["value_per_signup"]
			if !reflect.DeepEqual(m.MetricResult, want.Metrics[3]) || m.Direction != refx.DirectionIncrease || len(m.Notes) != 0 {
				t.Fatalf("ratio metric:\n got %s\nwant %s", mustJSON(t, m), mustJSON(t, want.Metrics[3]))
			}
			if m.Comparisons[0].Relative.CI == nil || math.Abs(*m.Variants[0].Mean-512.75/97) > 1e-12 {
				t.Fatalf("ratio metric not analysed: %s", mustJSON(t, m))
			}
		})
	}
	t.Run("WithoutCounters", func(t *testing.T) {
		a, err := analysis.Analyze(exp, results(), analysis.Options{})
		if err != nil {
			t.Fatal(err)
		}
		m, ok := a.RatioMetrics["value_per_signup"]
		if !ok || len(a.RatioMetrics) != 1 {
			t.Fatalf("ratio metrics %s", mustJSON(t, a.RatioMetrics))
		}
		if m.Key != "value_per_signup:ratio" || m.Kind != stats.KindRatio || m.Role != stats.RoleGuardrail || m.NonInferiorityMargin != 0.03 ||
			m.Direction != refx.DirectionIncrease || len(m.Notes) != 1 || !strings.HasPrefix(m.Notes[0], "counters not yet available") || len(m.Comparisons) != 1 {
			t.Fatalf("ratio metric %s", mustJSON(t, m))
		}
		c := m.Comparisons[0]
		if c.Verdict.Code != stats.VerdictInsufficientData || c.PValue != nil || c.Relative.CI != nil || m.Variants[0].Mean != nil {
			t.Fatalf("ratio comparison %s", mustJSON(t, c))
		}
		if !reflect.DeepEqual(a.Goals, plain.Goals) {
			t.Fatalf("the ratio metric changed the goals' analysis")
		}
	})
}

// TestLegacyExperimentDecisions: an experiment stored before goals had
// roles is read with the defaults: its first goal primary.
func TestLegacyExperimentDecisions(t *testing.T) {
	exp := MustExperiment(t, false)
	for i := range exp.Goals {
		exp.Goals[i].Decision = refx.Decision{}
	}
	a, err := analysis.Analyze(exp, results(), analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r := a.Goals["signup"].ConversionRate; r.Role != stats.RolePrimary || r.Direction != refx.DirectionIncrease {
		t.Fatalf("signup role %q direction %q", r.Role, r.Direction)
	}
	if r := a.Goals["purchase"].ValuePerParticipant; r.Role != stats.RoleSecondary || r.Direction != refx.DirectionIncrease {
		t.Fatalf("purchase role %q direction %q", r.Role, r.Direction)
	}
}

// TestReferralMetricRoles: the referral metrics are secondary and
// increasing unless the referral configuration judges them; K configured
// primary is analysed as the primary, alone in its family, and the goals
// are then secondary.
func TestReferralMetricRoles(t *testing.T) {
	exp := MustExperiment(t, true)
	a, err := analysis.Analyze(exp, referralResults(), analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range metricsOf(a)[3:] {
		if m.Role != stats.RoleSecondary || m.Direction != refx.DirectionIncrease {
			t.Errorf("%s: role %q direction %q, want secondary, increase", m.Key, m.Role, m.Direction)
		}
	}
	// Built so: the goals' defaults are stored when the experiment is
	// built, and a primary stored then stays one.
	next, err := refx.NewExperiment{
		ID:       "cta-test",
		Variants: []refx.Variant{{Key: "control", Weight: 50}, {Key: "bold", Weight: 50}},
		Goals:    []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial}, {Key: "purchase", Kind: refx.GoalValue}},
		Referral: &refx.ReferralConfig{LandingURL: "https://shop.example/welcome",
			Metrics: map[string]refx.Decision{"k_factor": {Role: refx.RolePrimary, MinSample: 100}}},
	}.Build(time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	b, err := analysis.Analyze(next, referralResults(), analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k := b.Referral.KFactor
	if k.Role != stats.RolePrimary || k.MinSample != 100 || b.Goals["signup"].ConversionRate.Role != stats.RoleSecondary {
		t.Fatalf("k_factor role %q min_sample %d, signup role %q", k.Role, k.MinSample, b.Goals["signup"].ConversionRate.Role)
	}
	ms := expectedMetrics(true)
	ms[0].Role = stats.RoleSecondary
	ms[4].Role, ms[4].MinSamplePerArm = stats.RolePrimary, 100
	want, err := stats.Analyze(stats.Request{
		Engine: stats.EngineFrequentist, Alpha: 0.05, Correction: stats.CorrectionHolm, DecisionScale: stats.ScaleRelative,
		Variants: []stats.Variant{{Key: "control", Weight: 50, Participants: 1021}, {Key: "bold", Weight: 50, Participants: 1003}},
		Metrics:  ms,
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range metricsOf(b) {
		if !reflect.DeepEqual(m.MetricResult, want.Metrics[i]) {
			t.Errorf("metric %s:\n got %s\nwant %s", ms[i].Key, mustJSON(t, m.MetricResult), mustJSON(t, want.Metrics[i]))
		}
	}
}
