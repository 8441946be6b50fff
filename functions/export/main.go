// Command export is the Lambda on the table's DynamoDB stream: it writes
// every batch to S3 as Parquet for Athena (pkg/export), reporting partial
// failures as batch item failures (enable ReportBatchItemFailures on the
// event source mapping).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/refx-dev/refx/pkg/export"
)

func main() {
	x, err := export.LambdaHandler(context.Background(), os.Getenv)
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(x.Handle)
}
