// Command infra is the refx CDK app: `cdk synth` and `cdk deploy` run it from
// the repository root (see cdk.json), and so does `go run ./infra`. It builds
// the Lambda binaries itself, so a deployment is one command.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "refx infra:", err)
		os.Exit(1)
	}
}

func run() error {
	defer jsii.Close()
	props := &awscdk.AppProps{}
	// The CDK CLI hands the app its context (cdk.json's and -c's) and an
	// output directory; `go run ./infra` gets neither, so it reads cdk.json
	// itself and writes to cdk.out like the CLI.
	if os.Getenv("CDK_CONTEXT_JSON") == "" && os.Getenv("CDK_OUTDIR") == "" {
		root, err := repoRoot()
		if err != nil {
			return err
		}
		ctx, err := cdkJSONContext(root)
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		props.Context = &ctx
		props.Outdir = jsii.String("cdk.out")
	}
	app := awscdk.NewApp(props)
	cfg, err := ConfigFromContext(func(key string) any { return app.Node().TryGetContext(jsii.String(key)) })
	if err != nil {
		return err
	}
	_, err = NewRefxStack(app, "Refx-"+cfg.Stage, &StackProps{
		StackProps: awscdk.StackProps{
			// Deploy to the account and region of the CLI's credentials
			// (CDK_DEFAULT_*); without credentials, synthesize an
			// environment-agnostic template.
			Env: env(),
		},
		Config: cfg,
	})
	if err != nil {
		return err
	}
	app.Synth(nil)
	return nil
}

func env() *awscdk.Environment {
	account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION")
	if account == "" || region == "" {
		return nil
	}
	return &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)}
}
