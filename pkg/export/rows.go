package export

import (
	"fmt"
	"time"

	"github.com/refx-dev/refx/pkg/export/parquetw"
)

// The row types below are the columns of the exported Parquet files, in
// order; schema/athena/tables/*.sql declare the same columns with the Athena
// types of TestDDLMatchesParquet. Every row carries the stream record it
// came from (sequence_number, streamed_at), which orders copies when the
// views de-duplicate. Timestamps are UTC with millisecond precision, Athena's
// own; value amounts are exact decimals with refx's 4 fractional digits.

// EventRow is one recorded event: the insert of an event item, which is the
// event's idempotency key. Duplicates the API refused never reach the table,
// so each event id appears once per idempotency window.
type EventRow struct {
	EventID string `parquet:"event_id"`
	Type    string `parquet:"type,dict"`
	UserID  string `parquet:"user_id"`
	// Value is the amount in units of 10⁻⁴ (DECIMAL(14,4)); nil when the
	// event had none.
	Value      *int64    `parquet:"value,optional,decimal(4:14)"`
	OccurredAt time.Time `parquet:"occurred_at,timestamp(millisecond)"`
	ReceivedAt time.Time `parquet:"received_at,timestamp(millisecond)"`
	// Properties is the event's properties as JSON text, nil when absent.
	Properties *string `parquet:"properties,optional"`
	// ReferralCode is the code a signup came with, nil when none.
	ReferralCode *string `parquet:"referral_code,optional"`
	// Credits is how many experiment variants the event counted for.
	Credits        int32     `parquet:"credits"`
	SequenceNumber string    `parquet:"sequence_number"`
	StreamedAt     time.Time `parquet:"streamed_at,timestamp(millisecond)"`
}

// CreditRow is one counting of an event: the event item's credits,
// flattened. Goal is the event's type. A credit without a referrer counts
// for the variant of a running experiment the user was assigned to (the
// results' goal counters are exactly the sums of these rows); a credit with
// a referrer is a referee's conversion, counted for the referrer's variant
// in the referral counters.
type CreditRow struct {
	EventID    string `parquet:"event_id"`
	Experiment string `parquet:"experiment,dict"`
	Variant    string `parquet:"variant,dict"`
	Goal       string `parquet:"goal,dict"`
	UserID     string `parquet:"user_id"`
	// Referrer is the referrer credited for a referee's conversion, nil for
	// the user's own credit.
	Referrer *string `parquet:"referrer,optional"`
	// FirstConversion is true when this event converted its user on the
	// goal (the "users" count of the results) or, on a referral credit, was
	// the referee's first conversion.
	FirstConversion bool `parquet:"first_conversion"`
	// Value is what the credit counted: the event's value within its
	// goal's cap (EventRow.Value is the value sent).
	Value          *int64    `parquet:"value,optional,decimal(4:14)"`
	OccurredAt     time.Time `parquet:"occurred_at,timestamp(millisecond)"`
	ReceivedAt     time.Time `parquet:"received_at,timestamp(millisecond)"`
	SequenceNumber string    `parquet:"sequence_number"`
	StreamedAt     time.Time `parquet:"streamed_at,timestamp(millisecond)"`
	// Capped is true when the goal's cap lowered the event's value. Columns
	// added after the first release come last, as ALTER TABLE ADD COLUMNS
	// appends them; older files read them as null.
	Capped bool `parquet:"capped"`
	// Covariate is the user's CUPED covariate x on the goal (their
	// assignment's covariates), nil when they sent none or it is zero: with
	// value and first_conversion it gives Σxy of the results. The two
	// columns after it are the credit's shares of a ratio metric's
	// per-participant sums: EventsParticipantSqDelta, on a binomial goal a
	// ratio metric uses, is what the event adds to Σ (events per user)²,
	// 2n+1 after the user's n earlier events; RatioProducts is, per ratio
	// metric using the goal, what it adds to Σ numerator·denominator, a JSON
	// object of exact decimals by ratio metric (products can have eight
	// fractional digits, more than a DECIMAL(14,4) holds), zero products
	// left out. Both are nil when no ratio metric uses the goal.
	Covariate                *int64  `parquet:"covariate,optional,decimal(4:14)"`
	EventsParticipantSqDelta *int64  `parquet:"events_participant_sq_delta,optional"`
	RatioProducts            *string `parquet:"ratio_products,optional"`
	// Phase is the experiment's phase the credit counts in (1 before a
	// second phase, and for referral credits: referral experiments have no
	// phases); null in files written before phases, which were phase 1.
	Phase int32 `parquet:"phase"`
}

// AssignmentRow is a user's enrolment in a variant: the insert of an
// assignment item. Later updates of the item (the goals the user converted
// on) are not exported; the credits carry them. LinkedFrom is set on an
// assignment copied from an anonymous visitor when they identified
// themselves: the same participant under a second id, not a new one.
type AssignmentRow struct {
	Experiment     string    `parquet:"experiment,dict"`
	Variant        string    `parquet:"variant,dict"`
	UserID         string    `parquet:"user_id"`
	AssignedAt     time.Time `parquet:"assigned_at,timestamp(millisecond)"`
	LinkedFrom     *string   `parquet:"linked_from,optional"`
	SequenceNumber string    `parquet:"sequence_number"`
	StreamedAt     time.Time `parquet:"streamed_at,timestamp(millisecond)"`
	// Covariates are the user's CUPED covariates sent with the enrolling
	// assign (JSON object of exact decimals by goal), nil without any; a
	// covariate of zero is kept, as it counts the user among those who sent
	// one. Added last, as CreditRow.Capped was; older files read it as null.
	Covariates *string `parquet:"covariates,optional"`
	// Phase is the experiment's phase the user enrolled in: a phase ≥ 2
	// enrols anew (ASSIGN#<exp>#P<n>), so a user has a row per phase they
	// entered. Null in files written before phases, which were phase 1.
	Phase int32 `parquet:"phase"`
}

// ExperimentRow is one version of an experiment: every create, update,
// start and stop writes a new version. Its variants, goals and ratio metrics
// are in ExperimentVariantRow, ExperimentGoalRow and ExperimentRatioMetricRow,
// keyed by (experiment, version).
type ExperimentRow struct {
	Experiment string `parquet:"experiment"`
	Version    int64  `parquet:"version"`
	// Change is the stream event that wrote the version: INSERT or MODIFY.
	Change        string  `parquet:"change,dict"`
	Status        string  `parquet:"status,dict"`
	Name          string  `parquet:"name"`
	Hypothesis    string  `parquet:"hypothesis"`
	Owner         string  `parquet:"owner"`
	Control       string  `parquet:"control"`
	Coverage      float64 `parquet:"coverage"`
	Seed          string  `parquet:"seed"`
	CounterShards int32   `parquet:"counter_shards"`
	// Audience is the GrowthBook condition users had to match to enter
	// (JSON), nil without one: who the results speak for.
	Audience *string `parquet:"audience,optional"`
	// The referral configuration of a referral experiment, nil otherwise.
	ReferralConversionGoal *string `parquet:"referral_conversion_goal,optional"`
	ReferralWindowDays     *int32  `parquet:"referral_window_days,optional"`
	ReferralLandingURL     *string `parquet:"referral_landing_url,optional"`
	// ReferralMetrics is the decision of each configured referral metric
	// (JSON object by metric name, as ReferralConfig.Metrics), nil when
	// none is configured: all secondary, increase.
	ReferralMetrics *string    `parquet:"referral_metrics,optional"`
	CreatedAt       time.Time  `parquet:"created_at,timestamp(millisecond)"`
	UpdatedAt       time.Time  `parquet:"updated_at,timestamp(millisecond)"`
	StartedAt       *time.Time `parquet:"started_at,optional,timestamp(millisecond)"`
	StoppedAt       *time.Time `parquet:"stopped_at,optional,timestamp(millisecond)"`
	SequenceNumber  string     `parquet:"sequence_number"`
	StreamedAt      time.Time  `parquet:"streamed_at,timestamp(millisecond)"`
}

// ExperimentVariantRow is one variant of one version of an experiment.
type ExperimentVariantRow struct {
	Experiment string  `parquet:"experiment"`
	Version    int64   `parquet:"version"`
	Variant    string  `parquet:"variant"`
	Weight     float64 `parquet:"weight"`
	IsControl  bool    `parquet:"is_control"`
	// Payload is the variant's payload as JSON text, nil when absent.
	Payload        *string   `parquet:"payload,optional"`
	SequenceNumber string    `parquet:"sequence_number"`
	StreamedAt     time.Time `parquet:"streamed_at,timestamp(millisecond)"`
}

// ExperimentGoalRow is one goal of one version of an experiment.
type ExperimentGoalRow struct {
	Experiment     string    `parquet:"experiment"`
	Version        int64     `parquet:"version"`
	Goal           string    `parquet:"goal"`
	Kind           string    `parquet:"kind"`
	SequenceNumber string    `parquet:"sequence_number"`
	StreamedAt     time.Time `parquet:"streamed_at,timestamp(millisecond)"`
	// ServerOnly and Cap are the goal's rules (refx.Goal), added last like
	// CreditRow.Capped; Cap is nil when the goal has none.
	ServerOnly bool   `parquet:"server_only"`
	Cap        *int64 `parquet:"cap,optional,decimal(4:14)"`
	// Role, Direction, MinSample, OneSided and Margin are the goal's
	// decision (refx.Decision), added last; Margin is nil but on a
	// guardrail. A version's decision is the one its analysis used.
	Role      string   `parquet:"role,dict"`
	Direction string   `parquet:"direction,dict"`
	MinSample int64    `parquet:"min_sample"`
	OneSided  bool     `parquet:"one_sided"`
	Margin    *float64 `parquet:"margin,optional"`
}

// ExperimentRatioMetricRow is one ratio metric of one version of an
// experiment: Σ numerator / Σ denominator of two of its goals, with its
// decision as ExperimentGoalRow has it.
type ExperimentRatioMetricRow struct {
	Experiment     string    `parquet:"experiment"`
	Version        int64     `parquet:"version"`
	RatioMetric    string    `parquet:"ratio_metric"`
	Numerator      string    `parquet:"numerator"`
	Denominator    string    `parquet:"denominator"`
	Role           string    `parquet:"role,dict"`
	Direction      string    `parquet:"direction,dict"`
	MinSample      int64     `parquet:"min_sample"`
	OneSided       bool      `parquet:"one_sided"`
	Margin         *float64  `parquet:"margin,optional"`
	SequenceNumber string    `parquet:"sequence_number"`
	StreamedAt     time.Time `parquet:"streamed_at,timestamp(millisecond)"`
}

// ReferralRow is a referrer's code in a referral experiment: the insert of
// its code item. Counted is false when the referrer is outside the
// experiment's coverage: the link works, nothing it brings is counted.
// Later updates of the item are the referrer's running totals, which
// the click, attribution and credit rows already say.
type ReferralRow struct {
	Code           string    `parquet:"code"`
	Experiment     string    `parquet:"experiment,dict"`
	Variant        string    `parquet:"variant,dict"`
	Referrer       string    `parquet:"referrer"`
	Counted        bool      `parquet:"counted"`
	CreatedAt      time.Time `parquet:"created_at,timestamp(millisecond)"`
	SequenceNumber string    `parquet:"sequence_number"`
	StreamedAt     time.Time `parquet:"streamed_at,timestamp(millisecond)"`
}

// ClickRow is a visitor's first click on a referral link.
type ClickRow struct {
	Code       string `parquet:"code"`
	Experiment string `parquet:"experiment,dict"`
	Variant    string `parquet:"variant,dict"`
	Visitor    string `parquet:"visitor"`
	// IPHash is a keyed hash of the visitor's IP address, nil when unknown.
	IPHash         *string   `parquet:"ip_hash,optional"`
	ClickedAt      time.Time `parquet:"clicked_at,timestamp(millisecond)"`
	SequenceNumber string    `parquet:"sequence_number"`
	StreamedAt     time.Time `parquet:"streamed_at,timestamp(millisecond)"`
}

// AttributionRow is the outcome of a referee's signup through a code:
// status attributed or flagged (an attribution item), or refused (a refusal
// item, without referrer or counted). Reasons are the guard reasons,
// comma-separated.
type AttributionRow struct {
	Referee        string    `parquet:"referee"`
	Code           string    `parquet:"code"`
	Experiment     string    `parquet:"experiment,dict"`
	Variant        string    `parquet:"variant,dict"`
	Referrer       *string   `parquet:"referrer,optional"`
	Status         string    `parquet:"status,dict"`
	Reasons        string    `parquet:"reasons"`
	Counted        *bool     `parquet:"counted,optional"`
	SignedUpAt     time.Time `parquet:"signed_up_at,timestamp(millisecond)"`
	SequenceNumber string    `parquet:"sequence_number"`
	StreamedAt     time.Time `parquet:"streamed_at,timestamp(millisecond)"`
}

// ErrorRow is a stream record the exporter could not decode, kept with the
// reason so that nothing is dropped silently.
type ErrorRow struct {
	SequenceNumber string `parquet:"sequence_number"`
	StreamEventID  string `parquet:"stream_event_id"`
	EventName      string `parquet:"event_name"`
	// Entity is the item's entity attribute, when it has one.
	Entity string `parquet:"entity"`
	PK     string `parquet:"pk"`
	SK     string `parquet:"sk"`
	Reason string `parquet:"reason"`
	// Record is the whole stream record as Lambda's JSON.
	Record     string    `parquet:"record"`
	StreamedAt time.Time `parquet:"streamed_at,timestamp(millisecond)"`
}

// ErasureRow is an erased id: a user (DELETE /v1/users/{user}) or a
// visitor id erased with them, named by its lowercase hex SHA-256
// (refx.ErasureHash), never in clear. The views drop (or, where the id
// only names someone else's referrer, replace with "erased") every row of
// the id streamed up to the erasure's streamed_at, and the purge job
// (package purge) rewrites the files without them.
type ErasureRow struct {
	UserHash       string    `parquet:"user_hash"`
	ErasedAt       time.Time `parquet:"erased_at,timestamp(millisecond)"`
	SequenceNumber string    `parquet:"sequence_number"`
	StreamedAt     time.Time `parquet:"streamed_at,timestamp(millisecond)"`
}

// RefundRow is a refund (POST /v1/events of type refund): the event it
// took back, once, with the refund's own id. The counters subtract the
// refunded event's credits; a query over events and event_credits drops
// the rows of refunded_event.
type RefundRow struct {
	RefundID        string    `parquet:"refund_id"`
	RefundedEvent   string    `parquet:"refunded_event"`
	UserID          string    `parquet:"user_id"`
	Type            string    `parquet:"type,dict"`
	EventReceivedAt time.Time `parquet:"event_received_at,timestamp(millisecond)"`
	RefundedAt      time.Time `parquet:"refunded_at,timestamp(millisecond)"`
	SequenceNumber  string    `parquet:"sequence_number"`
	StreamedAt      time.Time `parquet:"streamed_at,timestamp(millisecond)"`
}

// AuditRow is one entry of the audit trail (refx.AuditEntry): an admin
// change, by whom, with the resource before and after it as JSON (nil
// where it did not exist). Entries are only ever inserted.
type AuditRow struct {
	ID         string `parquet:"id"`
	Resource   string `parquet:"resource,dict"`
	ResourceID string `parquet:"resource_id"`
	Action     string `parquet:"action,dict"`
	ActorID    string `parquet:"actor_id"`
	ActorName  string `parquet:"actor_name"`
	// ActorRole is the admin role of the actor, nil for a secret key or
	// the system.
	ActorRole      *string   `parquet:"actor_role,optional"`
	At             time.Time `parquet:"at,timestamp(millisecond)"`
	Before         *string   `parquet:"before,optional"`
	After          *string   `parquet:"after,optional"`
	Note           *string   `parquet:"note,optional"`
	SequenceNumber string    `parquet:"sequence_number"`
	StreamedAt     time.Time `parquet:"streamed_at,timestamp(millisecond)"`
}

// Table is one exported table: its name, which is both its S3 prefix and its
// Athena table, and the Parquet schema of its rows.
type Table struct {
	Name   string
	Schema *parquetw.Schema
	encode func(rows []any) ([]byte, error)
}

// rowGroupSize bounds a row group: batches are at most 10,000 records, so a
// file holds one row group.
const rowGroupSize = 64 * 1024

// newTable describes the table name whose rows are T. The row types are
// fixed: a schema parquetw cannot write is a programming error.
func newTable[T any](name string) *Table {
	// created_by keeps parquet-mr's "<app> version <v> (build <b>)" form, as
	// parquet-go's files had: Spark and Hive parse it.
	enc, err := parquetw.NewEncoder[T](parquetw.Options{RowGroupRows: rowGroupSize, CreatedBy: "refx export version 1 (build parquetw)"})
	if err != nil {
		panic(err)
	}
	return &Table{
		Name:   name,
		Schema: enc.Schema(),
		encode: func(rows []any) ([]byte, error) {
			typed := make([]T, len(rows))
			for i, r := range rows {
				v, ok := r.(T)
				if !ok {
					return nil, fmt.Errorf("table %s: row %d is a %T", name, i, r)
				}
				typed[i] = v
			}
			// The output depends only on the rows, so a retried batch
			// writes identical bytes.
			return enc.Encode(typed)
		},
	}
}

// The exported tables.
var (
	Events             = newTable[EventRow]("events")
	Credits            = newTable[CreditRow]("event_credits")
	Assignments        = newTable[AssignmentRow]("assignments")
	Experiments        = newTable[ExperimentRow]("experiments")
	ExperimentVariants = newTable[ExperimentVariantRow]("experiment_variants")
	ExperimentGoals    = newTable[ExperimentGoalRow]("experiment_goals")
	ExperimentRatios   = newTable[ExperimentRatioMetricRow]("experiment_ratio_metrics")
	Referrals          = newTable[ReferralRow]("referrals")
	Clicks             = newTable[ClickRow]("referral_clicks")
	Attributions       = newTable[AttributionRow]("attributions")
	Errors             = newTable[ErrorRow]("export_errors")
	Erasures           = newTable[ErasureRow]("erasures")
	Audit              = newTable[AuditRow]("audit")
	Refunds            = newTable[RefundRow]("refunds")
)

// Encode writes rows, all of the table's row type, as one Zstd-compressed
// Parquet file: what the exporter puts in S3. No rows give a valid empty
// file.
func (t *Table) Encode(rows []any) ([]byte, error) { return t.encode(rows) }

// Tables lists every exported table.
func Tables() []*Table {
	return []*Table{Events, Credits, Assignments, Experiments, ExperimentVariants, ExperimentGoals, ExperimentRatios,
		Referrals, Clicks, Attributions, Errors, Erasures, Audit, Refunds}
}

// Row is one decoded row and the table it belongs to.
type Row struct {
	Table *Table
	Value any
}
