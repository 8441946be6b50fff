package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/refx-dev/refx/pkg/dynamo"
)

// DefaultSnapshotPeriod is how often the results of running experiments are
// snapshotted: the schedule's rate, and the length of a snapshot's period.
const DefaultSnapshotPeriod = time.Hour

// Snapshotter stores a snapshot of every running experiment's results.
type Snapshotter interface {
	SnapshotAll(ctx context.Context, period time.Time) (int, error)
}

// SnapshotPeriodFromEnv reads REFX_SNAPSHOT_PERIOD (a Go duration of at
// least a minute dividing a day, default 1h).
func SnapshotPeriodFromEnv(getenv func(string) string) (time.Duration, error) {
	s := getenv("REFX_SNAPSHOT_PERIOD")
	if s == "" {
		return DefaultSnapshotPeriod, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Minute || (24*time.Hour)%d != 0 {
		return 0, fmt.Errorf("REFX_SNAPSHOT_PERIOD=%q: want a Go duration of at least 1m that divides a day, like 1h", s)
	}
	return d, nil
}

// SnapshotFunc is the snapshot Lambda's handler: each scheduled event
// snapshots every running experiment for the period holding the event's
// scheduled time. A retried or repeated event of one period stores the same
// snapshots again with newer totals, so delivering it twice is harmless; an
// error makes Lambda retry the invocation.
func SnapshotFunc(s Snapshotter, period time.Duration, logger *slog.Logger) func(context.Context, events.EventBridgeEvent) error {
	return func(ctx context.Context, ev events.EventBridgeEvent) error {
		at := ev.Time
		if at.IsZero() {
			at = time.Now()
		}
		start := at.UTC().Truncate(period)
		n, err := s.SnapshotAll(ctx, start)
		if err != nil {
			logger.ErrorContext(ctx, "snapshots failed", "period", start, "stored", n, "err", err, "event", ev.ID)
			return err
		}
		logger.InfoContext(ctx, "snapshots stored", "period", start, "stored", n, "event", ev.ID)
		return nil
	}
}

// SnapshotHandler builds the snapshot Lambda's handler from the
// environment: only the table is needed, no key.
func SnapshotHandler(ctx context.Context, getenv func(string) string) (func(context.Context, events.EventBridgeEvent) error, error) {
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	period, err := SnapshotPeriodFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	client, err := dynamo.NewClient(ctx, dynamo.ClientConfig{Endpoint: cfg.DynamoEndpoint, Region: cfg.Region})
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger()
	store := dynamo.New(client, cfg.Table, dynamo.Options{Logger: logger})
	return SnapshotFunc(store, period, logger), nil
}
