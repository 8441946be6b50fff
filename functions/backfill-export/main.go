// Command backfill-export rebuilds the export from the refx table for the
// items written in [--from, --to) (pkg/export/backfill), reading at most
// --rate read units a second; rows the lake already holds are not written
// again. ./scripts/backfill-export builds and runs it:
//
//	./scripts/backfill-export --table refx-Table-ABC --bucket my-export-bucket --from 2026-12-01 --to 2026-12-07 --rate 100
//	./scripts/backfill-export --pitr-export s3://my-export-bucket/exports/AWSDynamoDB/01765000000000-0a1b2c3d/ --bucket my-export-bucket --from 2026-11-01 --to 2026-12-01
//	./scripts/backfill-export --from 2026-12-07 --to 2026-12-08 --dynamodb-endpoint http://127.0.0.1:8000 --s3-endpoint http://127.0.0.1:9000
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/backfill"
	"github.com/refx-dev/refx/pkg/s3local"
)

func main() {
	table := flag.String("table", envOr("REFX_TABLE", "refx"), "the refx table")
	bucket := flag.String("bucket", envOr("REFX_EXPORT_BUCKET", s3local.DefaultBucket), "the export bucket")
	prefix := flag.String("prefix", envOr("REFX_EXPORT_PREFIX", "export/"), "the export's key prefix")
	from := flag.String("from", "", "first write time included: 2006-01-02 or RFC 3339 (required)")
	to := flag.String("to", "", "first write time excluded: 2006-01-02 or RFC 3339 (required)")
	rate := flag.Float64("rate", 50, "read capacity units per second the scan may consume on average")
	dynamoEndpoint := flag.String("dynamodb-endpoint", "", "DynamoDB endpoint, such as the one ./scripts/dev prints; empty means AWS")
	fromExport := flag.String("pitr-export", "", "read the items from a DynamoDB export to S3 (DYNAMODB_JSON) instead of scanning: s3://BUCKET/PREFIX/AWSDynamoDB/EXPORT-ID/")
	s3Endpoint := flag.String("s3-endpoint", os.Getenv("REFX_S3_ENDPOINT"), "S3 endpoint, such as the one ./scripts/dev prints; empty means AWS")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := func() error {
		f, err := parseTime("--from", *from)
		if err != nil {
			return err
		}
		t, err := parseTime("--to", *to)
		if err != nil {
			return err
		}
		exportBucket, exportPrefix, err := parseS3URL(*fromExport)
		if err != nil {
			return err
		}
		awsCfg, err := dynamo.LoadAWSConfig(ctx, dynamo.ClientConfig{Endpoint: *dynamoEndpoint})
		if err != nil {
			return err
		}
		s3c, err := export.NewS3Client(ctx, export.LambdaConfig{S3Endpoint: *s3Endpoint, Region: os.Getenv("AWS_REGION")})
		if err != nil {
			return err
		}
		source := "table " + *table
		if exportPrefix != "" {
			source = "export s3://" + exportBucket + "/" + exportPrefix
		}
		fmt.Printf("backfill: %s, items written in [%s, %s), at most %.1f read units/s, into s3://%s/%s\n",
			source, f.Format(time.RFC3339), t.Format(time.RFC3339), *rate, *bucket, *prefix)
		rep, err := backfill.Run(ctx, backfill.Config{
			DynamoDB: dynamodb.NewFromConfig(awsCfg), Table: *table, S3: s3c, Bucket: *bucket, Prefix: *prefix,
			From: f, To: t, ReadUnitsPerSecond: *rate, ExportBucket: exportBucket, ExportPrefix: exportPrefix,
			Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil)),
		})
		if rep != nil {
			fmt.Printf("scanned %d items in %d pages (%.1f read units), %d in range: %d rows, %d already in the lake, %d written in %d objects; %d undecodable, %d undated\n",
				rep.Items, rep.Pages, rep.ReadUnits, rep.InRange, rep.Rows, rep.Existing, rep.Written, rep.Objects, rep.Undecodable, rep.Undated)
		}
		return err
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "backfill-export:", err)
		os.Exit(1)
	}
}

func parseTime(name, s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %q: want 2006-01-02, 2006-01-02T15:04 (UTC) or RFC 3339", name, s)
}

// parseS3URL splits s3://bucket/prefix/ ("" gives "", "").
func parseS3URL(u string) (bucket, prefix string, err error) {
	if u == "" {
		return "", "", nil
	}
	rest, ok := strings.CutPrefix(u, "s3://")
	bucket, prefix, _ = strings.Cut(rest, "/")
	if !ok || bucket == "" || prefix == "" {
		return "", "", fmt.Errorf("--pitr-export %q: want s3://BUCKET/PREFIX/AWSDynamoDB/EXPORT-ID/", u)
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return bucket, prefix, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
