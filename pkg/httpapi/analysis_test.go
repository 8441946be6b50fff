package httpapi_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/analysis"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stats"
)

// analysedResults is the body of GET /v1/experiments/{id}/results.
type analysedResults struct {
	refx.Results
	Analysis analysis.Analysis `json:"analysis"`
}

func (a *api) results(path string) analysedResults {
	a.tb.Helper()
	res := a.mustDo("GET", path, "", true, http.StatusOK)
	var out analysedResults
	if err := json.Unmarshal([]byte(res.Raw), &out); err != nil {
		a.tb.Fatalf("GET %s: %v: %s", path, err, res.Raw)
	}
	return out
}

// seedCounts enrols users u0..u<n-1> in cta-test and sends their events:
// every third signs up, every fourth buys once (value 10 + i%7), and every
// eighth buys again, so that value_sum_sq (Σ over events of value²) differs
// from value_participant_sum_sq (Σ over users of (their total value)²). It
// returns each user's variant.
func (a *api) seedCounts(n int) map[string]string {
	a.tb.Helper()
	variants := map[string]string{}
	var events []string
	for i := range n {
		user := fmt.Sprintf("u%d", i)
		as := a.mustDo("POST", "/v1/assign", `{"experiment":"cta-test","user":"`+user+`"}`, false, http.StatusOK)
		variants[user] = as.Body["variant"].(string)
		if i%3 == 0 {
			events = append(events, fmt.Sprintf(`{"id":"00000000-0000-4000-8000-%012d","type":"signup","user":"%s"}`, i, user))
		}
		if i%4 == 0 {
			events = append(events, fmt.Sprintf(`{"id":"00000000-0000-4000-9000-%012d","type":"purchase","user":"%s","value":%d}`, i, user, 10+i%7))
		}
		if i%8 == 0 {
			events = append(events, fmt.Sprintf(`{"id":"00000000-0000-4000-a000-%012d","type":"purchase","user":"%s","value":2.5}`, i, user))
		}
	}
	for len(events) > 0 {
		batch := events[:min(25, len(events))]
		events = events[len(batch):]
		a.mustDo("POST", "/v1/events:batch", `{"events":[`+strings.Join(batch, ",")+`]}`, false, http.StatusOK)
	}
	return variants
}

// expectedCounts computes what seedCounts recorded, per variant, from each
// user's own purchases.
func expectedCounts(n int, variants map[string]string) map[string]refx.VariantResults {
	out := map[string]refx.VariantResults{}
	type sums struct {
		users, events          int64
		sum, sq, participantSq float64
	}
	acc := map[string]map[string]*sums{}
	for i := range n {
		v := variants[fmt.Sprintf("u%d", i)]
		if acc[v] == nil {
			acc[v] = map[string]*sums{"signup": {}, "purchase": {}}
		}
		vr := out[v]
		vr.Participants++
		out[v] = vr
		if i%3 == 0 {
			acc[v]["signup"].users++
			acc[v]["signup"].events++
		}
		var values []float64 // the user's purchases
		if i%4 == 0 {
			values = append(values, float64(10+i%7))
		}
		if i%8 == 0 {
			values = append(values, 2.5)
		}
		p, total := acc[v]["purchase"], 0.0
		for _, x := range values {
			p.events++
			p.sum += x
			p.sq += x * x
			total += x
		}
		if len(values) > 0 {
			p.users++
		}
		p.participantSq += total * total
	}
	for v, gs := range acc {
		vr := out[v]
		vr.Key = v
		vr.Goals = map[string]refx.GoalCounts{}
		for g, s := range gs {
			vr.Goals[g] = refx.GoalCounts{
				Users: s.users, Events: s.events,
				ValueSum: json.Number(fmt.Sprint(s.sum)), ValueSumSq: json.Number(fmt.Sprint(s.sq)),
				ValueParticipantSumSq: json.Number(fmt.Sprint(s.participantSq)),
			}
		}
		out[v] = vr
	}
	return out
}

func num(tb testing.TB, n json.Number) float64 {
	tb.Helper()
	f, err := n.Float64()
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// directAnalysis runs stats.Analyze on the counts the test expects (want,
// computed from each user's events), in the variant order of a response,
// with the metric mapping written out by hand: signup and purchase
// conversion rates per participant, and purchase value per participant
// whose Σy² is Σ over users of (their total purchase value)².
func directAnalysis(tb testing.TB, res refx.Results, want map[string]refx.VariantResults, weights map[string]float64, engine stats.Engine, alpha float64, correction stats.Correction) stats.Analysis {
	tb.Helper()
	req := stats.Request{Engine: engine, Alpha: alpha, Correction: correction, DecisionScale: stats.ScaleRelative}
	// signup, the first goal, is primary; purchase's metrics secondary.
	conv := func(goal string, role stats.Role) stats.Metric {
		return stats.Metric{Key: goal + ":conversion_rate", Name: goal + " conversion rate", Kind: stats.KindBinomial, UnitLabel: "participants", Role: role}
	}
	signup, purchase := conv("signup", stats.RolePrimary), conv("purchase", stats.RoleSecondary)
	value := stats.Metric{Key: "purchase:value_per_participant", Name: "purchase value per participant", Kind: stats.KindMean, UnitLabel: "participants", Role: stats.RoleSecondary}
	for i, rv := range res.Variants {
		if rv.Key == "control" {
			req.ControlIndex = i
		}
		v := want[rv.Key]
		req.Variants = append(req.Variants, stats.Variant{Key: v.Key, Weight: weights[v.Key], Participants: v.Participants})
		s, p := v.Goals["signup"], v.Goals["purchase"]
		signup.Stats = append(signup.Stats, stats.Stats{N: v.Participants, Sum: float64(s.Users), SumSquares: float64(s.Users)})
		purchase.Stats = append(purchase.Stats, stats.Stats{N: v.Participants, Sum: float64(p.Users), SumSquares: float64(p.Users)})
		value.Stats = append(value.Stats, stats.Stats{N: v.Participants, Sum: num(tb, p.ValueSum), SumSquares: num(tb, p.ValueParticipantSumSq)})
	}
	req.Metrics = []stats.Metric{signup, purchase, value}
	a, err := stats.Analyze(req)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func TestResultsAnalysis(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.mustDo("POST", "/v1/experiments", experimentBody, true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments/cta-test/start", "", true, http.StatusOK)
	const users = 48
	variants := a.seedCounts(users)
	want := expectedCounts(users, variants)
	weights := map[string]float64{"control": 50, "bold": 50}

	t.Run("RawCountsUnchanged", func(t *testing.T) {
		raw := a.mustDo("GET", "/v1/experiments/cta-test/results", "", true, http.StatusOK)
		keys := func(m map[string]any) []string {
			var ks []string
			for k := range m {
				ks = append(ks, k)
			}
			slices.Sort(ks)
			return ks
		}
		if got := keys(raw.Body); !slices.Equal(got, []string{"analysis", "counted_through", "experiment", "phase", "status", "variants"}) {
			t.Fatalf("top-level fields = %v", got)
		}
		for _, v := range raw.Body["variants"].([]any) {
			vm := v.(map[string]any)
			if got := keys(vm); !slices.Equal(got, []string{"goals", "key", "participants"}) {
				t.Fatalf("variant fields = %v", got)
			}
			for _, g := range vm["goals"].(map[string]any) {
				if got := keys(g.(map[string]any)); !slices.Equal(got, []string{"events", "users", "value_participant_sum_sq", "value_sum", "value_sum_sq"}) {
					t.Fatalf("goal fields = %v", got)
				}
			}
		}
		res := a.results("/v1/experiments/cta-test/results")
		if res.Experiment != "cta-test" || res.Status != refx.StatusRunning || len(res.Variants) != 2 {
			t.Fatalf("results = %+v", res.Results)
		}
		for _, v := range res.Variants {
			w := want[v.Key]
			if v.Participants != w.Participants {
				t.Errorf("%s participants = %d, want %d", v.Key, v.Participants, w.Participants)
			}
			for g, c := range v.Goals {
				wc := w.Goals[g]
				if c.Users != wc.Users || c.Events != wc.Events || num(t, c.ValueSum) != num(t, wc.ValueSum) ||
					num(t, c.ValueSumSq) != num(t, wc.ValueSumSq) || num(t, c.ValueParticipantSumSq) != num(t, wc.ValueParticipantSumSq) {
					t.Errorf("%s %s = %+v, want %+v", v.Key, g, c, wc)
				}
				if g == "purchase" && (c.Events <= c.Users || num(t, c.ValueSumSq) == num(t, c.ValueParticipantSumSq)) {
					t.Errorf("%s: no repeat purchases to tell the two sums of squares apart: %+v", v.Key, c)
				}
			}
		}
	})

	tests := []struct {
		name, query string
		engine      stats.Engine
		alpha       float64
		correction  stats.Correction
	}{
		{"Defaults", "", stats.EngineFrequentist, 0.05, stats.CorrectionHolm},
		{"FrequentistBH", "?engine=frequentist&correction=bh&alpha=0.1", stats.EngineFrequentist, 0.1, stats.CorrectionBH},
		{"Sequential", "?engine=sequential", stats.EngineSequential, 0.05, stats.CorrectionHolm},
		{"SequentialNone", "?engine=sequential&correction=none&alpha=0.01", stats.EngineSequential, 0.01, stats.CorrectionNone},
		{"Bayesian", "?engine=bayesian&alpha=0.2", stats.EngineBayesian, 0.2, stats.CorrectionHolm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := a.results("/v1/experiments/cta-test/results" + tt.query)
			direct := directAnalysis(t, res.Results, want, weights, tt.engine, tt.alpha, tt.correction)
			got := res.Analysis
			if got.Engine != tt.engine || got.Alpha != tt.alpha || got.Correction != direct.Correction || got.Control != "control" {
				t.Fatalf("analysis header = %s %g %s %s", got.Engine, got.Alpha, got.Correction, got.Control)
			}
			if !reflect.DeepEqual(got.SRM, direct.SRM) || got.SRM.PValue == nil {
				t.Fatalf("srm = %+v, want %+v", got.SRM, direct.SRM)
			}
			metrics := []analysis.Metric{got.Goals["signup"].ConversionRate, got.Goals["purchase"].ConversionRate}
			if v := got.Goals["purchase"].ValuePerParticipant; v != nil {
				metrics = append(metrics, *v)
			}
			if len(metrics) != 3 || got.Goals["signup"].ValuePerParticipant != nil || got.Referral != nil {
				t.Fatalf("analysis shape: %+v", got)
			}
			for i, m := range metrics {
				d := direct.Metrics[i]
				if !reflect.DeepEqual(m.MetricResult, d) {
					t.Fatalf("%s differs from stats.Analyze on the same counts:\n got %+v\nwant %+v", d.Key, m.MetricResult, d)
				}
				c := m.Comparisons[0]
				if c.Variant != "bold" || c.Relative.Estimate == nil {
					t.Fatalf("%s comparison = %+v", d.Key, c)
				}
				switch tt.engine {
				case stats.EngineBayesian:
					if c.ChanceToWin == nil || c.Risk == nil || c.PValue != nil {
						t.Fatalf("%s: bayesian comparison = %+v", d.Key, c)
					}
				default:
					if c.PValue == nil || c.AdjustedPValue == nil || c.ChanceToWin != nil || c.Relative.CI == nil {
						t.Fatalf("%s: %s comparison = %+v", d.Key, tt.engine, c)
					}
				}
			}
			// Every fourth user buys and every eighth buys twice: the value
			// metric's variance is still exact, from the users' totals.
			for _, m := range metrics {
				if m.Unit != analysis.UnitParticipant || m.Variance != analysis.VarianceExact || len(m.Notes) != 0 {
					t.Fatalf("%s unit %q variance %q notes %q", m.Key, m.Unit, m.Variance, m.Notes)
				}
			}
		})
	}

	t.Run("SequentialTunedAtThePlan", func(t *testing.T) {
		got := a.results("/v1/experiments/cta-test/results?engine=sequential&planned_sample_size=20000").Analysis
		if got.SequentialTuning == nil || *got.SequentialTuning != 20000 {
			t.Fatalf("sequential tuning = %v, want the planned 20000", got.SequentialTuning)
		}
		if def := a.results("/v1/experiments/cta-test/results?engine=sequential").Analysis; def.SequentialTuning == nil || *def.SequentialTuning != stats.DefaultSequentialTuning {
			t.Fatalf("sequential tuning without a plan = %v", def.SequentialTuning)
		}
	})

	t.Run("Power", func(t *testing.T) {
		res := a.results("/v1/experiments/cta-test/results")
		p := a.mustDo("GET", "/v1/experiments/cta-test/power?mde=0.1&goal=signup&power=0.9&alpha=0.1", "", true, http.StatusOK)
		var plan analysis.PowerPlan
		if err := json.Unmarshal([]byte(p.Raw), &plan); err != nil {
			t.Fatal(err)
		}
		var control, smallest int64 = 0, math.MaxInt64
		var rate float64
		for _, v := range res.Variants {
			smallest = min(smallest, v.Participants)
			if v.Key == "control" {
				control = v.Participants
				rate = float64(v.Goals["signup"].Users) / float64(v.Participants)
			}
		}
		// Holm over the primary family, signup alone × 1 variant: plan at alpha.
		direct, err := stats.Power(stats.PowerRequest{Kind: stats.KindBinomial, BaselineRate: rate, Alpha: 0.1, Power: 0.9, RelativeMDE: 0.1, UnitsPerArm: smallest})
		if err != nil {
			t.Fatal(err)
		}
		if plan.Experiment != "cta-test" || plan.Comparisons != 1 || plan.MDE != 0.1 || plan.TargetPower != 0.9 || len(plan.Metrics) != 1 {
			t.Fatalf("plan = %s", p.Raw)
		}
		m := plan.Metrics[0]
		if m.Key != "signup:conversion_rate" || m.Baseline.Source != analysis.BaselineControl || m.Baseline.Units != control ||
			*m.RequiredUnitsPerArm != *direct.RequiredUnitsPerArm || *m.AdditionalUnitsPerArm != *direct.RequiredUnitsPerArm-smallest ||
			*m.CurrentPower != *direct.Power {
			t.Fatalf("plan metric = %s, want %+v", p.Raw, direct)
		}
		all := a.mustDo("GET", "/v1/experiments/cta-test/power?mde=0.05", "", true, http.StatusOK)
		if ms := all.Body["metrics"].([]any); len(ms) != 3 {
			t.Fatalf("plan of every metric = %s", all.Raw)
		}
	})
}

func TestAnalysisBadInput(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.mustDo("POST", "/v1/experiments", experimentBody, true, http.StatusCreated)
	const results, power = "/v1/experiments/cta-test/results", "/v1/experiments/cta-test/power"
	tests := []struct {
		name, path  string
		status      int
		code, field string
	}{
		{"ResultsEngine", results + "?engine=magic", 400, "invalid_argument", "engine"},
		{"ResultsEngineCase", results + "?engine=Bayesian", 400, "invalid_argument", "engine"},
		{"ResultsAlphaZero", results + "?alpha=0", 400, "invalid_argument", "alpha"},
		{"ResultsAlphaHalf", results + "?alpha=0.5", 400, "invalid_argument", "alpha"},
		{"ResultsAlphaNegative", results + "?alpha=-0.05", 400, "invalid_argument", "alpha"},
		{"ResultsAlphaNaN", results + "?alpha=NaN", 400, "invalid_argument", "alpha"},
		{"ResultsAlphaText", results + "?alpha=five", 400, "invalid_argument", "alpha"},
		{"ResultsAlphaEmpty", results + "?alpha=", 400, "invalid_argument", "alpha"},
		{"ResultsCorrection", results + "?correction=bonferroni", 400, "invalid_argument", "correction"},
		{"ResultsPlanZero", results + "?planned_sample_size=0", 400, "invalid_argument", "planned_sample_size"},
		{"ResultsPlanFraction", results + "?planned_sample_size=1.5", 400, "invalid_argument", "planned_sample_size"},
		{"ResultsUnknownParam", results + "?engin=bayesian", 400, "invalid_argument", "engin"},
		{"ResultsRepeatedParam", results + "?engine=bayesian&engine=sequential", 400, "invalid_argument", "engine"},
		{"ResultsMalformedQuery", results + "?alpha=%zz", 400, "invalid_argument", ""},
		{"ResultsBadID", "/v1/experiments/BAD!/results", 400, "invalid_argument", "id"},
		{"ResultsMissing", "/v1/experiments/missing/results?engine=bayesian", 404, "not_found", ""},
		{"ResultsParamsBeforeLookup", "/v1/experiments/missing/results?engine=magic", 400, "invalid_argument", "engine"},
		{"PowerNoMDE", power, 400, "invalid_argument", "mde"},
		{"PowerMDEZero", power + "?mde=0", 400, "invalid_argument", "mde"},
		{"PowerMDENegative", power + "?mde=-0.1", 400, "invalid_argument", "mde"},
		{"PowerMDEInf", power + "?mde=Inf", 400, "invalid_argument", "mde"},
		{"PowerMDENaN", power + "?mde=NaN", 400, "invalid_argument", "mde"},
		{"PowerMDEText", power + "?mde=big", 400, "invalid_argument", "mde"},
		{"PowerPowerOne", power + "?mde=0.1&power=1", 400, "invalid_argument", "power"},
		{"PowerPowerZero", power + "?mde=0.1&power=0", 400, "invalid_argument", "power"},
		{"PowerAlpha", power + "?mde=0.1&alpha=0.7", 400, "invalid_argument", "alpha"},
		{"PowerEngine", power + "?mde=0.1&engine=magic", 400, "invalid_argument", "engine"},
		{"PowerCorrection", power + "?mde=0.1&correction=x", 400, "invalid_argument", "correction"},
		{"PowerBadGoal", power + "?mde=0.1&goal=no%20such", 400, "invalid_argument", "goal"},
		{"PowerUnknownGoal", power + "?mde=0.1&goal=refund", 400, "invalid_argument", "goal"},
		{"PowerUnknownParam", power + "?mde=0.1&baseline=0.2", 400, "invalid_argument", "baseline"},
		{"PowerMissing", "/v1/experiments/missing/power?mde=0.1", 404, "not_found", ""},
		{"PowerBadID", "/v1/experiments/BAD!/power?mde=0.1", 400, "invalid_argument", "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := a.do("GET", tt.path, "", true)
			if res.Status != tt.status || res.errorCode() != tt.code || res.errorField() != tt.field {
				t.Fatalf("GET %s = %d %s, want %d %s field %q", tt.path, res.Status, res.Raw, tt.status, tt.code, tt.field)
			}
		})
	}
	// A lift too small to plan for is answered, not refused, and never hangs.
	if res := a.mustDo("GET", power+"?mde=1e-300", "", true, http.StatusOK); !strings.Contains(res.Raw, `"required_units_per_arm":null`) {
		t.Fatalf("tiny mde = %s", res.Raw)
	}
	for _, path := range []string{results, power + "?mde=0.1"} {
		if res := a.do("GET", path, "", false); res.Status != http.StatusUnauthorized {
			t.Fatalf("GET %s without the key = %d", path, res.Status)
		}
	}
}

func TestAnalysisNoData(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.mustDo("POST", "/v1/experiments", experimentBody, true, http.StatusCreated)
	for _, engine := range []string{"frequentist", "sequential", "bayesian"} {
		t.Run(engine, func(t *testing.T) {
			raw := a.mustDo("GET", "/v1/experiments/cta-test/results?engine="+engine, "", true, http.StatusOK)
			if strings.Contains(raw.Raw, "NaN") || strings.Contains(raw.Raw, "Inf") {
				t.Fatalf("non-finite number in %s", raw.Raw)
			}
			res := a.results("/v1/experiments/cta-test/results?engine=" + engine)
			if res.Status != refx.StatusDraft || res.Analysis.SRM.PValue != nil || res.Analysis.SRM.Mismatch {
				t.Fatalf("srm = %+v", res.Analysis.SRM)
			}
			for goal, g := range res.Analysis.Goals {
				ms := []analysis.Metric{g.ConversionRate}
				if g.ValuePerParticipant != nil {
					ms = append(ms, *g.ValuePerParticipant)
				}
				for _, m := range ms {
					c := m.Comparisons[0]
					if c.Verdict.Code != stats.VerdictInsufficientData || c.PValue != nil || c.Relative.Estimate != nil {
						t.Fatalf("%s %s comparison = %+v", goal, m.Key, c)
					}
				}
			}
			p := a.mustDo("GET", "/v1/experiments/cta-test/power?mde=0.05&engine="+engine, "", true, http.StatusOK)
			var plan analysis.PowerPlan
			if err := json.Unmarshal([]byte(p.Raw), &plan); err != nil {
				t.Fatal(err)
			}
			for _, m := range plan.Metrics {
				switch m.Kind {
				case stats.KindBinomial:
					if m.Baseline.Source != analysis.BaselineDefault || m.RequiredUnitsPerArm == nil || m.CurrentPower != nil {
						t.Fatalf("%s plan = %s", m.Key, p.Raw)
					}
				default:
					if m.Baseline.Source != analysis.BaselineNone || m.RequiredUnitsPerArm != nil || len(m.Notes) == 0 {
						t.Fatalf("%s plan = %s", m.Key, p.Raw)
					}
				}
			}
		})
	}
}

func TestReferralAnalysis(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.mustDo("POST", "/v1/experiments", referralExperiment, true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments/give-get/start", "", true, http.StatusOK)
	// No cookie jar: every click is a new visitor.
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var events []string
	for i := range 16 {
		referrer := fmt.Sprintf("r%d", i)
		link := a.mustLink("give-get", referrer)
		code := link.Body["code"].(string)
		for range i % 4 {
			res, err := browser.Get(a.URL + "/r/" + code)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
		}
		if i%4 == 0 {
			continue // shares nothing
		}
		// One signup per code: a second from the same IP would be flagged.
		referee := "friend-of-" + referrer
		a.mustDo("POST", "/v1/referrals/"+code+"/signups", `{"referee":"`+referee+`"}`, false, http.StatusOK)
		for j := range i % 3 {
			events = append(events, fmt.Sprintf(`{"id":"00000000-0000-4000-8000-%06d%06d","type":"purchase","user":"%s","value":%d}`, i, j, referee, 5+i))
		}
	}
	a.mustDo("POST", "/v1/events:batch", `{"events":[`+strings.Join(events, ",")+`]}`, false, http.StatusOK)

	res := a.results("/v1/experiments/give-get/results")
	r := res.Analysis.Referral
	if r == nil {
		t.Fatalf("no referral analysis: %+v", res.Analysis)
	}
	req := stats.Request{Engine: stats.EngineFrequentist, Alpha: 0.05, Correction: stats.CorrectionHolm, DecisionScale: stats.ScaleRelative}
	signup := stats.Metric{Key: "signup:conversion_rate", Name: "signup conversion rate", Kind: stats.KindBinomial, UnitLabel: "participants", Role: stats.RolePrimary}
	per := func(measure, name string, kind stats.MetricKind) stats.Metric {
		return stats.Metric{Key: "referral:" + measure, Name: name, Kind: kind, UnitLabel: "referrers", Role: stats.RoleSecondary}
	}
	share := per("share_rate", "share rate", stats.KindBinomial)
	k := per("k_factor", "signups per referrer (K)", stats.KindMean)
	conv := per("conversions_per_referrer", "referee conversions per referrer", stats.KindMean)
	value := per("value_per_referrer", "referee conversion value per referrer", stats.KindMean)
	perClick := per("signups_per_click", "signups per click", stats.KindRatio)
	for i, v := range res.Variants {
		if v.Key == "control" {
			req.ControlIndex = i
		}
		req.Variants = append(req.Variants, stats.Variant{Key: v.Key, Weight: 50, Participants: v.Participants})
		c, n := v.Referral, v.Referral.Referrers
		signup.Stats = append(signup.Stats, stats.Stats{N: v.Participants, Sum: float64(v.Goals["signup"].Users), SumSquares: float64(v.Goals["signup"].Users)})
		share.Stats = append(share.Stats, stats.Stats{N: n, Sum: float64(c.SharingReferrers), SumSquares: float64(c.SharingReferrers)})
		k.Stats = append(k.Stats, stats.Stats{N: n, Sum: float64(c.Signups), SumSquares: float64(c.PerReferrer.SignupsSumSq)})
		conv.Stats = append(conv.Stats, stats.Stats{N: n, Sum: float64(c.Conversions), SumSquares: float64(c.PerReferrer.ConversionsSumSq)})
		value.Stats = append(value.Stats, stats.Stats{N: n, Sum: num(t, c.ConversionValue), SumSquares: num(t, c.PerReferrer.ValueSumSq)})
		perClick.Stats = append(perClick.Stats, stats.Stats{N: n, Sum: float64(c.Signups), SumSquares: float64(c.PerReferrer.SignupsSumSq),
			DenominatorSum: float64(c.Clicks), DenominatorSumSquares: float64(c.PerReferrer.ClicksSumSq), SumProducts: float64(c.PerReferrer.ClicksXSignups)})
	}
	req.Metrics = []stats.Metric{signup, share, k, conv, value, perClick}
	direct, err := stats.Analyze(req)
	if err != nil {
		t.Fatal(err)
	}
	got := []analysis.Metric{res.Analysis.Goals["signup"].ConversionRate, r.ShareRate, r.KFactor, r.ConversionsPerReferrer, r.ValuePerReferrer, r.SignupsPerClick}
	referrers := int64(0)
	for i, m := range got {
		if !reflect.DeepEqual(m.MetricResult, direct.Metrics[i]) {
			t.Fatalf("%s differs from stats.Analyze on the same counts:\n got %+v\nwant %+v", direct.Metrics[i].Key, m.MetricResult, direct.Metrics[i])
		}
		if i > 0 {
			if m.Unit != analysis.UnitReferrer || m.Variance != analysis.VarianceExact {
				t.Fatalf("%s unit %q variance %q", m.Key, m.Unit, m.Variance)
			}
			referrers = m.Variants[0].Units + m.Variants[1].Units
		}
	}
	if referrers != 16 || r.KFactor.Comparisons[0].PValue == nil || r.SignupsPerClick.Variants[0].Mean == nil {
		t.Fatalf("referral analysis did not use the seeded referrers: %+v", r)
	}
	p := a.mustDo("GET", "/v1/experiments/give-get/power?mde=0.2", "", true, http.StatusOK)
	if ms := p.Body["metrics"].([]any); len(ms) != 6 {
		t.Fatalf("referral plan = %s", p.Raw)
	}
}
