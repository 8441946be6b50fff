package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/refx-dev/refx/pkg/dynamo"
)

// StackProps configure the refx stack.
type StackProps struct {
	awscdk.StackProps
	// RetainData keeps the table when the stack is deleted and protects it
	// from deletion; dev stages turn it off.
	RetainData bool
}

// NewRefxStack defines the refx service. For now it holds the table, built
// from the one table definition in pkg/dynamo; the functions, the API and the
// export pipeline join it in the CDK issue.
func NewRefxStack(scope constructs.Construct, id string, props *StackProps) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	newTable(stack, props.RetainData)
	return stack
}

func newTable(stack awscdk.Stack, retain bool) awsdynamodb.TableV2 {
	spec := dynamo.Table
	var gsis []*awsdynamodb.GlobalSecondaryIndexPropsV2
	for _, ix := range spec.Indexes {
		gsis = append(gsis, &awsdynamodb.GlobalSecondaryIndexPropsV2{
			IndexName:    jsii.String(ix.Name),
			PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(ix.PartitionKey), Type: awsdynamodb.AttributeType_STRING},
			SortKey:      &awsdynamodb.Attribute{Name: jsii.String(ix.SortKey), Type: awsdynamodb.AttributeType_STRING},
		})
	}
	removal := awscdk.RemovalPolicy_DESTROY
	if retain {
		removal = awscdk.RemovalPolicy_RETAIN
	}
	return awsdynamodb.NewTableV2(stack, jsii.String("Table"), &awsdynamodb.TablePropsV2{
		PartitionKey:           &awsdynamodb.Attribute{Name: jsii.String(spec.PartitionKey), Type: awsdynamodb.AttributeType_STRING},
		SortKey:                &awsdynamodb.Attribute{Name: jsii.String(spec.SortKey), Type: awsdynamodb.AttributeType_STRING},
		GlobalSecondaryIndexes: &gsis,
		TimeToLiveAttribute:    jsii.String(spec.TTLAttribute),
		DynamoStream:           awsdynamodb.StreamViewType(spec.StreamViewType),
		Billing:                awsdynamodb.Billing_OnDemand(nil),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection: jsii.Bool(retain),
		RemovalPolicy:      removal,
	})
}
