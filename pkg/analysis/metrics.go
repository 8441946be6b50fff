package analysis

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"

	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stats"
)

// Measures: what a metric measures. A goal has a conversion rate and, for a
// value goal, a value per participant; a referral experiment has the five
// referral measures, named like the fields of refx.ReferralRates.
const (
	MeasureConversionRate         = "conversion_rate"
	MeasureValuePerParticipant    = "value_per_participant"
	MeasureShareRate              = "share_rate"
	MeasureKFactor                = "k_factor"
	MeasureConversionsPerReferrer = "conversions_per_referrer"
	MeasureValuePerReferrer       = "value_per_referrer"
	MeasureSignupsPerClick        = "signups_per_click"
	// MeasureRatio is a ratio metric's: Σ numerator / Σ denominator.
	MeasureRatio = "ratio"
)

// Units: what one observation of a metric is.
const (
	UnitParticipant = "participant"
	UnitReferrer    = "referrer"
)

// VarianceExact is the Variance label of a metric whose variance comes from
// exact sufficient statistics: every metric today (see the package
// documentation). The label stays in the API so that a metric whose variance
// is only approximate could be told apart, should one be added.
const VarianceExact = "exact"

// referralKeyPrefix prefixes the keys of referral metrics. Goal keys cannot
// contain ':', so metric keys never collide.
const referralKeyPrefix = "referral"

// ratioCountersMissing is the note of a ratio metric whose results carry no
// sums for it: the variance of a ratio needs Σab over participants, which
// the goals' own counts cannot give.
const ratioCountersMissing = "counters not yet available: the results carry no sums of squares and products for this ratio, so it has no variance and no inference"

// spec is one metric to analyse: its identity and its per-variant
// sufficient statistics, in the order of the results' variants.
type spec struct {
	key, name, goal, measure string
	kind                     stats.MetricKind
	unit                     string
	// decision is the goal's, ratio metric's or referral metric's,
	// defaults filled in.
	decision refx.Decision
	stats    []stats.Stats
	// invalid, when set, says why the statistics cannot be analysed.
	invalid string
}

// unitLabel is the plural stats puts in "~N more <unit> per arm" sentences.
func (s spec) unitLabel() string { return s.unit + "s" }

// frame is the experiment and its counts lined up: variants in the results'
// order with their configured weights, and the control's index.
type frame struct {
	exp     *refx.Experiment
	res     *refx.Results
	keys    []string
	weights []float64
	control int
}

func newFrame(exp *refx.Experiment, res *refx.Results) (*frame, error) {
	if exp == nil || res == nil {
		return nil, errors.New("analysis: nil experiment or results")
	}
	f := &frame{exp: exp, res: res, control: -1}
	if len(res.Variants) != len(exp.Variants) {
		return nil, changedError(exp.ID)
	}
	for i, v := range res.Variants {
		cv, ok := exp.Variant(v.Key)
		if !ok {
			return nil, changedError(exp.ID)
		}
		f.keys = append(f.keys, v.Key)
		f.weights = append(f.weights, cv.Weight)
		if v.Key == exp.Control {
			f.control = i
		}
	}
	if f.control < 0 {
		return nil, changedError(exp.ID)
	}
	return f, nil
}

// changedError is the answer when the experiment read and its results do not
// describe the same variants: a draft edited between the two reads.
func changedError(id string) error {
	return refx.Errorf(refx.ECONFLICT, "experiment %s changed while its results were read: read them again", id)
}

// specs lists the experiment's metrics: each goal in the experiment's order
// (its conversion rate, then its value per participant for a value goal),
// then the referral metrics of a referral experiment.
func (f *frame) specs() []spec {
	var out []spec
	decisions, ratioDecisions := f.exp.Decisions()
	for gi, g := range f.exp.Goals {
		counts := make([]refx.GoalCounts, len(f.res.Variants))
		for i, v := range f.res.Variants {
			counts[i] = v.Goals[g.Key] // zero when absent
		}
		conv := spec{
			key: g.Key + ":" + MeasureConversionRate, name: g.Key + " conversion rate", goal: g.Key,
			measure: MeasureConversionRate, kind: stats.KindBinomial, unit: UnitParticipant, decision: decisions[gi],
		}
		for i, c := range counts {
			n := f.res.Variants[i].Participants
			conv.stats = append(conv.stats, stats.Stats{N: n, Sum: float64(c.Users), SumSquares: float64(c.Users)})
		}
		out = append(out, conv)
		if g.Kind != refx.GoalValue {
			continue
		}
		// y is a participant's total value on the goal (0 for those
		// without a valued event): Σy = value_sum and Σy² =
		// value_participant_sum_sq, whatever the events per participant.
		value := spec{
			key: g.Key + ":" + MeasureValuePerParticipant, name: g.Key + " value per participant", goal: g.Key,
			measure: MeasureValuePerParticipant, kind: stats.KindMean, unit: UnitParticipant, decision: decisions[gi],
		}
		for i, c := range counts {
			sum, ok1 := number(c.ValueSum)
			sq, ok2 := number(c.ValueParticipantSumSq)
			if !ok1 || !ok2 {
				value.invalid = "a value sum is not a finite number"
			}
			value.stats = append(value.stats, stats.Stats{N: f.res.Variants[i].Participants, Sum: sum, SumSquares: sq})
		}
		out = append(out, value)
	}
	for i, r := range f.exp.RatioMetrics {
		out = append(out, f.ratioSpec(r, ratioDecisions[i]))
	}
	if f.exp.Referral != nil {
		out = append(out, f.referralSpecs()...)
	}
	for i := range out {
		out[i].check()
	}
	return out
}

// ratioSpec maps a ratio metric's sums to a ratio metric per participant:
// a and b are a participant's totals of the numerator and denominator
// goals (a value goal's total value, a binomial goal's number of events),
// N = participants, Σa, Σa², Σb, Σb², Σab exact from the store.
func (f *frame) ratioSpec(r refx.RatioMetric, d refx.Decision) spec {
	s := spec{
		key: r.Key + ":" + MeasureRatio, name: r.Key, measure: MeasureRatio, kind: stats.KindRatio,
		unit: UnitParticipant, decision: d,
	}
	for _, v := range f.res.Variants {
		c, ok := v.Ratios[r.Key]
		if !ok {
			s.invalid = ratioCountersMissing
		}
		var sums [5]float64
		for j, n := range []json.Number{c.NumeratorSum, c.NumeratorSumSq, c.DenominatorSum, c.DenominatorSumSq, c.SumProducts} {
			x, ok := number(n)
			if !ok && s.invalid == "" {
				s.invalid = "a ratio sum is not a finite number"
			}
			sums[j] = x
		}
		s.stats = append(s.stats, stats.Stats{
			N: v.Participants, Sum: sums[0], SumSquares: sums[1],
			DenominatorSum: sums[2], DenominatorSumSquares: sums[3], SumProducts: sums[4],
		})
	}
	return s
}

// referralSpecs maps the referral counts to per-referrer metrics.
func (f *frame) referralSpecs() []spec {
	mk := func(measure, name string, kind stats.MetricKind) spec {
		return spec{
			key: referralKeyPrefix + ":" + measure, name: name, measure: measure,
			kind: kind, unit: UnitReferrer, decision: f.exp.ReferralDecision(measure),
		}
	}
	share := mk(MeasureShareRate, "share rate", stats.KindBinomial)
	k := mk(MeasureKFactor, "signups per referrer (K)", stats.KindMean)
	conv := mk(MeasureConversionsPerReferrer, "referee conversions per referrer", stats.KindMean)
	value := mk(MeasureValuePerReferrer, "referee conversion value per referrer", stats.KindMean)
	perClick := mk(MeasureSignupsPerClick, "signups per click", stats.KindRatio)
	for _, v := range f.res.Variants {
		var c refx.ReferralCounts
		if v.Referral != nil {
			c = *v.Referral
		}
		n := c.Referrers
		share.stats = append(share.stats, stats.Stats{N: n, Sum: float64(c.SharingReferrers), SumSquares: float64(c.SharingReferrers)})
		k.stats = append(k.stats, stats.Stats{N: n, Sum: float64(c.Signups), SumSquares: float64(c.PerReferrer.SignupsSumSq)})
		conv.stats = append(conv.stats, stats.Stats{N: n, Sum: float64(c.Conversions), SumSquares: float64(c.PerReferrer.ConversionsSumSq)})
		sum, ok1 := number(c.ConversionValue)
		sq, ok2 := number(c.PerReferrer.ValueSumSq)
		if !ok1 || !ok2 {
			value.invalid = "a value sum is not a finite number"
		}
		value.stats = append(value.stats, stats.Stats{N: n, Sum: sum, SumSquares: sq})
		perClick.stats = append(perClick.stats, stats.Stats{
			N: n, Sum: float64(c.Signups), SumSquares: float64(c.PerReferrer.SignupsSumSq),
			DenominatorSum: float64(c.Clicks), DenominatorSumSquares: float64(c.PerReferrer.ClicksSumSq),
			SumProducts: float64(c.PerReferrer.ClicksXSignups),
		})
	}
	return []spec{share, k, conv, value, perClick}
}

// check marks the spec invalid when stats would refuse its statistics, so
// that one inconsistent metric costs its own inference, not the analysis.
func (s *spec) check() {
	if s.invalid != "" {
		return
	}
	for _, st := range s.stats {
		if _, err := stats.MomentsOf(s.kind, st); errors.Is(err, stats.ErrInvalidStats) {
			s.invalid = "the counts are inconsistent: a sum of squares is smaller than its sum allows, or more units converted than exist"
			return
		}
	}
}

// number parses an exact decimal into the nearest float64.
func number(n json.Number) (float64, bool) {
	if n == "" {
		return 0, true
	}
	x, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false
	}
	return x, true
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// opt returns &x, or nil when x is not finite: JSON has no NaN or Inf.
func opt(x float64) *float64 {
	if !finite(x) {
		return nil
	}
	return &x
}
