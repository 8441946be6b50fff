package main

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

func TestTableFromTheOneDefinition(t *testing.T) {
	tests := []struct {
		name   string
		retain bool
		policy string
	}{
		{"Dev", false, "Delete"},
		{"Prod", true, "Retain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := awscdk.NewApp(nil)
			stack := NewRefxStack(app, "Test", &StackProps{RetainData: tt.retain})
			tmpl := assertions.Template_FromStack(stack, nil)
			tmpl.ResourceCountIs(jsii.String("AWS::DynamoDB::GlobalTable"), jsii.Number(1))
			tmpl.HasResourceProperties(jsii.String("AWS::DynamoDB::GlobalTable"), &map[string]any{
				"KeySchema": []any{
					map[string]any{"AttributeName": "pk", "KeyType": "HASH"},
					map[string]any{"AttributeName": "sk", "KeyType": "RANGE"},
				},
				"BillingMode":             "PAY_PER_REQUEST",
				"StreamSpecification":     map[string]any{"StreamViewType": "NEW_AND_OLD_IMAGES"},
				"TimeToLiveSpecification": map[string]any{"AttributeName": "ttl", "Enabled": true},
				"GlobalSecondaryIndexes": []any{map[string]any{
					"IndexName": "gsi1",
					"KeySchema": []any{
						map[string]any{"AttributeName": "gsi1pk", "KeyType": "HASH"},
						map[string]any{"AttributeName": "gsi1sk", "KeyType": "RANGE"},
					},
					"Projection": map[string]any{"ProjectionType": "ALL"},
				}},
				"Replicas": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
					"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
					"DeletionProtectionEnabled":        tt.retain,
				})}),
			})
			tmpl.HasResource(jsii.String("AWS::DynamoDB::GlobalTable"), &map[string]any{"DeletionPolicy": tt.policy})
		})
	}
}
