package analysis

import (
	"fmt"

	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stats"
)

// Defaults of Options.
const (
	DefaultEngine     = stats.EngineFrequentist
	DefaultAlpha      = stats.DefaultAlpha
	DefaultCorrection = stats.CorrectionHolm
)

// Options choose how results are read. Zero fields take the defaults:
// frequentist, alpha 0.05, Holm.
type Options struct {
	Engine     stats.Engine
	Alpha      float64
	Correction stats.Correction
	// PlannedSampleSize is the total number of units the experiment plans
	// to enrol; the sequential engine is tuned at it (stats.Request).
	PlannedSampleSize int64
}

func (o Options) withDefaults() Options {
	if o.Engine == "" {
		o.Engine = DefaultEngine
	}
	if o.Alpha == 0 {
		o.Alpha = DefaultAlpha
	}
	if o.Correction == "" {
		o.Correction = DefaultCorrection
	}
	return o
}

// Analysis is the statistical reading of an experiment's counts: every
// metric, every variant against the control.
type Analysis struct {
	// Engine, Alpha, Correction, DecisionScale, SequentialTuning and Control
	// are those of stats.Analysis.
	Engine           stats.Engine     `json:"engine"`
	Alpha            float64          `json:"alpha"`
	Correction       stats.Correction `json:"correction"`
	DecisionScale    stats.Scale      `json:"decision_scale"`
	SequentialTuning *float64         `json:"sequential_tuning"`
	Control          string           `json:"control"`
	// AATest says the experiment is an A/A test (refx.Experiment.AA): its
	// variants are identical, so every significant difference is a false
	// positive, expected in about Alpha of the comparisons.
	AATest bool `json:"aa_test,omitempty"`
	// SRM checks participants against the weights; its arrays follow the
	// order of Results.Variants.
	SRM stats.SRMResult `json:"srm"`
	// Goals holds the metrics of every goal, by goal key.
	Goals map[string]GoalAnalysis `json:"goals"`
	// RatioMetrics holds the experiment's ratio metrics, by key.
	RatioMetrics map[string]Metric `json:"ratio_metrics,omitempty"`
	// Referral holds the per-referrer metrics of a referral experiment.
	Referral *ReferralAnalysis `json:"referral,omitempty"`
	// Notes are analysis-wide remarks.
	Notes []string `json:"notes"`
}

// GoalAnalysis holds the metrics of one goal.
type GoalAnalysis struct {
	Kind refx.GoalKind `json:"kind"`
	// Cap is the goal's value cap: every value was counted within ±Cap, so
	// the value metric is that of the capped values. Nil when uncapped.
	Cap *refx.Decimal `json:"cap"`
	// ServerOnly says that only events sent with a secret key counted.
	ServerOnly     bool   `json:"server_only"`
	ConversionRate Metric `json:"conversion_rate"`
	// ValuePerParticipant is set for value goals.
	ValuePerParticipant *Metric `json:"value_per_participant,omitempty"`
}

// ReferralAnalysis holds the per-referrer metrics of a referral experiment,
// named like the fields of refx.ReferralRates.
type ReferralAnalysis struct {
	ShareRate              Metric `json:"share_rate"`
	KFactor                Metric `json:"k_factor"`
	ConversionsPerReferrer Metric `json:"conversions_per_referrer"`
	ValuePerReferrer       Metric `json:"value_per_referrer"`
	SignupsPerClick        Metric `json:"signups_per_click"`
}

// Metric is the analysis of one metric: the engine's result (key, name,
// kind, role, per-variant summaries, comparisons with the control) with the
// direction that is good, the unit it counts, whether its variance is
// exact, and notes about the mapping.
type Metric struct {
	stats.MetricResult
	Direction refx.Direction `json:"direction"`
	// MinSample is the units per arm the metric needs before a verdict
	// (0: none).
	MinSample int64  `json:"min_sample"`
	Unit      string `json:"unit"`
	// Variance is VarianceExact for every metric today; it is kept so that
	// a metric whose variance is only approximate can be labelled as such.
	Variance string   `json:"variance"`
	Notes    []string `json:"notes"`
	// CUPED is the regression-adjusted reading of a goal's metric when
	// participants sent covariates; the verdicts above stay unadjusted.
	CUPED *CUPEDMetric `json:"cuped,omitempty"`
}

// Analyze reads the counts of exp with the engine of opts. exp must be the
// experiment res was read from; ECONFLICT when their variants differ (a
// draft edited between the reads). Any other error is a bug.
func Analyze(exp *refx.Experiment, res *refx.Results, opts Options) (*Analysis, error) {
	opts = opts.withDefaults()
	f, err := newFrame(exp, res)
	if err != nil {
		return nil, err
	}
	specs := f.specs()
	req := stats.Request{
		Engine: opts.Engine, Alpha: opts.Alpha, Correction: opts.Correction,
		ControlIndex: f.control, DecisionScale: stats.ScaleRelative, PlannedSampleSize: opts.PlannedSampleSize,
	}
	for i, v := range res.Variants {
		req.Variants = append(req.Variants, stats.Variant{Key: v.Key, Weight: f.weights[i], Participants: v.Participants})
	}
	analysed := make([]int, len(specs)) // index into the stats answer, or -1
	for i, s := range specs {
		analysed[i] = -1
		if s.invalid != "" {
			continue
		}
		analysed[i] = len(req.Metrics)
		req.Metrics = append(req.Metrics, s.metric())
	}
	sa, err := stats.Analyze(req)
	if err != nil {
		return nil, fmt.Errorf("analysis.Analyze %s: %w", exp.ID, err)
	}
	out := &Analysis{
		Engine: sa.Engine, Alpha: sa.Alpha, Correction: sa.Correction, DecisionScale: sa.DecisionScale,
		SequentialTuning: sa.SequentialTuning, Control: sa.Control, AATest: exp.AA, SRM: sa.SRM,
		Goals: make(map[string]GoalAnalysis, len(exp.Goals)), Notes: sa.Notes,
	}
	metrics := make(map[string]Metric, len(specs))
	for i, s := range specs {
		m := Metric{Direction: s.decision.Direction, MinSample: s.decision.MinSample, Unit: s.unit, Variance: VarianceExact, Notes: []string{}}
		if analysed[i] >= 0 {
			m.MetricResult = sa.Metrics[analysed[i]]
		} else {
			m.MetricResult = unanalysed(f, s, sa.SRM.Mismatch, 1-sa.Alpha)
			m.Notes = []string{s.invalid}
		}
		m.CUPED = f.cuped(s, sa.Alpha)
		metrics[s.key] = m
	}
	for _, g := range exp.Goals {
		ga := GoalAnalysis{Kind: g.Kind, Cap: g.Cap, ServerOnly: g.ServerOnly, ConversionRate: metrics[g.Key+":"+MeasureConversionRate]}
		if m, ok := metrics[g.Key+":"+MeasureValuePerParticipant]; ok {
			if g.Cap != nil {
				m.Notes = append(m.Notes, fmt.Sprintf("each event's value was counted within ±%s (the goal's cap)", g.Cap))
			}
			ga.ValuePerParticipant = &m
		}
		out.Goals[g.Key] = ga
	}
	for _, r := range exp.RatioMetrics {
		if out.RatioMetrics == nil {
			out.RatioMetrics = make(map[string]Metric, len(exp.RatioMetrics))
		}
		out.RatioMetrics[r.Key] = metrics[r.Key+":"+MeasureRatio]
	}
	if exp.Referral != nil {
		r := func(measure string) Metric { return metrics[referralKeyPrefix+":"+measure] }
		out.Referral = &ReferralAnalysis{
			ShareRate: r(MeasureShareRate), KFactor: r(MeasureKFactor),
			ConversionsPerReferrer: r(MeasureConversionsPerReferrer), ValuePerReferrer: r(MeasureValuePerReferrer),
			SignupsPerClick: r(MeasureSignupsPerClick),
		}
		if g, ok := exp.Goal(exp.Referral.ConversionGoal); ok && g.Cap != nil {
			v := &out.Referral.ValuePerReferrer
			v.Notes = append(v.Notes, fmt.Sprintf("each conversion's value was counted within ±%s (the %s goal's cap)", g.Cap, g.Key))
		}
	}
	return out, nil
}

// unanalysed is the result of a metric whose counts cannot be analysed:
// the arms' counts and means, each comparison with only the observed lifts
// and the verdict "srm" or "insufficient_data", as stats gives when data
// cannot support a test.
func unanalysed(f *frame, s spec, srm bool, level float64) stats.MetricResult {
	m := s.metric()
	mr := stats.MetricResult{
		Key: s.key, Name: s.name, Kind: s.kind, LowerIsBetter: m.LowerIsBetter, Role: m.Role, NonInferiorityMargin: m.NonInferiorityMargin,
		Variants: []stats.ArmSummary{}, Comparisons: []stats.Comparison{},
	}
	means := make([]float64, len(s.stats))
	for i, st := range s.stats {
		arm := stats.ArmSummary{Variant: f.keys[i], Units: st.N}
		if finite(st.Sum) {
			arm.Sum = st.Sum
		}
		means[i] = st.Sum / float64(st.N)
		if s.kind == stats.KindRatio {
			arm.DenominatorSum = opt(st.DenominatorSum)
			means[i] = st.Sum / st.DenominatorSum
		}
		arm.Mean = opt(means[i])
		mr.Variants = append(mr.Variants, arm)
	}
	c := f.control
	for i, key := range f.keys {
		if i == c {
			continue
		}
		cmp := stats.Comparison{
			Variant: key, Control: f.keys[c], DecisionScale: stats.ScaleRelative, IntervalLevel: level,
			Notes: []string{s.invalid},
			Verdict: stats.Verdict{
				Code: stats.VerdictInsufficientData,
				Text: fmt.Sprintf("cannot compare %s with %s on %s from these counts", key, f.keys[c], s.name),
			},
		}
		if srm {
			cmp.Verdict = stats.Verdict{Code: stats.VerdictSRM, Text: "sample ratio mismatch: do not trust these results"}
		}
		cmp.Absolute.Estimate = opt(means[i] - means[c])
		if means[c] != 0 {
			cmp.Relative.Estimate = opt((means[i] - means[c]) / means[c])
		}
		mr.Comparisons = append(mr.Comparisons, cmp)
	}
	return mr
}

// metric is the stats metric of s: its statistics, judged by its decision.
func (s spec) metric() stats.Metric {
	m := stats.Metric{
		Key: s.key, Name: s.name, Kind: s.kind, UnitLabel: s.unitLabel(), Stats: s.stats,
		LowerIsBetter: s.decision.LowerIsBetter(), Role: stats.Role(s.decision.Role),
		OneSided: s.decision.OneSided, MinSamplePerArm: s.decision.MinSample,
	}
	if s.decision.Margin != nil {
		m.NonInferiorityMargin = *s.decision.Margin
	}
	return m
}
