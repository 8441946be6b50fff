package analysis_test

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/analysis"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stats"
)

// MustExperiment builds a two-arm experiment measuring signup (binomial) and
// purchase (value), a referral experiment when referral is true.
func MustExperiment(tb testing.TB, referral bool) *refx.Experiment {
	tb.Helper()
	n := refx.NewExperiment{
		ID:       "cta-test",
		Variants: []refx.Variant{{Key: "control", Weight: 50}, {Key: "bold", Weight: 50}},
		Goals:    []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial}, {Key: "purchase", Kind: refx.GoalValue}},
	}
	if referral {
		n.Referral = &refx.ReferralConfig{LandingURL: "https://shop.example/welcome"}
	}
	e, err := n.Build(time.Unix(1700000000, 0))
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// goals are the counts of signup (binomial) and purchase (value): sumSq is
// Σ value² over purchases, participantSumSq Σ over participants of (their
// total purchase value)².
func goals(signupUsers, purchaseUsers, purchaseEvents int64, sum, sumSq, participantSumSq json.Number) map[string]refx.GoalCounts {
	return map[string]refx.GoalCounts{
		"signup":   {Users: signupUsers, Events: signupUsers, ValueSum: "0", ValueSumSq: "0", ValueParticipantSumSq: "0"},
		"purchase": {Users: purchaseUsers, Events: purchaseEvents, ValueSum: sum, ValueSumSq: sumSq, ValueParticipantSumSq: participantSumSq},
	}
}

// results are the counts of the example in schema/api.yaml. Some buyers
// bought twice, so Σ value² over events (value_sum_sq) is below Σ over
// participants of (their total)² (value_participant_sum_sq), which is what
// the value per participant must use.
func results() *refx.Results {
	return &refx.Results{Experiment: "cta-test", Status: refx.StatusRunning, Variants: []refx.VariantResults{
		{Key: "control", Participants: 1021, Goals: goals(97, 31, 38, "512.75", "8153.8125", "9153.8125")},
		{Key: "bold", Participants: 1003, Goals: goals(121, 42, 49, "689.5", "11203.25", "12203.25")},
	}}
}

func referralCounts(referrers, sharing, clicks, signups, conversions int64, value json.Number, per refx.PerReferrerSums) *refx.ReferralCounts {
	return &refx.ReferralCounts{
		Referrers: referrers, SharingReferrers: sharing, Clicks: clicks, Signups: signups,
		Conversions: conversions, ConversionValue: value, PerReferrer: per,
	}
}

func referralResults() *refx.Results {
	res := results()
	res.Variants[0].Referral = referralCounts(400, 160, 480, 120, 40, "1000",
		refx.PerReferrerSums{ClicksSumSq: 2000, SignupsSumSq: 240, ConversionsSumSq: 56, ValueSumSq: "36000", ClicksXSignups: 600})
	res.Variants[1].Referral = referralCounts(392, 200, 600, 180, 60, "1600",
		refx.PerReferrerSums{ClicksSumSq: 2800, SignupsSumSq: 400, ConversionsSumSq: 100, ValueSumSq: "64000", ClicksXSignups: 960})
	return res
}

// expectedMetrics is the mapping written out by hand, for results() and
// referralResults(): the value per participant's Σy² is
// value_participant_sum_sq.
func expectedMetrics(referral bool) []stats.Metric {
	ms := []stats.Metric{
		{Key: "signup:conversion_rate", Name: "signup conversion rate", Kind: stats.KindBinomial, UnitLabel: "participants", Role: stats.RolePrimary,
			Stats: []stats.Stats{{N: 1021, Sum: 97, SumSquares: 97}, {N: 1003, Sum: 121, SumSquares: 121}}},
		{Key: "purchase:conversion_rate", Name: "purchase conversion rate", Kind: stats.KindBinomial, UnitLabel: "participants", Role: stats.RoleSecondary,
			Stats: []stats.Stats{{N: 1021, Sum: 31, SumSquares: 31}, {N: 1003, Sum: 42, SumSquares: 42}}},
		{Key: "purchase:value_per_participant", Name: "purchase value per participant", Kind: stats.KindMean, UnitLabel: "participants", Role: stats.RoleSecondary,
			Stats: []stats.Stats{{N: 1021, Sum: 512.75, SumSquares: 9153.8125}, {N: 1003, Sum: 689.5, SumSquares: 12203.25}}},
	}
	if referral {
		ms = append(ms,
			stats.Metric{Key: "referral:share_rate", Name: "share rate", Kind: stats.KindBinomial, UnitLabel: "referrers", Role: stats.RoleSecondary,
				Stats: []stats.Stats{{N: 400, Sum: 160, SumSquares: 160}, {N: 392, Sum: 200, SumSquares: 200}}},
			stats.Metric{Key: "referral:k_factor", Name: "signups per referrer (K)", Kind: stats.KindMean, UnitLabel: "referrers", Role: stats.RoleSecondary,
				Stats: []stats.Stats{{N: 400, Sum: 120, SumSquares: 240}, {N: 392, Sum: 180, SumSquares: 400}}},
			stats.Metric{Key: "referral:conversions_per_referrer", Name: "referee conversions per referrer", Kind: stats.KindMean, UnitLabel: "referrers", Role: stats.RoleSecondary,
				Stats: []stats.Stats{{N: 400, Sum: 40, SumSquares: 56}, {N: 392, Sum: 60, SumSquares: 100}}},
			stats.Metric{Key: "referral:value_per_referrer", Name: "referee conversion value per referrer", Kind: stats.KindMean, UnitLabel: "referrers", Role: stats.RoleSecondary,
				Stats: []stats.Stats{{N: 400, Sum: 1000, SumSquares: 36000}, {N: 392, Sum: 1600, SumSquares: 64000}}},
			stats.Metric{Key: "referral:signups_per_click", Name: "signups per click", Kind: stats.KindRatio, UnitLabel: "referrers", Role: stats.RoleSecondary,
				Stats: []stats.Stats{
					{N: 400, Sum: 120, SumSquares: 240, DenominatorSum: 480, DenominatorSumSquares: 2000, SumProducts: 600},
					{N: 392, Sum: 180, SumSquares: 400, DenominatorSum: 600, DenominatorSumSquares: 2800, SumProducts: 960},
				}},
		)
	}
	return ms
}

// metricsOf lists the analysis's metrics in the order of expectedMetrics.
func metricsOf(a *analysis.Analysis) []analysis.Metric {
	ms := []analysis.Metric{a.Goals["signup"].ConversionRate, a.Goals["purchase"].ConversionRate}
	if v := a.Goals["purchase"].ValuePerParticipant; v != nil {
		ms = append(ms, *v)
	}
	if r := a.Referral; r != nil {
		ms = append(ms, r.ShareRate, r.KFactor, r.ConversionsPerReferrer, r.ValuePerReferrer, r.SignupsPerClick)
	}
	return ms
}

// mustJSON encodes v, failing on NaN or Inf as the API would.
func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("json: %v", err)
	}
	return string(b)
}

func TestAnalyzeMatchesStats(t *testing.T) {
	engines := []stats.Engine{stats.EngineFrequentist, stats.EngineSequential, stats.EngineBayesian}
	corrections := []stats.Correction{stats.CorrectionHolm, stats.CorrectionBH, stats.CorrectionNone}
	for _, referral := range []bool{false, true} {
		for _, engine := range engines {
			for _, correction := range corrections {
				name := string(engine) + "/" + string(correction)
				if referral {
					name += "/referral"
				}
				t.Run(name, func(t *testing.T) {
					res := results()
					if referral {
						res = referralResults()
					}
					opts := analysis.Options{Engine: engine, Alpha: 0.1, Correction: correction}
					got, err := analysis.Analyze(MustExperiment(t, referral), res, opts)
					if err != nil {
						t.Fatal(err)
					}
					want, err := stats.Analyze(stats.Request{
						Engine: engine, Alpha: 0.1, Correction: correction, DecisionScale: stats.ScaleRelative,
						Variants: []stats.Variant{{Key: "control", Weight: 50, Participants: 1021}, {Key: "bold", Weight: 50, Participants: 1003}},
						Metrics:  expectedMetrics(referral),
					})
					if err != nil {
						t.Fatal(err)
					}
					if got.Engine != want.Engine || got.Alpha != want.Alpha || got.Correction != want.Correction ||
						got.Control != "control" || !reflect.DeepEqual(got.SRM, want.SRM) || !reflect.DeepEqual(got.Notes, want.Notes) {
						t.Fatalf("header = %+v, want %+v", got, want)
					}
					ms := metricsOf(got)
					if len(ms) != len(want.Metrics) || (got.Referral != nil) != referral {
						t.Fatalf("%d metrics, referral %v; want %d", len(ms), got.Referral != nil, len(want.Metrics))
					}
					for i, m := range ms {
						if !reflect.DeepEqual(m.MetricResult, want.Metrics[i]) {
							t.Errorf("metric %s:\n got %s\nwant %s", want.Metrics[i].Key, mustJSON(t, m.MetricResult), mustJSON(t, want.Metrics[i]))
						}
						if m.Variance != analysis.VarianceExact || len(m.Notes) != 0 {
							t.Errorf("metric %s: variance %q notes %q, want exact and none", m.Key, m.Variance, m.Notes)
						}
					}
					mustJSON(t, got)
				})
			}
		}
	}
}

func TestAnalyzeDefaults(t *testing.T) {
	a, err := analysis.Analyze(MustExperiment(t, false), results(), analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Engine != stats.EngineFrequentist || a.Alpha != 0.05 || a.Correction != stats.CorrectionHolm {
		t.Fatalf("defaults = %s %g %s", a.Engine, a.Alpha, a.Correction)
	}
	if a.Referral != nil || a.Goals["signup"].ValuePerParticipant != nil || a.Goals["purchase"].ValuePerParticipant == nil {
		t.Fatalf("shape = %s", mustJSON(t, a))
	}
	if strings.Contains(mustJSON(t, a), `"referral":`) {
		t.Fatal("a non-referral analysis has a referral block")
	}
}

// purchases are the purchase counts of participants who each bought the
// values of one row (an empty row: nothing), as the store keeps them, and
// each participant's total: the y of value per participant.
func purchases(rows [][]float64) (refx.GoalCounts, []float64) {
	var c refx.GoalCounts
	var sum, sq, participantSq float64
	totals := make([]float64, len(rows))
	for i, row := range rows {
		for _, v := range row {
			c.Events++
			sum += v
			sq += v * v
			totals[i] += v
		}
		if len(row) > 0 {
			c.Users++
		}
		participantSq += totals[i] * totals[i]
	}
	d := func(x float64) json.Number { return json.Number(strconv.FormatFloat(x, 'f', -1, 64)) }
	c.ValueSum, c.ValueSumSq, c.ValueParticipantSumSq = d(sum), d(sq), d(participantSq)
	return c, totals
}

// sampleStdDev is the standard deviation of ys (n − 1), in two passes.
func sampleStdDev(ys []float64) float64 {
	var mean, ss float64
	for _, y := range ys {
		mean += y / float64(len(ys))
	}
	for _, y := range ys {
		ss += (y - mean) * (y - mean)
	}
	return math.Sqrt(ss / float64(len(ys)-1))
}

// TestValuePerParticipant: however many purchases each participant makes,
// the value per participant is the mean of their totals, with the exact
// variance of those totals, labelled exact and without notes.
func TestValuePerParticipant(t *testing.T) {
	arm := func(n, shift int) [][]float64 {
		rows := make([][]float64, n)
		for i := range rows {
			if i%4 == 0 {
				rows[i] = append(rows[i], float64(10+(i+shift)%7))
			}
			if i%8 == 0 {
				rows[i] = append(rows[i], 2.5) // a second purchase
			}
			if i%10 == 3 {
				rows[i] = append(rows[i], 20, 20, 20.25) // three purchases
			}
		}
		return rows
	}
	for _, engine := range []stats.Engine{stats.EngineFrequentist, stats.EngineSequential, stats.EngineBayesian} {
		t.Run(string(engine), func(t *testing.T) {
			res := results()
			req := stats.Request{
				Engine: engine, Alpha: 0.05, Correction: stats.CorrectionHolm, DecisionScale: stats.ScaleRelative,
				Metrics: expectedMetrics(false),
			}
			var totals [][]float64
			for i, n := range []int{200, 210} {
				c, ys := purchases(arm(n, 3*i))
				if c.Events <= c.Users || number(t, c.ValueSumSq) >= number(t, c.ValueParticipantSumSq) {
					t.Fatalf("the arm has no repeat purchases: %+v", c)
				}
				v := &res.Variants[i]
				v.Participants = int64(n)
				v.Goals = goals(0, c.Users, c.Events, c.ValueSum, c.ValueSumSq, c.ValueParticipantSumSq)
				req.Variants = append(req.Variants, stats.Variant{Key: v.Key, Weight: 50, Participants: v.Participants})
				totals = append(totals, ys)
				var sum, sumSq float64
				for _, y := range ys {
					sum += y
					sumSq += y * y
				}
				req.Metrics[0].Stats[i] = stats.Stats{N: v.Participants}
				req.Metrics[1].Stats[i] = stats.Stats{N: v.Participants, Sum: float64(c.Users), SumSquares: float64(c.Users)}
				req.Metrics[2].Stats[i] = stats.Stats{N: v.Participants, Sum: sum, SumSquares: sumSq}
			}
			a, err := analysis.Analyze(MustExperiment(t, false), res, analysis.Options{Engine: engine})
			if err != nil {
				t.Fatal(err)
			}
			want, err := stats.Analyze(req)
			if err != nil {
				t.Fatal(err)
			}
			m := a.Goals["purchase"].ValuePerParticipant
			if !reflect.DeepEqual(m.MetricResult, want.Metrics[2]) {
				t.Fatalf("value per participant:\n got %s\nwant %s", mustJSON(t, m.MetricResult), mustJSON(t, want.Metrics[2]))
			}
			if m.Variance != analysis.VarianceExact || len(m.Notes) != 0 || m.Variants[0].StdDev == nil {
				t.Fatalf("value per participant = %s", mustJSON(t, m))
			}
			for i, ys := range totals {
				if sd, want := *m.Variants[i].StdDev, sampleStdDev(ys); math.Abs(sd-want) > 1e-12*want {
					t.Errorf("%s std_dev = %v, want the totals' %v", m.Variants[i].Variant, sd, want)
				}
			}
		})
	}
}

// TestValueVarianceConsistency: Σy² is checked against (Σy)²/N on the
// participants' totals, not on the events' values.
func TestValueVarianceConsistency(t *testing.T) {
	tests := []struct {
		name         string
		control      map[string]refx.GoalCounts
		wantAnalysed bool
	}{
		// 100 participants, 20 buyers with 6 purchases of 10 each: Σv² over
		// events (12000) is below (Σv)²/N (14400), but the participants'
		// Σy² (20 × 60² = 72000) is consistent.
		{"RepeatEvents", goals(10, 20, 120, "1200", "12000", "72000"), true},
		// No data gives Σy² < (Σy)²/N: the metric is reported without
		// inference, the others analysed.
		{"Inconsistent", goals(10, 20, 120, "1200", "72000", "12000"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := results()
			res.Variants[0].Participants, res.Variants[1].Participants = 100, 100
			res.Variants[0].Goals = tt.control
			res.Variants[1].Goals = goals(12, 10, 10, "100", "1200", "1200")
			a, err := analysis.Analyze(MustExperiment(t, false), res, analysis.Options{})
			if err != nil {
				t.Fatal(err)
			}
			mustJSON(t, a)
			m := a.Goals["purchase"].ValuePerParticipant
			c := m.Comparisons[0]
			if analysed := c.Relative.StdErr != nil; analysed != tt.wantAnalysed || m.Variance != analysis.VarianceExact {
				t.Fatalf("analysed = %v, want %v: %s", analysed, tt.wantAnalysed, mustJSON(t, m))
			}
			if tt.wantAnalysed {
				if want := math.Sqrt((72000 - 1200.0*1200/100) / 99); len(m.Notes) != 0 || math.Abs(*m.Variants[0].StdDev-want) > 1e-12*want {
					t.Fatalf("analysed metric = %s", mustJSON(t, m))
				}
				return
			}
			if c.Verdict.Code != stats.VerdictInsufficientData || len(c.Notes) != 1 || len(m.Notes) != 1 ||
				c.Relative.Estimate == nil || m.Variants[0].Mean == nil {
				t.Fatalf("unanalysed metric = %s", mustJSON(t, m))
			}
			// The other metrics are still analysed, and the family
			// shrinks to them.
			if a.Goals["purchase"].ConversionRate.Comparisons[0].PValue == nil {
				t.Fatalf("conversion rate not analysed: %s", mustJSON(t, a))
			}
		})
	}
}

func TestAnalyzeDegenerate(t *testing.T) {
	empty := func() *refx.Results {
		return &refx.Results{Experiment: "cta-test", Status: refx.StatusDraft, Variants: []refx.VariantResults{
			{Key: "control", Goals: goals(0, 0, 0, "0", "0", "0"), Referral: &refx.ReferralCounts{ConversionValue: "0"}},
			{Key: "bold", Goals: goals(0, 0, 0, "0", "0", "0"), Referral: &refx.ReferralCounts{ConversionValue: "0"}},
		}}
	}
	tests := []struct {
		name   string
		mutate func(*refx.Results)
	}{
		{"NoParticipants", func(*refx.Results) {}},
		{"MissingGoalCounts", func(r *refx.Results) { r.Variants[1].Goals = nil }},
		{"MissingReferralCounts", func(r *refx.Results) { r.Variants[0].Referral = nil }},
		{"OneParticipantEach", func(r *refx.Results) {
			r.Variants[0].Participants, r.Variants[1].Participants = 1, 1
			r.Variants[1].Goals = goals(1, 1, 1, "5", "25", "25")
		}},
		{"ParticipantsOnlyInOneArm", func(r *refx.Results) { r.Variants[1].Participants = 50 }},
		{"AllConverted", func(r *refx.Results) {
			r.Variants[0].Participants, r.Variants[1].Participants = 10, 10
			r.Variants[0].Goals, r.Variants[1].Goals = goals(10, 10, 10, "100", "1000", "1000"), goals(10, 10, 10, "100", "1000", "1000")
		}},
		{"MoreUsersThanParticipants", func(r *refx.Results) { r.Variants[0].Goals = goals(3, 0, 0, "0", "0", "0") }},
		{"ClicksWithoutReferrers", func(r *refx.Results) { r.Variants[0].Referral.Clicks = 4 }},
		{"BadDecimal", func(r *refx.Results) {
			r.Variants[0].Goals["purchase"] = refx.GoalCounts{ValueSum: "x", ValueSumSq: "1e999"}
		}},
		{"BadParticipantSumSq", func(r *refx.Results) {
			r.Variants[0].Goals["purchase"] = refx.GoalCounts{ValueSum: "5", ValueSumSq: "25", ValueParticipantSumSq: "1e999"}
		}},
	}
	for _, tt := range tests {
		for _, engine := range []stats.Engine{stats.EngineFrequentist, stats.EngineSequential, stats.EngineBayesian} {
			t.Run(tt.name+"/"+string(engine), func(t *testing.T) {
				res := empty()
				tt.mutate(res)
				a, err := analysis.Analyze(MustExperiment(t, true), res, analysis.Options{Engine: engine})
				if err != nil {
					t.Fatal(err)
				}
				mustJSON(t, a)
				for _, m := range metricsOf(a) {
					if len(m.Comparisons) != 1 || m.Comparisons[0].Verdict.Code == "" || m.Notes == nil || m.Comparisons[0].Notes == nil {
						t.Fatalf("metric %s = %s", m.Key, mustJSON(t, m))
					}
				}
				p, err := analysis.Power(MustExperiment(t, true), res, analysis.PowerOptions{Options: analysis.Options{Engine: engine}, MDE: 0.05})
				if err != nil {
					t.Fatal(err)
				}
				mustJSON(t, p)
			})
		}
	}
}

func TestAnalyzeChangedExperiment(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*refx.Results)
	}{
		{"VariantRenamed", func(r *refx.Results) { r.Variants[1].Key = "calm" }},
		{"VariantAdded", func(r *refx.Results) { r.Variants = append(r.Variants, refx.VariantResults{Key: "calm"}) }},
		{"VariantRemoved", func(r *refx.Results) { r.Variants = r.Variants[1:] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := results()
			tt.mutate(res)
			if _, err := analysis.Analyze(MustExperiment(t, false), res, analysis.Options{}); refx.ErrorCode(err) != refx.ECONFLICT {
				t.Fatalf("Analyze err = %v, want conflict", err)
			}
			if _, err := analysis.Power(MustExperiment(t, false), res, analysis.PowerOptions{MDE: 0.1}); refx.ErrorCode(err) != refx.ECONFLICT {
				t.Fatalf("Power err = %v, want conflict", err)
			}
		})
	}
}

func TestSRMUsesWeights(t *testing.T) {
	exp := MustExperiment(t, false)
	exp.Variants[0].Weight, exp.Variants[1].Weight = 90, 10
	res := results() // an even split: a mismatch against 90/10
	a, err := analysis.Analyze(exp, res, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !a.SRM.Mismatch || a.SRM.Expected[0] != 0.9*2024 {
		t.Fatalf("srm = %+v", a.SRM)
	}
	for _, m := range metricsOf(a) {
		if m.Comparisons[0].Verdict.Code != stats.VerdictSRM {
			t.Fatalf("%s verdict = %+v, want srm", m.Key, m.Comparisons[0].Verdict)
		}
	}
}

func TestPower(t *testing.T) {
	plan := func(t *testing.T, res *refx.Results, referral bool, o analysis.PowerOptions) *analysis.PowerPlan {
		t.Helper()
		p, err := analysis.Power(MustExperiment(t, referral), res, o)
		if err != nil {
			t.Fatal(err)
		}
		mustJSON(t, p)
		return p
	}
	t.Run("MatchesStats", func(t *testing.T) {
		for _, engine := range []stats.Engine{stats.EngineFrequentist, stats.EngineSequential, stats.EngineBayesian} {
			// purchase (conversion and value) is secondary: its family is
			// its two metrics, for every engine; signup, primary, is alone
			// in the primary family.
			p := plan(t, results(), false, analysis.PowerOptions{Options: analysis.Options{Engine: engine, Alpha: 0.1}, MDE: 0.2, Power: 0.9, Goal: "signup"})
			if p.Comparisons != 1 || p.AlphaPerComparison != 0.1 || len(p.Metrics) != 1 || p.Metrics[0].Comparisons != 1 || p.Metrics[0].Role != refx.RolePrimary {
				t.Fatalf("%s: plan = %s", engine, mustJSON(t, p))
			}
			p = plan(t, results(), false, analysis.PowerOptions{Options: analysis.Options{Engine: engine, Alpha: 0.1}, MDE: 0.2, Power: 0.9, Goal: "purchase"})
			const comparisons = 2
			if p.Comparisons != 1 || len(p.Metrics) != 2 || p.Metrics[0].Comparisons != comparisons ||
				math.Abs(p.Metrics[0].AlphaPerComparison-0.1/comparisons) > 1e-15 || p.Metrics[0].Role != refx.RoleSecondary {
				t.Fatalf("%s: plan = %s", engine, mustJSON(t, p))
			}
			m := p.Metrics[0]
			want, err := stats.Power(stats.PowerRequest{
				Kind: stats.KindBinomial, Engine: engine, BaselineRate: 31.0 / 1021, Alpha: 0.1 / comparisons,
				Power: 0.9, RelativeMDE: 0.2, UnitsPerArm: 1003,
			})
			if err != nil {
				t.Fatal(err)
			}
			if m.Baseline.Source != analysis.BaselineControl || m.Baseline.Units != 1021 || *m.RequiredUnitsPerArm != *want.RequiredUnitsPerArm ||
				*m.CurrentPower != *want.Power || *m.CurrentMDE != *want.RelativeMDE {
				t.Fatalf("%s: metric = %s, want %s", engine, mustJSON(t, m), mustJSON(t, want))
			}
			more := *want.RequiredUnitsPerArm - 1003
			if *m.AdditionalUnitsPerArm != more || *m.Variants[1].AdditionalUnits != more ||
				*m.Variants[0].AdditionalUnits != *want.RequiredUnitsPerArm-1021 || *m.AdditionalUnitsTotal != 2*more {
				t.Fatalf("%s: additional units = %s", engine, mustJSON(t, m))
			}
		}
	})
	t.Run("AllMetrics", func(t *testing.T) {
		p := plan(t, referralResults(), true, analysis.PowerOptions{MDE: 0.1})
		// signup is the primary family; the other seven metrics, referral
		// ones included, are the secondary family.
		if len(p.Metrics) != 8 || p.Comparisons != 1 || p.Correction != stats.CorrectionHolm {
			t.Fatalf("plan = %s", mustJSON(t, p))
		}
		for i, m := range p.Metrics {
			if want := map[bool]int{true: 1, false: 7}[i == 0]; m.Comparisons != want || m.AlphaPerComparison != 0.05/float64(want) {
				t.Errorf("%s: %d comparisons, want %d", m.Key, m.Comparisons, want)
			}
			if m.RequiredUnitsPerArm == nil || m.Baseline.Source != analysis.BaselineControl {
				t.Errorf("%s: %s", m.Key, mustJSON(t, m))
			}
		}
		// The ratio metric is planned as a mean with its delta-method
		// standard deviation.
		ratio := p.Metrics[7]
		mo, _ := stats.MomentsOf(stats.KindRatio, expectedMetrics(true)[7].Stats[0])
		want, _ := stats.Power(stats.PowerRequest{Kind: stats.KindMean, BaselineMean: mo.Mean, BaselineStdDev: math.Sqrt(mo.Variance),
			Alpha: 0.05 / 7, RelativeMDE: 0.1, UnitsPerArm: 392})
		if ratio.Key != "referral:signups_per_click" || *ratio.RequiredUnitsPerArm != *want.RequiredUnitsPerArm || ratio.Unit != analysis.UnitReferrer {
			t.Fatalf("ratio = %s, want %s", mustJSON(t, ratio), mustJSON(t, want))
		}
	})
	t.Run("ValuePerParticipant", func(t *testing.T) {
		// The baseline standard deviation is that of the participants'
		// totals (value_participant_sum_sq), not of the purchases' values.
		p := plan(t, results(), false, analysis.PowerOptions{MDE: 0.2, Goal: "purchase"})
		value := p.Metrics[1]
		sd := math.Sqrt((9153.8125 - 512.75*512.75/1021) / 1020)
		want, err := stats.Power(stats.PowerRequest{Kind: stats.KindMean, BaselineMean: 512.75 / 1021, BaselineStdDev: sd,
			Alpha: 0.05 / 2, RelativeMDE: 0.2, UnitsPerArm: 1003})
		if err != nil {
			t.Fatal(err)
		}
		if value.Measure != analysis.MeasureValuePerParticipant || value.Variance != analysis.VarianceExact || len(value.Notes) != 0 ||
			math.Abs(*value.Baseline.StdDev-sd) > 1e-12*sd || *value.RequiredUnitsPerArm != *want.RequiredUnitsPerArm {
			t.Fatalf("value plan = %s, want %s", mustJSON(t, value), mustJSON(t, want))
		}
	})
	t.Run("CorrectionNone", func(t *testing.T) {
		p := plan(t, results(), false, analysis.PowerOptions{Options: analysis.Options{Correction: stats.CorrectionNone}, MDE: 0.1})
		if p.Comparisons != 1 || p.AlphaPerComparison != 0.05 {
			t.Fatalf("plan = %s", mustJSON(t, p))
		}
	})
	t.Run("Baselines", func(t *testing.T) {
		res := results()
		res.Variants[0].Participants = 0
		res.Variants[0].Goals = goals(0, 0, 0, "0", "0", "0")
		p := plan(t, res, false, analysis.PowerOptions{MDE: 0.1, Goal: "purchase"})
		if p.Metrics[0].Baseline.Source != analysis.BaselinePooled || p.Metrics[0].Baseline.Units != 1003 ||
			p.Metrics[1].Baseline.Source != analysis.BaselinePooled || *p.Metrics[0].AdditionalUnitsPerArm != *p.Metrics[0].RequiredUnitsPerArm {
			t.Fatalf("pooled = %s", mustJSON(t, p))
		}
		res.Variants[1].Participants = 0
		res.Variants[1].Goals = goals(0, 0, 0, "0", "0", "0")
		p = plan(t, res, false, analysis.PowerOptions{MDE: 0.1, Goal: "purchase"})
		conv, value := p.Metrics[0], p.Metrics[1]
		want, _ := stats.Power(stats.PowerRequest{Kind: stats.KindBinomial, BaselineRate: analysis.DefaultBaselineRate, Alpha: 0.05 / 2, RelativeMDE: 0.1})
		if conv.Baseline.Source != analysis.BaselineDefault || *conv.RequiredUnitsPerArm != *want.RequiredUnitsPerArm || conv.CurrentPower != nil {
			t.Fatalf("default = %s", mustJSON(t, conv))
		}
		if value.Baseline.Source != analysis.BaselineNone || value.RequiredUnitsPerArm != nil || len(value.Notes) == 0 {
			t.Fatalf("none = %s", mustJSON(t, value))
		}
	})
	t.Run("LiftTooLargeForRate", func(t *testing.T) {
		p := plan(t, results(), false, analysis.PowerOptions{MDE: 20, Goal: "signup"})
		if m := p.Metrics[0]; m.RequiredUnitsPerArm != nil || len(m.Notes) == 0 {
			t.Fatalf("plan = %s", mustJSON(t, m))
		}
	})
	t.Run("UnknownGoal", func(t *testing.T) {
		_, err := analysis.Power(MustExperiment(t, false), results(), analysis.PowerOptions{MDE: 0.1, Goal: "nope"})
		if refx.ErrorCode(err) != refx.EINVALID || refx.ErrorField(err) != "goal" {
			t.Fatalf("err = %v", err)
		}
	})
}

// number parses a decimal of the counts.
func number(tb testing.TB, n json.Number) float64 {
	tb.Helper()
	x, err := n.Float64()
	if err != nil {
		tb.Fatal(err)
	}
	return x
}
