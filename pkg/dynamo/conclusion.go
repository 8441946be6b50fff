package dynamo

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/refx-dev/refx/pkg/item"
	"github.com/refx-dev/refx/pkg/refx"
)

// entityConclusion marks an experiment's conclusion item.
const entityConclusion = "experiment_conclusion"

// MaxFrozenResultsBytes bounds the compressed results a conclusion keeps:
// with the rest of the item (at most a few kilobytes of decision,
// learnings and actor) it stays under DynamoDB's 400 KB item limit. A
// conclusion whose results compress to more is refused (ETOOLARGE) rather
// than written without them; results JSON is repetitive (the same keys per
// variant and metric) and compresses several times over.
const MaxFrozenResultsBytes = 350_000

// conclusionPut is the put, for the transaction that concludes e, of its
// conclusion with results frozen: on the condition that none exists, so
// that a conclusion, once written, never changes.
func (s *Store) conclusionPut(e *refx.Experiment, results json.RawMessage) (guardedWrite, error) {
	c := e.Conclusion
	packed, err := gzipped(results)
	if err != nil {
		return guardedWrite{}, err
	}
	if len(packed) > MaxFrozenResultsBytes {
		return guardedWrite{}, refx.Errorf(refx.ETOOLARGE, "the results of experiment %s are %d bytes compressed, more than a conclusion keeps (%d)", e.ID, len(packed), MaxFrozenResultsBytes)
	}
	it := item.Conclusion{
		Key: conclusionKey(e.ID), Entity: entityConclusion, Experiment: e.ID,
		Decision: c.Decision, Learnings: c.Learnings, By: toActorItem(c.By), At: c.At, Results: packed,
	}
	cond := expression.AttributeNotExists(expression.Name(AttrPK))
	put, err := putItem(s.table, it, &cond)
	if err != nil {
		return guardedWrite{}, err
	}
	return guardedWrite{Item: put, Conflict: refx.Errorf(refx.ECONFLICT, "experiment %s is already concluded", e.ID)}, nil
}

// Conclusion returns an experiment's conclusion with the results frozen
// when it was concluded. ENOTFOUND when the experiment does not exist or
// is not concluded.
func (s *Store) Conclusion(ctx context.Context, id string) (*refx.ConclusionRecord, error) {
	const op = "Conclusion"
	if _, err := s.Experiment(ctx, id); err != nil {
		return nil, err
	}
	var it item.Conclusion
	found, err := s.getItem(ctx, op, conclusionKey(id), &it)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, refx.Errorf(refx.ENOTFOUND, "experiment %s has no conclusion: conclude it first", id)
	}
	results, err := gunzipped(it.Results)
	if err != nil {
		return nil, storeError(op, err)
	}
	return &refx.ConclusionRecord{
		Experiment: id,
		Conclusion: refx.Conclusion{Decision: it.Decision, Learnings: it.Learnings, By: actorOf(it.By), At: it.At},
		Results:    results,
	}, nil
}

func gzipped(b []byte) ([]byte, error) {
	var out bytes.Buffer
	w, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func gunzipped(b []byte) (json.RawMessage, error) {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}
