package dynamo

import (
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"slices"
	"time"

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
	if err := s.opts.Lamed.Allows(t.Namespace); err != nil {
		return err
	}
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

// registerLamed makes sure that the experiment item of a Lamed experiment
// exists and lists the call's variant and goal, within the limits. Each
// process does it once per (experiment, variant, event): after that a call
// writes nothing shared. An experiment is created in a transaction with its
// namespace's count; a variant or goal is added on a condition on the
// item's own sets, so that concurrent calls cannot overshoot either bound.
func (s *Store) registerLamed(ctx context.Context, id string, t refx.LamedTrack) error {
	seen := id + "\x00" + t.Variant + "\x00" + t.Event
	if _, ok := s.lamedSeen.Load(seen); ok {
		return nil
	}
	if full, ok := s.fullLamed(id); ok {
		if err := full.refuse(t); err != nil {
			return err
		}
	}
	err := s.extendLamed(ctx, id, t)
	if refx.ErrorCode(err) == refx.ENOTFOUND {
		err = s.createLamed(ctx, id, t)
	}
	if err != nil {
		return err
	}
	s.cache.forget(id)
	s.lamedSeen.Store(seen, true)
	return nil
}

// lamedFull is a Lamed experiment's variants and goals once they are at
// their bound (nil while they are not), or a namespace at its bound, as
// this process last found them; until ends the memory of it, since a
// delete frees a namespace's slot and empties an experiment.
type lamedFull struct {
	limits          refx.LamedLimits
	variants, goals []string
	until           time.Time
}

// refuse is ELIMIT for a call adding a variant or goal to a full set.
func (f lamedFull) refuse(t refx.LamedTrack) error {
	if f.variants != nil && !slices.Contains(f.variants, t.Variant) {
		return refx.Errorf(refx.ELIMIT, "experiment %q has its %d variants", t.Experiment, f.limits.MaxVariants)
	}
	if t.Event != refx.LamedParticipate && f.goals != nil && !slices.Contains(f.goals, t.Event) {
		return refx.Errorf(refx.ELIMIT, "experiment %q has its %d goals", t.Experiment, f.limits.MaxGoals)
	}
	return nil
}

// fullLamed returns what this process remembers of a full experiment or
// namespace (key lamedNamespaceKey(ns).PK).
func (s *Store) fullLamed(key string) (lamedFull, bool) {
	v, ok := s.lamedFull.Load(key)
	if !ok {
		return lamedFull{}, false
	}
	if full := v.(lamedFull); s.opts.Now().Before(full.until) {
		return full, true
	}
	s.lamedFull.Delete(key)
	return lamedFull{}, false
}

// rememberFull keeps full for the experiment cache's TTL: a refused client
// costs at most one write per TTL and process.
func (s *Store) rememberFull(key string, full lamedFull) {
	full.limits, full.until = s.opts.Lamed, s.opts.Now().Add(s.opts.ExperimentCacheTTL)
	s.lamedFull.Store(key, full)
}

// lamedSetFits is the condition that the string set attr has room for v:
// absent, holding v already, or smaller than max.
func lamedSetFits(attr, v string, max int) expression.ConditionBuilder {
	name := expression.Name(attr)
	return expression.AttributeNotExists(name).
		Or(expression.Contains(name, v)).
		Or(name.Size().LessThan(expression.Value(max)))
}

// extendLamed adds the call's variant and goal to an existing Lamed
// experiment. ENOTFOUND if there is none, ELIMIT past the limits,
// ECONFLICT if the id is a refx experiment's.
func (s *Store) extendLamed(ctx context.Context, id string, t refx.LamedTrack) error {
	lim := s.opts.Lamed
	update := expression.Set(expression.Name("updated_at"), expression.Value(s.opts.Now().UTC())).
		Add(expression.Name("lamed_variants"), expression.Value(&types.AttributeValueMemberSS{Value: []string{t.Variant}}))
	cond := expression.Name("source").Equal(expression.Value(refx.SourceLamed)).
		And(lamedSetFits("lamed_variants", t.Variant, lim.MaxVariants))
	if t.Event != refx.LamedParticipate {
		update = update.Add(expression.Name("lamed_goals"), expression.Value(&types.AttributeValueMemberSS{Value: []string{t.Event}}))
		cond = cond.And(lamedSetFits("lamed_goals", t.Event, lim.MaxGoals))
	}
	failed, err := s.updateIf(ctx, "registerLamed", experimentKey(id), update, cond)
	if failed == nil {
		return err
	}
	if failed.Item == nil {
		return refx.Errorf(refx.ENOTFOUND, "experiment %s not found", id)
	}
	var it experimentItem
	if err := attributevalue.UnmarshalMap(failed.Item, &it); err != nil {
		return storeError("registerLamed", err)
	}
	if it.Source != refx.SourceLamed {
		return refx.Errorf(refx.ECONFLICT, "experiment id %s belongs to a refx experiment; rename the Alephbet experiment", id)
	}
	var full lamedFull
	if len(it.LamedVariants) >= lim.MaxVariants {
		full.variants = it.LamedVariants
	}
	if len(it.LamedGoals) >= lim.MaxGoals {
		full.goals = it.LamedGoals
	}
	s.rememberFull(id, full)
	if err := full.refuse(t); err != nil {
		return err
	}
	// Neither set is full now: the item changed since the condition failed.
	return refx.Errorf(refx.EUNAVAILABLE, "experiment %s changed meanwhile; send the same request again", id)
}

// createLamed creates a Lamed experiment, running from its first event, and
// counts it in its namespace, in one transaction with its audit entry, made
// by refx.SystemActor (no person asked for it): ELIMIT when the namespace
// has its experiments. An experiment created concurrently is extended.
func (s *Store) createLamed(ctx context.Context, id string, t refx.LamedTrack) error {
	nsKey := lamedNamespaceKey(t.Namespace)
	lim := s.opts.Lamed
	refused := refx.Errorf(refx.ELIMIT, "namespace %q has its %d experiments", t.Namespace, lim.MaxExperiments)
	if _, ok := s.fullLamed(nsKey.PK); ok {
		return refused
	}
	now := s.opts.Now().UTC()
	e := &refx.Experiment{
		ID: id, Name: t.Experiment, Source: refx.SourceLamed, Namespace: t.Namespace,
		Status: refx.StatusRunning, Version: 1, CreatedAt: now, UpdatedAt: now, StartedAt: &now,
		Seed: id, Coverage: 1, CounterShards: lamedShards,
		Variants: []refx.Variant{{Key: t.Variant, Weight: 1}},
	}
	if t.Event != refx.LamedParticipate {
		e.Goals = []refx.Goal{{Key: t.Event, Kind: refx.GoalBinomial}}
	}
	put, err := putIfAbsent(s.table, toExperimentItem(e))
	if err != nil {
		return storeError("createLamed", err)
	}
	count := expression.Name("experiments")
	counted, err := conditionalUpdate(s.table, nsKey,
		expression.Add(count, expression.Value(1)).
			Set(expression.Name("entity"), expression.Value(entityLamedNamespace)).
			Set(expression.Name("namespace"), expression.Value(t.Namespace)),
		expression.AttributeNotExists(count).Or(count.LessThan(expression.Value(lim.MaxExperiments))))
	if err != nil {
		return storeError("createLamed", err)
	}
	entry, err := s.auditPut(refx.WithActor(ctx, refx.SystemActor), refx.AuditExperiment, id, "create", nil, e)
	if err != nil {
		return storeError("createLamed", err)
	}
	err = s.transact(ctx, "createLamed", []types.TransactWriteItem{put, counted, entry})
	reasons := cancellationReasons(err)
	switch {
	case conditionFailed(reasons, 0):
		err = s.extendLamed(ctx, id, t)
		if refx.ErrorCode(err) == refx.ENOTFOUND {
			return refx.Errorf(refx.EUNAVAILABLE, "experiment %s was deleted meanwhile; send the same request again", id)
		}
		return err
	case conditionFailed(reasons, 1):
		s.rememberFull(nsKey.PK, lamedFull{})
		return refused
	}
	return storeError("createLamed", err)
}

// maxLamedPageSize bounds the experiments of one page of LamedExperiments,
// each read with one query per counter shard; refx.FitPage bounds its
// bytes. With the default limits a namespace is one page, as in Lamed.
const maxLamedPageSize = refx.DefaultLamedMaxExperiments

// LamedExperiments returns a page of the results of a namespace's
// experiments, all of them or those in scope, in Lamed's shape, in name
// order: the cursor is the last name of the page before.
func (s *Store) LamedExperiments(ctx context.Context, q refx.LamedQuery) (*refx.LamedPage, error) {
	names := slices.Compact(slices.Sorted(slices.Values(q.Scope)))
	if len(q.Scope) == 0 {
		var err error
		if names, err = s.lamedNames(ctx, q.Namespace); err != nil {
			return nil, err
		}
	}
	from, _ := slices.BinarySearch(names, q.Cursor)
	if from < len(names) && names[from] == q.Cursor {
		from++
	}
	names = names[from:]
	page := &refx.LamedPage{Experiments: make([]refx.LamedExperiment, 0, min(len(names), s.lamedPageSize))}
	for _, name := range names[:min(len(names), s.lamedPageSize)] {
		le, err := s.lamedExperiment(ctx, q.Namespace, name)
		if err != nil {
			return nil, err
		}
		page.Experiments = append(page.Experiments, le)
	}
	page.Experiments = page.Experiments[:refx.FitPage(page.Experiments)]
	if n := len(page.Experiments); n < len(names) {
		page.NextCursor = page.Experiments[n-1].Experiment
	}
	return page, nil
}

// lamedExperiment is one experiment's results in Lamed's shape; an unknown
// experiment has no goals.
func (s *Store) lamedExperiment(ctx context.Context, namespace, name string) (refx.LamedExperiment, error) {
	le := refx.LamedExperiment{Experiment: name, Goals: []refx.LamedGoal{}}
	res, err := s.Results(ctx, refx.LamedExperimentID(namespace, name))
	if refx.ErrorCode(err) == refx.ENOTFOUND {
		return le, nil
	}
	if err != nil || len(res.Variants) == 0 {
		return le, err
	}
	for goal := range res.Variants[0].Goals {
		lg := refx.LamedGoal{Goal: goal}
		for _, v := range res.Variants {
			lg.Results = append(lg.Results, refx.LamedGoalResult{Label: v.Key, Successes: v.Goals[goal].Events, Trials: v.Participants})
		}
		le.Goals = append(le.Goals, lg)
	}
	slices.SortFunc(le.Goals, func(a, b refx.LamedGoal) int { return cmp.Compare(a.Goal, b.Goal) })
	return le, nil
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
// item, freeing its slot in its namespace and writing the caller's audit
// entry in the same transaction.
func (s *Store) deleteLamed(ctx context.Context, exp *refx.Experiment) error {
	if err := s.deleteCounts(ctx, exp); err != nil {
		return err
	}
	count := expression.Name("experiments")
	del, err := conditionalDelete(s.table, experimentKey(exp.ID), expression.Name("source").Equal(expression.Value(refx.SourceLamed)))
	if err != nil {
		return storeError("LamedDelete", err)
	}
	uncounted, err := conditionalUpdate(s.table, lamedNamespaceKey(exp.Namespace),
		expression.Add(count, expression.Value(-1)), count.GreaterThan(expression.Value(0)))
	if err != nil {
		return storeError("LamedDelete", err)
	}
	entry, err := s.auditPut(ctx, refx.AuditExperiment, exp.ID, "delete", exp, nil)
	if err != nil {
		return storeError("LamedDelete", err)
	}
	err = s.transact(ctx, "LamedDelete", []types.TransactWriteItem{del, uncounted, entry})
	if conditionFailed(cancellationReasons(err), 1) {
		// An experiment created before namespaces were counted has no
		// slot to free.
		err = s.transact(ctx, "LamedDelete", []types.TransactWriteItem{del, entry})
	}
	if conditionFailed(cancellationReasons(err), 0) {
		err = nil // deleted meanwhile, or by this request's earlier attempt, with its entry
	}
	s.cache.forget(exp.ID)
	s.lamedSeen.Clear()
	s.lamedFull.Clear()
	return storeError("LamedDelete", err)
}

// conditionalDelete is a transaction item deleting the item at key on cond.
func conditionalDelete(table *string, key itemKey, cond expression.ConditionBuilder) (types.TransactWriteItem, error) {
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Delete: &types.Delete{
		TableName: table, Key: key.Attributes(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}}, nil
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
