// Command purge rewrites the exported Parquet files without the rows of
// erased users (pkg/export/purge): the job that carries DELETE
// /v1/users/{user} into S3, where the Athena views only hide the rows. It
// reads the export's settings from the environment, as the export Lambda
// does (REFX_EXPORT_BUCKET, REFX_EXPORT_PREFIX, export/ unless set,
// REFX_S3_ENDPOINT for the local S3), and is meant to run daily and after
// erasures:
//
//	REFX_EXPORT_BUCKET=my-export-bucket go run ./functions/purge
//	REFX_EXPORT_BUCKET=refx-analytics REFX_S3_ENDPOINT=http://127.0.0.1:PORT go run ./functions/purge   # ./scripts/dev's
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/purge"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "purge:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := export.LambdaConfigFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	client, err := export.NewS3Client(ctx, cfg)
	if err != nil {
		return err
	}
	rep, err := purge.Run(ctx, purge.Config{S3: client, Bucket: cfg.Bucket, Prefix: cfg.Prefix})
	if err != nil {
		return err
	}
	fmt.Printf("erased ids %d; objects read %d, rewritten %d, deleted %d; rows dropped %d, ids replaced %d\n",
		rep.ErasedIDs, rep.Objects, rep.Rewritten, rep.Deleted, rep.Dropped, rep.Replaced)
	return nil
}
