// Command compact is the Lambda an EventBridge schedule invokes hourly to
// compact the closed hours of the Parquet export in place
// (pkg/export/compact): a few large files per table and hour instead of one
// small file per stream batch, the files they supersede deleted an hour
// later.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/refx-dev/refx/pkg/export/compact"
)

func main() {
	h, err := compact.LambdaHandler(context.Background(), os.Getenv)
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
