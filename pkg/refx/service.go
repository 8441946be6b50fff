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
	Enrolled   bool       `json:"enrolled"`
	AssignedAt *time.Time `json:"assigned_at,omitempty"`
}

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
}

// EventResult is the outcome of recording an event.
type EventResult struct {
	ID      string   `json:"id"`
	Status  string   `json:"status"`
	Credits []Credit `json:"credits,omitempty"`
}

// GoalCounts are the exact counts of one goal in one variant. Sums are exact
// decimals (see Decimal), carried as JSON numbers.
type GoalCounts struct {
	Users      int64       `json:"users"`
	Events     int64       `json:"events"`
	ValueSum   json.Number `json:"value_sum"`
	ValueSumSq json.Number `json:"value_sum_sq"`
}

// VariantResults are the counts of one variant.
type VariantResults struct {
	Key          string                `json:"key"`
	Participants int64                 `json:"participants"`
	Goals        map[string]GoalCounts `json:"goals"`
}

// Results are an experiment's raw counts.
type Results struct {
	Experiment string           `json:"experiment"`
	Status     Status           `json:"status"`
	Variants   []VariantResults `json:"variants"`
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
	// SetStatus starts or stops an experiment; repeating it is a no-op.
	// ENOTFOUND, ECONFLICT for a forbidden transition.
	SetStatus(ctx context.Context, id string, to Status) (*Experiment, error)
}

// AssignmentService assigns users to variants.
type AssignmentService interface {
	// Assign returns the user's sticky variant, enrolling them on the first
	// call. ENOTFOUND, EUNAVAILABLE.
	Assign(ctx context.Context, experiment, user string) (*Assignment, error)
}

// EventService records events exactly once.
type EventService interface {
	// RecordEvent counts e once per id. EKEYREUSED when the id was used with
	// another payload, EUNAVAILABLE when the store stays contended or
	// throttled (retrying with the same id is safe).
	RecordEvent(ctx context.Context, e *Event) (*EventResult, error)
}

// ResultsService reads counts.
type ResultsService interface {
	// Results returns an experiment's counts. ENOTFOUND.
	Results(ctx context.Context, experiment string) (*Results, error)
}
