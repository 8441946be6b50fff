package dynamo

import (
	"crypto/rand"
	"encoding/json"
	"math/big"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/item"
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
	// entityLamedNamespace counts a Lamed namespace's experiments.
	entityLamedNamespace = "lamed_namespace"
	entityVelocity       = "velocity_slot"
	entityRefund         = "refund"
	entityConversion     = "conversion_change"
)

func toExperimentItem(e *refx.Experiment) experimentItem {
	it := experimentItem{
		WriteID: rand.Text(),
		Key:     experimentKey(e.ID),
		GSI1PK:  experimentListPK, GSI1SK: experimentListSK(e.CreatedAt, e.ID),
		Entity: entityExperiment,
		ID:     e.ID, Name: e.Name, Hypothesis: e.Hypothesis, Owner: e.Owner,
		Control: e.Control, Coverage: e.Coverage, Seed: e.Seed, CounterShards: e.CounterShards,
		Audience: string(e.Audience), Status: string(e.Status), Version: e.Version,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt, StartedAt: e.StartedAt, StoppedAt: e.StoppedAt,
	}
	for _, v := range e.Variants {
		it.Variants = append(it.Variants, variantItem{Key: v.Key, Weight: v.Weight, Payload: string(v.Payload), Rewards: rewardPlanJSON(v.Rewards)})
	}
	for _, g := range e.Goals {
		gi := goalItem{Key: g.Key, Kind: string(g.Kind), ServerOnly: g.ServerOnly, Decision: toDecisionItem(g.Decision)}
		if g.Cap != nil {
			gi.Cap = g.Cap.String()
		}
		it.Goals = append(it.Goals, gi)
	}
	for _, r := range e.RatioMetrics {
		it.RatioMetrics = append(it.RatioMetrics, item.RatioMetric{Key: r.Key, Numerator: r.Numerator, Denominator: r.Denominator, Decision: toDecisionItem(r.Decision)})
	}
	if r := e.Referral; r != nil {
		it.Referral = &referralConfigItem{LandingURL: r.LandingURL, ConversionGoal: r.ConversionGoal, WindowDays: r.WindowDays,
			MaxSignupsPerHour: r.MaxSignupsPerHour, MaxSignupsPerDay: r.MaxSignupsPerDay, Program: r.Program,
			CodeTTLDays: r.CodeTTLDays}
		for name, d := range r.Metrics {
			if it.Referral.Metrics == nil {
				it.Referral.Metrics = map[string]item.Decision{}
			}
			it.Referral.Metrics[name] = toDecisionItem(d)
		}
	}
	it.Source, it.Namespace, it.AA = e.Source, e.Namespace, e.AA
	reviewToItem(e, &it)
	layerFieldsToItem(e, &it)
	phasesToItem(e, &it)
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

func experimentOf(it experimentItem) *refx.Experiment {
	e := &refx.Experiment{
		ID: it.ID, Name: it.Name, Hypothesis: it.Hypothesis, Owner: it.Owner,
		Control: it.Control, Coverage: it.Coverage, Seed: it.Seed, CounterShards: it.CounterShards,
		Status: refx.Status(it.Status), Version: it.Version,
		CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt, StartedAt: it.StartedAt, StoppedAt: it.StoppedAt,
	}
	if it.Audience != "" {
		e.Audience = json.RawMessage(it.Audience)
	}
	for _, v := range it.Variants {
		var payload json.RawMessage
		if v.Payload != "" {
			payload = json.RawMessage(v.Payload)
		}
		e.Variants = append(e.Variants, refx.Variant{Key: v.Key, Weight: v.Weight, Payload: payload, Rewards: rewardPlanOf(v.Rewards)})
	}
	for _, g := range it.Goals {
		goal := refx.Goal{Key: g.Key, Kind: refx.GoalKind(g.Kind), ServerOnly: g.ServerOnly, Decision: decisionOf(g.Decision)}
		// toExperimentItem wrote the cap from a Decimal, so it parses.
		if c, err := refx.ParseDecimal(g.Cap); g.Cap != "" && err == nil {
			goal.Cap = &c
		}
		e.Goals = append(e.Goals, goal)
	}
	for _, r := range it.RatioMetrics {
		e.RatioMetrics = append(e.RatioMetrics, refx.RatioMetric{Key: r.Key, Numerator: r.Numerator, Denominator: r.Denominator, Decision: decisionOf(r.Decision)})
	}
	e.Source, e.Namespace, e.AA = it.Source, it.Namespace, it.AA
	reviewOf(it, e)
	layerFieldsOf(it, e)
	phasesOf(it, e)
	if it.Source == refx.SourceLamed {
		lamedShape(e, it)
	}
	if r := it.Referral; r != nil {
		e.Referral = &refx.ReferralConfig{LandingURL: r.LandingURL, ConversionGoal: r.ConversionGoal,
			WindowDays: r.WindowDays, MaxSignupsPerHour: r.MaxSignupsPerHour, MaxSignupsPerDay: r.MaxSignupsPerDay, Program: r.Program,
			CodeTTLDays: r.CodeTTLDays}
		for name, d := range r.Metrics {
			if e.Referral.Metrics == nil {
				e.Referral.Metrics = map[string]refx.Decision{}
			}
			e.Referral.Metrics[name] = decisionOf(d)
		}
	}
	return e
}

func toDecisionItem(d refx.Decision) item.Decision {
	return item.Decision{Role: string(d.Role), Direction: string(d.Direction), MinSample: d.MinSample, OneSided: d.OneSided, Margin: d.Margin}
}

func decisionOf(d item.Decision) refx.Decision {
	return refx.Decision{Role: refx.Role(d.Role), Direction: refx.Direction(d.Direction), MinSample: d.MinSample, OneSided: d.OneSided, Margin: d.Margin}
}

// The attributes of an assignment holding the user's running totals:
// vt_<goal> their total value on a goal, ec_<goal> their number of events
// of a binomial goal a ratio metric uses.
const (
	valueTotalPrefix = "vt_"
	eventCountPrefix = "ec_"
	// conversionVersionPrefix and conversionHorizonPrefix name the state
	// refunds keep per goal (see converge).
	conversionVersionPrefix = "cv_"
	conversionHorizonPrefix = "ch_"
)

// readUserTotals keeps the vt_<goal>, ec_<goal> and cv_<goal> attributes of a stored
// assignment.
func readUserTotals(it *assignmentItem, av map[string]types.AttributeValue) {
	for name, v := range av {
		n, isNumber := v.(*types.AttributeValueMemberN)
		if !isNumber {
			continue
		}
		if goal, ok := strings.CutPrefix(name, valueTotalPrefix); ok {
			if it.ValueTotals == nil {
				it.ValueTotals = map[string]string{}
			}
			it.ValueTotals[goal] = n.Value
		}
		if goal, ok := strings.CutPrefix(name, eventCountPrefix); ok {
			if it.EventCounts == nil {
				it.EventCounts = map[string]string{}
			}
			it.EventCounts[goal] = n.Value
		}
		if goal, ok := strings.CutPrefix(name, conversionVersionPrefix); ok {
			if it.ConversionVersions == nil {
				it.ConversionVersions = map[string]string{}
			}
			it.ConversionVersions[goal] = n.Value
		}
	}
}

// ratioTotal is the user's per-participant total of goal g as a ratio
// metric counts it, and the attribute holding it: the total value of a value
// goal, the number of events of a binomial one.
func ratioTotal(it assignmentItem, g refx.Goal) (attr string, total *big.Rat) {
	if g.Kind == refx.GoalValue {
		return valueTotalPrefix + g.Key, valueTotal(it, g.Key)
	}
	total = new(big.Rat)
	if s, ok := it.EventCounts[g.Key]; ok {
		total.SetString(s)
	}
	return eventCountPrefix + g.Key, total
}

// valueTotal is the user's total value on goal so far.
func valueTotal(it assignmentItem, goal string) *big.Rat {
	r := new(big.Rat)
	if s, ok := it.ValueTotals[goal]; ok {
		r.SetString(s)
	}
	return r
}

func hasConverted(it assignmentItem, goal string) bool {
	for _, g := range it.Converted {
		if g == goal {
			return true
		}
	}
	return false
}

// The stored items, defined in pkg/item for the store and the stream
// consumers alike.
type (
	itemKey            = item.Key
	variantItem        = item.Variant
	goalItem           = item.Goal
	referralConfigItem = item.ReferralConfig
	experimentItem     = item.Experiment
	assignmentItem     = item.Assignment
	creditItem         = item.Credit
	eventItem          = item.Event
	codeItem           = item.Code
	codeTotalsItem     = item.CodeTotals
	referralCode       = item.ReferralCode
	clickItem          = item.Click
	seenItem           = item.Seen
	attributionItem    = item.Attribution
	refusalItem        = item.Refusal
	lamedItem          = item.Lamed
	linkedAssignment   = item.LinkedAssignment
	refundItem         = item.Refund
	conversionItem     = item.ConversionChange
)

type counterItem struct {
	item.Key
	Experiment             string                `dynamodbav:"experiment"`
	Variant                string                `dynamodbav:"variant"`
	Goal                   string                `dynamodbav:"goal,omitempty"`
	Participants           int64                 `dynamodbav:"participants"`
	Users                  int64                 `dynamodbav:"users"`
	Events                 int64                 `dynamodbav:"events"`
	ValueSum               attributevalue.Number `dynamodbav:"value_sum"`
	ValueSumSq             attributevalue.Number `dynamodbav:"value_sum_sq"`
	ValueParticipantSumSq  attributevalue.Number `dynamodbav:"value_participant_sum_sq"`
	EventsParticipantSumSq attributevalue.Number `dynamodbav:"events_participant_sum_sq"`
	Ratio                  string                `dynamodbav:"ratio,omitempty"`
	Products               attributevalue.Number `dynamodbav:"products"`
	CovariateParticipants  int64                 `dynamodbav:"covariate_participants"`
	CovariateSum           attributevalue.Number `dynamodbav:"covariate_sum"`
	CovariateSumSq         attributevalue.Number `dynamodbav:"covariate_sum_sq"`
	CovariateValue         attributevalue.Number `dynamodbav:"covariate_value_products"`
	CovariateUsers         attributevalue.Number `dynamodbav:"covariate_users_products"`
}

// pointerItem finds a referrer's code in an experiment.
type pointerItem struct {
	item.Key
	Entity string `dynamodbav:"entity"`
	item.ReferralCode
}

func attributionOf(it attributionItem) *refx.Attribution {
	return &refx.Attribution{
		Referee: it.Referee, Referrer: it.Referrer, Code: it.Code, Experiment: it.Experiment,
		Variant: it.Variant, Status: it.Status, Reasons: it.Reasons,
		AttributedAt: it.AttributedAt, ConvertedAt: it.ConvertedAt, Program: it.Program,
		Review: attributionReviewOf(it),
	}
}
