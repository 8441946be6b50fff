package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/refx-dev/refx/pkg/dynamo"
)

// RewardHoldInterval is how often the rewards function releases the holds
// that ended: a held reward is approved at most this long after its hold.
const RewardHoldInterval = 15 * time.Minute

// HoldReleaser approves the pending rewards whose hold ended by now.
type HoldReleaser interface {
	ReleaseHolds(ctx context.Context, now time.Time) (int, error)
}

// ReleaseFunc is the rewards Lambda's handler, invoked every
// RewardHoldInterval: each scheduled event releases the holds that ended
// by its scheduled time. Each release is conditional on the reward still
// being pending, so a retried or repeated event approves nothing twice;
// an error makes Lambda retry the invocation, and a run that hit its
// bound leaves the rest to the next.
func ReleaseFunc(s HoldReleaser, logger *slog.Logger) func(context.Context, events.EventBridgeEvent) error {
	return scheduledJob("reward holds released", s.ReleaseHolds, logger)
}

// ReleaseHandler builds the rewards Lambda's handler from the environment:
// only the table is needed, no key.
func ReleaseHandler(ctx context.Context, getenv func(string) string) (func(context.Context, events.EventBridgeEvent) error, error) {
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	client, err := dynamo.NewClient(ctx, dynamo.ClientConfig{Endpoint: cfg.DynamoEndpoint, Region: cfg.Region})
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger()
	return ReleaseFunc(dynamo.New(client, cfg.Table, dynamo.Options{Logger: logger}), logger), nil
}
