package refx

import (
	"context"
	"encoding/json"
	"time"
)

// Assignment is the answer to an assign request: the variant a user sees.
type Assignment struct {
	Experiment string          `json:"experiment"`
	User       string          `json:"user"`
	Variant    string          `json:"variant"`
	Payload    json.RawMessage `json:"payload,omitempty"`
	// InExperiment is false when the experiment is not running or the user is
	// outside its coverage; the control is shown and nothing is counted.
	InExperiment bool `json:"in_experiment"`
	// Enrolled is true only for the call that enrolled the user.
	Enrolled bool `json:"enrolled"`
	// Reason says why a user outside the experiment is: "holdout" when a
	// holdout covering it keeps them out, "layer" when their position in
	// its layer is outside its range; empty otherwise.
	Reason     string     `json:"reason,omitempty"`
	AssignedAt *time.Time `json:"assigned_at,omitempty"`
}

// Reasons a user is outside an experiment (Assignment.Reason).
const (
	ReasonHoldout = "holdout"
	ReasonLayer   = "layer"
)

// Event statuses returned by RecordEvent.
const (
	EventRecorded  = "recorded"
	EventDuplicate = "duplicate"
)

// Credit says that an event counted for a variant of an experiment.
type Credit struct {
	Experiment string `json:"experiment"`
	Variant    string `json:"variant"`
	// FirstConversion is true when the event converted its user for this goal.
	FirstConversion bool `json:"first_conversion"`
	// Referrer is set when the event is a referee's conversion credited to
	// the referrer's variant of a referral experiment.
	Referrer string `json:"referrer,omitempty"`
	// Capped is true when the goal's cap lowered the event's value for this
	// credit: the counters hold the cap, the event keeps the value sent.
	Capped bool `json:"capped,omitempty"`
}

// EventResult is the outcome of recording an event.
type EventResult struct {
	ID      string   `json:"id"`
	Status  string   `json:"status"`
	Credits []Credit `json:"credits,omitempty"`
	// Attribution is the outcome of the event's referral_code, if any.
	Attribution *AttributionResult `json:"attribution,omitempty"`
}

// GoalCounts are the exact counts of one goal in one variant. Sums are exact
// decimals (see Decimal), carried as JSON numbers.
type GoalCounts struct {
	Users      int64       `json:"users"`
	Events     int64       `json:"events"`
	ValueSum   json.Number `json:"value_sum"`
	ValueSumSq json.Number `json:"value_sum_sq"`
	// ValueParticipantSumSq is Σ over participants of (their total value)²:
	// with ValueSum, the exact variance of value per participant, whatever
	// the number of events each made.
	ValueParticipantSumSq json.Number `json:"value_participant_sum_sq"`
	// Covariate holds the sums of the goal's pre-enrolment covariate, for
	// the regression-adjusted (CUPED) estimates; nil when no participant
	// of the variant sent one.
	Covariate *CovariateCounts `json:"covariate,omitempty"`
}

// RatioCounts are the exact sums over a variant's participants of a ratio
// metric's per-participant totals: a of its numerator goal, b of its
// denominator goal (a value goal's total value, a binomial goal's number of
// events), what the delta method needs.
type RatioCounts struct {
	NumeratorSum     json.Number `json:"numerator_sum"`
	NumeratorSumSq   json.Number `json:"numerator_sum_sq"`
	DenominatorSum   json.Number `json:"denominator_sum"`
	DenominatorSumSq json.Number `json:"denominator_sum_sq"`
	// SumProducts is Σab.
	SumProducts json.Number `json:"sum_products"`
}

// CovariateCounts are the exact sums over a variant's participants of a
// goal's covariate x (0 for a participant who sent none) with the goal's
// per-participant outcomes: y their total value, c whether they converted.
type CovariateCounts struct {
	// Participants counts those who sent a covariate.
	Participants int64       `json:"participants"`
	Sum          json.Number `json:"sum"`
	SumSq        json.Number `json:"sum_sq"`
	// ValueProducts is Σxy and UsersProducts Σxc.
	ValueProducts json.Number `json:"value_products"`
	UsersProducts json.Number `json:"users_products"`
}

// VariantResults are the counts of one variant.
type VariantResults struct {
	Key          string                `json:"key"`
	Participants int64                 `json:"participants"`
	Goals        map[string]GoalCounts `json:"goals"`
	// Ratios holds the sums of each ratio metric, by key.
	Ratios map[string]RatioCounts `json:"ratios,omitempty"`
	// Referral holds the referral funnel of a referral experiment.
	Referral *ReferralCounts `json:"referral,omitempty"`
}

// ReferralCounts are the exact referral counts of one variant, the unit
// being the referrer (a participant who asked for a link).
type ReferralCounts struct {
	Referrers          int64       `json:"referrers"`
	SharingReferrers   int64       `json:"sharing_referrers"`
	Clicks             int64       `json:"clicks"`
	UniqueVisitors     int64       `json:"unique_visitors"`
	Signups            int64       `json:"signups"`
	ConvertingReferees int64       `json:"converting_referees"`
	Conversions        int64       `json:"conversions"`
	ConversionValue    json.Number `json:"conversion_value"`
	// PerReferrer holds Σy² (and Σxy) over referrers of the per-referrer
	// counts, whose Σy are the totals above: the sufficient statistics for
	// the variance of per-referrer metrics.
	PerReferrer PerReferrerSums `json:"per_referrer"`
	Rates       ReferralRates   `json:"rates"`
	// Refused and Flagged count guarded signups by reason; neither counts
	// in Signups.
	Refused map[string]int64 `json:"refused"`
	Flagged map[string]int64 `json:"flagged"`
	// Channels splits clicks, signups and conversions by the channel of
	// the link (the referee's click: ChannelUnknown when not found).
	Channels map[string]ChannelCounts `json:"channels,omitempty"`
}

// PerReferrerSums are sums of squares and products over referrers.
type PerReferrerSums struct {
	ClicksSumSq      int64       `json:"clicks_sum_sq"`
	SignupsSumSq     int64       `json:"signups_sum_sq"`
	ConversionsSumSq int64       `json:"conversions_sum_sq"`
	ValueSumSq       json.Number `json:"value_sum_sq"`
	ClicksXSignups   int64       `json:"clicks_x_signups"`
}

// ReferralRates are the funnel rates a growth team reads. A rate whose
// denominator is zero is 0.
type ReferralRates struct {
	ShareRate              float64 `json:"share_rate"`
	ClicksPerReferrer      float64 `json:"clicks_per_referrer"`
	SignupsPerClick        float64 `json:"signups_per_click"`
	KFactor                float64 `json:"k_factor"`
	ConversionsPerReferrer float64 `json:"conversions_per_referrer"`
	ValuePerReferrer       float64 `json:"value_per_referrer"`
}

// Results are an experiment's raw counts.
type Results struct {
	Experiment string `json:"experiment"`
	Status     Status `json:"status"`
	// CountedThrough says how fresh the counts are: every change the API
	// accepted before it is counted. Counters are applied from the table's
	// stream, a second or two behind; nil before they were first applied.
	CountedThrough *time.Time `json:"counted_through,omitempty"`
	// Phase is the phase counted (Experiment.Phases): each counts apart.
	Phase    int              `json:"phase"`
	Variants []VariantResults `json:"variants"`
}

// ExperimentFilter selects a page of experiments.
type ExperimentFilter struct {
	Status Status
	Limit  int
	Cursor string
}

// ExperimentPage is one page of a listing; NextCursor is empty on the last.
type ExperimentPage struct {
	Experiments []*Experiment `json:"experiments"`
	NextCursor  string        `json:"next_cursor,omitempty"`
}

// ExperimentService manages experiments.
type ExperimentService interface {
	// CreateExperiment stores a new draft. ECONFLICT if the id is taken.
	CreateExperiment(ctx context.Context, e *Experiment) error
	// Experiment returns one experiment. ENOTFOUND.
	Experiment(ctx context.Context, id string) (*Experiment, error)
	// Experiments lists experiments by id. EINVALID for a bad cursor.
	Experiments(ctx context.Context, f ExperimentFilter) (*ExperimentPage, error)
	// UpdateExperiment applies a patch under optimistic locking. ENOTFOUND,
	// ECONFLICT for a stale version or a change the status forbids, EINVALID.
	UpdateExperiment(ctx context.Context, id string, p ExperimentPatch) (*Experiment, error)
	// StartPhase starts a new phase of a running experiment
	// (Experiment.StartPhase). ENOTFOUND, ECONFLICT when it is not
	// running or changed meanwhile, EINVALID, ELIMIT past MaxPhases.
	StartPhase(ctx context.Context, id string, p NewPhase) (*Experiment, error)
	// Transition moves an experiment through its lifecycle for the
	// context's actor (Experiment.Transition); repeating a move that
	// happened is a no-op. ENOTFOUND, ECONFLICT for a move the lifecycle
	// forbids, EFORBIDDEN for an approval by the last editor, EINVALID.
	Transition(ctx context.Context, id string, r TransitionRequest) (*Experiment, error)
	// Conclusion returns a concluded experiment's conclusion and frozen
	// results. ENOTFOUND when there is none.
	Conclusion(ctx context.Context, id string) (*ConclusionRecord, error)
	// DeleteExperiment deletes an experiment that is not running, with its
	// counts and conclusion; its id is never used again. An Alephbet/Lamed
	// experiment is deleted whatever its status, as Lamed does. ENOTFOUND,
	// ECONFLICT for a running experiment.
	DeleteExperiment(ctx context.Context, id string) error
}

// AssignmentService assigns users to variants.
type AssignmentService interface {
	// Assign returns the user's sticky variant, enrolling them on the first
	// call if attrs (the user's attributes, numbers as float64) are in the
	// experiment's audience. ENOTFOUND, EUNAVAILABLE.
	Assign(ctx context.Context, experiment, user string, attrs map[string]any) (*Assignment, error)
	// AssignWith is Assign with what the caller knows of the user besides
	// their id. Its covariates are stored only by the enrolling call; an
	// existing assignment keeps its own. EINVALID for a covariate of a goal
	// the experiment does not have.
	AssignWith(ctx context.Context, experiment, user string, in AssignInput) (*Assignment, error)
}

// AssignInput is what an assign request tells about the user.
type AssignInput struct {
	// Attributes are judged by the experiment's audience (numbers as
	// float64).
	Attributes map[string]any
	// Covariates are the user's values of goals from before enrolment, by
	// goal key, for the regression-adjusted (CUPED) estimates. Only a
	// trusted caller may send them: a browser could forge them.
	Covariates map[string]Decimal
}

// EventService records events exactly once.
type EventService interface {
	// RecordEvent counts e once per id. EKEYREUSED when the id was used with
	// another payload, EFORBIDDEN when an untrusted e would count for a
	// server-only goal (nothing is recorded, so the backend can send the
	// same id), EUNAVAILABLE when the store stays contended or throttled
	// (retrying with the same id is safe).
	RecordEvent(ctx context.Context, e *Event) (*EventResult, error)
}

// ResultsService reads counts.
type ResultsService interface {
	// Results returns the counts of an experiment's current phase.
	// ENOTFOUND.
	Results(ctx context.Context, experiment string) (*Results, error)
	// PhaseResults returns the counts of a phase (1-based, 0 the current
	// one). ENOTFOUND, EINVALID when there is no such phase.
	PhaseResults(ctx context.Context, experiment string, phase int) (*Results, error)
}

// ComputeRates derives the funnel rates from the counts.
func (c *ReferralCounts) ComputeRates() ReferralRates {
	ratio := func(num, den float64) float64 {
		if den == 0 {
			return 0
		}
		return num / den
	}
	referrers := float64(c.Referrers)
	value, _ := c.ConversionValue.Float64()
	return ReferralRates{
		ShareRate:              ratio(float64(c.SharingReferrers), referrers),
		ClicksPerReferrer:      ratio(float64(c.Clicks), referrers),
		SignupsPerClick:        ratio(float64(c.Signups), float64(c.Clicks)),
		KFactor:                ratio(float64(c.Signups), referrers),
		ConversionsPerReferrer: ratio(float64(c.Conversions), referrers),
		ValuePerReferrer:       ratio(value, referrers),
	}
}
