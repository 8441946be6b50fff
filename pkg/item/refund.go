package item

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
)

// Refund marks an event refunded. It is keyed by the refunded event's id
// and put only if absent, so an event is reversed once however many
// refunds name it; its insert carries the reversal the aggregator counts.
type Refund struct {
	Key
	// GSI1PK and GSI1SK index the refund under its user, beside the
	// user's events (USEREVENTS#<user>): erasing the user deletes it, and a
	// refund reads which of the user's events are refunded there.
	GSI1PK string `dynamodbav:"gsi1pk"`
	GSI1SK string `dynamodbav:"gsi1sk"`
	Entity string `dynamodbav:"entity"`
	// ID is the refund's own event id, its idempotency key.
	ID            string  `dynamodbav:"id"`
	RefundedEvent string  `dynamodbav:"refunded_event"`
	User          string  `dynamodbav:"user"`
	Type          string  `dynamodbav:"type"`
	Value         *string `dynamodbav:"value,omitempty"`
	// EventReceivedAt is when the refunded event was received: its
	// credits counted by that time, and so does their reversal.
	EventReceivedAt time.Time `dynamodbav:"event_received_at"`
	RefundedAt      time.Time `dynamodbav:"refunded_at"`
	// Credits are the refunded event's credits as they stand at the
	// refund, which the aggregator counts as it would the event and
	// subtracts: the per-participant deltas (ParticipantSqDelta,
	// EventsSqDelta, RatioProducts) are computed by the refund from the
	// user's totals then. FirstConversion is never set: a user stops
	// counting as converted through a ConversionChange.
	Credits   []Credit  `dynamodbav:"credits"`
	ExpiresAt time.Time `dynamodbav:"ttl,unixtime"`
}

// ConversionChange is a change of whether a user counts as converted on a
// goal (or, with Code set, as a converting referee), made when refunds
// change it: the n-th change of that state, put if absent together with
// the conditional update of the state, so each change counts once. Its
// insert adds Delta (+1 or −1) to the users (converting_referees).
type ConversionChange struct {
	Key
	GSI1PK     string `dynamodbav:"gsi1pk"`
	GSI1SK     string `dynamodbav:"gsi1sk"`
	Entity     string `dynamodbav:"entity"`
	User       string `dynamodbav:"user"`
	Experiment string `dynamodbav:"experiment"`
	Phase      int    `dynamodbav:"phase,omitempty"`
	Variant    string `dynamodbav:"variant"`
	Goal       string `dynamodbav:"goal,omitempty"`
	// Code is set on a referee's change: it counts in the referral
	// counter's converting_referees.
	Code  string `dynamodbav:"code,omitempty"`
	Delta int64  `dynamodbav:"delta"`
	// Covariate is the user's covariate on the goal: Σxy of conversions
	// moves by Delta·x.
	Covariate attributevalue.Number `dynamodbav:"covariate,omitempty"`
	// CountedAt decides whether the change counts, as an event's
	// received_at does: the time of the event that made it.
	CountedAt time.Time `dynamodbav:"counted_at"`
	ChangedAt time.Time `dynamodbav:"changed_at"`
	UserExpiry
}
