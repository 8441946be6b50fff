// Command webhooks is the webhook delivery Lambda, triggered by the
// webhook SQS queue (pkg/sqs): one signed POST per message, failures
// reported per message (ReportBatchItemFailures) and delayed by
// exponential backoff until the queue's redrive policy dead-letters them.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/refx-dev/refx/pkg/sqs"
)

func main() {
	h, err := sqs.LambdaHandler(context.Background(), os.Getenv)
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
