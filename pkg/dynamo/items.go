package dynamo

import (
	"crypto/rand"
	"encoding/json"
	"math/big"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/refx"
)

// Entity names, stored in every item's "entity" attribute so that stream
// consumers can tell items apart without parsing keys.
const (
	entityExperiment = "experiment"
	entityAssignment = "assignment"
	entityEvent      = "event"
	entityCounter    = "counter"
	entityReferral   = "referral"
	entityPointer    = "referral_pointer"
	entityClick      = "click"
	entityVisitor    = "visitor"
	entityAttrib     = "attribution"
	entityRefusal    = "refusal"
	entityMarker     = "guard_marker"
	entityLamedKey   = "lamed_uuid"
	entityVelocity   = "velocity_slot"
)

type variantItem struct {
	Key     string  `dynamodbav:"key"`
	Weight  float64 `dynamodbav:"weight"`
	Payload string  `dynamodbav:"payload,omitempty"`
}

type goalItem struct {
	Key  string `dynamodbav:"key"`
	Kind string `dynamodbav:"kind"`
}

type referralConfigItem struct {
	LandingURL        string `dynamodbav:"landing_url"`
	ConversionGoal    string `dynamodbav:"conversion_goal"`
	WindowDays        int    `dynamodbav:"window_days"`
	MaxSignupsPerHour int    `dynamodbav:"max_signups_per_hour"`
	MaxSignupsPerDay  int    `dynamodbav:"max_signups_per_day"`
}

type experimentItem struct {
	itemKey
	GSI1PK        string              `dynamodbav:"gsi1pk"`
	GSI1SK        string              `dynamodbav:"gsi1sk"`
	Entity        string              `dynamodbav:"entity"`
	ID            string              `dynamodbav:"id"`
	Name          string              `dynamodbav:"name"`
	Hypothesis    string              `dynamodbav:"hypothesis,omitempty"`
	Owner         string              `dynamodbav:"owner,omitempty"`
	Variants      []variantItem       `dynamodbav:"variants"`
	Control       string              `dynamodbav:"control"`
	Coverage      float64             `dynamodbav:"coverage"`
	Goals         []goalItem          `dynamodbav:"goals"`
	Seed          string              `dynamodbav:"seed"`
	CounterShards int                 `dynamodbav:"counter_shards"`
	Referral      *referralConfigItem `dynamodbav:"referral,omitempty"`
	Status        string              `dynamodbav:"status"`
	Version       int64               `dynamodbav:"version"`
	CreatedAt     time.Time           `dynamodbav:"created_at"`
	UpdatedAt     time.Time           `dynamodbav:"updated_at"`
	StartedAt     *time.Time          `dynamodbav:"started_at,omitempty"`
	StoppedAt     *time.Time          `dynamodbav:"stopped_at,omitempty"`
	Source        string              `dynamodbav:"source,omitempty"`
	Namespace     string              `dynamodbav:"namespace,omitempty"`
	// A Lamed experiment's variants and goals are string sets that its
	// tracking calls ADD to: idempotent, and no read before the write.
	LamedVariants []string `dynamodbav:"lamed_variants,stringset,omitempty"`
	LamedGoals    []string `dynamodbav:"lamed_goals,stringset,omitempty"`
	// WriteID is unique per write, so that a write whose response was lost
	// can recognise itself when the SDK retries it.
	WriteID string `dynamodbav:"write_id"`
}

func toExperimentItem(e *refx.Experiment) experimentItem {
	it := experimentItem{
		WriteID: rand.Text(),
		itemKey: experimentKey(e.ID),
		GSI1PK:  experimentListPK, GSI1SK: experimentListSK(e.CreatedAt, e.ID),
		Entity: entityExperiment,
		ID:     e.ID, Name: e.Name, Hypothesis: e.Hypothesis, Owner: e.Owner,
		Control: e.Control, Coverage: e.Coverage, Seed: e.Seed, CounterShards: e.CounterShards,
		Status: string(e.Status), Version: e.Version,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt, StartedAt: e.StartedAt, StoppedAt: e.StoppedAt,
	}
	for _, v := range e.Variants {
		it.Variants = append(it.Variants, variantItem{Key: v.Key, Weight: v.Weight, Payload: string(v.Payload)})
	}
	for _, g := range e.Goals {
		it.Goals = append(it.Goals, goalItem{Key: g.Key, Kind: string(g.Kind)})
	}
	if r := e.Referral; r != nil {
		it.Referral = &referralConfigItem{r.LandingURL, r.ConversionGoal, r.WindowDays, r.MaxSignupsPerHour, r.MaxSignupsPerDay}
	}
	it.Source, it.Namespace = e.Source, e.Namespace
	if e.Source == refx.SourceLamed {
		for _, v := range e.Variants {
			it.LamedVariants = append(it.LamedVariants, v.Key)
		}
		for _, g := range e.Goals {
			it.LamedGoals = append(it.LamedGoals, g.Key)
		}
		// Read back, lamedShape rebuilds both from the sets.
		it.Variants, it.Goals = nil, nil
	}
	return it
}

func (it experimentItem) experiment() *refx.Experiment {
	e := &refx.Experiment{
		ID: it.ID, Name: it.Name, Hypothesis: it.Hypothesis, Owner: it.Owner,
		Control: it.Control, Coverage: it.Coverage, Seed: it.Seed, CounterShards: it.CounterShards,
		Status: refx.Status(it.Status), Version: it.Version,
		CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt, StartedAt: it.StartedAt, StoppedAt: it.StoppedAt,
	}
	for _, v := range it.Variants {
		var payload json.RawMessage
		if v.Payload != "" {
			payload = json.RawMessage(v.Payload)
		}
		e.Variants = append(e.Variants, refx.Variant{Key: v.Key, Weight: v.Weight, Payload: payload})
	}
	for _, g := range it.Goals {
		e.Goals = append(e.Goals, refx.Goal{Key: g.Key, Kind: refx.GoalKind(g.Kind)})
	}
	e.Source, e.Namespace = it.Source, it.Namespace
	if it.Source == refx.SourceLamed {
		lamedShape(e, it)
	}
	if r := it.Referral; r != nil {
		e.Referral = &refx.ReferralConfig{LandingURL: r.LandingURL, ConversionGoal: r.ConversionGoal,
			WindowDays: r.WindowDays, MaxSignupsPerHour: r.MaxSignupsPerHour, MaxSignupsPerDay: r.MaxSignupsPerDay}
	}
	return e
}

type assignmentItem struct {
	itemKey
	Entity     string    `dynamodbav:"entity"`
	Experiment string    `dynamodbav:"experiment"`
	User       string    `dynamodbav:"user"`
	Variant    string    `dynamodbav:"variant"`
	AssignedAt time.Time `dynamodbav:"assigned_at"`
	// Converted holds the goals this user has converted on, so that an event
	// knows before writing whether it is the user's first conversion.
	Converted []string `dynamodbav:"converted,stringset,omitempty"`
	// ValueTotals is the user's total value per goal, from the vt_<goal>
	// attributes: what the per-participant sum of squares needs.
	ValueTotals map[string]string `dynamodbav:"-"`
}

// valueTotalPrefix names the attributes of an assignment holding the user's
// total value per goal: vt_<goal>.
const valueTotalPrefix = "vt_"

// readValueTotals keeps the vt_<goal> attributes of a stored assignment.
func (it *assignmentItem) readValueTotals(av map[string]types.AttributeValue) {
	for name, v := range av {
		goal, ok := strings.CutPrefix(name, valueTotalPrefix)
		if n, isNumber := v.(*types.AttributeValueMemberN); ok && isNumber {
			if it.ValueTotals == nil {
				it.ValueTotals = map[string]string{}
			}
			it.ValueTotals[goal] = n.Value
		}
	}
}

// valueTotal is the user's total value on goal so far.
func (it assignmentItem) valueTotal(goal string) *big.Rat {
	r := new(big.Rat)
	if s, ok := it.ValueTotals[goal]; ok {
		r.SetString(s)
	}
	return r
}

func (it assignmentItem) converted(goal string) bool {
	for _, g := range it.Converted {
		if g == goal {
			return true
		}
	}
	return false
}

type creditItem struct {
	Experiment      string `dynamodbav:"experiment"`
	Variant         string `dynamodbav:"variant"`
	FirstConversion bool   `dynamodbav:"first_conversion"`
	// Referrer and Code are set on a referral credit: the event is a
	// referee's conversion, counted for the referrer's variant and code.
	Referrer string `dynamodbav:"referrer,omitempty"`
	Code     string `dynamodbav:"code,omitempty"`
	// ParticipantSqDelta is what the event adds to Σ over participants of
	// (their total value)²: (V+v)² − V², V being the user's total before
	// it. Computed on the request path from the user's own item, summed by
	// the aggregator.
	ParticipantSqDelta attributevalue.Number `dynamodbav:"value_participant_sq_delta,omitempty"`
}

type eventItem struct {
	itemKey
	Entity      string       `dynamodbav:"entity"`
	ID          string       `dynamodbav:"id"`
	Type        string       `dynamodbav:"type"`
	User        string       `dynamodbav:"user"`
	Value       *string      `dynamodbav:"value,omitempty"`
	OccurredAt  time.Time    `dynamodbav:"occurred_at"`
	ReceivedAt  time.Time    `dynamodbav:"received_at"`
	Code        string       `dynamodbav:"referral_code,omitempty"`
	Properties  string       `dynamodbav:"properties,omitempty"`
	Fingerprint string       `dynamodbav:"fingerprint"`
	Credits     []creditItem `dynamodbav:"credits"`
	// ExpiresAt ends the idempotency window: DynamoDB's TTL deletes the item.
	ExpiresAt time.Time `dynamodbav:"ttl,unixtime"`
}

type counterItem struct {
	itemKey
	Experiment            string                `dynamodbav:"experiment"`
	Variant               string                `dynamodbav:"variant"`
	Goal                  string                `dynamodbav:"goal,omitempty"`
	Participants          int64                 `dynamodbav:"participants"`
	Users                 int64                 `dynamodbav:"users"`
	Events                int64                 `dynamodbav:"events"`
	ValueSum              attributevalue.Number `dynamodbav:"value_sum"`
	ValueSumSq            attributevalue.Number `dynamodbav:"value_sum_sq"`
	ValueParticipantSumSq attributevalue.Number `dynamodbav:"value_participant_sum_sq"`
}

// codeItem is a referral code: written once, when it is created, and only
// read afterwards.
type codeItem struct {
	itemKey
	Entity string `dynamodbav:"entity"`
	referralCode
}

// codeTotalsItem is a code's running totals. Only the aggregator writes it
// (ADD from the stream); its changes, old and new image, give the
// per-referrer sums of squares of the variant's referral counter exactly.
type codeTotalsItem struct {
	itemKey
	Entity      string                `dynamodbav:"entity"`
	Code        string                `dynamodbav:"code"`
	Experiment  string                `dynamodbav:"experiment"`
	Variant     string                `dynamodbav:"variant"`
	Clicks      int64                 `dynamodbav:"clicks"`
	Signups     int64                 `dynamodbav:"signups"`
	Conversions int64                 `dynamodbav:"conversions"`
	Value       attributevalue.Number `dynamodbav:"value"`
}

// pointerItem finds a referrer's code in an experiment.
type pointerItem struct {
	itemKey
	Entity string `dynamodbav:"entity"`
	referralCode
}

// referralCode is what a code item and its referrer's pointer to it both
// hold, written once when the code is created: embedded, its attributes sit
// at the top level of either item.
type referralCode struct {
	Code       string    `dynamodbav:"code"`
	Experiment string    `dynamodbav:"experiment"`
	Referrer   string    `dynamodbav:"referrer"`
	Variant    string    `dynamodbav:"variant"`
	Counted    bool      `dynamodbav:"counted"`
	CreatedAt  time.Time `dynamodbav:"created_at"`
}

type clickItem struct {
	itemKey
	Entity     string    `dynamodbav:"entity"`
	Code       string    `dynamodbav:"code"`
	Experiment string    `dynamodbav:"experiment"`
	Variant    string    `dynamodbav:"variant"`
	Counted    bool      `dynamodbav:"counted"`
	Visitor    string    `dynamodbav:"visitor"`
	IPHash     string    `dynamodbav:"ip_hash,omitempty"`
	ClickedAt  time.Time `dynamodbav:"clicked_at"`
}

// seenItem marks a visitor's first click in an experiment: its insert is
// one unique visitor of the variant of the code clicked first.
type seenItem struct {
	itemKey
	Entity     string    `dynamodbav:"entity"`
	Experiment string    `dynamodbav:"experiment"`
	Variant    string    `dynamodbav:"variant"`
	Code       string    `dynamodbav:"code"`
	Counted    bool      `dynamodbav:"counted"`
	SeenAt     time.Time `dynamodbav:"seen_at"`
}

type attributionItem struct {
	itemKey
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
}

func (it attributionItem) attribution() *refx.Attribution {
	return &refx.Attribution{
		Referee: it.Referee, Referrer: it.Referrer, Code: it.Code, Experiment: it.Experiment,
		Variant: it.Variant, Status: it.Status, Reasons: it.Reasons,
		AttributedAt: it.AttributedAt, ConvertedAt: it.ConvertedAt,
	}
}

type refusalItem struct {
	itemKey
	Entity     string    `dynamodbav:"entity"`
	Referee    string    `dynamodbav:"referee"`
	Code       string    `dynamodbav:"code"`
	Experiment string    `dynamodbav:"experiment"`
	Variant    string    `dynamodbav:"variant"`
	Counted    bool      `dynamodbav:"counted"`
	Reason     string    `dynamodbav:"reason"`
	RefusedAt  time.Time `dynamodbav:"refused_at"`
}

// lamedItem is the idempotency key of one Lamed counter increment: the
// uuid Alephbet sends, per counter.
type lamedItem struct {
	itemKey
	Entity     string    `dynamodbav:"entity"`
	Counter    string    `dynamodbav:"counter"`
	Experiment string    `dynamodbav:"experiment"`
	Variant    string    `dynamodbav:"variant"`
	Event      string    `dynamodbav:"event"`
	ReceivedAt time.Time `dynamodbav:"received_at"`
	ExpiresAt  time.Time `dynamodbav:"ttl,unixtime"`
}
