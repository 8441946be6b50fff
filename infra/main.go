// Command infra is the refx CDK app: `cdk synth` and `cdk deploy` run it from
// the repository root (see cdk.json), and so does `go run ./infra`.
package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	stage, _ := app.Node().TryGetContext(jsii.String("stage")).(string)
	if stage == "" {
		stage = "dev"
	}
	NewRefxStack(app, "Refx-"+stage, &StackProps{RetainData: stage != "dev"})
	app.Synth(nil)
}
