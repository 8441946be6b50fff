package refx

import "slices"

// Role says what a metric's result is for when an experiment is decided.
type Role string

// Metric roles.
const (
	// RolePrimary metrics are what the experiment is run to move: their
	// verdicts are the decision, corrected for multiple testing among
	// themselves only, so that adding a secondary metric cannot change them.
	RolePrimary Role = "primary"
	// RoleSecondary metrics explain the decision; they form their own
	// correction family.
	RoleSecondary Role = "secondary"
	// RoleGuardrail metrics must not get worse: each is judged by a
	// one-sided non-inferiority test against its Margin.
	RoleGuardrail Role = "guardrail"
)

// Direction says which way a metric should move.
type Direction string

// Metric directions.
const (
	DirectionIncrease Direction = "increase"
	// DirectionDecrease is for metrics that should go down (refunds, churn,
	// unsubscribes): a variant that raises them loses.
	DirectionDecrease Direction = "decrease"
)

// ReferralMetrics names the per-referrer metrics of a referral experiment,
// as ReferralRates names them: the keys of ReferralConfig.Metrics.
var ReferralMetrics = []string{"share_rate", "k_factor", "conversions_per_referrer", "value_per_referrer", "signups_per_click"}

// Limits of metric definitions.
const (
	MaxRatioMetrics = 16
	// MaxMinSample bounds Decision.MinSample: more units per arm than any
	// experiment enrols would only hide every verdict.
	MaxMinSample = 1_000_000_000
)

// Decision says how a metric's results are judged. It changes the reading
// of the counts, never the counts, so a running experiment may change it;
// each experiment version records the one its analysis used.
type Decision struct {
	// Role is primary, secondary or guardrail. Build and Apply store the
	// default of an empty role (see Experiment.Decisions).
	Role Role `json:"role,omitempty"`
	// Direction is which way is good; empty means increase.
	Direction Direction `json:"direction,omitempty"`
	// MinSample is the units each arm needs before the metric gets a
	// verdict (0: no minimum): verdicts on a handful of users, or on arms
	// whose rate is still 0% or 100%, come too easily.
	MinSample int64 `json:"min_sample,omitempty"`
	// OneSided tests only for a change in Direction: more power for a
	// question that is one-sided, and no verdict for a change the other
	// way. Guardrails are one-sided whatever it says.
	OneSided bool `json:"one_sided,omitempty"`
	// Margin, required on a guardrail and refused elsewhere, is the
	// relative worsening the guardrail tolerates (0.02: a variant may be
	// up to 2% worse than the control). There is no default: what loss is
	// acceptable is a business decision, and a silent default would make
	// it for the team.
	Margin *float64 `json:"margin,omitempty"`
}

// validate checks d, the decision of the goal or ratio metric key, whose
// errors name field.
func (d Decision) validate(field, key string) error {
	switch {
	case d.Role != "" && d.Role != RolePrimary && d.Role != RoleSecondary && d.Role != RoleGuardrail:
		return FieldErrorf(field, "role of %q must be %q, %q or %q", key, RolePrimary, RoleSecondary, RoleGuardrail)
	case d.Direction != "" && d.Direction != DirectionIncrease && d.Direction != DirectionDecrease:
		return FieldErrorf(field, "direction of %q must be %q or %q", key, DirectionIncrease, DirectionDecrease)
	case d.MinSample < 0 || d.MinSample > MaxMinSample:
		return FieldErrorf(field, "min_sample of %q must be between 0 and %d units per arm", key, MaxMinSample)
	case d.Role == RoleGuardrail && d.Margin == nil:
		return FieldErrorf(field, "margin of %q is required on a guardrail: the relative worsening it tolerates, e.g. 0.02 for 2%%", key)
	case d.Role != RoleGuardrail && d.Margin != nil:
		return FieldErrorf(field, "margin of %q applies only to a guardrail", key)
	case d.Margin != nil && !(*d.Margin > 0 && *d.Margin < 1):
		return FieldErrorf(field, "margin of %q must be greater than 0 and less than 1 (a relative worsening)", key)
	}
	return nil
}

func (d Decision) equal(o Decision) bool {
	return d.Role == o.Role && d.Direction == o.Direction && d.MinSample == o.MinSample && d.OneSided == o.OneSided &&
		(d.Margin == nil) == (o.Margin == nil) && (d.Margin == nil || *d.Margin == *o.Margin)
}

// sameDecisions reports whether a and b judge their metrics alike, defaults
// filled in.
func sameDecisions(a, b *Experiment) bool {
	ag, ar := a.Decisions()
	bg, br := b.Decisions()
	if !slices.EqualFunc(ag, bg, Decision.equal) || !slices.EqualFunc(ar, br, Decision.equal) {
		return false
	}
	for _, name := range ReferralMetrics {
		if !a.ReferralDecision(name).equal(b.ReferralDecision(name)) {
			return false
		}
	}
	return true
}

// LowerIsBetter reports whether the metric should go down.
func (d Decision) LowerIsBetter() bool { return d.Direction == DirectionDecrease }

// RatioMetric is the ratio of two goals' per-participant totals across
// participants, Σ numerator / Σ denominator (revenue per order, signups per
// click), analysed with the delta method from exact per-arm sums. A value
// goal's total is the participant's value, a binomial goal's their number
// of events (RatioCounts).
type RatioMetric struct {
	Key         string `json:"key"`
	Numerator   string `json:"numerator"`
	Denominator string `json:"denominator"`
	Decision
}

// sameRatio reports whether two ratio metrics measure the same thing: their
// decisions may differ.
func sameRatio(a, b RatioMetric) bool {
	return a.Key == b.Key && a.Numerator == b.Numerator && a.Denominator == b.Denominator
}

// Decisions returns the decision of each goal and each ratio metric, in
// their order, with the defaults filled in: a metric without a role is
// secondary, except that when no metric (referral metrics included) says
// primary the first goal without a role is primary (an experiment measures
// one thing first; the first goal listed is the one it was made for); an
// empty direction is increase. Build and Apply store them; experiments
// stored before roles existed get them here when analysed.
func (e *Experiment) Decisions() (goals, ratios []Decision) {
	primary := slices.ContainsFunc(e.Goals, func(g Goal) bool { return g.Role == RolePrimary }) ||
		slices.ContainsFunc(e.RatioMetrics, func(r RatioMetric) bool { return r.Role == RolePrimary })
	if e.Referral != nil {
		for _, d := range e.Referral.Metrics {
			primary = primary || d.Role == RolePrimary
		}
	}
	fill := func(d Decision, mayBePrimary bool) Decision {
		if d.Role == "" {
			d.Role = RoleSecondary
			if !primary && mayBePrimary {
				d.Role, primary = RolePrimary, true
			}
		}
		return d.withDirection()
	}
	for _, g := range e.Goals {
		goals = append(goals, fill(g.Decision, true))
	}
	for _, r := range e.RatioMetrics {
		ratios = append(ratios, fill(r.Decision, false))
	}
	return goals, ratios
}

func (d Decision) withDirection() Decision {
	if d.Direction == "" {
		d.Direction = DirectionIncrease
	}
	return d
}

// ReferralDecision returns the decision of the referral metric name (one of
// ReferralMetrics), defaults filled in: secondary, increase. The referral
// metrics describe how the funnel moved, so unless configured they form
// their own secondary family and never dilute the goals' primary one.
func (e *Experiment) ReferralDecision(name string) Decision {
	var d Decision
	if e.Referral != nil {
		d = e.Referral.Metrics[name]
	}
	if d.Role == "" {
		d.Role = RoleSecondary
	}
	return d.withDirection()
}

// fillDecisions stores Decisions' defaults in e's goals and ratio metrics,
// copying the slices so that the experiment e was copied from keeps its own.
func (e *Experiment) fillDecisions() {
	goals, ratios := e.Decisions()
	e.Goals = slices.Clone(e.Goals)
	for i := range e.Goals {
		e.Goals[i].Decision = goals[i]
	}
	if e.RatioMetrics != nil {
		e.RatioMetrics = slices.Clone(e.RatioMetrics)
	}
	for i := range e.RatioMetrics {
		e.RatioMetrics[i].Decision = ratios[i]
	}
	if e.Referral != nil && e.Referral.Metrics != nil {
		r := *e.Referral
		r.Metrics = make(map[string]Decision, len(e.Referral.Metrics))
		for name := range e.Referral.Metrics {
			r.Metrics[name] = e.ReferralDecision(name)
		}
		e.Referral = &r
	}
}

func validateRatioMetrics(rs []RatioMetric, goals []Goal) error {
	if len(rs) > MaxRatioMetrics {
		return FieldErrorf("ratio_metrics", "must list at most %d ratio metrics", MaxRatioMetrics)
	}
	isGoal := func(key string) bool {
		return slices.ContainsFunc(goals, func(g Goal) bool { return g.Key == key })
	}
	seen := make(map[string]bool, len(rs))
	for _, r := range rs {
		switch {
		case !ValidKey(r.Key):
			return FieldErrorf("ratio_metrics", "key %q must be 1-64 characters of letters, digits, '-', '_' or '.'", r.Key)
		case seen[r.Key]:
			return FieldErrorf("ratio_metrics", "key %q appears twice", r.Key)
		case isGoal(r.Key):
			// Results name metrics by key: one key, one metric.
			return FieldErrorf("ratio_metrics", "key %q is a goal's key", r.Key)
		case !isGoal(r.Numerator):
			return FieldErrorf("ratio_metrics", "numerator of %q must be the key of one of the goals", r.Key)
		case !isGoal(r.Denominator):
			return FieldErrorf("ratio_metrics", "denominator of %q must be the key of one of the goals", r.Key)
		case r.Numerator == r.Denominator:
			return FieldErrorf("ratio_metrics", "numerator and denominator of %q must be different goals", r.Key)
		}
		if err := r.Decision.validate("ratio_metrics", r.Key); err != nil {
			return err
		}
		seen[r.Key] = true
	}
	return nil
}
