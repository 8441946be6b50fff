package dynamo

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"math/big"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stream"
)

// The aggregator turns the table's stream into counters. The request path
// only puts per-request and per-user items (an event, an assignment, a
// click...), each carrying the deltas it contributes; the aggregator sums a
// batch's deltas per counter item and applies them with atomic ADDs.
//
// Exactly once, whatever the redelivery (schema/table.md, "Aggregation"):
// a batch is the run of records of one stream shard starting at its first
// record, the anchor. Its deltas are applied in chunks, each chunk one
// transaction that also advances the batch's ledger item (AGG#<anchor>) to
// the chunk's last sequence number, on the condition that the ledger still
// holds the previous chunk's. A retried batch starts at the same anchor
// (the handler reports any failure at the batch's first record, and the
// event source mapping does not bisect), finds the ledger, and applies only
// the records after it. Records of other shards have other anchors; their
// chunks meet on counter items only through ADD, which commutes.

// maxChunkItems is the most counter items one chunk's transaction updates:
// DynamoDB's 100 items per transaction, less the ledger.
const maxChunkItems = 99

// ledgerTTL keeps a batch's ledger well past the stream's 24-hour retention,
// after which its anchor can never be delivered again.
const ledgerTTL = 48 * time.Hour

// Entities the aggregator owns.
const (
	entityCodeTotals = "code_totals"
	entityLedger     = "aggregate_ledger"
	entityWatermark  = "aggregate_watermark"
	entityAggError   = "aggregate_error"
)

// AggregateReport says what one batch did.
type AggregateReport struct {
	// Records is the batch's size; Counted the records that changed a
	// counter; Skipped those already applied by an earlier delivery.
	Records, Counted, Skipped int
	// Undecodable lists records no counter could be derived from; each was
	// stored as an aggregate_error item and logged.
	Undecodable []RecordError
	// Newest is the stream time of the batch's last record.
	Newest time.Time
	// Bookkeeping is true when every record of the batch is the
	// aggregator's own bookkeeping (counters, ledgers, the watermark, error
	// records): nothing a request wrote, so nothing to mark as counted,
	// which would only write the watermark again and wake the aggregator
	// for its own write.
	Bookkeeping bool
}

// RecordError is a record the aggregator could not read.
type RecordError struct {
	SequenceNumber string
	Reason         string
}

// counterChange is the sum of a batch's deltas to one counter item: the
// attributes to ADD, and the attributes that identify the item, SET.
type counterChange struct {
	key      itemKey
	identity map[string]types.AttributeValue
	add      map[string]*big.Rat
}

func (c *counterChange) addTo(name string, r *big.Rat) {
	if r.Sign() == 0 {
		return
	}
	if c.add[name] == nil {
		c.add[name] = new(big.Rat)
	}
	c.add[name].Add(c.add[name], r)
}

// recordDeltas are the counter changes of one record.
type recordDeltas struct {
	seq     string
	changes []*counterChange
}

// Aggregate applies the counters of one stream batch exactly once. batch
// holds records of one shard, in stream order. An error means some of the
// batch may be applied: the whole batch must be delivered again, from its
// first record (its anchor), which then applies only what is missing.
func (s *Store) Aggregate(ctx context.Context, batch []*stream.Record) (*AggregateReport, error) {
	rep := &AggregateReport{Records: len(batch)}
	if len(batch) == 0 {
		return rep, nil
	}
	rep.Newest = batch[len(batch)-1].StreamedAt
	rep.Bookkeeping = true
	for _, r := range batch {
		switch stream.StringAttr(r.Image(), "entity") {
		case entityCounter, entityLedger, entityWatermark, entityAggError, entityLeader:
		default:
			rep.Bookkeeping = false
		}
	}
	anchor := batch[0]
	exps, err := s.experimentsOf(ctx, batch)
	if err != nil {
		return nil, err
	}
	slots := map[string]int{}
	slot := func(exp *refx.Experiment) int {
		// One slot per experiment per batch: concurrent batches of other
		// shards land on other counter items, so their transactions rarely
		// meet.
		if n, ok := slots[exp.ID]; ok {
			return n
		}
		n := shardOf(anchor.SequenceNumber+exp.ID, max(exp.CounterShards, 1))
		slots[exp.ID] = n
		return n
	}
	var planned []recordDeltas
	for _, r := range batch {
		changes, err := deltasOf(r, exps, slot)
		if err != nil {
			rep.Undecodable = append(rep.Undecodable, RecordError{r.SequenceNumber, err.Error()})
			if err := s.putAggregateError(ctx, r, err); err != nil {
				return nil, err
			}
			continue
		}
		if len(changes) > 0 {
			planned = append(planned, recordDeltas{r.SequenceNumber, changes})
		}
	}
	ledger := itemKey{PK: aggregateLedgerPrefix + anchor.SequenceNumber, SK: aggregateLedgerSK}
	expires := anchor.StreamedAt.Add(ledgerTTL)
	through := "" // what the ledger holds: "" before the first chunk
	fresh := true // whether the ledger is known not to exist
	for len(planned) > 0 {
		if !fresh {
			n := 0
			for n < len(planned) && planned[n].seq <= through {
				n++
			}
			rep.Skipped += n
			planned = planned[n:]
			if len(planned) == 0 {
				break
			}
		}
		chunk, changes := nextChunk(planned, s.chunkItems)
		last := chunk[len(chunk)-1].seq
		stored, err := s.applyChunk(ctx, ledger, through, fresh, last, expires, changes)
		if err != nil {
			return nil, err
		}
		if stored != nil {
			// An earlier delivery of this batch got further: resume after it.
			through, fresh = *stored, false
			continue
		}
		rep.Counted += len(chunk)
		planned = planned[len(chunk):]
		through, fresh = last, false
	}
	return rep, nil
}

// nextChunk takes the longest run of records whose counter items fit one
// transaction, and their summed changes in a stable order.
func nextChunk(planned []recordDeltas, limit int) ([]recordDeltas, []*counterChange) {
	merged := map[itemKey]*counterChange{}
	n := 0
	for ; n < len(planned); n++ {
		added := 0
		for _, c := range planned[n].changes {
			if merged[c.key] == nil {
				added++
			}
		}
		if n > 0 && len(merged)+added > limit {
			break
		}
		for _, c := range planned[n].changes {
			m := merged[c.key]
			if m == nil {
				m = &counterChange{key: c.key, identity: c.identity, add: map[string]*big.Rat{}}
				merged[c.key] = m
			}
			for name, r := range c.add {
				m.addTo(name, r)
			}
		}
	}
	keys := slices.SortedFunc(maps.Keys(merged), func(a, b itemKey) int {
		return cmp.Or(cmp.Compare(a.PK, b.PK), cmp.Compare(a.SK, b.SK))
	})
	out := make([]*counterChange, 0, len(keys))
	for _, k := range keys {
		if len(merged[k].add) > 0 {
			out = append(out, merged[k])
		}
	}
	return planned[:n], out
}

// applyChunk writes one chunk: the counter changes and the ledger advanced
// from through (absent when fresh) to last, in one transaction. When the
// ledger holds something else, an earlier delivery applied more of the
// batch: nothing is written and stored is what the ledger holds.
func (s *Store) applyChunk(ctx context.Context, ledger itemKey, through string, fresh bool, last string, expires time.Time, changes []*counterChange) (stored *string, err error) {
	cond := expression.AttributeNotExists(expression.Name(AttrPK))
	if !fresh {
		cond = expression.Name("through").Equal(expression.Value(through))
	}
	advance := expression.Set(expression.Name("through"), expression.Value(last)).
		Set(expression.Name("entity"), expression.Value(entityLedger)).
		Set(expression.Name("ttl"), expression.Value(expires.Unix()))
	expr, err := expression.NewBuilder().WithUpdate(advance).WithCondition(cond).Build()
	if err != nil {
		return nil, storeError("Aggregate", err)
	}
	items := []types.TransactWriteItem{{Update: &types.Update{
		TableName: s.table, Key: ledger.Attributes(),
		UpdateExpression:                    expr.Update(),
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}}
	for _, c := range changes {
		update := expression.UpdateBuilder{}
		for _, name := range slices.Sorted(maps.Keys(c.identity)) {
			update = update.Set(expression.Name(name), expression.Value(c.identity[name]))
		}
		for _, name := range slices.Sorted(maps.Keys(c.add)) {
			update = update.Add(expression.Name(name), expression.Value(decimalNumber(string(formatDecimal(c.add[name])))))
		}
		item, err := updateItem(s.table, c.key, update)
		if err != nil {
			return nil, storeError("Aggregate", err)
		}
		items = append(items, item)
	}
	// A retry of a chunk that landed (its response lost) fails the ledger
	// condition and reads back that it landed: no idempotency token needed.
	err = s.transact(ctx, "Aggregate", items)
	reasons := cancellationReasons(err)
	switch {
	case err == nil:
		return nil, nil
	case conditionFailed(reasons, 0):
		var l struct {
			Through string `dynamodbav:"through"`
		}
		if reasons[0].Item == nil {
			return nil, storeError("Aggregate", errors.New("ledger condition failed without the stored ledger"))
		}
		if err := attributevalue.UnmarshalMap(reasons[0].Item, &l); err != nil {
			return nil, storeError("Aggregate", err)
		}
		return &l.Through, nil
	}
	return nil, storeError("Aggregate", err)
}

// experimentsOf reads, consistently, every experiment the batch's records
// count in. Deleted experiments are absent: nothing counts in them.
func (s *Store) experimentsOf(ctx context.Context, batch []*stream.Record) (map[string]*refx.Experiment, error) {
	ids := map[string]bool{}
	for _, r := range batch {
		image := r.Image()
		if id := stream.StringAttr(image, "experiment"); id != "" {
			ids[id] = true
		}
		if credits, ok := image["credits"].(*types.AttributeValueMemberL); ok {
			for _, c := range credits.Value {
				if m, ok := c.(*types.AttributeValueMemberM); ok {
					if id := stream.StringAttr(m.Value, "experiment"); id != "" {
						ids[id] = true
					}
				}
			}
		}
	}
	exps := map[string]*refx.Experiment{}
	keys := make([]itemKey, 0, len(ids))
	for id := range ids {
		keys = append(keys, experimentKey(id))
	}
	for len(keys) > 0 {
		n := min(len(keys), 100)
		got, err := s.getItems(ctx, "Aggregate", keys[:n]...)
		if err != nil {
			return nil, err
		}
		for _, av := range got {
			var it experimentItem
			if err := attributevalue.UnmarshalMap(av, &it); err != nil {
				return nil, storeError("Aggregate", err)
			}
			if it.Status != statusDeleted {
				exps[it.ID] = experimentOf(it)
			}
		}
		keys = keys[n:]
	}
	return exps, nil
}

// countsAt reports whether a change made at t counts in exp: while it runs,
// and before it stopped (whether it is now stopped, concluded or archived). Deciding here, on the experiment read with the
// batch, means a stale cache on the request path never counts a change
// received after the stop.
func countsAt(exp *refx.Experiment, t time.Time) bool {
	switch {
	case exp == nil:
		return false
	case exp.Status == refx.StatusRunning:
		return true
	case exp.Status.Ended():
		// An experiment archived as a draft never started: no StoppedAt.
		return exp.StoppedAt != nil && t.Before(*exp.StoppedAt)
	}
	return false
}

// MarkCounted records that every change streamed before t is counted, for
// results to say how fresh they are. The mark only moves forward.
func (s *Store) MarkCounted(ctx context.Context, t time.Time) error {
	mark := timeSK(t)
	update := expression.Set(expression.Name("through"), expression.Value(mark)).
		Set(expression.Name("entity"), expression.Value(entityWatermark))
	cond := expression.AttributeNotExists(expression.Name("through")).Or(expression.Name("through").LessThan(expression.Value(mark)))
	_, err := s.updateIf(ctx, "MarkCounted", watermarkKey, update, cond)
	return err
}

// CountedThrough returns the time up to which every change is counted, or
// nil before the aggregator has run.
func (s *Store) CountedThrough(ctx context.Context) (*time.Time, error) {
	var w struct {
		Through string `dynamodbav:"through"`
	}
	found, err := s.getItem(ctx, "CountedThrough", watermarkKey, &w)
	if err != nil || !found {
		return nil, err
	}
	t, err := time.Parse(timeSKLayout, w.Through)
	if err != nil {
		return nil, storeError("CountedThrough", err)
	}
	return &t, nil
}

// putAggregateError keeps a record the aggregator could not read, keyed by
// its sequence number so that a redelivery stores it once.
func (s *Store) putAggregateError(ctx context.Context, r *stream.Record, reason error) error {
	s.opts.Logger.ErrorContext(ctx, "aggregate: record not counted", "sequence_number", r.SequenceNumber,
		"change", r.Change.String(), "pk", stream.StringAttr(r.Image(), AttrPK), "sk", stream.StringAttr(r.Image(), AttrSK), "reason", reason.Error())
	av, err := attributevalue.MarshalMap(struct {
		itemKey
		Entity     string    `dynamodbav:"entity"`
		ItemPK     string    `dynamodbav:"item_pk"`
		ItemSK     string    `dynamodbav:"item_sk"`
		Change     string    `dynamodbav:"change"`
		Reason     string    `dynamodbav:"reason"`
		StreamedAt time.Time `dynamodbav:"streamed_at"`
		ExpiresAt  time.Time `dynamodbav:"ttl,unixtime"`
	}{
		aggregateErrorKey(r.StreamedAt, r.SequenceNumber), entityAggError,
		stream.StringAttr(r.Image(), AttrPK), stream.StringAttr(r.Image(), AttrSK), r.Change.String(),
		reason.Error(), r.StreamedAt, r.StreamedAt.Add(30 * 24 * time.Hour),
	})
	if err != nil {
		return storeError("Aggregate", err)
	}
	err = s.retry(ctx, "Aggregate", func() error {
		_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.table, Item: av})
		return err
	})
	return storeError("Aggregate", err)
}

// AggregateErrors lists the records the aggregator could not read on day
// (UTC), for operators and tests.
func (s *Store) AggregateErrors(ctx context.Context, day time.Time) ([]RecordError, error) {
	keys, err := expression.NewBuilder().WithKeyCondition(expression.Key(AttrPK).Equal(expression.Value(aggregateErrorPK(day)))).Build()
	if err != nil {
		return nil, storeError("AggregateErrors", err)
	}
	items, err := s.queryItems(ctx, "AggregateErrors", s.queryInput(keys, true))
	if err != nil {
		return nil, err
	}
	out := make([]RecordError, 0, len(items))
	for _, it := range items {
		out = append(out, RecordError{SequenceNumber: stream.StringAttr(it, AttrSK), Reason: stream.StringAttr(it, "reason")})
	}
	return out, nil
}
