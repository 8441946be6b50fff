// Command rewards is the Lambda an EventBridge schedule invokes every 15
// minutes to approve the pending rewards whose hold has ended
// ((*dynamo.Store).ReleaseHolds).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/refx-dev/refx/pkg/app"
)

func main() {
	h, err := app.ReleaseHandler(context.Background(), os.Getenv)
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
