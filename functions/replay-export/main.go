// Command replay-export re-exports the stream batches the export Lambda
// gave up on (pkg/export/replay): it reads Lambda's on-failure records from
// the export's DLQ (--queue-url), or one from a file (--message), re-reads
// each batch from the DynamoDB stream and writes it to the lake. A DLQ
// message is deleted only after its replay succeeded. ./scripts/replay-export
// builds and runs it:
//
//	./scripts/replay-export --queue-url https://sqs.eu-west-1.amazonaws.com/123456789012/refx-ExportDLQ --bucket my-export-bucket
//	./scripts/replay-export --message failure.json --dynamodb-endpoint http://127.0.0.1:8000 --s3-endpoint http://127.0.0.1:9000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"

	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/replay"
	"github.com/refx-dev/refx/pkg/s3local"
)

type options struct {
	queueURL, message, bucket, prefix, dynamoEndpoint, s3Endpoint string
	batchSize                                                     int
}

func main() {
	var o options
	flag.StringVar(&o.queueURL, "queue-url", "", "the export's DLQ (SQS): replay every message, deleting each once replayed")
	flag.StringVar(&o.message, "message", "", "a file holding one on-failure record (- for stdin), instead of --queue-url")
	flag.StringVar(&o.bucket, "bucket", envOr("REFX_EXPORT_BUCKET", s3local.DefaultBucket), "the export bucket")
	flag.StringVar(&o.prefix, "prefix", envOr("REFX_EXPORT_PREFIX", "export/"), "the export's key prefix")
	flag.StringVar(&o.dynamoEndpoint, "dynamodb-endpoint", "", "DynamoDB (Streams) endpoint, such as the one ./scripts/dev prints; empty means AWS")
	flag.StringVar(&o.s3Endpoint, "s3-endpoint", os.Getenv("REFX_S3_ENDPOINT"), "S3 endpoint, such as the one ./scripts/dev prints; empty means AWS")
	flag.IntVar(&o.batchSize, "batch-size", 100, "records per GetRecords call and exported batch (at most 1000)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "replay-export:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if (o.queueURL == "") == (o.message == "") {
		return errors.New("give --queue-url or --message")
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s3c, err := export.NewS3Client(ctx, export.LambdaConfig{S3Endpoint: o.s3Endpoint, Region: os.Getenv("AWS_REGION")})
	if err != nil {
		return err
	}
	x, err := export.New(export.Config{S3: s3c, Bucket: o.bucket, Prefix: o.prefix, Logger: logger})
	if err != nil {
		return err
	}
	awsCfg, err := dynamo.LoadAWSConfig(ctx, dynamo.ClientConfig{Endpoint: o.dynamoEndpoint})
	if err != nil {
		return err
	}
	cfg := replay.Config{Streams: dynamodbstreams.NewFromConfig(awsCfg), Exporter: x, BatchSize: int32(o.batchSize), Logger: logger}
	if o.message != "" {
		body, err := readFile(o.message)
		if err != nil {
			return err
		}
		return replayOne(ctx, cfg, o.message, body)
	}
	done := 0
	err = replay.DrainQueue(ctx, cfg, sqs.NewFromConfig(awsCfg), o.queueURL, func(out replay.Outcome) {
		if out.Err != nil {
			fmt.Fprintf(os.Stderr, "replay-export: message %s (left in the queue): %v\n", out.MessageID, out.Err)
			return
		}
		done++
		printReplay("message "+out.MessageID, out.Pointer, out.Report)
	})
	fmt.Printf("%d messages replayed and deleted\n", done)
	return err
}

func replayOne(ctx context.Context, cfg replay.Config, name string, body []byte) error {
	p, err := replay.ParsePointer(body)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	rep, err := replay.Run(ctx, cfg, p)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	printReplay(name, p, rep)
	return nil
}

func printReplay(name string, p replay.Pointer, rep *replay.Report) {
	fmt.Printf("%s: shard %s, sequence numbers %s..%s (streamed %s): %d records in %d batches: %d rows, %d objects written (%d records without rows, %d undecodable)\n",
		name, p.ShardID, p.StartSequenceNumber, p.EndSequenceNumber, p.FirstArrival.Format("2006-01-02 15:04:05Z07:00"),
		rep.Records, rep.Batches, rep.Rows, rep.Objects, rep.Skipped, rep.Undecodable)
}

func readFile(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
