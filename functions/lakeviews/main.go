// Command lakeviews is the Lambda behind the stack's Athena views custom
// resource (pkg/export/lakeviews): CloudFormation invokes it on Create,
// Update and Delete, and cfn.LambdaWrap sends its answer back.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/refx-dev/refx/pkg/export/lakeviews"
)

func main() {
	h, err := lakeviews.LambdaHandler(context.Background(), os.Getenv)
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(cfn.LambdaWrap(h.Handle))
}
