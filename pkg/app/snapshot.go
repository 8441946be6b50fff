package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/refx"
)

// DefaultSnapshotPeriod is the length of a snapshot's period once an
// experiment is older than YoungSnapshotAge.
const DefaultSnapshotPeriod = time.Hour

// FineSnapshotPeriod and YoungSnapshotAge make the charts of a new
// experiment useful from its first minutes: it is snapshotted every five
// minutes for its first day (288 snapshots, about 1–2 WRU each, and as many
// more items for its charts to read) and at the snapshot period after.
const (
	FineSnapshotPeriod = 5 * time.Minute
	YoungSnapshotAge   = 24 * time.Hour
)

// SnapshotCadence is the cadence of a snapshot period: fine periods for
// young experiments when they are shorter than it. The schedule runs at its
// Tick.
func SnapshotCadence(period time.Duration) refx.SnapshotCadence {
	return refx.SnapshotCadence{Period: period, Fine: min(period, FineSnapshotPeriod), Young: YoungSnapshotAge}
}

// Snapshotter stores, at a tick of the schedule, the snapshot of every
// running experiment that is due one.
type Snapshotter interface {
	SnapshotAll(ctx context.Context, at time.Time, cadence refx.SnapshotCadence) (int, error)
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

// SnapshotFunc is the snapshot Lambda's handler, invoked every
// cadence.Tick(): each scheduled event snapshots every running experiment
// due one at the event's scheduled time, for the period holding it. A
// retried or repeated event stores the same periods' snapshots again with
// newer totals, so delivering it twice is harmless; an error makes Lambda
// retry the invocation.
func SnapshotFunc(s Snapshotter, cadence refx.SnapshotCadence, logger *slog.Logger) func(context.Context, events.EventBridgeEvent) error {
	return scheduledJob("snapshots stored", func(ctx context.Context, at time.Time) (int, error) {
		return s.SnapshotAll(ctx, at, cadence)
	}, logger)
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
	return SnapshotFunc(store, SnapshotCadence(period), logger), nil
}
