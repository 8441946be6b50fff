package dynamo

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/refx"
)

// statusDeleted marks the tombstone a deleted experiment leaves in its
// item. Experiment answers ENOTFOUND for it, the listing no longer shows it
// (its gsi1 keys are removed), and CreateExperiment cannot reuse its id:
// the assignments, events and referral codes of the deleted experiment are
// keyed by user, event and code, so they cannot be found to be deleted, and
// a new experiment under the same id would inherit them (a user's old
// variant, goals already "converted").
const statusDeleted = "deleted"

// DeleteExperiment deletes a draft or stopped experiment: its counters and
// snapshots, then its configuration, which becomes a tombstone. ENOTFOUND,
// ECONFLICT for a running experiment. An Alephbet/Lamed experiment is
// deleted as LamedDelete does, whatever its status.
//
// An ended experiment (stopped, concluded, archived) can never run again,
// so nothing writes its counters while they are deleted, and a delete that
// fails half-way is completed by sending it again; its conclusion goes with
// its configuration. An experiment that never started (draft, in review,
// approved) has never counted anything: only its configuration is deleted,
// on the condition that its status is still the one read, so one started
// meanwhile is refused rather than deleted with its new counts.
func (s *Store) DeleteExperiment(ctx context.Context, id string) error {
	exp, err := s.Experiment(ctx, id)
	if err != nil {
		return err
	}
	if exp.Source == refx.SourceLamed {
		return s.deleteLamed(ctx, exp)
	}
	switch {
	case !exp.Status.Launched():
	case exp.Status.Ended():
		if err := s.deleteCounts(ctx, exp); err != nil {
			return err
		}
	default:
		return refx.Errorf(refx.ECONFLICT, "experiment %s is %s: stop it before deleting it", id, exp.Status)
	}
	return s.tombstone(ctx, exp)
}

// tombstone turns the experiment's item into a tombstone if its status is
// still the one read, with the audit entry of the delete in the same
// transaction.
func (s *Store) tombstone(ctx context.Context, exp *refx.Experiment) error {
	const op = "DeleteExperiment"
	now := s.opts.Now().UTC()
	update := expression.Set(expression.Name("status"), expression.Value(statusDeleted)).
		Set(expression.Name("deleted_at"), expression.Value(now)).
		Set(expression.Name("updated_at"), expression.Value(now)).
		Add(expression.Name("version"), expression.Value(1)).
		Remove(expression.Name(AttrGSI1PK)).
		Remove(expression.Name(AttrGSI1SK))
	expr, err := expression.NewBuilder().WithUpdate(update).
		WithCondition(expression.Name("status").Equal(expression.Value(string(exp.Status)))).Build()
	if err != nil {
		return storeError(op, err)
	}
	entry, err := s.auditPut(ctx, refx.AuditExperiment, exp.ID, "delete", exp, nil)
	if err != nil {
		return storeError(op, err)
	}
	s.cache.forget(exp.ID)
	err = s.transact(ctx, op, []types.TransactWriteItem{{Update: &types.Update{
		TableName: s.table, Key: experimentKey(exp.ID).Attributes(),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}, entry, deleteItem(s.table, conclusionKey(exp.ID))})
	reasons := cancellationReasons(err)
	switch {
	case !conditionFailed(reasons, 0):
		return storeError(op, err)
	case isDeleted(reasons[0].Item):
		// Deleted meanwhile, with its entry, or by this request's earlier
		// attempt, whose entry is the one.
		return nil
	default:
		return refx.Errorf(refx.ECONFLICT, "experiment %s changed while it was being deleted: read it again", exp.ID)
	}
}

// deleteCounts deletes an experiment's counters (every phase's, every
// shard) and its snapshots, in batches.
func (s *Store) deleteCounts(ctx context.Context, exp *refx.Experiment) error {
	for phase := 1; phase <= exp.CurrentPhase(); phase++ {
		for shard := range exp.CounterShards {
			keys, err := s.partitionKeys(ctx, "deleteCounts", counterPK(phaseScope(exp.ID, phase), shard))
			if err != nil {
				return err
			}
			if err := s.deleteItems(ctx, keys); err != nil {
				return err
			}
		}
	}
	keys, err := s.partitionKeys(ctx, "deleteSnapshots", snapshotPK(exp.ID))
	if err != nil {
		return err
	}
	return s.deleteItems(ctx, keys)
}

// deleteItems deletes the items (or keys) given, 25 to a batch.
func (s *Store) deleteItems(ctx context.Context, items []map[string]types.AttributeValue) error {
	for batch := range slices.Chunk(items, 25) {
		writes := make([]types.WriteRequest, 0, len(batch))
		for _, it := range batch {
			writes = append(writes, types.WriteRequest{DeleteRequest: &types.DeleteRequest{
				Key: map[string]types.AttributeValue{AttrPK: it[AttrPK], AttrSK: it[AttrSK]},
			}})
		}
		if err := s.batchWrite(ctx, writes); err != nil {
			return err
		}
	}
	return nil
}

// partitionKeys returns the keys of every item of partition pk.
func (s *Store) partitionKeys(ctx context.Context, op, pk string) ([]map[string]types.AttributeValue, error) {
	expr, err := expression.NewBuilder().
		WithKeyCondition(expression.Key(AttrPK).Equal(expression.Value(pk))).
		WithProjection(expression.NamesList(expression.Name(AttrPK), expression.Name(AttrSK))).
		Build()
	if err != nil {
		return nil, storeError(op, err)
	}
	return s.queryItems(ctx, op, s.queryInput(expr, true))
}

// isDeleted reports whether a stored experiment item is a tombstone.
func isDeleted(stored map[string]types.AttributeValue) bool {
	status, ok := stored["status"].(*types.AttributeValueMemberS)
	return ok && status.Value == statusDeleted
}
