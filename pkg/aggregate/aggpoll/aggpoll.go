// Package aggpoll runs the aggregator on a table's stream outside Lambda:
// under ./scripts/dev and in tests, through the same local stream poller
// that feeds the exporter. Unlike the Lambda event source mapping, it sees
// every shard drained, so it can say exactly up to when changes are
// counted.
package aggpoll

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/refx-dev/refx/pkg/aggregate"
	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/export/streampoll"
)

// maxRoundsPerCount bounds the drains of one Count: a change counts in
// at most two rounds (a click, then its code's totals), so a few rounds
// always reach a quiet stream unless writes keep coming.
const maxRoundsPerCount = 8

// Options configure a Runner.
type Options struct {
	// Interval is the pause between counts in Run (default 200ms).
	Interval time.Duration
	// Checkpoints, when set, persist the poller's progress across restarts.
	Checkpoints streampoll.Checkpoints
	Logger      *slog.Logger
	Now         func() time.Time
	// Reactors run after each applied batch (aggregate.Options.Reactors);
	// nil runs aggregate.DefaultReactors, as the Lambda does.
	Reactors []aggregate.Reactor
}

// Runner counts a table's stream.
type Runner struct {
	store  *dynamo.Store
	poller *streampoll.Poller
	opts   Options
}

// New returns a Runner counting store's table through the Streams API.
func New(ctx context.Context, streams streampoll.Streams, store *dynamo.Store, opts Options) (*Runner, error) {
	if opts.Interval <= 0 {
		opts.Interval = 200 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	arn, err := streampoll.LatestStreamARN(ctx, streams, store.Table())
	if err != nil {
		return nil, err
	}
	if opts.Reactors == nil {
		opts.Reactors = aggregate.DefaultReactors(store)
	}
	h := aggregate.New(store, aggregate.Options{Logger: opts.Logger, Metrics: io.Discard, Reactors: opts.Reactors})
	p, err := streampoll.New(streampoll.Config{
		Streams: streams, StreamARN: arn, Handler: h.Handle,
		BatchSize: 1000, Checkpoints: opts.Checkpoints, Logger: opts.Logger,
	})
	if err != nil {
		return nil, err
	}
	return &Runner{store: store, poller: p, opts: opts}, nil
}

// Count drains the stream until it is quiet, then marks every change
// streamed before the count began as counted.
func (r *Runner) Count(ctx context.Context) error {
	start := r.opts.Now()
	for round := 0; ; round++ {
		if round == maxRoundsPerCount {
			// Writes keep coming: what was streamed before start is
			// counted by now, but more is pending.
			break
		}
		n, err := r.poller.Drain(ctx)
		if err != nil {
			return fmt.Errorf("aggpoll.Count: %w", err)
		}
		if n == 0 {
			break
		}
	}
	return r.store.MarkCounted(ctx, start)
}

// Run counts every Interval until ctx ends; failures are logged and retried.
func (r *Runner) Run(ctx context.Context) error {
	for {
		if err := r.Count(ctx); err != nil && ctx.Err() == nil {
			r.opts.Logger.WarnContext(ctx, "aggregate: count failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(r.opts.Interval):
		}
	}
}
