package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/growthbook"
	"github.com/refx-dev/refx/pkg/refx"
)

// Listing limits.
const (
	defaultPageSize = 50
	maxPageSize     = 200
)

// CreateExperiment stores a new experiment, ctx's actor its last editor.
// ECONFLICT if the id is taken.
func (s *Store) CreateExperiment(ctx context.Context, e *refx.Experiment) error {
	e.LastEditor = refx.ActorOf(ctx).ID
	if err := compileAudience(e); err != nil {
		return err
	}
	if err := s.checkProgram(ctx, e); err != nil {
		return err
	}
	return s.putExperiment(ctx, experimentWrite{
		op: "CreateExperiment", change: experimentChange{Action: "create"}, after: e,
		cond: absent(), conflict: refx.Errorf(refx.ECONFLICT, "experiment %s already exists", e.ID),
	})
}

// Experiment reads an experiment with a strongly consistent read. ENOTFOUND.
func (s *Store) Experiment(ctx context.Context, id string) (*refx.Experiment, error) {
	var it experimentItem
	found, err := s.getItem(ctx, "Experiment", experimentKey(id), &it)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, refx.Errorf(refx.ENOTFOUND, "experiment %s not found", id)
	}
	if it.Status == statusDeleted {
		return nil, refx.Errorf(refx.ENOTFOUND, "experiment %s not found: it was deleted", id)
	}
	e := experimentOf(it)
	// Written audiences were parsed when written; one that no longer
	// parses (a stricter parser) stays uncompiled and admits no one.
	_ = compileAudience(e)
	s.cache.put(e)
	return e, nil
}

// compileAudience parses e's audience with GrowthBook's condition language
// and makes it the one e.Admits evaluates: once per experiment read, not
// per assignment. A refusal names the field from "audience" down
// ("audience.country.$in").
func compileAudience(e *refx.Experiment) error {
	if len(e.Audience) == 0 {
		return nil
	}
	c, err := growthbook.ParseCondition(e.Audience)
	if err != nil {
		var fe *refx.Error
		if !errors.As(err, &fe) {
			return err
		}
		return &refx.Error{Code: fe.Code, Message: fe.Message, Field: "audience" + strings.TrimPrefix(fe.Field, "condition"), Cause: fe.Cause}
	}
	e.SetAudienceMatcher(func(attrs map[string]any) bool { return c.Eval(attrs, nil) })
	return nil
}

// cachedExperiment returns the experiment from the cache when it is there,
// else reads it.
func (s *Store) cachedExperiment(ctx context.Context, id string) (*refx.Experiment, error) {
	if e := s.cache.get(id); e != nil {
		return e, nil
	}
	return s.Experiment(ctx, id)
}

// Experiments lists experiments, newest first. EINVALID for a bad cursor.
func (s *Store) Experiments(ctx context.Context, f refx.ExperimentFilter) (*refx.ExperimentPage, error) {
	var filter *expression.ConditionBuilder
	if f.Status != "" {
		c := expression.Name("status").Equal(expression.Value(string(f.Status)))
		filter = &c
	}
	var items []experimentItem
	next, err := s.queryIndex(ctx, "Experiments", experimentListPK, f.Limit, f.Cursor, filter, &items)
	if err != nil {
		return nil, err
	}
	exps := make([]*refx.Experiment, 0, len(items))
	for _, it := range items {
		exps = append(exps, experimentOf(it))
	}
	// maxPageSize experiments of the largest valid size would not fit in
	// one answer: the page ends where its bytes would pass the bound, and
	// the next one starts after its last experiment.
	if n := refx.FitPage(exps); n < len(exps) {
		last := items[n-1]
		exps, next = exps[:n], encodeCursor(map[string]types.AttributeValue{
			AttrPK: &types.AttributeValueMemberS{Value: last.PK}, AttrSK: &types.AttributeValueMemberS{Value: last.SK},
			AttrGSI1PK: &types.AttributeValueMemberS{Value: last.GSI1PK}, AttrGSI1SK: &types.AttributeValueMemberS{Value: last.GSI1SK},
		})
	}
	return &refx.ExperimentPage{Experiments: exps, NextCursor: next}, nil
}

// indexPage reads one page of the gsi1 partition pk as items of type T, as
// queryIndex does, and converts each with conv.
func indexPage[T, R any](ctx context.Context, s *Store, op, pk string, limit int, cursor string, filter *expression.ConditionBuilder, conv func(T) R) ([]R, string, error) {
	var items []T
	next, err := s.queryIndex(ctx, op, pk, limit, cursor, filter, &items)
	if err != nil {
		return nil, "", err
	}
	out := make([]R, 0, len(items))
	for _, it := range items {
		out = append(out, conv(it))
	}
	return out, next, nil
}

// queryIndex reads one page of the gsi1 partition pk, newest first, into
// out, and returns the cursor of the next page ("" on the last).
func (s *Store) queryIndex(ctx context.Context, op, pk string, limit int, cursor string, filter *expression.ConditionBuilder, out any) (string, error) {
	if limit <= 0 {
		limit = defaultPageSize
	}
	limit = min(limit, maxPageSize)
	start, err := decodeCursor(cursor, pk)
	if err != nil {
		return "", err
	}
	in, err := s.indexQuery(pk, filter)
	if err != nil {
		return "", storeError(op, err)
	}
	in.Limit, in.ExclusiveStartKey = aws.Int32(int32(limit)), start
	var res *dynamodb.QueryOutput
	err = s.retry(ctx, op, func() (err error) {
		res, err = s.client.Query(ctx, in)
		return err
	})
	if err != nil {
		return "", storeError(op, err)
	}
	if err := attributevalue.UnmarshalListOfMaps(res.Items, out); err != nil {
		return "", storeError(op, err)
	}
	if res.LastEvaluatedKey == nil {
		return "", nil
	}
	return encodeCursor(res.LastEvaluatedKey), nil
}

// indexQuery is a query of the gsi1 partition pk, newest first, with the
// filter if there is one.
func (s *Store) indexQuery(pk string, filter *expression.ConditionBuilder) (*dynamodb.QueryInput, error) {
	builder := expression.NewBuilder().WithKeyCondition(expression.Key(AttrGSI1PK).Equal(expression.Value(pk)))
	if filter != nil {
		builder = builder.WithFilter(*filter)
	}
	expr, err := builder.Build()
	if err != nil {
		return nil, err
	}
	in := s.queryInput(expr, false)
	in.IndexName, in.ScanIndexForward = aws.String(IndexGSI1), aws.Bool(false)
	return in, nil
}

// allExperiments hands fn every item of the experiment listing that
// matches filter, newest first, reading the listing to its end.
func (s *Store) allExperiments(ctx context.Context, op string, filter expression.ConditionBuilder, fn func(experimentItem)) error {
	in, err := s.indexQuery(experimentListPK, &filter)
	if err != nil {
		return storeError(op, err)
	}
	return s.queryAll(ctx, op, in, func(page []map[string]types.AttributeValue) error {
		var items []experimentItem
		if err := attributevalue.UnmarshalListOfMaps(page, &items); err != nil {
			return err
		}
		for _, it := range items {
			fn(it)
		}
		return nil
	})
}

// cursorAttributes are the attributes of a gsi1 LastEvaluatedKey.
var cursorAttributes = []string{AttrPK, AttrSK, AttrGSI1PK, AttrGSI1SK}

func encodeCursor(key map[string]types.AttributeValue) string {
	plain := make(map[string]string, len(cursorAttributes))
	for _, name := range cursorAttributes {
		if v, ok := key[name].(*types.AttributeValueMemberS); ok {
			plain[name] = v.Value
		}
	}
	b, _ := json.Marshal(plain)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor turns a cursor back into a start key, refusing one that was
// not issued for the gsi1 partition pk.
func decodeCursor(cursor, pk string) (map[string]types.AttributeValue, error) {
	if cursor == "" {
		return nil, nil
	}
	bad := refx.FieldErrorf("cursor", "is not a cursor this API returned")
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, bad
	}
	var plain map[string]string
	if json.Unmarshal(b, &plain) != nil || len(plain) != len(cursorAttributes) || plain[AttrGSI1PK] != pk {
		return nil, bad
	}
	key := make(map[string]types.AttributeValue, len(plain))
	for _, name := range cursorAttributes {
		v, ok := plain[name]
		if !ok || v == "" {
			return nil, bad
		}
		key[name] = &types.AttributeValueMemberS{Value: v}
	}
	return key, nil
}

// UpdateExperiment applies a patch if the client's version is current,
// ctx's actor becoming the last editor (whom an approval must not come
// from).
func (s *Store) UpdateExperiment(ctx context.Context, id string, p refx.ExperimentPatch) (*refx.Experiment, error) {
	current, err := s.Experiment(ctx, id)
	if err != nil {
		return nil, err
	}
	next, err := current.Apply(p, s.opts.Now())
	if err != nil {
		return nil, err
	}
	next.LastEditor = refx.ActorOf(ctx).ID
	if err := compileAudience(next); err != nil {
		return nil, err
	}
	if err := s.checkProgram(ctx, next); err != nil {
		return nil, err
	}
	if err := s.replaceExperiment(ctx, experimentChange{Action: "update"}, current, next); err != nil {
		return nil, err
	}
	return next, nil
}

// SetStatus starts or stops an experiment for ctx's actor: Transition with
// the action leading to status to.
func (s *Store) SetStatus(ctx context.Context, id string, to refx.Status) (*refx.Experiment, error) {
	action := refx.ActionStart
	if to != refx.StatusRunning {
		action = refx.ActionStop
	}
	return s.Transition(ctx, id, refx.TransitionRequest{Action: action})
}

// Transition moves an experiment through its lifecycle for ctx's actor,
// under the deployment's policy (Options.RequireApproval), in one
// transaction with its audit entry and what must land with it: a layer's
// claim on a start, the conclusion and its frozen results on a conclude
// (and the offer it gives the experiment's program).
// The request's PlannedSampleSize and Results are called with the very
// experiment written. A concurrent update makes it read again and retry,
// since the move does not depend on what changed (an edit that sent a
// reviewed experiment back to draft refuses an approval on the retry).
func (s *Store) Transition(ctx context.Context, id string, r refx.TransitionRequest) (*refx.Experiment, error) {
	actor := refx.ActorOf(ctx)
	policy := refx.Policy{RequireApproval: s.opts.RequireApproval}
	for attempt := 0; ; attempt++ {
		current, err := s.Experiment(ctx, id)
		if err != nil {
			return nil, err
		}
		next, err := current.Transition(r, actor, policy, s.opts.Now())
		if err != nil || next == current {
			return next, err
		}
		ch := experimentChange{Action: string(r.Action), Note: r.Note}
		if ch.Extra, err = s.layerWrites(ctx, current, next); err != nil {
			return nil, err
		}
		programWrites, err := s.programWrites(ctx, r, next)
		if err != nil {
			return nil, err
		}
		ch.Extra = append(ch.Extra, programWrites...)
		switch {
		case r.Action == refx.ActionSubmit && r.PlannedSampleSize != nil:
			if next.PlannedSampleSize, err = r.PlannedSampleSize(ctx, next); err != nil {
				return nil, err
			}
		case r.Action == refx.ActionConclude:
			if r.Results == nil {
				return nil, refx.Errorf(refx.EINTERNAL, "dynamo.Transition: a conclusion needs its results")
			}
			results, err := r.Results(ctx, next)
			if err != nil {
				return nil, err
			}
			put, err := s.conclusionPut(next, results)
			if err != nil {
				return nil, err
			}
			ch.Extra = append(ch.Extra, put)
		}
		err = s.replaceExperiment(ctx, ch, current, next)
		if refx.ErrorCode(err) != refx.ECONFLICT || attempt >= 3 {
			return next, err
		}
	}
}

// experimentChange is what an experiment write records beyond the item: the
// action and note of its audit entry, and the writes of other items that
// must land with it or not at all (a layer's range claimed by a start).
type experimentChange struct {
	// Action names the change in the audit trail: "create", "update",
	// "start", "stop", "submit", "approve", ...
	Action string
	// Note is the reason given with the change, if any.
	Note  string
	Extra []guardedWrite
}

// guardedWrite is a transaction item whose condition, when it fails, is
// answered with Conflict.
type guardedWrite struct {
	Item     types.TransactWriteItem
	Conflict error
}

// replaceExperiment writes next in place of current if the stored version
// is still current's. ECONFLICT otherwise, or the Conflict of a failed
// extra write.
func (s *Store) replaceExperiment(ctx context.Context, ch experimentChange, current, next *refx.Experiment) error {
	s.cache.forget(next.ID)
	return s.putExperiment(ctx, experimentWrite{
		op: "replaceExperiment", change: ch, before: current, after: next,
		cond:     expression.Name("version").Equal(expression.Value(current.Version)),
		conflict: refx.Errorf(refx.ECONFLICT, "experiment %s changed since version %d: read it again", next.ID, current.Version),
	})
}

// experimentWrite is one put of an experiment's item: after on condition
// cond, answered with conflict when cond fails; before is the experiment
// the put replaces (nil for a create).
type experimentWrite struct {
	op            string
	change        experimentChange
	before, after *refx.Experiment
	cond          expression.ConditionBuilder
	conflict      error
}

// putExperiment puts the experiment with its audit entry and the change's
// extra writes in one transaction (twice the write units of a plain put:
// experiment writes are rare admin requests), answering w.conflict when
// the condition fails, unless what failed it is this very write, applied by
// an attempt whose response was lost. That attempt wrote the entry too, and
// the failed one wrote nothing: a retried write leaves one entry.
func (s *Store) putExperiment(ctx context.Context, w experimentWrite) error {
	write := toExperimentItem(w.after)
	put, err := putItem(s.table, write, &w.cond)
	if err != nil {
		return storeError(w.op, err)
	}
	put.Put.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	entry, err := s.auditNotePut(ctx, refx.AuditExperiment, w.after.ID, w.change.Action, w.change.Note, w.before, w.after)
	if err != nil {
		return storeError(w.op, err)
	}
	items := []types.TransactWriteItem{put, entry}
	for _, x := range w.change.Extra {
		items = append(items, x.Item)
	}
	err = s.transact(ctx, w.op, items)
	reasons := cancellationReasons(err)
	switch {
	case err == nil:
		return nil
	case conditionFailed(reasons, 0) && isOwnWrite(reasons[0].Item, write.WriteID):
		return nil
	case conditionFailed(reasons, 0):
		return w.conflict
	}
	for i, x := range w.change.Extra {
		if conditionFailed(reasons, 2+i) {
			return x.Conflict
		}
	}
	return storeError(w.op, err)
}

// isOwnWrite reports whether the stored item that failed a write's condition
// is that very write, applied by an earlier attempt whose response was lost:
// then the write has succeeded and retrying it must say so.
func isOwnWrite(stored map[string]types.AttributeValue, writeID string) bool {
	id, ok := stored["write_id"].(*types.AttributeValueMemberS)
	return ok && id.Value == writeID
}
