package dynamo

import (
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"slices"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/refx"
)

var _ refx.LamedService = (*Store)(nil)

// lamedShards is the counter shard count of Lamed experiments, which have no
// configuration of their own.
const lamedShards = refx.DefaultShards

// lamedControls are the variant labels taken as the control of a Lamed
// experiment, in order of preference; otherwise the first label.
var lamedControls = []string{"control", "original", "default", "a", "A"}

// lamedShape gives a Lamed experiment the variants (equal weights) and
// binomial goals its clients have reported.
func lamedShape(e *refx.Experiment, it experimentItem) {
	variants := slices.Sorted(slices.Values(it.LamedVariants))
	for _, v := range variants {
		e.Variants = append(e.Variants, refx.Variant{Key: v, Weight: 1})
	}
	for _, g := range slices.Sorted(slices.Values(it.LamedGoals)) {
		e.Goals = append(e.Goals, refx.Goal{Key: g, Kind: refx.GoalBinomial})
	}
	e.Control = ""
	for _, c := range lamedControls {
		if slices.Contains(variants, c) {
			e.Control = c
			break
		}
	}
	if e.Control == "" && len(variants) > 0 {
		e.Control = variants[0]
	}
}

// LamedTrack counts an Alephbet event once per uuid and counter, as Lamed
// does: the uuid's key (a digest of counter and uuid, since Gimel-style
// uuids repeat across goals) is put if absent, and the aggregator counts
// its insert: participate as a participant, any other event as a goal.
func (s *Store) LamedTrack(ctx context.Context, t refx.LamedTrack) error {
	id := refx.LamedExperimentID(t.Namespace, t.Experiment)
	if err := s.registerLamed(ctx, id, t); err != nil {
		return err
	}
	counter := t.Namespace + ":counters:" + t.Experiment + ":" + t.Event + ":" + t.Variant
	digest := sha1.Sum([]byte(counter + " " + t.UUID))
	now := s.opts.Now().UTC()
	item, err := attributevalue.MarshalMap(lamedItem{
		Key: itemKey{PK: lamedPrefix + hex.EncodeToString(digest[:]), SK: lamedSK}, Entity: entityLamedKey,
		Counter: counter, Experiment: id, Variant: t.Variant, Event: t.Event,
		ReceivedAt: now, ExpiresAt: now.Add(s.opts.IdempotencyTTL),
	})
	if err != nil {
		return storeError("LamedTrack", err)
	}
	// A uuid counted before fails the condition: nothing more to do.
	_, err = s.putIf(ctx, "LamedTrack", item, absent())
	return err
}

// registerLamed creates or extends the experiment item of a Lamed
// experiment: running from its first event, with every variant and goal its
// clients report. Each process does it once per (experiment, variant, event);
// the ADDs are idempotent, so repeating it is harmless.
func (s *Store) registerLamed(ctx context.Context, id string, t refx.LamedTrack) error {
	seen := id + "\x00" + t.Variant + "\x00" + t.Event
	if _, ok := s.lamedSeen.Load(seen); ok {
		return nil
	}
	now := s.opts.Now().UTC()
	update := expression.Set(expression.Name("entity"), expression.Value(entityExperiment)).
		Set(expression.Name("id"), expression.Value(id)).
		Set(expression.Name("source"), expression.Value(refx.SourceLamed)).
		Set(expression.Name("namespace"), expression.Value(t.Namespace)).
		Set(expression.Name("name"), expression.Name("name").IfNotExists(expression.Value(t.Experiment))).
		Set(expression.Name("status"), expression.Name("status").IfNotExists(expression.Value(string(refx.StatusRunning)))).
		Set(expression.Name("version"), expression.Name("version").IfNotExists(expression.Value(1))).
		Set(expression.Name("created_at"), expression.Name("created_at").IfNotExists(expression.Value(now))).
		Set(expression.Name("started_at"), expression.Name("started_at").IfNotExists(expression.Value(now))).
		Set(expression.Name("updated_at"), expression.Value(now)).
		Set(expression.Name(AttrGSI1PK), expression.Value(experimentListPK)).
		Set(expression.Name(AttrGSI1SK), expression.Name(AttrGSI1SK).IfNotExists(expression.Value(experimentListSK(now, id)))).
		Set(expression.Name("seed"), expression.Value(id)).
		Set(expression.Name("coverage"), expression.Value(1)).
		Set(expression.Name("counter_shards"), expression.Value(lamedShards)).
		Add(expression.Name("lamed_variants"), expression.Value(&types.AttributeValueMemberSS{Value: []string{t.Variant}}))
	if t.Event != refx.LamedParticipate {
		update = update.Add(expression.Name("lamed_goals"), expression.Value(&types.AttributeValueMemberSS{Value: []string{t.Event}}))
	}
	ours := absent().Or(expression.Name("source").Equal(expression.Value(refx.SourceLamed)))
	failed, err := s.updateIf(ctx, "registerLamed", experimentKey(id), update, ours)
	if failed != nil {
		return refx.Errorf(refx.ECONFLICT, "experiment id %s belongs to a refx experiment; rename the Alephbet experiment", id)
	}
	if err != nil {
		return err
	}
	s.cache.forget(id)
	s.lamedSeen.Store(seen, true)
	return nil
}

// LamedExperiments returns the results of a namespace's experiments, all of
// them or those in scope, in Lamed's shape.
func (s *Store) LamedExperiments(ctx context.Context, namespace string, scope []string) ([]refx.LamedExperiment, error) {
	names := scope
	if len(names) == 0 {
		var err error
		if names, err = s.lamedNames(ctx, namespace); err != nil {
			return nil, err
		}
	}
	out := make([]refx.LamedExperiment, 0, len(names))
	for _, name := range names {
		le := refx.LamedExperiment{Experiment: name, Goals: []refx.LamedGoal{}}
		res, err := s.Results(ctx, refx.LamedExperimentID(namespace, name))
		if refx.ErrorCode(err) == refx.ENOTFOUND {
			out = append(out, le)
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(res.Variants) > 0 {
			for goal := range res.Variants[0].Goals {
				lg := refx.LamedGoal{Goal: goal}
				for _, v := range res.Variants {
					lg.Results = append(lg.Results, refx.LamedGoalResult{Label: v.Key, Successes: v.Goals[goal].Events, Trials: v.Participants})
				}
				le.Goals = append(le.Goals, lg)
			}
			slices.SortFunc(le.Goals, func(a, b refx.LamedGoal) int { return cmp.Compare(a.Goal, b.Goal) })
		}
		out = append(out, le)
	}
	return out, nil
}

// lamedNames lists the experiment names of a namespace.
func (s *Store) lamedNames(ctx context.Context, namespace string) ([]string, error) {
	filter := expression.Name("source").Equal(expression.Value(refx.SourceLamed)).
		And(expression.Name("namespace").Equal(expression.Value(namespace)))
	var names []string
	err := s.allExperiments(ctx, "lamedNames", filter, func(it experimentItem) { names = append(names, it.Name) })
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

// LamedDelete deletes a Lamed experiment's counters, then the experiment.
// Deleting the experiment last keeps a failed delete retryable; events that
// arrive meanwhile start the experiment afresh, as they would in Lamed.
func (s *Store) LamedDelete(ctx context.Context, namespace, experiment string) error {
	id := refx.LamedExperimentID(namespace, experiment)
	exp, err := s.Experiment(ctx, id)
	if refx.ErrorCode(err) == refx.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	if exp.Source != refx.SourceLamed {
		return refx.Errorf(refx.ECONFLICT, "experiment %s is not an Alephbet experiment", id)
	}
	return s.deleteLamed(ctx, exp)
}

// deleteLamed deletes the counters of the Lamed experiment exp, then its
// item.
func (s *Store) deleteLamed(ctx context.Context, exp *refx.Experiment) error {
	if err := s.deleteCounts(ctx, exp); err != nil {
		return err
	}
	err := s.retry(ctx, "LamedDelete", func() error {
		_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.table, Key: experimentKey(exp.ID).Attributes()})
		return err
	})
	s.cache.forget(exp.ID)
	s.lamedSeen.Clear()
	return storeError("LamedDelete", err)
}

// batchWrite writes up to 25 requests, resending unprocessed ones.
func (s *Store) batchWrite(ctx context.Context, writes []types.WriteRequest) error {
	pending := map[string][]types.WriteRequest{*s.table: writes}
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt == s.opts.RetryAttempts {
			return refx.Errorf(refx.EUNAVAILABLE, "the store is busy; send the same request again")
		}
		var out *dynamodb.BatchWriteItemOutput
		err := s.retry(ctx, "batchWrite", func() (err error) {
			out, err = s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			return err
		})
		if err != nil {
			return storeError("batchWrite", err)
		}
		pending = out.UnprocessedItems
	}
	return nil
}
