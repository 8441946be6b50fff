// Command compact-local runs the export's compaction (pkg/export/compact)
// once, on a laptop: over the files ./scripts/dev exported under .data/s3
// (through an in-process S3 on that directory), or against an S3 endpoint
// or AWS. ./scripts/compact builds and runs it:
//
//	./scripts/compact                          # closed hours of the last 48 h, grace 1 h
//	./scripts/compact --now +2h --grace 0 --all # as if two hours later: every hour, delete at once
//	./scripts/compact --s3-endpoint http://127.0.0.1:9000
//	./scripts/compact --aws --bucket my-export-bucket
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/compact"
	"github.com/refx-dev/refx/pkg/s3local"
)

func main() {
	data := flag.String("data", ".data", "the data directory of ./scripts/dev (its S3 files are under <data>/s3)")
	endpoint := flag.String("s3-endpoint", os.Getenv("REFX_S3_ENDPOINT"), "an S3 endpoint (such as the one ./scripts/dev prints) instead of the files under --data")
	useAWS := flag.Bool("aws", false, "compact in AWS (credentials and AWS_REGION from the environment) instead of the local files")
	bucket := flag.String("bucket", envOr("REFX_EXPORT_BUCKET", s3local.DefaultBucket), "the export bucket")
	prefix := flag.String("prefix", envOr("REFX_EXPORT_PREFIX", export.DefaultPrefix), "the export's key prefix")
	now := flag.String("now", "", "the time to compact as of: RFC 3339, 2006-01-02T15:04 (UTC), or an offset from now such as +2h (default now)")
	settle := flag.Duration("settle", compact.DefaultSettle, "an hour is closed once it ended this long ago")
	grace := flag.Duration("grace", compact.DefaultGrace, "superseded files are deleted this long after the compacted files were written (0: at once)")
	lookback := flag.Duration("lookback", compact.DefaultLookback, "examine the partitions of this long before --now")
	all := flag.Bool("all", false, "examine every partition, whatever --lookback")
	target := flag.Int64("target-bytes", compact.DefaultTargetBytes, "the size of a compacted file")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := func() error {
		at, err := parseNow(*now, time.Now())
		if err != nil {
			return err
		}
		where := "s3://" + *bucket + "/" + *prefix
		if *endpoint == "" && !*useAWS {
			// The files ./scripts/dev wrote, served by an S3 of our own.
			dir := filepath.Join(*data, "s3")
			if _, err := os.Stat(filepath.Join(dir, "buckets", *bucket)); err != nil {
				return fmt.Errorf("no exported files under %s (run ./scripts/dev first, or pass --s3-endpoint or --aws): %w", dir, err)
			}
			srv, err := s3local.Start(ctx, s3local.Options{Dir: dir, Bucket: *bucket})
			if err != nil {
				return err
			}
			defer srv.Close()
			*endpoint = srv.Endpoint()
			where = filepath.Join(dir, "buckets", *bucket, filepath.FromSlash(*prefix))
		}
		var client compact.Client
		if *endpoint != "" {
			client, err = s3local.NewClient(ctx, *endpoint)
		} else {
			client, err = export.NewS3Client(ctx, export.LambdaConfig{Region: os.Getenv("AWS_REGION")})
		}
		if err != nil {
			return err
		}
		if *all {
			*lookback = 0
		}
		fmt.Printf("compact: %s as of %s (settle %v, grace %v, lookback %s, files of %d bytes)\n",
			where, at.Format(time.RFC3339), *settle, *grace, lookbackText(*lookback), *target)
		rep, err := compact.Run(ctx, compact.Config{
			S3: client, Bucket: *bucket, Prefix: *prefix, Now: func() time.Time { return at },
			Settle: *settle, Grace: *grace, Lookback: *lookback, TargetBytes: *target,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		})
		if rep != nil {
			fmt.Println(rep)
		}
		return err
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "compact:", err)
		os.Exit(1)
	}
}

// parseNow reads --now: a time, or an offset from now.
func parseNow(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return now.UTC(), nil
	}
	if strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
		d, err := time.ParseDuration(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("--now %q: %w", s, err)
		}
		return now.Add(d).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("--now " + s + ": want RFC 3339, 2006-01-02T15:04 (UTC), 2006-01-02 or an offset such as +2h")
}

func lookbackText(d time.Duration) string {
	if d == 0 {
		return "every partition"
	}
	return d.String()
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
