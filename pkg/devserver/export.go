package devserver

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/streampoll"
	"github.com/refx-dev/refx/pkg/s3local"
)

// localExport is the analytics export of the local stack: an in-process S3
// on loopback and a poller feeding the table's stream to the same handler
// the export Lambda runs.
type localExport struct {
	s3     *s3local.Server
	dir    string
	cancel context.CancelFunc
	done   chan struct{}
}

// exportPollInterval is how often the poller looks for new stream records
// once caught up: Parquet files appear about a second after the write.
const exportPollInterval = time.Second

// startExport starts the local S3 (under DataDir/s3 unless in memory) and
// the stream poller. Call it once the table exists.
func startExport(ctx context.Context, opts Options, dynamoEndpoint string) (*localExport, error) {
	s3Opts := s3local.Options{}
	if !opts.InMemory {
		s3Opts.Dir = filepath.Join(opts.DataDir, "s3")
	}
	srv, err := s3local.Start(ctx, s3Opts)
	if err != nil {
		return nil, err
	}
	e, err := startPoller(ctx, opts, dynamoEndpoint, srv)
	if err != nil {
		srv.Close()
		return nil, err
	}
	return e, nil
}

func startPoller(ctx context.Context, opts Options, dynamoEndpoint string, srv *s3local.Server) (*localExport, error) {
	s3c, err := srv.Client(ctx)
	if err != nil {
		return nil, err
	}
	// The deployed prefix, so that a file's key is the same here and in
	// AWS and the Athena DDL's LOCATION fits both.
	exporter, err := export.New(export.Config{S3: s3c, Bucket: srv.Bucket(), Prefix: export.DefaultPrefix, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	awsCfg, err := dynamo.LoadAWSConfig(ctx, dynamo.ClientConfig{Endpoint: dynamoEndpoint})
	if err != nil {
		return nil, err
	}
	streams := dynamodbstreams.NewFromConfig(awsCfg)
	arn, err := streampoll.LatestStreamARN(ctx, streams, opts.Table)
	if err != nil {
		return nil, err
	}
	cfg := streampoll.Config{
		Streams: streams, StreamARN: arn, Handler: exporter.Handle,
		Interval: exportPollInterval, Logger: opts.Logger,
	}
	if !opts.InMemory {
		// Resume where the last run stopped rather than export the whole
		// stream again (which the views would de-duplicate anyway).
		cp, err := streampoll.OpenFileCheckpoints(filepath.Join(opts.DataDir, "export", "checkpoints.json"))
		if err != nil {
			return nil, err
		}
		cfg.Checkpoints = cp
	}
	poller, err := streampoll.New(cfg)
	if err != nil {
		return nil, err
	}
	pollCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e := &localExport{s3: srv, cancel: cancel, done: make(chan struct{})}
	if dir := srv.BucketDir(); dir != "" {
		e.dir = filepath.Join(dir, filepath.FromSlash(export.DefaultPrefix))
	}
	go func() {
		defer close(e.done)
		if err := poller.Run(pollCtx); err != nil {
			opts.Logger.Error("export poller stopped", slog.Any("err", err))
		}
	}()
	return e, nil
}

// stop ends the poller, waiting for a batch in flight, then the S3 server.
func (e *localExport) stop() {
	e.cancel()
	<-e.done
	e.s3.Close()
}

// banner describes the export for the start-up banner.
func (e *localExport) banner() string {
	where := "in memory"
	if e.dir != "" {
		where = "Parquet files in " + e.dir
	}
	return fmt.Sprintf("  S3           %s   (bucket %q, %s)\n  Export       DynamoDB stream -> Parquet, about %v after each write\n",
		e.s3.Endpoint(), e.s3.Bucket(), where, exportPollInterval)
}
