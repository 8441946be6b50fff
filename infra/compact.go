package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
)

// wireCompaction grants the compaction (access.Compact) what it needs
// beyond writing under the export prefix: listing the bucket, only under
// the prefix, and reading and deleting the objects there (the batch files
// it supersedes and its manifests). The bucket's other objects (Athena's
// results) stay out of its reach.
func (s *service) wireCompaction() {
	for _, f := range functions {
		if !f.Access.Compact {
			continue
		}
		role := s.functions[f.Name].Role()
		for _, st := range s.compactStatements() {
			role.AddToPrincipalPolicy(st)
		}
	}
}

func (s *service) compactStatements() []awsiam.PolicyStatement {
	bucket := s.export.bucket
	return []awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("ListExport"),
			Actions:   jsii.Strings("s3:ListBucket"),
			Resources: jsii.Strings(*bucket.BucketArn()),
			Conditions: &map[string]any{
				"StringLike": map[string]any{"s3:prefix": exportPrefix + "*"},
			},
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("CompactExport"),
			Actions:   jsii.Strings("s3:GetObject", "s3:DeleteObject"),
			Resources: jsii.Strings(*bucket.ArnForObjects(jsii.String(exportPrefix + "*"))),
		}),
	}
}
