// Package item defines the table's items as they are stored: the one
// definition the store writes (pkg/dynamo) and every stream consumer reads
// (the exporter, the aggregator), decoded with the same dynamodbav tags.
// schema/table.md documents them; keys are built in pkg/dynamo/keys.go.
package item

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// UserExpiry is the TTL of a per-user item: DynamoDB deletes it the
// store's UserTTL after it was written (items written before user TTLs
// existed have none and are kept until erased).
type UserExpiry struct {
	ExpiresAt time.Time `dynamodbav:"ttl,unixtime"`
}

// Key is the primary key of an item.
type Key struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
}

// Attributes returns the key as a DynamoDB key map.
func (k Key) Attributes() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: k.PK},
		"sk": &types.AttributeValueMemberS{Value: k.SK},
	}
}

// Decode reads an item image, as stored or as a stream record carries it.
func Decode(image map[string]types.AttributeValue, out any) error {
	return attributevalue.UnmarshalMap(image, out)
}

type Variant struct {
	Key     string  `dynamodbav:"key"`
	Weight  float64 `dynamodbav:"weight"`
	Payload string  `dynamodbav:"payload,omitempty"`
	// Rewards is the variant's refx.RewardPlan as JSON.
	Rewards string `dynamodbav:"rewards,omitempty"`
}

type Goal struct {
	Key        string `dynamodbav:"key"`
	Kind       string `dynamodbav:"kind"`
	ServerOnly bool   `dynamodbav:"server_only,omitempty"`
	// Cap is the goal's value cap as an exact decimal string.
	Cap string `dynamodbav:"cap,omitempty"`
	Decision
}

// Decision is a metric's refx.Decision: how its results are judged. Its
// JSON is how the exporter writes a referral experiment's (ReferralConfig.Metrics).
type Decision struct {
	Role      string   `dynamodbav:"role,omitempty" json:"role,omitempty"`
	Direction string   `dynamodbav:"direction,omitempty" json:"direction,omitempty"`
	MinSample int64    `dynamodbav:"min_sample,omitempty" json:"min_sample,omitempty"`
	OneSided  bool     `dynamodbav:"one_sided,omitempty" json:"one_sided,omitempty"`
	Margin    *float64 `dynamodbav:"margin,omitempty" json:"margin,omitempty"`
}

type RatioMetric struct {
	Key         string `dynamodbav:"key"`
	Numerator   string `dynamodbav:"numerator"`
	Denominator string `dynamodbav:"denominator"`
	Decision
}

type ReferralConfig struct {
	LandingURL        string `dynamodbav:"landing_url"`
	ConversionGoal    string `dynamodbav:"conversion_goal"`
	WindowDays        int    `dynamodbav:"window_days"`
	MaxSignupsPerHour int    `dynamodbav:"max_signups_per_hour"`
	MaxSignupsPerDay  int    `dynamodbav:"max_signups_per_day"`
	// Metrics is the decision of each configured referral metric, by name.
	Metrics     map[string]Decision `dynamodbav:"metrics,omitempty"`
	CodeTTLDays int                 `dynamodbav:"code_ttl_days,omitempty"`
	Program     string              `dynamodbav:"program,omitempty"`
}

type Experiment struct {
	Key
	GSI1PK        string          `dynamodbav:"gsi1pk"`
	GSI1SK        string          `dynamodbav:"gsi1sk"`
	Entity        string          `dynamodbav:"entity"`
	ID            string          `dynamodbav:"id"`
	Name          string          `dynamodbav:"name"`
	Hypothesis    string          `dynamodbav:"hypothesis,omitempty"`
	Owner         string          `dynamodbav:"owner,omitempty"`
	Variants      []Variant       `dynamodbav:"variants"`
	Control       string          `dynamodbav:"control"`
	Coverage      float64         `dynamodbav:"coverage"`
	Goals         []Goal          `dynamodbav:"goals"`
	RatioMetrics  []RatioMetric   `dynamodbav:"ratio_metrics,omitempty"`
	Seed          string          `dynamodbav:"seed"`
	CounterShards int             `dynamodbav:"counter_shards"`
	Referral      *ReferralConfig `dynamodbav:"referral,omitempty"`
	Audience      string          `dynamodbav:"audience,omitempty"`
	Status        string          `dynamodbav:"status"`
	Version       int64           `dynamodbav:"version"`
	CreatedAt     time.Time       `dynamodbav:"created_at"`
	UpdatedAt     time.Time       `dynamodbav:"updated_at"`
	StartedAt     *time.Time      `dynamodbav:"started_at,omitempty"`
	StoppedAt     *time.Time      `dynamodbav:"stopped_at,omitempty"`
	Source        string          `dynamodbav:"source,omitempty"`
	Namespace     string          `dynamodbav:"namespace,omitempty"`
	AA            bool            `dynamodbav:"aa,omitempty"`
	// Kind, Layer, LayerRange ([start, end)) and Holdouts: see
	// refx.Experiment and Layer.
	Kind       string       `dynamodbav:"kind,omitempty"`
	Layer      string       `dynamodbav:"layer,omitempty"`
	LayerRange []float64    `dynamodbav:"layer_range,omitempty"`
	Holdouts   []HoldoutRef `dynamodbav:"holdouts,omitempty"`
	HoldsFlags bool         `dynamodbav:"holds_flags,omitempty"`
	// The plan of the brief and the review: see refx.Experiment. Actors
	// are stored whole (id, name, role), as the audit trail keeps them.
	PlannedStart      *time.Time `dynamodbav:"planned_start,omitempty"`
	PlannedEnd        *time.Time `dynamodbav:"planned_end,omitempty"`
	MDE               *float64   `dynamodbav:"mde,omitempty"`
	Priority          *Priority  `dynamodbav:"priority,omitempty"`
	Links             []Link     `dynamodbav:"links,omitempty"`
	PlannedSampleSize *int64     `dynamodbav:"planned_sample_size,omitempty"`
	LastEditor        string     `dynamodbav:"last_editor,omitempty"`
	SubmittedBy       *Actor     `dynamodbav:"submitted_by,omitempty"`
	Approval          *Stamp     `dynamodbav:"approval,omitempty"`
	// Decision, Learnings and Concluded (who and when) are the
	// experiment's conclusion, here for the listing; its frozen results
	// are on the Conclusion item.
	Decision  string `dynamodbav:"decision,omitempty"`
	Learnings string `dynamodbav:"learnings,omitempty"`
	Concluded *Stamp `dynamodbav:"concluded,omitempty"`
	// Phase and Phases: see refx.Phase; absent until a second phase.
	Phase  int     `dynamodbav:"phase,omitempty"`
	Phases []Phase `dynamodbav:"phases,omitempty"`
	// A Lamed experiment's variants and goals are string sets that its
	// tracking calls ADD to: idempotent, and no read before the write.
	LamedVariants []string `dynamodbav:"lamed_variants,stringset,omitempty"`
	LamedGoals    []string `dynamodbav:"lamed_goals,stringset,omitempty"`
	// WriteID is unique per write, so that a write whose response was lost
	// can recognise itself when the SDK retries it.
	WriteID string `dynamodbav:"write_id"`
}

// Phase is one phase of an experiment (refx.Phase).
type Phase struct {
	Number    int        `dynamodbav:"number"`
	StartedAt time.Time  `dynamodbav:"started_at"`
	EndedAt   *time.Time `dynamodbav:"ended_at,omitempty"`
	Reason    string     `dynamodbav:"reason,omitempty"`
	Seed      string     `dynamodbav:"seed"`
	Weights   []float64  `dynamodbav:"weights"`
	Coverage  float64    `dynamodbav:"coverage"`
	Audience  string     `dynamodbav:"audience,omitempty"`
}

type Assignment struct {
	Key
	Entity     string `dynamodbav:"entity"`
	Experiment string `dynamodbav:"experiment"`
	// Phase is the experiment's phase the user is enrolled in; absent in
	// phase 1.
	Phase      int       `dynamodbav:"phase,omitempty"`
	User       string    `dynamodbav:"user"`
	Variant    string    `dynamodbav:"variant"`
	AssignedAt time.Time `dynamodbav:"assigned_at"`
	// Converted holds the goals this user has converted on, so that an event
	// knows before writing whether it is the user's first conversion.
	Converted []string `dynamodbav:"converted,stringset,omitempty"`
	// ValueTotals is the user's total value per goal, from the vt_<goal>
	// attributes: what the per-participant sum of squares needs.
	ValueTotals map[string]string `dynamodbav:"-"`
	// EventCounts is the user's number of events per binomial goal that a
	// ratio metric uses, from the ec_<goal> attributes: the ratio's
	// per-participant total of that goal.
	EventCounts map[string]string `dynamodbav:"-"`
	// ConversionVersions counts, per goal, the changes refunds made to
	// whether the user converted (the cv_<goal> attributes): an event of a
	// user who has one requires it unchanged, so that it cannot miss a
	// refund's removal of the conversion.
	ConversionVersions map[string]string `dynamodbav:"-"`
	// Covariates are the user's pre-enrolment values by goal key, written
	// with the enrolling put and never changed: the aggregator adds Σx and
	// Σx² from the insert's image, and each event's credit carries x.
	Covariates map[string]attributevalue.Number `dynamodbav:"covariates,omitempty"`
	UserExpiry
}

type Credit struct {
	Experiment string `dynamodbav:"experiment"`
	// Phase is the phase the credit counts in; absent in phase 1.
	Phase           int    `dynamodbav:"phase,omitempty"`
	Variant         string `dynamodbav:"variant"`
	FirstConversion bool   `dynamodbav:"first_conversion"`
	// Referrer and Code are set on a referral credit: the event is a
	// referee's conversion, counted for the referrer's variant and code.
	Referrer string `dynamodbav:"referrer,omitempty"`
	Code     string `dynamodbav:"code,omitempty"`
	// Channel is the referral credit's channel, the attribution's.
	Channel string `dynamodbav:"channel,omitempty"`
	// Program is set on a referral credit made after the experiment ended:
	// the conversion counts for the experiment's program.
	Program string `dynamodbav:"program,omitempty"`
	// ParticipantSqDelta is what the event adds to Σ over participants of
	// (their total value)²: (V+v)² − V², V being the user's total before
	// it. Computed on the request path from the user's own item, summed by
	// the aggregator.
	ParticipantSqDelta attributevalue.Number `dynamodbav:"value_participant_sq_delta,omitempty"`
	// Value is set when the goal's cap lowered the event's value: it is
	// what this credit counts (the aggregator's sums, ParticipantSqDelta),
	// while the event keeps the value sent.
	Value *string `dynamodbav:"value,omitempty"`
	// Covariate is the user's covariate x on the goal, from their
	// assignment, when it is not zero: the aggregator adds x·Δy to Σxy for
	// the value (Δy the counted value) and the conversion (Δy 1 on the first).
	Covariate attributevalue.Number `dynamodbav:"covariate,omitempty"`
	// EventsSqDelta is, for a binomial goal a ratio metric uses, what the
	// event adds to Σ over participants of (their number of events)²: 2n+1.
	EventsSqDelta attributevalue.Number `dynamodbav:"events_participant_sq_delta,omitempty"`
	// RatioProducts is, per ratio metric using the goal, what the event
	// adds to Σ over participants of numerator·denominator: Δa·b, the
	// growth of this goal's total times the user's total of the other goal.
	RatioProducts map[string]attributevalue.Number `dynamodbav:"ratio_products,omitempty"`
}

// Capped reports whether the goal's cap lowered the value this credit
// counts.
func (c Credit) Capped() bool { return c.Value != nil }

type Event struct {
	Key
	// GSI1PK and GSI1SK index the event under its user (a sparse gsi1
	// partition USEREVENTS#<user>), so that erasing the user finds it.
	GSI1PK      string    `dynamodbav:"gsi1pk,omitempty"`
	GSI1SK      string    `dynamodbav:"gsi1sk,omitempty"`
	Entity      string    `dynamodbav:"entity"`
	ID          string    `dynamodbav:"id"`
	Type        string    `dynamodbav:"type"`
	User        string    `dynamodbav:"user"`
	Value       *string   `dynamodbav:"value,omitempty"`
	OccurredAt  time.Time `dynamodbav:"occurred_at"`
	ReceivedAt  time.Time `dynamodbav:"received_at"`
	Code        string    `dynamodbav:"referral_code,omitempty"`
	Properties  string    `dynamodbav:"properties,omitempty"`
	Fingerprint string    `dynamodbav:"fingerprint"`
	Credits     []Credit  `dynamodbav:"credits"`
	// ExpiresAt ends the idempotency window: DynamoDB's TTL deletes the item.
	ExpiresAt time.Time `dynamodbav:"ttl,unixtime"`
}

// Code is a referral code: written once, when it is created, and only
// read afterwards.
type Code struct {
	Key
	Entity string `dynamodbav:"entity"`
	ReferralCode
}

// CodeTotals is a code's running totals. Only the aggregator writes it
// (ADD from the stream); its changes, old and new image, give the
// per-referrer sums of squares of the variant's referral counter exactly.
type CodeTotals struct {
	Key
	Entity      string                `dynamodbav:"entity"`
	Code        string                `dynamodbav:"code"`
	Experiment  string                `dynamodbav:"experiment"`
	Variant     string                `dynamodbav:"variant"`
	Clicks      int64                 `dynamodbav:"clicks"`
	Signups     int64                 `dynamodbav:"signups"`
	Conversions int64                 `dynamodbav:"conversions"`
	Value       attributevalue.Number `dynamodbav:"value"`
}

// ReferralCode is what a code item and its referrer's pointer to it both
// hold, written once when the code is created: embedded, its attributes sit
// at the top level of either item.
type ReferralCode struct {
	Code       string    `dynamodbav:"code"`
	Experiment string    `dynamodbav:"experiment"`
	Referrer   string    `dynamodbav:"referrer"`
	Variant    string    `dynamodbav:"variant"`
	Counted    bool      `dynamodbav:"counted"`
	CreatedAt  time.Time `dynamodbav:"created_at"`
	// Vanity is set on a code its referrer or an admin chose.
	Vanity bool `dynamodbav:"vanity,omitempty"`
	// ExpiresAt is an admin's end of the code (refx.CodeExpiry).
	ExpiresAt *time.Time `dynamodbav:"expires_at,omitempty"`
	// StatsDigest is the SHA-256 of the code's stats token, hex.
	StatsDigest string `dynamodbav:"stats_digest,omitempty"`
	// IPHash, DeviceHash and EmailHash are the keyed hashes of what the
	// link request gave of its referrer (refx.CodeRequest): the
	// self-referral guards compare a signup's with them.
	IPHash     string `dynamodbav:"ip_hash,omitempty"`
	DeviceHash string `dynamodbav:"device_hash,omitempty"`
	EmailHash  string `dynamodbav:"email_hash,omitempty"`
	UserExpiry
}

type Click struct {
	Key
	Entity     string    `dynamodbav:"entity"`
	Code       string    `dynamodbav:"code"`
	Experiment string    `dynamodbav:"experiment"`
	Variant    string    `dynamodbav:"variant"`
	Counted    bool      `dynamodbav:"counted"`
	Visitor    string    `dynamodbav:"visitor"`
	IPHash     string    `dynamodbav:"ip_hash,omitempty"`
	ClickedAt  time.Time `dynamodbav:"clicked_at"`
	// Channel is refx.NormalizeChannel's; the utm_* values are cleaned.
	Channel     string `dynamodbav:"channel,omitempty"`
	UTMSource   string `dynamodbav:"utm_source,omitempty"`
	UTMMedium   string `dynamodbav:"utm_medium,omitempty"`
	UTMCampaign string `dynamodbav:"utm_campaign,omitempty"`
	UserExpiry
}

// Seen marks a visitor's first click in an experiment: its insert is
// one unique visitor of the variant of the code clicked first.
type Seen struct {
	Key
	Entity     string    `dynamodbav:"entity"`
	Experiment string    `dynamodbav:"experiment"`
	Variant    string    `dynamodbav:"variant"`
	Code       string    `dynamodbav:"code"`
	Counted    bool      `dynamodbav:"counted"`
	SeenAt     time.Time `dynamodbav:"seen_at"`
	UserExpiry
}

type Attribution struct {
	Key
	GSI1PK       string     `dynamodbav:"gsi1pk"`
	GSI1SK       string     `dynamodbav:"gsi1sk"`
	Entity       string     `dynamodbav:"entity"`
	Referee      string     `dynamodbav:"referee"`
	Referrer     string     `dynamodbav:"referrer"`
	Code         string     `dynamodbav:"code"`
	Experiment   string     `dynamodbav:"experiment"`
	Variant      string     `dynamodbav:"variant"`
	Counted      bool       `dynamodbav:"counted"`
	Status       string     `dynamodbav:"status"`
	Reasons      []string   `dynamodbav:"reasons,omitempty"`
	AttributedAt time.Time  `dynamodbav:"attributed_at"`
	ConvertedAt  *time.Time `dynamodbav:"converted_at,omitempty"`
	// ConversionVersion counts the changes refunds made to ConvertedAt,
	// as Assignment.ConversionVersions does.
	ConversionVersion *int64 `dynamodbav:"conversion_version,omitempty"`
	// Visitor is the visitor id the referee signed up from, if sent: it
	// finds their click and visitor mark when the referee is erased.
	Visitor string `dynamodbav:"visitor,omitempty"`
	// Channel is the channel of the referee's click (refx.ChannelUnknown
	// when it was not found).
	Channel string `dynamodbav:"channel,omitempty"`
	// Program is set on a signup made after the code's experiment ended,
	// attributed for the experiment's program.
	Program string `dynamodbav:"program,omitempty"`
	// ReviewDecision ("approve" or "reject"), ReviewedBy, ReviewedAt and
	// ReviewNote are the reviewer's decision (ReviewDecision).
	ReviewDecision string     `dynamodbav:"review_decision,omitempty"`
	ReviewedBy     string     `dynamodbav:"reviewed_by,omitempty"`
	ReviewedAt     *time.Time `dynamodbav:"reviewed_at,omitempty"`
	ReviewNote     string     `dynamodbav:"review_note,omitempty"`
	UserExpiry
}

type Refusal struct {
	Key
	Entity     string    `dynamodbav:"entity"`
	Referee    string    `dynamodbav:"referee"`
	Code       string    `dynamodbav:"code"`
	Experiment string    `dynamodbav:"experiment"`
	Variant    string    `dynamodbav:"variant"`
	Counted    bool      `dynamodbav:"counted"`
	Reason     string    `dynamodbav:"reason"`
	RefusedAt  time.Time `dynamodbav:"refused_at"`
	UserExpiry
}

// Lamed is the idempotency key of one Lamed counter increment: the
// uuid Alephbet sends, per counter.
type Lamed struct {
	Key
	Entity     string    `dynamodbav:"entity"`
	Counter    string    `dynamodbav:"counter"`
	Experiment string    `dynamodbav:"experiment"`
	Variant    string    `dynamodbav:"variant"`
	Event      string    `dynamodbav:"event"`
	ReceivedAt time.Time `dynamodbav:"received_at"`
	ExpiresAt  time.Time `dynamodbav:"ttl,unixtime"`
}

// LinkedAssignment is a user's assignment copied from an anonymous
// visitor's. It is an ordinary assignment (events credit it, assign returns
// it) that was never counted as a participant: linked_from says why, for
// stream consumers counting enrolments.
type LinkedAssignment struct {
	Assignment
	LinkedFrom string    `dynamodbav:"linked_from"`
	LinkedAt   time.Time `dynamodbav:"linked_at"`
}

// APIKey is a client or secret key: its digest, never the key.
type APIKey struct {
	Key
	GSI1PK      string     `dynamodbav:"gsi1pk"`
	GSI1SK      string     `dynamodbav:"gsi1sk"`
	Entity      string     `dynamodbav:"entity"`
	ID          string     `dynamodbav:"id"`
	Name        string     `dynamodbav:"name"`
	Kind        string     `dynamodbav:"kind"`
	Role        string     `dynamodbav:"role,omitempty"`
	Version     int64      `dynamodbav:"version,omitempty"` // an admin key's role changes, each conditioned on it
	Origins     []string   `dynamodbav:"origins,omitempty"`
	Environment string     `dynamodbav:"environment,omitempty"`
	Hint        string     `dynamodbav:"hint"`
	Digest      string     `dynamodbav:"digest"`
	CreatedAt   time.Time  `dynamodbav:"created_at"`
	RevokedAt   *time.Time `dynamodbav:"revoked_at,omitempty"`
}

// Erasure records that a user was erased, for the stream: the exporter
// turns it into a row of the erasures table, which the Athena views and
// the purge job use to drop the user's exported rows. It names the user by
// hash only (refx.ErasureHash); the counts say what the table lost.
type Erasure struct {
	Key
	Entity       string `dynamodbav:"entity"`
	UserHash     string `dynamodbav:"user_hash"`
	Assignments  int    `dynamodbav:"assignments"`
	Events       int    `dynamodbav:"events"`
	Codes        int    `dynamodbav:"codes"`
	Attributions int    `dynamodbav:"attributions"`
	Referees     int    `dynamodbav:"referees"`
	Refusals     int    `dynamodbav:"refusals"`
	Clicks       int    `dynamodbav:"clicks"`
	Visits       int    `dynamodbav:"visits"`
	// VisitorHashes name the visitor ids erased with the user (the one
	// they signed up from): exported clicks carry those ids.
	VisitorHashes []string  `dynamodbav:"visitor_hashes,stringset,omitempty"`
	ErasedAt      time.Time `dynamodbav:"erased_at"`
	ExpiresAt     time.Time `dynamodbav:"ttl,unixtime"`
}

// Flag is a feature flag. Its environments keep their rules as the JSON
// the API takes and gives, GrowthBook's feature-rule shape: it is what
// SDKs read, and no consumer needs to query inside it.
type Flag struct {
	Key
	Entity       string                     `dynamodbav:"entity"`
	FlagKey      string                     `dynamodbav:"key"`
	Description  string                     `dynamodbav:"description,omitempty"`
	Owner        string                     `dynamodbav:"owner,omitempty"`
	Kind         string                     `dynamodbav:"kind"`
	ValueType    string                     `dynamodbav:"value_type"`
	DefaultValue string                     `dynamodbav:"default_value"`
	Environments map[string]FlagEnvironment `dynamodbav:"environments"`
	Tags         []string                   `dynamodbav:"tags,omitempty"`
	Version      int64                      `dynamodbav:"version"`
	CreatedAt    time.Time                  `dynamodbav:"created_at"`
	UpdatedAt    time.Time                  `dynamodbav:"updated_at"`
}

type FlagEnvironment struct {
	Enabled bool `dynamodbav:"enabled"`
	// Rules is the environment's rule list as JSON.
	Rules string `dynamodbav:"rules"`
}

// Segment is a saved condition that flag rules name.
type Segment struct {
	Key
	Entity      string    `dynamodbav:"entity"`
	SegmentKey  string    `dynamodbav:"key"`
	Description string    `dynamodbav:"description,omitempty"`
	Condition   string    `dynamodbav:"condition"`
	Version     int64     `dynamodbav:"version"`
	CreatedAt   time.Time `dynamodbav:"created_at"`
	UpdatedAt   time.Time `dynamodbav:"updated_at"`
}

// FlagsMeta is the version of the whole set of flags and segments: every
// change to one of them increments it, on the condition that it is still
// the version read, which serializes the changes.
type FlagsMeta struct {
	Key
	Entity       string    `dynamodbav:"entity"`
	Version      int64     `dynamodbav:"version"`
	Environments []string  `dynamodbav:"environments,stringset,omitempty"`
	UpdatedAt    time.Time `dynamodbav:"updated_at"`
}

// FlagPayload is one environment's payload, the JSON SDKs are served.
type FlagPayload struct {
	Key
	Entity      string    `dynamodbav:"entity"`
	Environment string    `dynamodbav:"environment"`
	Version     int64     `dynamodbav:"version"`
	Payload     string    `dynamodbav:"payload"`
	UpdatedAt   time.Time `dynamodbav:"updated_at"`
}

// Audit is one entry of the audit trail (refx.AuditEntry): put once, in the
// transaction of the change it records, and never updated or deleted by
// the API. Before and After are JSON strings.
type Audit struct {
	Key
	GSI1PK     string    `dynamodbav:"gsi1pk"`
	GSI1SK     string    `dynamodbav:"gsi1sk"`
	Entity     string    `dynamodbav:"entity"`
	ID         string    `dynamodbav:"id"`
	Resource   string    `dynamodbav:"resource"`
	ResourceID string    `dynamodbav:"resource_id"`
	Action     string    `dynamodbav:"action"`
	ActorID    string    `dynamodbav:"actor_id"`
	ActorName  string    `dynamodbav:"actor_name"`
	ActorRole  string    `dynamodbav:"actor_role,omitempty"`
	At         time.Time `dynamodbav:"at"`
	Before     string    `dynamodbav:"before,omitempty"`
	After      string    `dynamodbav:"after,omitempty"`
	Note       string    `dynamodbav:"note,omitempty"`
}

// HoldoutRef is a running holdout as an experiment it covers carries it.
type HoldoutRef struct {
	ID    string  `dynamodbav:"id"`
	Seed  string  `dynamodbav:"seed"`
	Share float64 `dynamodbav:"share"`
}

// FlagHoldout is a running holdout with flags (refx.Experiment.Flags): put
// in the transaction of its start, deleted in that of its end, so that
// the SDK routes read the running ones with one small query.
type FlagHoldout struct {
	Key
	Entity string `dynamodbav:"entity"`
	HoldoutRef
}

// Layer is a hash space's experiments' claims: its version conditions
// every change, so that two starts claiming overlapping ranges cannot both
// commit.
type Layer struct {
	Key
	GSI1PK      string       `dynamodbav:"gsi1pk"`
	GSI1SK      string       `dynamodbav:"gsi1sk"`
	Entity      string       `dynamodbav:"entity"`
	ID          string       `dynamodbav:"id"`
	Name        string       `dynamodbav:"name"`
	Description string       `dynamodbav:"description,omitempty"`
	Claims      []LayerClaim `dynamodbav:"claims"`
	Version     int64        `dynamodbav:"version"`
	CreatedAt   time.Time    `dynamodbav:"created_at"`
	UpdatedAt   time.Time    `dynamodbav:"updated_at"`
}

// LayerClaim is the range [Start, End) a running experiment holds.
type LayerClaim struct {
	Experiment string  `dynamodbav:"experiment"`
	Start      float64 `dynamodbav:"start"`
	End        float64 `dynamodbav:"end"`
}

// Priority is an experiment's ICE priority.
type Priority struct {
	Impact     int `dynamodbav:"impact"`
	Confidence int `dynamodbav:"confidence"`
	Ease       int `dynamodbav:"ease"`
}

// Link is a link of an experiment's brief.
type Link struct {
	Title string `dynamodbav:"title"`
	URL   string `dynamodbav:"url"`
}

// Actor is who made a change.
type Actor struct {
	ID   string `dynamodbav:"id"`
	Name string `dynamodbav:"name,omitempty"`
	Role string `dynamodbav:"role,omitempty"`
}

// Stamp is who did something, and when: an approval, a conclusion.
type Stamp struct {
	By Actor     `dynamodbav:"by"`
	At time.Time `dynamodbav:"at"`
}

// Conclusion is an experiment's conclusion with its results frozen when it
// was concluded: written once, in the transaction that concludes the
// experiment, on the condition that it does not exist, and never changed.
// Results is the results API answer as gzip-compressed JSON, so that the
// largest experiment's fits an item (schema/table.md).
type Conclusion struct {
	Key
	Entity     string    `dynamodbav:"entity"`
	Experiment string    `dynamodbav:"experiment"`
	Decision   string    `dynamodbav:"decision"`
	Learnings  string    `dynamodbav:"learnings,omitempty"`
	By         Actor     `dynamodbav:"by"`
	At         time.Time `dynamodbav:"at"`
	Results    []byte    `dynamodbav:"results"`
}

// Program is a referral program. Its offers are stored as the API's JSON
// of them (a variant's payload and rewards, with their source), so that an
// offer keeps whatever a variant carries.
type Program struct {
	Key
	GSI1PK       string    `dynamodbav:"gsi1pk"`
	GSI1SK       string    `dynamodbav:"gsi1sk"`
	Entity       string    `dynamodbav:"entity"`
	ID           string    `dynamodbav:"id"`
	Name         string    `dynamodbav:"name"`
	LandingURL   string    `dynamodbav:"landing_url"`
	DefaultOffer string    `dynamodbav:"default_offer"`
	CurrentOffer string    `dynamodbav:"current_offer"`
	Version      int64     `dynamodbav:"version"`
	CreatedAt    time.Time `dynamodbav:"created_at"`
	UpdatedAt    time.Time `dynamodbav:"updated_at"`
}

// ProgramCounter is a program's totals after its experiments ended. Only
// the aggregator writes it (ADD from the stream).
type ProgramCounter struct {
	Key
	Program            string                `dynamodbav:"program"`
	Clicks             int64                 `dynamodbav:"clicks"`
	Signups            int64                 `dynamodbav:"signups"`
	Conversions        int64                 `dynamodbav:"conversions"`
	ConvertingReferees int64                 `dynamodbav:"converting_referees"`
	Value              attributevalue.Number `dynamodbav:"value"`
}

// Reward is one entry of the rewards ledger (refx.Reward), put once by the
// aggregator's reward reactor and moved by conditional updates of its
// status; stream consumers see each move as a change of status.
type Reward struct {
	Key
	GSI1PK          string     `dynamodbav:"gsi1pk"`
	GSI1SK          string     `dynamodbav:"gsi1sk"`
	Entity          string     `dynamodbav:"entity"`
	ID              string     `dynamodbav:"id"`
	Status          string     `dynamodbav:"status"`
	Role            string     `dynamodbav:"role"`
	Beneficiary     string     `dynamodbav:"beneficiary"`
	Referrer        string     `dynamodbav:"referrer"`
	Referee         string     `dynamodbav:"referee"`
	Code            string     `dynamodbav:"code"`
	Experiment      string     `dynamodbav:"experiment"`
	Program         string     `dynamodbav:"program,omitempty"`
	Variant         string     `dynamodbav:"variant"`
	Amount          string     `dynamodbav:"amount"`
	Currency        string     `dynamodbav:"currency"`
	QualifyingEvent string     `dynamodbav:"qualifying_event"`
	HoldUntil       *time.Time `dynamodbav:"hold_until,omitempty"`
	Reason          string     `dynamodbav:"reason,omitempty"`
	IssuedRef       string     `dynamodbav:"issued_ref,omitempty"`
	// CapScope names the beneficiary's cap item the reward counts on, whose
	// per-status totals every move of the reward updates.
	CapScope  string    `dynamodbav:"cap_scope"`
	CreatedAt time.Time `dynamodbav:"created_at"`
	UpdatedAt time.Time `dynamodbav:"updated_at"`
	By        *Actor    `dynamodbav:"by,omitempty"`
}
