// Command snapshot is the Lambda an EventBridge schedule invokes (hourly by
// default) to store a snapshot of every running experiment's results, the
// points of the dashboard's charts over time.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/refx-dev/refx/pkg/app"
)

func main() {
	h, err := app.SnapshotHandler(context.Background(), os.Getenv)
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
