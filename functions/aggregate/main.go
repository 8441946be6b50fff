// Command aggregate is the counters' Lambda on the table's DynamoDB stream
// (pkg/aggregate): it applies each batch's counter deltas exactly once and
// reports failures at the batch's first record.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/refx-dev/refx/pkg/aggregate"
)

func main() {
	h, err := aggregate.LambdaHandler(context.Background(), os.Getenv)
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
