package aggregate

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/sqs"
	"github.com/refx-dev/refx/pkg/stream"
)

// Metric names, in the CloudWatch namespace MetricNamespace, written as
// Embedded Metric Format log lines after every batch.
const (
	MetricNamespace = "refx"
	// MetricLag is how far behind the stream the counters were when the
	// batch was applied: now − the stream time of its last record.
	MetricLag = "CountedThroughLagSeconds"
	// MetricUndecodable counts records no counter could be derived from.
	MetricUndecodable = "AggregateUndecodableRecords"
)

// Options tune a Handler.
type Options struct {
	// MarkBatches moves the store's counted-through mark to each applied
	// batch's last record. Under Lambda this is the best a consumer can
	// know; the local poller, which sees every shard drained, marks whole
	// rounds itself and leaves this off.
	MarkBatches bool
	// Metrics receives the EMF lines (default os.Stdout).
	Metrics io.Writer
	Logger  *slog.Logger
	Now     func() time.Time
	// Reactors run, in order, on each batch after its counts are applied:
	// the side effects of stream records besides counters (rewards,
	// webhooks). A failing reactor fails the batch, which is delivered
	// again whole, so each must be idempotent.
	Reactors []Reactor
}

// Reactor turns a batch of stream records into its side effects,
// idempotently: it runs again on every redelivery of the batch.
type Reactor func(ctx context.Context, records []*stream.Record) error

// DefaultReactors are the reactors of a deployment: the rewards ledger.
func DefaultReactors(store *dynamo.Store) []Reactor {
	return []Reactor{store.RewardReactor}
}

// Handler applies stream batches to the counters.
type Handler struct {
	store *dynamo.Store
	opts  Options
}

// New returns a Handler writing through store.
func New(store *dynamo.Store, opts Options) *Handler {
	if opts.Metrics == nil {
		opts.Metrics = os.Stdout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Handler{store: store, opts: opts}
}

// Handle applies one batch. Any failure is reported at the batch's first
// record, so that the retry starts at the same anchor and finds the ledger
// of what was applied; it never returns an error of its own.
func (h *Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
	if len(ev.Records) == 0 {
		return resp, nil
	}
	batch := make([]*stream.Record, len(ev.Records))
	for i := range ev.Records {
		rec := &ev.Records[i]
		r, err := stream.FromLambda(rec)
		if err != nil {
			// Kept as a record without images: the store reports it as
			// undecodable, once, under its sequence number.
			h.opts.Logger.ErrorContext(ctx, "aggregate: unreadable stream record", "sequence_number", rec.Change.SequenceNumber, "err", err)
			r = &stream.Record{SequenceNumber: stream.PadSequence(rec.Change.SequenceNumber), StreamedAt: rec.Change.ApproximateCreationDateTime.UTC()}
		}
		batch[i] = r
	}
	rep, err := h.store.Aggregate(ctx, batch)
	for _, react := range h.opts.Reactors {
		if err != nil {
			break
		}
		err = react(ctx, batch)
	}
	if err == nil && h.opts.MarkBatches && !rep.Bookkeeping {
		err = h.store.MarkCounted(ctx, rep.Newest)
	}
	if err != nil {
		h.opts.Logger.WarnContext(ctx, "aggregate: batch not applied; it will be delivered again from its first record",
			"records", len(batch), "first", ev.Records[0].Change.SequenceNumber, "err", err)
		resp.BatchItemFailures = []events.DynamoDBBatchItemFailure{{ItemIdentifier: ev.Records[0].Change.SequenceNumber}}
		return resp, nil
	}
	h.opts.Logger.DebugContext(ctx, "aggregate: batch applied", "records", rep.Records, "counted", rep.Counted, "skipped", rep.Skipped, "undecodable", len(rep.Undecodable))
	h.emit(rep)
	return resp, nil
}

// emit writes the batch's metrics as one Embedded Metric Format line.
func (h *Handler) emit(rep *dynamo.AggregateReport) {
	now := h.opts.Now()
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": now.UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  MetricNamespace,
				"Dimensions": [][]string{{}},
				"Metrics": []any{
					map[string]string{"Name": MetricLag, "Unit": "Seconds"},
					map[string]string{"Name": MetricUndecodable, "Unit": "Count"},
				},
			}},
		},
		MetricLag:         max(0, now.Sub(rep.Newest).Seconds()),
		MetricUndecodable: len(rep.Undecodable),
	}
	b, _ := json.Marshal(line)
	h.opts.Metrics.Write(append(b, '\n'))
}

// LambdaHandler builds the Handler from the environment: REFX_TABLE
// (required), REFX_DYNAMODB_ENDPOINT and AWS_REGION (optional),
// REFX_LOG_LEVEL (debug, info, warn, error), REFX_WEBHOOK_QUEUE_URL (the
// webhook queue; no webhooks when unset).
func LambdaHandler(ctx context.Context, getenv func(string) string) (*Handler, error) {
	table := getenv("REFX_TABLE")
	if table == "" {
		return nil, errors.New("aggregate: REFX_TABLE is not set")
	}
	var level slog.Level
	if s := getenv("REFX_LOG_LEVEL"); s != "" {
		if err := level.UnmarshalText([]byte(s)); err != nil {
			return nil, errors.New("aggregate: REFX_LOG_LEVEL must be debug, info, warn or error")
		}
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	client, err := dynamo.NewClient(ctx, dynamo.ClientConfig{Endpoint: getenv("REFX_DYNAMODB_ENDPOINT"), Region: getenv("AWS_REGION")})
	if err != nil {
		return nil, err
	}
	store := dynamo.New(client, table, dynamo.Options{Logger: logger})
	reactors := DefaultReactors(store)
	if url := getenv("REFX_WEBHOOK_QUEUE_URL"); url != "" {
		// Webhook events are derived from the same batches and queued
		// for the webhooks function (pkg/sqs).
		webhooks, err := sqs.Reactor(ctx, store, url)
		if err != nil {
			return nil, err
		}
		reactors = append(reactors, webhooks)
	}
	return New(store, Options{MarkBatches: true, Logger: logger, Reactors: reactors}), nil
}
