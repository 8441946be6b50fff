package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// scheduledJob is the handler of a Lambda an EventBridge schedule invokes:
// run does the job as of the event's scheduled time and says how many
// items it handled. The jobs are idempotent for a given time, so a retried
// or repeated event is harmless; an error makes Lambda retry the
// invocation. job names the work in the log lines ("reward holds
// released", "snapshots stored").
func scheduledJob(job string, run func(ctx context.Context, at time.Time) (int, error), logger *slog.Logger) func(context.Context, events.EventBridgeEvent) error {
	return func(ctx context.Context, ev events.EventBridgeEvent) error {
		at := ev.Time
		if at.IsZero() {
			at = time.Now()
		}
		n, err := run(ctx, at)
		if err != nil {
			logger.ErrorContext(ctx, job+": failed", "at", at, "done", n, "err", err, "event", ev.ID)
			return err
		}
		logger.InfoContext(ctx, job, "at", at, "done", n, "event", ev.ID)
		return nil
	}
}
