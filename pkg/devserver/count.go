package devserver

import (
	"context"
	"log/slog"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/refx-dev/refx/pkg/aggregate"
	"github.com/refx-dev/refx/pkg/aggregate/aggpoll"
	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/export/streampoll"
)

// startCounting runs the aggregator on the table's stream, the same
// handler the aggregator Lambda runs, with the deployment's reactors and
// the local webhook reactor, through the local poller. It returns a
// function that stops it, waiting for a batch in flight.
func startCounting(ctx context.Context, opts Options, dynamoEndpoint string, store *dynamo.Store, webhooks aggregate.Reactor) (stop func(), err error) {
	awsCfg, err := dynamo.LoadAWSConfig(ctx, dynamo.ClientConfig{Endpoint: dynamoEndpoint})
	if err != nil {
		return nil, err
	}
	runOpts := aggpoll.Options{Logger: opts.Logger, Reactors: append(aggregate.DefaultReactors(store), webhooks)}
	if !opts.InMemory {
		// Resume where the last run stopped: a batch's ledger makes a
		// redelivered batch count once, but only at the same first record.
		cp, err := streampoll.OpenFileCheckpoints(filepath.Join(opts.DataDir, "aggregate", "checkpoints.json"))
		if err != nil {
			return nil, err
		}
		runOpts.Checkpoints = cp
	}
	r, err := aggpoll.New(ctx, dynamodbstreams.NewFromConfig(awsCfg), store, runOpts)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.Run(runCtx); err != nil {
			opts.Logger.Error("aggregator stopped", slog.Any("err", err))
		}
	}()
	return func() { cancel(); <-done }, nil
}
