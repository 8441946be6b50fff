package refx

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/refx-dev/refx/pkg/bucket"
)

// Status is the lifecycle state of an experiment: draft → in_review →
// approved → running → stopped → concluded, and archived (lifecycle.go).
type Status string

// Experiment statuses.
const (
	StatusDraft     Status = "draft"
	StatusInReview  Status = "in_review"
	StatusApproved  Status = "approved"
	StatusRunning   Status = "running"
	StatusStopped   Status = "stopped"
	StatusConcluded Status = "concluded"
	StatusArchived  Status = "archived"
)

// SourceLamed marks experiments of Alephbet/Lamed clients.
const SourceLamed = "lamed"

// GoalKind says what a goal measures.
type GoalKind string

// Goal kinds: whether a user converted, or a value per participant too.
const (
	GoalBinomial GoalKind = "binomial"
	GoalValue    GoalKind = "value"
)

// Experiment limits.
const (
	MaxVariants        = 16
	MaxGoals           = 32
	MaxPayloadBytes    = 4096
	MaxAudienceBytes   = 16 << 10
	MaxTextLen         = 2000
	DefaultShards      = 8
	MaxShards          = 64
	maxWeight          = 1_000_000
	weightSumTolerance = 1e-9
)

// Variant is one arm of an experiment.
type Variant struct {
	Key     string          `json:"key"`
	Weight  float64         `json:"weight"`
	Payload json.RawMessage `json:"payload,omitempty"`
	// Rewards, on a referral experiment's variant, is what its offer pays
	// (reward.go).
	Rewards *RewardPlan `json:"rewards,omitempty"`
}

// Goal is an event type an experiment measures.
type Goal struct {
	Key  string   `json:"key"`
	Kind GoalKind `json:"kind"`
	// ServerOnly goals count only events sent with a secret key (a
	// customer's backend): a browser holds only a client key, and must not
	// be able to make up purchases.
	ServerOnly bool `json:"server_only,omitempty"`
	// Cap, on a value goal, winsorizes each event's value to [-Cap, Cap]
	// when it is counted, so that one absurd amount cannot decide a test.
	// Counting the capped value at ingestion keeps the counters exact sums
	// of the capped metric; the event keeps the value as sent.
	Cap *Decimal `json:"cap,omitempty"`
	// Decision (role, direction, minimum sample, one-sidedness, margin)
	// says how the goal's metrics are judged.
	Decision
}

// Capped returns v limited to the goal's cap, and whether the cap changed
// it. The cap bounds the magnitude both ways: a refund of -1e9 distorts a
// mean as much as a purchase of 1e9.
func (g Goal) Capped(v Decimal) (Decimal, bool) {
	switch {
	case g.Cap == nil:
		return v, false
	case v.units > g.Cap.units:
		return *g.Cap, true
	case v.units < -g.Cap.units:
		return Decimal{units: -g.Cap.units}, true
	}
	return v, false
}

// sameGoals reports whether two goal lists measure the same thing: the
// same keys, kinds, trust and caps, in the same order. Their decisions may
// differ: they change the reading, not the counts.
func sameGoals(a, b []Goal) bool {
	return slices.EqualFunc(a, b, func(x, y Goal) bool {
		return x.Key == y.Key && x.Kind == y.Kind && x.ServerOnly == y.ServerOnly &&
			(x.Cap == nil) == (y.Cap == nil) && (x.Cap == nil || *x.Cap == *y.Cap)
	})
}

// Experiment is an A/B test: its brief, its arms, what it measures and where
// it is in its lifecycle.
type Experiment struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Hypothesis string    `json:"hypothesis,omitempty"`
	Owner      string    `json:"owner,omitempty"`
	Variants   []Variant `json:"variants"`
	Control    string    `json:"control"`
	Coverage   float64   `json:"coverage"`
	Goals      []Goal    `json:"goals"`
	// RatioMetrics are ratios of two goals' per-participant totals.
	RatioMetrics []RatioMetric `json:"ratio_metrics,omitempty"`
	// Seed feeds the assignment hash; it defaults to the id so that the same
	// user lands in unrelated buckets across experiments.
	Seed string `json:"seed"`
	// CounterShards is how many partitions each counter is spread over.
	CounterShards int `json:"counter_shards"`
	// Source is "lamed" for experiments that Alephbet clients assign and
	// refx discovers from their events; empty for refx's own.
	Source string `json:"source,omitempty"`
	// Namespace is the Lamed namespace of a "lamed" experiment.
	Namespace string `json:"namespace,omitempty"`
	// Referral, when set, makes this a referral experiment.
	Referral *ReferralConfig `json:"referral,omitempty"`
	// AA marks an A/A test: its variants are identical (aa.go).
	AA bool `json:"aa,omitempty"`
	// Audience, when set, is a GrowthBook condition (as a flag rule's) on
	// the attributes sent with an assignment: users outside it are answered
	// as users outside the coverage are, and never enrolled.
	Audience json.RawMessage `json:"audience,omitempty"`
	// Kind is "holdout" for a holdout (holdout.go), empty for an experiment.
	Kind ExperimentKind `json:"kind,omitempty"`
	// Layer, when set, is the layer whose range LayerRange (all of it when
	// nil) the experiment enrols from; a holdout's is the layer it covers
	// (every experiment when empty). See layer.go.
	Layer      string      `json:"layer,omitempty"`
	LayerRange *LayerRange `json:"layer_range,omitempty"`
	// Holdouts are the running holdouts covering the experiment, fixed when
	// it starts: their users are kept out of it.
	Holdouts []HoldoutRef `json:"holdouts,omitempty"`
	// Flags, on a holdout, also keeps its held-out users out of every
	// flag rule but linked experiments' (holdout.go).
	Flags bool `json:"flags,omitempty"`

	// Phase is the current phase, 1-based (0, read as 1, on experiments
	// built before phases existed: CurrentPhase); Phases lists every phase
	// once a second started (phase.go).
	Phase  int     `json:"phase"`
	Phases []Phase `json:"phases,omitempty"`

	Status    Status     `json:"status"`
	Version   int64      `json:"version"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	StoppedAt *time.Time `json:"stopped_at,omitempty"`

	// The plan of the brief (lifecycle.go): the dates, the minimum
	// detectable effect (relative), the ICE priority, links, and the
	// planned sample size (total units) computed from MDE and the primary
	// metric by the power plan when the experiment is submitted.
	PlannedStart      *time.Time `json:"planned_start,omitempty"`
	PlannedEnd        *time.Time `json:"planned_end,omitempty"`
	MDE               *float64   `json:"mde,omitempty"`
	Priority          *Priority  `json:"priority,omitempty"`
	Links             []Link     `json:"links,omitempty"`
	PlannedSampleSize *int64     `json:"planned_sample_size,omitempty"`
	// The review: who last changed the experiment (an actor id), who
	// submitted it, who approved its launch, and its conclusion.
	LastEditor  string      `json:"last_editor,omitempty"`
	SubmittedBy *Actor      `json:"submitted_by,omitempty"`
	Approval    *Approval   `json:"approval,omitempty"`
	Conclusion  *Conclusion `json:"conclusion,omitempty"`

	// admits is Audience compiled by the store that read the experiment
	// (SetAudienceMatcher): the condition language lives in pkg/growthbook,
	// which imports this package, and compiling once per read experiment
	// keeps parsing off the assignment path.
	admits func(attrs map[string]any) bool
}

// NewExperiment is the body of a create request. Pointer fields are optional
// and take defaults.
type NewExperiment struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	Hypothesis    string          `json:"hypothesis"`
	Owner         string          `json:"owner"`
	Variants      []Variant       `json:"variants"`
	Control       string          `json:"control"`
	Coverage      *float64        `json:"coverage"`
	Goals         []Goal          `json:"goals"`
	RatioMetrics  []RatioMetric   `json:"ratio_metrics"`
	Seed          string          `json:"seed"`
	CounterShards *int            `json:"counter_shards"`
	Referral      *ReferralConfig `json:"referral"`
	Audience      json.RawMessage `json:"audience"`
	AA            bool            `json:"aa"`
	Kind          ExperimentKind  `json:"kind"`
	Layer         string          `json:"layer"`
	LayerRange    *LayerRange     `json:"layer_range"`
	PlannedStart  *time.Time      `json:"planned_start"`
	PlannedEnd    *time.Time      `json:"planned_end"`
	MDE           *float64        `json:"mde"`
	Priority      *Priority       `json:"priority"`
	Links         []Link          `json:"links"`
}

// Build validates n and returns the draft experiment it describes.
func (n NewExperiment) Build(now time.Time) (*Experiment, error) {
	e := &Experiment{
		ID: n.ID, Name: n.Name, Hypothesis: n.Hypothesis, Owner: n.Owner,
		Variants: n.Variants, Control: n.Control, Coverage: 1, Goals: n.Goals, RatioMetrics: n.RatioMetrics,
		Seed: n.Seed, CounterShards: DefaultShards, Referral: n.Referral, Audience: normalAudience(n.Audience),
		Kind: n.Kind, Layer: n.Layer, LayerRange: n.LayerRange,
		Status: StatusDraft, Version: 1, CreatedAt: now.UTC(), UpdatedAt: now.UTC(), Phase: 1,
	}
	if e.Name == "" {
		e.Name = e.ID
	}
	if e.Seed == "" {
		e.Seed = e.ID
	}
	if n.Coverage != nil {
		e.Coverage = *n.Coverage
	}
	if n.CounterShards != nil {
		e.CounterShards = *n.CounterShards
	}
	if e.Referral != nil {
		e.Referral = e.Referral.withDefaults()
	}
	if e.Control == "" && len(e.Variants) > 0 {
		e.Control = e.Variants[0].Key
	}
	e.AA = n.AA
	e.PlannedStart, e.PlannedEnd, e.MDE, e.Priority, e.Links = utcTime(n.PlannedStart), utcTime(n.PlannedEnd), n.MDE, n.Priority.Scored(), n.Links
	e.fillDecisions()
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e, nil
}

// Validate checks every invariant of an experiment's configuration.
func (e *Experiment) Validate() error {
	switch {
	case !ValidSlug(e.ID):
		return FieldErrorf("id", "must be 1-64 characters of a-z, 0-9, '-' or '_', starting with a letter or digit")
	case len(e.Name) > MaxTextLen:
		return FieldErrorf("name", "must be at most %d bytes", MaxTextLen)
	case len(e.Hypothesis) > MaxTextLen:
		return FieldErrorf("hypothesis", "must be at most %d bytes", MaxTextLen)
	case len(e.Owner) > MaxSlugLen*2:
		return FieldErrorf("owner", "must be at most %d bytes", MaxSlugLen*2)
	case e.Seed == "" || len(e.Seed) > MaxSlugLen*2:
		return FieldErrorf("seed", "must be 1-%d bytes", MaxSlugLen*2)
	case math.IsNaN(e.Coverage) || e.Coverage < 0 || e.Coverage > 1:
		return FieldErrorf("coverage", "must be between 0 and 1")
	case e.CounterShards < 1 || e.CounterShards > MaxShards:
		return FieldErrorf("counter_shards", "must be between 1 and %d", MaxShards)
	}
	if err := validateVariants(e.Variants); err != nil {
		return err
	}
	if err := e.validateAA(); err != nil {
		return err
	}
	if e.Referral != nil {
		if err := e.Referral.validate(); err != nil {
			return err
		}
	}
	if err := e.validateRewards(); err != nil {
		return err
	}
	if err := e.validateAudience(); err != nil {
		return err
	}
	if err := e.validateLayer(); err != nil {
		return err
	}
	if _, ok := e.Variant(e.Control); !ok {
		return FieldErrorf("control", "must be the key of one of the variants")
	}
	if err := validateGoals(e.Goals); err != nil {
		return err
	}
	if err := e.validateBrief(); err != nil {
		return err
	}
	return validateRatioMetrics(e.RatioMetrics, e.Goals)
}

// validateAudience checks the audience's shape; its language is checked
// where experiments are stored, by GrowthBook's parser (pkg/growthbook
// imports this package).
func (e *Experiment) validateAudience() error {
	switch {
	case len(e.Audience) == 0:
		return nil
	case len(e.Audience) > MaxAudienceBytes:
		return FieldErrorf("audience", "must be at most %d bytes", MaxAudienceBytes)
	case e.Referral != nil:
		// A referrer is assigned when they ask for a link, with no
		// attributes but their id: an audience would judge them blind.
		return FieldErrorf("audience", "a referral experiment cannot have one: its referrers are assigned without attributes")
	}
	return CheckCondition("audience", e.Audience)
}

// normalAudience stores no audience for null and {}: both admit everyone,
// and an absent one costs no evaluation.
func normalAudience(a json.RawMessage) json.RawMessage {
	switch c := compactJSON(a); string(c) {
	case "", "null", "{}":
		return nil
	}
	return a
}

// SetAudienceMatcher makes match, the audience compiled by GrowthBook's
// condition language, the one Admits evaluates. The store that reads an
// experiment sets it.
func (e *Experiment) SetAudienceMatcher(match func(attrs map[string]any) bool) {
	e.admits = match
}

// Admits reports whether a user with attrs belongs to the audience. attrs
// without an "id" get user as theirs, as an SDK targets its user by id.
// Without an audience everyone belongs; an audience that was not compiled
// (SetAudienceMatcher) admits no one, since keeping users out is its
// point. attrs is not changed.
func (e *Experiment) Admits(user string, attrs map[string]any) bool {
	switch {
	case len(e.Audience) == 0:
		return true
	case e.admits == nil:
		return false
	}
	if _, ok := attrs["id"]; !ok {
		withID := make(map[string]any, len(attrs)+1)
		maps.Copy(withID, attrs)
		withID["id"] = user
		attrs = withID
	}
	return e.admits(attrs)
}

func validateVariants(vs []Variant) error {
	if len(vs) < 2 || len(vs) > MaxVariants {
		return FieldErrorf("variants", "must list 2 to %d variants", MaxVariants)
	}
	seen := make(map[string]bool, len(vs))
	var sum float64
	for _, v := range vs {
		switch {
		case !ValidKey(v.Key):
			return FieldErrorf("variants", "key %q must be 1-64 characters of letters, digits, '-', '_' or '.'", v.Key)
		case seen[v.Key]:
			return FieldErrorf("variants", "key %q appears twice", v.Key)
		case math.IsNaN(v.Weight) || v.Weight < 0 || v.Weight > maxWeight:
			return FieldErrorf("variants", "weight of %q must be between 0 and %d", v.Key, maxWeight)
		case len(v.Payload) > MaxPayloadBytes:
			return FieldErrorf("variants", "payload of %q must be at most %d bytes", v.Key, MaxPayloadBytes)
		case len(v.Payload) > 0 && !json.Valid(v.Payload):
			return FieldErrorf("variants", "payload of %q must be JSON", v.Key)
		}
		seen[v.Key] = true
		sum += v.Weight
	}
	if sum <= weightSumTolerance {
		return FieldErrorf("variants", "weights must not all be zero")
	}
	return nil
}

func validateGoals(gs []Goal) error {
	if len(gs) == 0 || len(gs) > MaxGoals {
		return FieldErrorf("goals", "must list 1 to %d goals", MaxGoals)
	}
	seen := make(map[string]bool, len(gs))
	for _, g := range gs {
		switch {
		case !ValidKey(g.Key):
			return FieldErrorf("goals", "key %q must be 1-64 characters of letters, digits, '-', '_' or '.'", g.Key)
		case seen[g.Key]:
			return FieldErrorf("goals", "key %q appears twice", g.Key)
		case g.Kind != GoalBinomial && g.Kind != GoalValue:
			return FieldErrorf("goals", "kind of %q must be %q or %q", g.Key, GoalBinomial, GoalValue)
		case g.Cap != nil && g.Kind != GoalValue:
			return FieldErrorf("goals", "cap of %q needs a value goal: a binomial goal counts no values", g.Key)
		case g.Cap != nil && g.Cap.units <= 0:
			return FieldErrorf("goals", "cap of %q must be greater than 0", g.Key)
		}
		if err := g.Decision.validate("goals", g.Key); err != nil {
			return err
		}
		seen[g.Key] = true
	}
	return nil
}

// Variant returns the variant with the key.
func (e *Experiment) Variant(key string) (Variant, bool) {
	for _, v := range e.Variants {
		if v.Key == key {
			return v, true
		}
	}
	return Variant{}, false
}

// ControlVariant returns the control arm.
func (e *Experiment) ControlVariant() Variant {
	v, _ := e.Variant(e.Control)
	return v
}

// Goal returns the goal with the key.
func (e *Experiment) Goal(key string) (Goal, bool) {
	for _, g := range e.Goals {
		if g.Key == key {
			return g, true
		}
	}
	return Goal{}, false
}

// Bucket returns the variant the hash puts user in, and false when user falls
// outside the experiment's coverage. It reads nothing: any process computes
// the same answer.
func (e *Experiment) Bucket(user string) (Variant, bool) {
	var buf [MaxVariants]float64
	i := bucket.Assign(e.Seed, user, e.Weights(buf[:0]), e.Coverage)
	if i < 0 {
		return Variant{}, false
	}
	return e.Variants[i], true
}

// Weights appends the variants' weights to dst, scaled to sum to 1:
// GrowthBook's ranges take weights summing to 1 (and fall back to equal
// weights otherwise); refx weights are relative. Bucket and the GrowthBook
// SDK payload both use it, so that an SDK builds the ranges refx assigns by.
func (e *Experiment) Weights(dst []float64) []float64 {
	var sum float64
	for _, v := range e.Variants {
		sum += v.Weight
	}
	for _, v := range e.Variants {
		dst = append(dst, v.Weight/sum)
	}
	return dst
}

// ExperimentPatch is the body of an update. Version is the version the client
// read; a stale one is a conflict. Other fields are optional.
type ExperimentPatch struct {
	Version    int64      `json:"version"`
	Name       *string    `json:"name"`
	Hypothesis *string    `json:"hypothesis"`
	Owner      *string    `json:"owner"`
	Variants   *[]Variant `json:"variants"`
	Control    *string    `json:"control"`
	Coverage   *float64   `json:"coverage"`
	Goals      *[]Goal    `json:"goals"`
	// RatioMetrics replaces the ratio metrics; a running experiment may
	// change only their decisions.
	RatioMetrics  *[]RatioMetric `json:"ratio_metrics"`
	CounterShards *int           `json:"counter_shards"`
	// Referral replaces the referral configuration; its guards and landing
	// URL may change at any time.
	Referral *ReferralConfig `json:"referral"`
	// Audience replaces the audience; null or {} removes it.
	Audience json.RawMessage `json:"audience"`
	// AA makes a draft an A/A test or an A/B test.
	AA *bool `json:"aa"`
	// Layer and LayerRange move a draft within or out of a layer ("" for
	// none).
	Layer      *string     `json:"layer"`
	LayerRange *LayerRange `json:"layer_range"`
	// The plan of the brief; null clears a field.
	PlannedStart Optional[time.Time] `json:"planned_start"`
	PlannedEnd   Optional[time.Time] `json:"planned_end"`
	MDE          Optional[float64]   `json:"mde"`
	Priority     Optional[Priority]  `json:"priority"`
	Links        *[]Link             `json:"links"`
}

// Apply returns a copy of e with the patch applied, validated, its version
// bumped. A draft may change anything. A running experiment may change its
// brief, but not which variants and goals exist, their payloads, the control
// or the shard count: counts already taken would stop meaning what they
// meant. That includes a goal's cap and server_only: sums counted under two
// caps, or from two sets of senders, are no one metric's. Nor may it change
// its weights, lower its coverage or change its audience other than by
// removing it: assignments are sticky, so users who entered before such a
// change keep their arm while later ones are split differently, and the arms
// would no longer hold like populations (newPhase). Raising the coverage is
// safe: bucket ranges grow in place, so no enrolled user changes arm, and
// every arm widens by the same share. So may the goals' and ratio metrics' decisions (role,
// direction, ...), which change only the reading of the counts; which ratio
// metrics exist may not. A stopped experiment may change only its brief: a
// primary chosen after the results are final is no longer a decision made
// in advance.
func (e *Experiment) Apply(p ExperimentPatch, now time.Time) (*Experiment, error) {
	if e.Source == SourceLamed {
		return nil, Errorf(ECONFLICT, "experiment %s is defined by its Alephbet clients and cannot be edited", e.ID)
	}
	if p.Version != e.Version {
		return nil, Errorf(ECONFLICT, "experiment %s is at version %d, not %d: read it again", e.ID, e.Version, p.Version)
	}
	next := *e
	next.Variants = append([]Variant(nil), e.Variants...)
	if p.Name != nil {
		next.Name = *p.Name
	}
	if p.Hypothesis != nil {
		next.Hypothesis = *p.Hypothesis
	}
	if p.Owner != nil {
		next.Owner = *p.Owner
	}
	p.brief(&next)
	if e.Status.Launched() {
		if err := e.checkLiveChange(p); err != nil {
			return nil, err
		}
	}
	if p.Variants != nil {
		next.Variants = *p.Variants
	}
	if p.Control != nil {
		next.Control = *p.Control
	}
	if p.Coverage != nil {
		next.Coverage = *p.Coverage
	}
	if p.Goals != nil {
		next.Goals = *p.Goals
	}
	if p.RatioMetrics != nil {
		next.RatioMetrics = *p.RatioMetrics
	}
	if p.CounterShards != nil {
		next.CounterShards = *p.CounterShards
	}
	if p.Referral != nil {
		next.Referral = p.Referral.withDefaults()
	}
	if p.Audience != nil {
		next.Audience, next.admits = normalAudience(p.Audience), nil
	}
	if err := e.applyAA(p, &next); err != nil {
		return nil, err
	}
	if p.Layer != nil {
		next.Layer = *p.Layer
	}
	if p.LayerRange != nil {
		next.LayerRange = p.LayerRange
	}
	next.fillDecisions()
	if e.Status.Ended() && !sameDecisions(e, &next) {
		return nil, &Error{Code: ECONFLICT, Field: "goals", Message: "cannot change roles, directions or margins while the experiment is " + string(e.Status)}
	}
	if (e.Status == StatusInReview || e.Status == StatusApproved) && !sameDesign(e, &next) {
		// What was reviewed is no longer what would launch.
		next.Status, next.SubmittedBy, next.Approval, next.PlannedSampleSize = StatusDraft, nil, nil, nil
	}
	if err := next.Validate(); err != nil {
		return nil, err
	}
	next.Version++
	next.UpdatedAt = now.UTC()
	return &next, nil
}

func (e *Experiment) checkLiveChange(p ExperimentPatch) error {
	frozen := func(field string) error {
		return &Error{Code: ECONFLICT, Field: field, Message: "cannot change while the experiment is " + string(e.Status)}
	}
	switch {
	case p.Control != nil && *p.Control != e.Control:
		return frozen("control")
	case p.Goals != nil && !sameGoals(*p.Goals, e.Goals):
		return frozen("goals")
	case p.RatioMetrics != nil && !slices.EqualFunc(*p.RatioMetrics, e.RatioMetrics, sameRatio):
		// Their cross-product counters run from the start: a ratio added
		// later would be read from sums that missed its first events.
		return frozen("ratio_metrics")
	case p.CounterShards != nil && *p.CounterShards != e.CounterShards:
		return frozen("counter_shards")
	case p.Layer != nil && *p.Layer != e.Layer:
		// The start claimed the range in the layer it named.
		return frozen("layer")
	case p.LayerRange != nil && (e.LayerRange == nil || *p.LayerRange != *e.LayerRange):
		return frozen("layer_range")
	case e.Status.Ended() && p.Coverage != nil:
		return frozen("coverage")
	case e.Status.Ended() && p.Audience != nil:
		return frozen("audience")
	case e.Status.Ended() && p.Variants != nil:
		return frozen("variants")
	case p.Coverage != nil && *p.Coverage < e.Coverage:
		return newPhase("coverage", "lowering the coverage changes who may enter")
	case p.Audience != nil && !widensAudience(e.Audience, p.Audience):
		return newPhase("audience", "an audience other than everyone changes who may enter")
	}
	if p.Variants == nil {
		return nil
	}
	if len(*p.Variants) != len(e.Variants) {
		return frozen("variants")
	}
	for i, v := range *p.Variants {
		old := e.Variants[i]
		if v.Key != old.Key || !bytes.Equal(compactJSON(v.Payload), compactJSON(old.Payload)) || !v.Rewards.Equal(old.Rewards) {
			return &Error{Code: ECONFLICT, Field: "variants", Message: "a running experiment may not change which variants exist, their payloads or their rewards"}
		}
	}
	// Relative weights are compared as the shares Bucket hashes by: 1:1 and
	// 2:2 split users alike.
	changed := Experiment{Variants: *p.Variants}
	var was, now [MaxVariants]float64
	if !slices.Equal(e.Weights(was[:0]), changed.Weights(now[:0])) {
		return newPhase("variants", "new weights would mix users who entered under the old ones with users who entered under the new")
	}
	return nil
}

// newPhase refuses a change to a running experiment that would bias it: a
// sticky assignment keeps everyone who entered before the change where
// they were, so the arms would hold different mixes of early and late
// users. Such a change starts a new phase, whose counts are its own.
func newPhase(field, why string) error {
	return &Error{Code: ECONFLICT, Field: field, Message: "cannot change while the experiment is running: " + why + "; start a new phase instead (POST /v1/experiments/{id}/phases)"}
}

// widensAudience reports whether replacing the audience old by next only
// lets more users in: keeping it, or removing it. Whether one condition
// admits a superset of another is not decidable in general, so any other
// change counts as changing who may enter.
func widensAudience(old, next json.RawMessage) bool {
	n := normalAudience(next)
	return n == nil || bytes.Equal(compactJSON(n), compactJSON(old))
}

func compactJSON(b json.RawMessage) []byte {
	var out bytes.Buffer
	if json.Compact(&out, b) != nil {
		return b
	}
	return out.Bytes()
}
