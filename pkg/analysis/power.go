package analysis

import (
	"fmt"
	"math"

	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stats"
)

// DefaultBaselineRate is the control conversion rate a plan assumes for a
// binomial metric when no variant has data to estimate it. It is a
// placeholder: the units needed for a relative lift grow roughly as (1−p)/p.
const DefaultBaselineRate = 0.10

// Baseline sources.
const (
	BaselineControl = "control" // the control's own counts
	BaselinePooled  = "pooled"  // every variant's counts together (the control alone has too few)
	BaselineDefault = "default" // DefaultBaselineRate (binomial metrics without any data)
	BaselineNone    = "none"    // no estimate: nothing is planned for the metric
)

// PowerOptions describe a plan: the relative lift to detect (MDE > 0), the
// target power (0 means stats.DefaultTargetPower), and optionally one goal
// whose metrics to plan (all metrics when empty).
type PowerOptions struct {
	Options
	MDE   float64
	Power float64
	Goal  string
}

// PowerPlan says how many units each variant needs to detect a relative lift
// on each metric, and how many more it needs than it has.
type PowerPlan struct {
	Experiment string           `json:"experiment"`
	Status     refx.Status      `json:"status"`
	Engine     stats.Engine     `json:"engine"`
	Alpha      float64          `json:"alpha"`
	Correction stats.Correction `json:"correction"`
	// Comparisons is the size of the primary metrics' family, the one the
	// decision is made on: every primary metric times every variant with
	// positive weight other than the control (1 without a correction).
	// Each metric is planned in its own role's family (MetricPlan).
	Comparisons int `json:"comparisons"`
	// AlphaPerComparison is Alpha / Comparisons.
	AlphaPerComparison float64      `json:"alpha_per_comparison"`
	TargetPower        float64      `json:"target_power"`
	MDE                float64      `json:"mde"`
	Metrics            []MetricPlan `json:"metrics"`
	Notes              []string     `json:"notes"`
}

// MetricPlan is the plan of one metric.
type MetricPlan struct {
	Key     string           `json:"key"`
	Name    string           `json:"name"`
	Goal    string           `json:"goal,omitempty"`
	Measure string           `json:"measure"`
	Kind    stats.MetricKind `json:"kind"`
	// Role is the metric's; the correction divides alpha within the role's
	// family, Comparisons metrics × treatments, so the metric is planned
	// at AlphaPerComparison.
	Role               refx.Role `json:"role"`
	Comparisons        int       `json:"comparisons"`
	AlphaPerComparison float64   `json:"alpha_per_comparison"`
	Unit               string    `json:"unit"`
	Variance           string    `json:"variance"` // as Metric.Variance
	Baseline           Baseline  `json:"baseline"`
	// AbsoluteMDE is MDE times the baseline mean.
	AbsoluteMDE *float64 `json:"absolute_mde"`
	// RequiredUnitsPerArm is the units each of the control and a variant
	// need to detect MDE with the target power.
	RequiredUnitsPerArm *int64    `json:"required_units_per_arm"`
	Variants            []ArmPlan `json:"variants"`
	// AdditionalUnitsPerArm is RequiredUnitsPerArm minus the units of the
	// smallest planned arm (0 when every arm has enough).
	AdditionalUnitsPerArm *int64 `json:"additional_units_per_arm"`
	// AdditionalUnitsTotal is how many more units the experiment must
	// enrol, split by the weights, for every planned arm to reach
	// RequiredUnitsPerArm.
	AdditionalUnitsTotal *int64 `json:"additional_units_total"`
	// CurrentPower is the power to detect MDE with the smallest planned
	// arm's units in every arm; CurrentMDE is the relative lift detectable
	// with the target power at that size.
	CurrentPower *float64 `json:"current_power"`
	CurrentMDE   *float64 `json:"current_mde"`
	Notes        []string `json:"notes"`
}

// Baseline is the control mean and per-unit standard deviation a plan
// assumes.
type Baseline struct {
	Source string   `json:"source"`
	Units  int64    `json:"units"`
	Mean   *float64 `json:"mean"`
	StdDev *float64 `json:"std_dev"`
}

// ArmPlan is one variant's units against the requirement. Variants with zero
// weight get no traffic and are not planned (AdditionalUnits nil).
type ArmPlan struct {
	Variant         string  `json:"variant"`
	Weight          float64 `json:"weight"`
	Units           int64   `json:"units"`
	AdditionalUnits *int64  `json:"additional_units"`
}

// Power plans exp from its counts res. EINVALID with field "goal" when
// opts.Goal is not a goal of exp; ECONFLICT as for Analyze.
func Power(exp *refx.Experiment, res *refx.Results, opts PowerOptions) (*PowerPlan, error) {
	o := opts.Options.withDefaults()
	target := opts.Power
	if target == 0 {
		target = stats.DefaultTargetPower
	}
	f, err := newFrame(exp, res)
	if err != nil {
		return nil, err
	}
	if opts.Goal != "" {
		if _, ok := exp.Goal(opts.Goal); !ok {
			return nil, refx.FieldErrorf("goal", "must be a goal of experiment %s", exp.ID)
		}
	}
	specs := f.specs()
	plan := &PowerPlan{
		Experiment: exp.ID, Status: res.Status, Engine: o.Engine, Alpha: o.Alpha, Correction: o.Correction,
		Comparisons: 1, TargetPower: target, MDE: opts.MDE, Metrics: []MetricPlan{}, Notes: []string{},
	}
	treatments := 0
	for i, w := range f.weights {
		if i != f.control && w > 0 {
			treatments++
		}
	}
	// Holm's first step and Benjamini–Hochberg with one true effect both
	// reject at alpha/m, m the family's size: the level to plan one effect
	// for. stats corrects each role as its own family, every engine alike.
	family := func(refx.Role) int { return 1 }
	if o.Correction != stats.CorrectionNone {
		metrics := map[refx.Role]int{}
		for _, s := range specs {
			metrics[s.decision.Role]++
		}
		family = func(r refx.Role) int { return max(1, metrics[r]*treatments) }
	}
	plan.Comparisons = family(refx.RolePrimary)
	plan.AlphaPerComparison = o.Alpha / float64(plan.Comparisons)
	if f.weights[f.control] <= 0 || treatments == 0 {
		plan.Notes = append(plan.Notes, "the control or every other variant has zero weight: no comparison gets traffic")
	}
	for _, s := range specs {
		if opts.Goal != "" && s.goal != opts.Goal {
			continue
		}
		plan.Metrics = append(plan.Metrics, planMetric(f, s, o, plan, family(s.decision.Role), target))
	}
	return plan, nil
}

func planMetric(f *frame, s spec, o Options, plan *PowerPlan, comparisons int, target float64) MetricPlan {
	mp := MetricPlan{
		Key: s.key, Name: s.name, Goal: s.goal, Measure: s.measure, Kind: s.kind,
		Role: s.decision.Role, Comparisons: comparisons, AlphaPerComparison: o.Alpha / float64(comparisons),
		Unit: s.unit, Variance: VarianceExact, Variants: []ArmPlan{}, Notes: []string{},
	}
	minUnits := int64(math.MaxInt64)
	for i, key := range f.keys {
		mp.Variants = append(mp.Variants, ArmPlan{Variant: key, Weight: f.weights[i], Units: s.stats[i].N})
		if planned(f, i) {
			minUnits = min(minUnits, s.stats[i].N)
		}
	}
	var m stats.Moments
	mp.Baseline, m = baselineOf(f, s)
	switch mp.Baseline.Source {
	case BaselineNone:
		note := "no baseline yet: the variants have too little data to estimate the mean and standard deviation"
		if s.invalid != "" {
			note = "no baseline: " + s.invalid
		}
		mp.Notes = append(mp.Notes, note)
		return mp
	case BaselinePooled:
		mp.Notes = append(mp.Notes, "the control has too little data: the baseline pools every variant")
	case BaselineDefault:
		mp.Notes = append(mp.Notes, fmt.Sprintf("no data yet: the baseline rate is the default %g", DefaultBaselineRate))
	}
	req := stats.PowerRequest{
		Engine: o.Engine, Alpha: mp.AlphaPerComparison, Power: target, RelativeMDE: plan.MDE,
	}
	if s.kind == stats.KindBinomial {
		req.Kind, req.BaselineRate = stats.KindBinomial, m.Mean
	} else {
		// A ratio's delta-method per-unit variance plays the part of a mean's.
		req.Kind, req.BaselineMean, req.BaselineStdDev = stats.KindMean, m.Mean, math.Sqrt(m.Variance)
	}
	if minUnits != math.MaxInt64 && minUnits > 0 {
		req.UnitsPerArm = minUnits
	}
	res, err := stats.Power(req)
	if err != nil {
		mp.Notes = append(mp.Notes, "cannot plan for this lift: "+err.Error())
		return mp
	}
	mp.AbsoluteMDE = opt(plan.MDE * math.Abs(m.Mean))
	mp.RequiredUnitsPerArm = res.RequiredUnitsPerArm
	mp.CurrentPower, mp.CurrentMDE = res.Power, res.RelativeMDE
	if req.UnitsPerArm > 0 && res.RelativeMDE == nil {
		mp.Notes = append(mp.Notes, "no lift is detectable with the target power at the current size")
	}
	required := res.RequiredUnitsPerArm
	if required == nil {
		mp.Notes = append(mp.Notes, "the lift is too small to plan for")
		return mp
	}
	var total float64
	wsum := 0.0
	for _, w := range f.weights {
		wsum += w
	}
	for i := range mp.Variants {
		if !planned(f, i) {
			continue
		}
		more := max(0, *required-mp.Variants[i].Units)
		mp.Variants[i].AdditionalUnits = &more
		total = math.Max(total, math.Ceil(float64(more)*wsum/f.weights[i]))
	}
	if minUnits != math.MaxInt64 {
		more := max(0, *required-minUnits)
		mp.AdditionalUnitsPerArm = &more
		if total < 1<<62 {
			t := int64(total)
			mp.AdditionalUnitsTotal = &t
		}
	}
	return mp
}

// planned reports whether variant i takes part in the plan: the control and
// every variant with positive weight, as long as both sides get traffic.
func planned(f *frame, i int) bool {
	return f.weights[i] > 0 && f.weights[f.control] > 0
}

// baselineOf estimates the control's mean and per-unit variance: from the
// control, else from every variant pooled, else (binomial) the default rate.
func baselineOf(f *frame, s spec) (Baseline, stats.Moments) {
	if s.invalid == "" {
		if m, ok := usable(s.kind, s.stats[f.control]); ok {
			return baselineFrom(BaselineControl, s.stats[f.control].N, m), m
		}
		var pooled stats.Stats
		for _, st := range s.stats {
			pooled.N += st.N
			pooled.Sum += st.Sum
			pooled.SumSquares += st.SumSquares
			pooled.DenominatorSum += st.DenominatorSum
			pooled.DenominatorSumSquares += st.DenominatorSumSquares
			pooled.SumProducts += st.SumProducts
		}
		if m, ok := usable(s.kind, pooled); ok {
			return baselineFrom(BaselinePooled, pooled.N, m), m
		}
	}
	if s.kind == stats.KindBinomial && s.invalid == "" {
		m := stats.Moments{Mean: DefaultBaselineRate, Variance: DefaultBaselineRate * (1 - DefaultBaselineRate)}
		return baselineFrom(BaselineDefault, 0, m), m
	}
	return Baseline{Source: BaselineNone}, stats.Moments{}
}

func baselineFrom(source string, units int64, m stats.Moments) Baseline {
	return Baseline{Source: source, Units: units, Mean: opt(m.Mean), StdDev: opt(math.Sqrt(m.Variance))}
}

// usable returns the moments of st when they can anchor a plan: a rate
// strictly between 0 and 1, or a non-zero mean with a positive variance.
func usable(kind stats.MetricKind, st stats.Stats) (stats.Moments, bool) {
	m, err := stats.MomentsOf(kind, st)
	if err != nil || !finite(m.Mean) || !finite(m.Variance) {
		return m, false
	}
	if kind == stats.KindBinomial {
		return m, m.Mean > 0 && m.Mean < 1
	}
	return m, m.Mean != 0 && m.Variance > 0
}
