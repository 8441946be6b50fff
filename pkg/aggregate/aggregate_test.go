package aggregate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/refx-dev/refx/pkg/aggregate"
	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/export/streampoll"
	"github.com/refx-dev/refx/pkg/refx"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

// streamBatches returns what the table's stream holds, as Lambda batches.
func streamBatches(t *testing.T, s *dynamo.Store) []events.DynamoDBEvent {
	t.Helper()
	streams := dynamotest.StreamsClient(t)
	arn, err := streampoll.LatestStreamARN(t.Context(), streams, s.Table())
	if err != nil {
		t.Fatal(err)
	}
	var out []events.DynamoDBEvent
	p, err := streampoll.New(streampoll.Config{Streams: streams, StreamARN: arn, BatchSize: 1000,
		Handler: func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			out = append(out, ev)
			return events.DynamoDBEventResponse{}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHandle runs the Lambda handler on a real stream: it counts, marks
// counted_through at the batch's last record, writes its metrics, leaves a
// batch of its own bookkeeping unmarked, and reports a failure at the
// batch's first record.
func TestHandle(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table, dynamo.Options{})
	n := refx.NewExperiment{ID: "handled", Variants: []refx.Variant{{Key: "a", Weight: 1}, {Key: "b", Weight: 1}},
		Goals: []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial}}}
	e, err := n.Build(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateExperiment(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if _, err := store.SetStatus(t.Context(), e.ID, refx.StatusRunning); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"ann", "ben", "cyd"} {
		if _, err := store.Assign(t.Context(), e.ID, u, nil); err != nil {
			t.Fatal(err)
		}
	}
	var metrics bytes.Buffer
	h := aggregate.New(store, aggregate.Options{MarkBatches: true, Metrics: &metrics})
	batches := streamBatches(t, store)
	for _, b := range batches {
		resp, err := h.Handle(t.Context(), b)
		if err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatalf("Handle = %+v, %v", resp, err)
		}
	}
	res, err := store.Results(t.Context(), e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Variants[0].Participants + res.Variants[1].Participants; got != 3 {
		t.Fatalf("participants = %d, want 3", got)
	}
	last := batches[len(batches)-1].Records
	if want := last[len(last)-1].Change.ApproximateCreationDateTime.UTC(); res.CountedThrough == nil || !res.CountedThrough.Equal(want.Truncate(time.Microsecond)) {
		t.Fatalf("counted_through = %v, want the last record's time %v", res.CountedThrough, want)
	}
	var line map[string]any
	if err := json.Unmarshal(bytes.Split(metrics.Bytes(), []byte("\n"))[0], &line); err != nil || line[aggregate.MetricLag] == nil || line["_aws"] == nil {
		t.Fatalf("metrics line = %q (%v)", metrics.String(), err)
	}

	t.Run("BookkeepingNotMarked", func(t *testing.T) {
		// The aggregator's own writes (counters, ledgers, the watermark)
		// come back on the stream; marking them would write the watermark
		// again, and wake the aggregator again, for ever.
		before := *res.CountedThrough
		seen := map[string]bool{}
		for _, b := range batches {
			for _, r := range b.Records {
				seen[r.EventID] = true
			}
		}
		var own events.DynamoDBEvent
		for _, b := range streamBatches(t, store) {
			for _, r := range b.Records {
				if !seen[r.EventID] {
					// Stamped an hour ahead: marking them would show.
					r.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: time.Now().Add(time.Hour)}
					own.Records = append(own.Records, r)
				}
			}
		}
		if len(own.Records) == 0 {
			t.Fatal("the aggregator's writes did not reach the stream")
		}
		if resp, err := h.Handle(t.Context(), own); err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatalf("Handle = %+v, %v", resp, err)
		}
		through, err := store.CountedThrough(t.Context())
		if err != nil || !through.Equal(before) {
			t.Fatalf("counted_through moved from %v to %v (%v) on bookkeeping alone", before, through, err)
		}
	})

	t.Run("FailureAtFirstRecord", func(t *testing.T) {
		dead, err := dynamo.NewClient(context.Background(), dynamo.ClientConfig{Endpoint: "http://127.0.0.1:1"})
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Count(metrics.String(), "\n")
		broken := aggregate.New(dynamo.New(dead, table, dynamo.Options{RetryAttempts: 1}), aggregate.Options{Metrics: &metrics})
		resp, err := broken.Handle(t.Context(), batches[0])
		first := batches[0].Records[0].Change.SequenceNumber
		if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != first {
			t.Fatalf("Handle = %+v, %v; want one failure at the first record %s", resp, err, first)
		}
		if strings.Count(metrics.String(), "\n") != lines {
			t.Fatalf("a failed batch wrote metrics: %q", metrics.String())
		}
	})
}
