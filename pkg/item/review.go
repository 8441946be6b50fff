package item

import "time"

// ReviewMarker lists a flagged attribution in its experiment's review
// queue (gsi1 REVIEW#<experiment>): the referee's own item, put with the
// flagged attribution and deleted by the decision, so the queue holds
// exactly the attributions awaiting one.
type ReviewMarker struct {
	Key
	GSI1PK   string `dynamodbav:"gsi1pk"`
	GSI1SK   string `dynamodbav:"gsi1sk"`
	Entity   string `dynamodbav:"entity"`
	Referee  string `dynamodbav:"referee"`
	Referrer string `dynamodbav:"referrer"`
	UserExpiry
}

// ReviewDecision is a reviewer's approval or rejection of a referee's
// attribution: put if absent (one per referee and decision) in the
// transaction that changes the attribution's status, so its insert, which
// carries the attribution as it stood before the decision, is what the
// aggregator counts (an approval adds the signup, the rejection of a
// counted one subtracts it) and what the reactors reverse rewards from.
type ReviewDecision struct {
	Key
	Entity    string    `dynamodbav:"entity"`
	Decision  string    `dynamodbav:"decision"`
	Referee   string    `dynamodbav:"referee"`
	DecidedAt time.Time `dynamodbav:"decided_at"`
	By        string    `dynamodbav:"by,omitempty"`
	// Attribution is the attribution before the decision, whole, so that
	// the decision counts under the same keys (code, variant, channel,
	// program) its insert did or would have.
	Attribution Attribution `dynamodbav:"attribution"`
	UserExpiry
}
