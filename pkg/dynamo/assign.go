package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/refx-dev/refx/pkg/refx"
)

// maxStateRetries bounds how often a write is rebuilt because the state it
// was planned on changed (a conversion raced, the user's totals moved).
const maxStateRetries = 5

// Assign returns the user's variant. The first assignment of a running
// experiment is one conditional put of the user's own assignment item: a
// concurrent or retried first call fails the condition, gets the stored
// assignment back and returns it. The put is the enrolment; the aggregator
// counts it as a participant from the stream, unless it was made after the
// experiment stopped (a stale cache here never counts it).
//
// attrs are the user's attributes for the experiment's audience (with
// "id" the user unless set). A user outside it is answered as one outside
// the coverage, and nothing is written; one already assigned keeps their
// arm whatever their attributes are now.
func (s *Store) Assign(ctx context.Context, experiment, user string, attrs map[string]any) (*refx.Assignment, error) {
	return s.AssignWith(ctx, experiment, user, refx.AssignInput{Attributes: attrs})
}

// AssignWith is Assign with the user's covariates, which the enrolling put
// stores on the assignment: the user's only item, so that no request writes
// an item many users share; the aggregator sums them from the stream.
func (s *Store) AssignWith(ctx context.Context, experiment, user string, in refx.AssignInput) (*refx.Assignment, error) {
	attrs := in.Attributes
	exp, err := s.cachedExperiment(ctx, experiment)
	if err != nil {
		return nil, err
	}
	covariates, err := covariatesOf(exp, in.Covariates)
	if err != nil {
		return nil, err
	}
	if exp.Status != refx.StatusRunning {
		return outside(exp, user), nil
	}
	// A position outside the range is outside for the whole run (the range
	// cannot change once launched), so no enrolment can exist to read.
	if !exp.InLayer(user) {
		return outsideFor(exp, user, refx.ReasonLayer), nil
	}
	// Each phase enrols afresh: an enrolment in an earlier one is not this
	// phase's, and the user is bucketed again (phases.go).
	existing, err := s.assignment(ctx, user, exp.ID, exp.CurrentPhase())
	if err != nil {
		return nil, err
	}
	if existing != nil {
		return assigned(exp, existing, false), nil
	}
	if !exp.Admits(user, attrs) {
		return outside(exp, user), nil
	}
	variant, ok := exp.Bucket(user)
	if !ok {
		return outside(exp, user), nil
	}
	held, err := s.heldOut(ctx, exp, user)
	if err != nil || held {
		return outsideFor(exp, user, refx.ReasonHoldout), err
	}
	stored, inserted, err := s.enrol(ctx, exp.ID, exp.CurrentPhase(), user, variant.Key, covariates)
	if err != nil {
		return nil, err
	}
	return assigned(exp, stored, inserted), nil
}

// heldOut reports whether a holdout covering exp keeps user out of it. The
// user's arm of each holdout is a hash, and the user is enrolled in the
// holdout with a put-if-absent of their own assignment item whichever arm
// it is, so that the holdout counts everyone its experiments would have
// taken. A user already in the holdout keeps the arm stored then, even if
// its weights changed since. No read: the holdouts are exp's, cached with
// it, and the put answers with the stored arm when there is one.
func (s *Store) heldOut(ctx context.Context, exp *refx.Experiment, user string) (bool, error) {
	held := false
	for _, h := range exp.Holdouts {
		it, _, err := s.enrol(ctx, h.ID, 1, user, h.Arm(user), nil) // a holdout has one phase
		if err != nil {
			return false, err
		}
		held = held || it.Variant == refx.HoldoutArm
	}
	return held, nil
}

// enrol puts user's assignment to variant of a phase of experiment if they
// have none
// (one conditional put: a concurrent or retried first call fails the
// condition and gets the stored assignment back), and returns the stored
// assignment and whether this call wrote it.
func (s *Store) enrol(ctx context.Context, experiment string, phase int, user, variant string, covariates map[string]attributevalue.Number) (*assignmentItem, bool, error) {
	now := s.opts.Now().UTC()
	if phase <= 1 {
		phase = 0 // phase 1's item is the one written before phases existed
	}
	it := assignmentItem{
		Key: assignmentKey(user, experiment, phase), Entity: entityAssignment,
		Experiment: experiment, Phase: phase, User: user, Variant: variant, AssignedAt: now, UserExpiry: s.userExpiry(now),
		Covariates: covariates,
	}
	av, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, false, storeError("Assign", err)
	}
	failed, err := s.putIf(ctx, "Assign", av, absent())
	switch {
	case err != nil:
		return nil, false, err
	case failed != nil:
		var stored assignmentItem
		if err := attributevalue.UnmarshalMap(failed.Item, &stored); err != nil {
			return nil, false, storeError("Assign", err)
		}
		return &stored, false, nil
	}
	return &it, true, nil
}

// covariatesOf checks that every covariate names a goal of exp and returns
// them as stored. A zero is kept: it counts its user among those who sent
// a covariate, while a user without one counts as x = 0 in the sums.
func covariatesOf(exp *refx.Experiment, in map[string]refx.Decimal) (map[string]attributevalue.Number, error) {
	var out map[string]attributevalue.Number
	for key, x := range in {
		if _, ok := exp.Goal(key); !ok {
			return nil, refx.FieldErrorf("covariates."+key, "must be a goal of experiment %s", exp.ID)
		}
		if out == nil {
			out = map[string]attributevalue.Number{}
		}
		out[key] = attributevalue.Number(x.String())
	}
	return out, nil
}

// assignment reads one assignment, or nil. The read is eventually
// consistent: a missed assignment only costs the enrolment transaction,
// whose condition finds it.
func (s *Store) assignment(ctx context.Context, user, experiment string, phase int) (*assignmentItem, error) {
	var it assignmentItem
	found, err := s.readItem(ctx, "assignment", &dynamodb.GetItemInput{TableName: s.table, Key: assignmentKey(user, experiment, phase).Attributes()}, &it)
	if err != nil || !found {
		return nil, err
	}
	return &it, nil
}

func assigned(exp *refx.Experiment, it *assignmentItem, enrolled bool) *refx.Assignment {
	v, _ := exp.Variant(it.Variant)
	at := it.AssignedAt
	return &refx.Assignment{
		Experiment: exp.ID, User: it.User, Variant: it.Variant, Payload: v.Payload,
		InExperiment: true, Enrolled: enrolled, AssignedAt: &at,
	}
}

func outside(exp *refx.Experiment, user string) *refx.Assignment {
	return outsideFor(exp, user, "")
}

// outsideFor is outside, saying why.
func outsideFor(exp *refx.Experiment, user, reason string) *refx.Assignment {
	control := exp.ControlVariant()
	return &refx.Assignment{Experiment: exp.ID, User: user, Variant: control.Key, Payload: control.Payload, Reason: reason}
}
