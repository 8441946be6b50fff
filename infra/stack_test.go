package main

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

func TestTableFromTheOneDefinition(t *testing.T) {
	tests := []struct {
		name   string
		ctx    map[string]any
		retain bool
		policy string
	}{
		{"Dev", devContext, false, "Delete"},
		{"Prod", prodContext, true, "Retain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := mustSynth(t, tt.ctx).tmpl
			check(t, "one table", func() { tmpl.ResourceCountIs(jsii.String("AWS::DynamoDB::GlobalTable"), jsii.Number(1)) })
			check(t, "table properties", func() {
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
					}, map[string]any{
						"IndexName": "leaders",
						"KeySchema": []any{
							map[string]any{"AttributeName": "lbpk", "KeyType": "HASH"},
							map[string]any{"AttributeName": "lbscore", "KeyType": "RANGE"},
						},
						"Projection": map[string]any{"ProjectionType": "ALL"},
					}},
					"Replicas": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
						"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
						"DeletionProtectionEnabled":        tt.retain,
					})}),
				})
			})
			check(t, "table removal policy", func() {
				tmpl.HasResource(jsii.String("AWS::DynamoDB::GlobalTable"), &map[string]any{
					"DeletionPolicy": tt.policy, "UpdateReplacePolicy": tt.policy,
				})
			})
			for _, typ := range []string{"AWS::S3::Bucket", "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup", "AWS::SQS::Queue"} {
				check(t, typ+" removal policy", func() {
					tmpl.AllResources(jsii.String(typ), &map[string]any{"DeletionPolicy": tt.policy})
				})
			}
		})
	}
}

// TestKeys checks the two generated secrets: letters and digits only (the
// key travels in an Authorization header), long, never in the template.
func TestKeys(t *testing.T) {
	s := mustSynth(t, devContext)
	secrets := s.resources("AWS::SecretsManager::Secret")
	if len(secrets) != 2 {
		t.Fatalf("%d secrets, want the admin key and the hash key", len(secrets))
	}
	for _, name := range []string{"AdminKey", "HashKey"} {
		id := s.logicalID(t, "AWS::SecretsManager::Secret", name)
		gen, _ := props(secrets[id])["GenerateSecretString"].(map[string]any)
		if gen["PasswordLength"] != 48.0 || gen["ExcludePunctuation"] != true || props(secrets[id])["SecretString"] != nil {
			t.Errorf("%s: %v: want a generated 48-character key without punctuation", name, props(secrets[id]))
		}
	}
}

func TestOutputs(t *testing.T) {
	s := mustSynth(t, devContext)
	outputs, _ := s.template["Outputs"].(map[string]any)
	for _, name := range []string{"ApiUrl", "DashboardUrl", "TableName", "ExportBucketName", "ExportDLQUrl", "AdminKeySecretArn", "AthenaWorkGroup", "GlueDatabase", "AlarmTopicArn", "AbuseDashboardUrl"} {
		if _, ok := outputs[name]; !ok {
			t.Errorf("no output %s (outputs: %v)", name, sortedKeys(outputs))
		}
	}
	tableID := s.logicalID(t, "AWS::DynamoDB::GlobalTable", "Table")
	bucketID := s.logicalID(t, "AWS::S3::Bucket", "ExportBucket")
	for name, want := range map[string]any{
		"TableName":        ref(tableID),
		"ExportBucketName": ref(bucketID),
		// The Ref of a queue is its URL, what replay-export reads from.
		"ExportDLQUrl": ref(s.logicalID(t, "AWS::SQS::Queue", "ExportDLQ")),
	} {
		if got := outputs[name].(map[string]any)["Value"]; canonical(got) != canonical(want) {
			t.Errorf("output %s = %s, want %s", name, canonical(got), canonical(want))
		}
	}
	url := canonical(outputs["DashboardUrl"].(map[string]any)["Value"])
	if !strings.Contains(url, "#dashboards:name=refx-dev-") {
		t.Errorf("DashboardUrl = %s", url)
	}
	url = canonical(outputs["AbuseDashboardUrl"].(map[string]any)["Value"])
	if !strings.Contains(url, "#dashboards:name=refx-dev-abuse-") {
		t.Errorf("AbuseDashboardUrl = %s", url)
	}
}
