package main

import (
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestLeastPrivilege checks every IAM grant of the stack. Each function's
// role holds exactly the statements written here, independently of
// infra/functions.go: the actions its store calls need, each on the one
// resource it concerns. And nothing in the template grants a wildcard
// action, a "*" resource, a managed policy, or any resource outside the
// table, its index, its stream, the export prefix, the two keys, the DLQs,
// the functions' own log groups, and what the views' function runs Athena
// on (the workgroup, the export's Glue catalog, the Athena results).
func TestLeastPrivilege(t *testing.T) {
	s := mustSynth(t, devContext)
	table := s.logicalID(t, "AWS::DynamoDB::GlobalTable", "Table")
	bucket := s.logicalID(t, "AWS::S3::Bucket", "ExportBucket")
	dlq := s.logicalID(t, "AWS::SQS::Queue", "ExportDLQ")
	aggregateDLQ := s.logicalID(t, "AWS::SQS::Queue", "AggregateDLQ")
	webhooks := getAtt(s.logicalID(t, "AWS::SQS::Queue", "WebhookQueue"), "Arn")
	adminKey := s.logicalID(t, "AWS::SecretsManager::Secret", "AdminKey")
	hashKey := s.logicalID(t, "AWS::SecretsManager::Secret", "HashKey")
	tableArn := getAtt(table, "Arn")
	gsi1 := join(tableArn, "/index/gsi1")
	leaders := join(tableArn, "/index/leaders")
	stream := getAtt(table, "StreamArn")
	exportObjects := join(getAtt(bucket, "Arn"), "/export/*")
	logs := func(name string) any {
		return getAtt(s.logicalID(t, "AWS::Logs::LogGroup", functionID(name)+"Logs"), "Arn")
	}
	st := func(sid string, actions []string, resources ...any) statement {
		out := statement{Sid: sid, Effect: "Allow", Actions: slices.Clone(actions)}
		for _, r := range resources {
			out.Resources = append(out.Resources, canonical(r))
		}
		sort.Strings(out.Actions)
		sort.Strings(out.Resources)
		return out
	}
	ownLogs := []string{"logs:CreateLogStream", "logs:PutLogEvents"}
	// The views' function reads the catalog, the database, the tables and
	// the views, and writes the views only (lake.go), by name.
	views := []any{stackArn("glue", "catalog"), stackArn("glue", "database/refx_dev")}
	viewTables := slices.Clone(views)
	for _, name := range exportTableNames() {
		views = append(views, stackArn("glue", "table/refx_dev/"+name))
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	schema, err := schemaViews(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range schema {
		views = append(views, stackArn("glue", "table/refx_dev/"+v.Name))
		viewTables = append(viewTables, stackArn("glue", "table/refx_dev/"+v.Name))
	}
	workGroup := stackArn("athena", "workgroup/refx-dev")
	results := join(getAtt(bucket, "Arn"), "/athena-results/*")
	want := map[string][]statement{
		"assign": {
			st("WriteOwnLogs", ownLogs, logs("assign")),
			st("Table", []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"}, tableArn),
			st("ReadHashKey", []string{"secretsmanager:GetSecretValue"}, ref(hashKey)),
		},
		"track": {
			st("WriteOwnLogs", ownLogs, logs("track")),
			st("Table", []string{
				"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query",
				"dynamodb:PutItem", "dynamodb:UpdateItem",
			}, tableArn),
			st("Indexes", []string{"dynamodb:Query"}, gsi1, leaders),
			st("ReadHashKey", []string{"secretsmanager:GetSecretValue"}, ref(hashKey)),
		},
		"admin": {
			st("WriteOwnLogs", ownLogs, logs("admin")),
			st("Table", []string{
				"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
				"dynamodb:BatchWriteItem", "dynamodb:Query", "dynamodb:DescribeTable",
			}, tableArn),
			st("Indexes", []string{"dynamodb:Query"}, gsi1, leaders),
			st("ReadAdminKey", []string{"secretsmanager:GetSecretValue"}, ref(adminKey)),
		},
		"snapshot": {
			st("WriteOwnLogs", ownLogs, logs("snapshot")),
			st("Table", []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"}, tableArn),
			st("Indexes", []string{"dynamodb:Query"}, gsi1, leaders),
		},
		"rewards": {
			st("WriteOwnLogs", ownLogs, logs("rewards")),
			st("Table", []string{"dynamodb:BatchGetItem", "dynamodb:UpdateItem"}, tableArn),
			st("Indexes", []string{"dynamodb:Query"}, gsi1, leaders),
		},
		"export": {
			st("WriteOwnLogs", ownLogs, logs("export")),
			st("ReadStream", []string{
				"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams",
			}, stream),
			st("WriteExport", []string{"s3:PutObject"}, exportObjects),
			// The on-failure destination: Lambda sends the DLQ message with
			// the function's role.
			st("", []string{"sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"}, getAtt(dlq, "Arn")),
		},
		"aggregate": {
			st("WriteOwnLogs", ownLogs, logs("aggregate")),
			st("Table", []string{
				"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
				"dynamodb:ConditionCheckItem", "dynamodb:Query",
			}, tableArn),
			st("Indexes", []string{"dynamodb:Query"}, gsi1, leaders),
			st("SendWebhooks", []string{"sqs:SendMessage"}, webhooks),
			st("ReadStream", []string{
				"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams",
			}, stream),
			st("", []string{"sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"}, getAtt(aggregateDLQ, "Arn")),
		},
		"lakeviews": {
			st("WriteOwnLogs", ownLogs, logs("lakeviews")),
			st("RunViewStatements", []string{"athena:StartQueryExecution", "athena:GetQueryExecution"}, workGroup),
			st("ReadCatalog", []string{"glue:GetDatabase", "glue:GetTable"}, views...),
			st("WriteViews", []string{"glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable"}, viewTables...),
			st("WriteQueryResults", []string{"s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}, results),
			st("LocateQueryResults", []string{"s3:GetBucketLocation"}, getAtt(bucket, "Arn")),
			// Only under the results prefix (lake.go's condition).
			st("ListQueryResults", []string{"s3:ListBucket"}, getAtt(bucket, "Arn")),
		},
		"compact": {
			st("WriteOwnLogs", ownLogs, logs("compact")),
			st("WriteExport", []string{"s3:PutObject"}, exportObjects),
			st("CompactExport", []string{"s3:GetObject", "s3:DeleteObject"}, exportObjects),
			// Only under the export prefix: the condition is checked in
			// TestCompaction.
			st("ListExport", []string{"s3:ListBucket"}, getAtt(bucket, "Arn")),
		},
		"webhooks": {
			st("WriteOwnLogs", ownLogs, logs("webhooks")),
			st("Table", []string{"dynamodb:PutItem", "dynamodb:Query"}, tableArn),
			st("Indexes", []string{"dynamodb:Query"}, gsi1, leaders),
			st("ConsumeWebhooks", webhookConsumeActions, webhooks),
		},
	}
	if len(want) != len(functions) {
		t.Fatalf("this test expects the grants of %d functions, the stack has %d: add the new function's here", len(want), len(functions))
	}
	roles := map[string]bool{}
	for _, f := range functions {
		t.Run(f.Name, func(t *testing.T) {
			roleID := s.logicalID(t, "AWS::IAM::Role", functionID(f.Name)+"Role")
			roles[roleID] = true
			got := s.roleStatements(roleID)
			w := slices.Clone(want[f.Name])
			sort.Slice(w, func(i, j int) bool { return w[i].String() < w[j].String() })
			if !slices.EqualFunc(got, w, func(a, b statement) bool { return a.String() == b.String() }) {
				t.Errorf("statements:\ngot:%s\nwant:%s", lines(strs(got)), lines(strs(w)))
			}
			role := props(s.resources("AWS::IAM::Role")[roleID])
			if role["ManagedPolicyArns"] != nil {
				t.Errorf("managed policies attached: %v", role["ManagedPolicyArns"])
			}
			if principal := canonical(role["AssumeRolePolicyDocument"]); !strings.Contains(principal, `"Service":"lambda.amazonaws.com"`) {
				t.Errorf("assumed by %s, want lambda.amazonaws.com only", principal)
			}
		})
	}

	t.Run("NoOtherRoles", func(t *testing.T) {
		for id := range s.resources("AWS::IAM::Role") {
			if !roles[id] {
				t.Errorf("role %s is not a function's role: what grants does it hold?", id)
			}
		}
		if n := len(s.resources("AWS::IAM::ManagedPolicy")) + len(s.resources("AWS::IAM::User")) + len(s.resources("AWS::IAM::Group")); n > 0 {
			t.Errorf("%d managed policies, users or groups", n)
		}
	})

	allowed := map[string]bool{}
	for _, r := range []any{tableArn, gsi1, leaders, stream, exportObjects, getAtt(bucket, "Arn"), ref(adminKey), ref(hashKey), getAtt(dlq, "Arn"), getAtt(aggregateDLQ, "Arn"), webhooks} {
		allowed[canonical(r)] = true
	}
	for _, r := range append(views, workGroup, results, getAtt(bucket, "Arn")) {
		allowed[canonical(r)] = true
	}
	for _, f := range functions {
		allowed[canonical(logs(f.Name))] = true
	}
	t.Run("NoWildcards", func(t *testing.T) {
		for id, p := range s.resources("AWS::IAM::Policy") {
			for _, raw := range props(p)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				st := parseStatement(raw)
				if st.Effect != "Allow" {
					continue
				}
				for _, a := range st.Actions {
					if strings.Contains(a, "*") {
						t.Errorf("policy %s grants the wildcard action %s", id, a)
					}
				}
				if raw.(map[string]any)["NotAction"] != nil || raw.(map[string]any)["NotResource"] != nil {
					t.Errorf("policy %s uses NotAction/NotResource: %v", id, raw)
				}
				for _, r := range st.Resources {
					if !allowed[r] {
						t.Errorf("policy %s grants %v on %s: not a resource of refx's", id, st.Actions, r)
					}
				}
			}
		}
	})

	t.Run("LambdaPermissions", func(t *testing.T) {
		// EventBridge may invoke each scheduled function from its own
		// schedule, and nothing else.
		scheduled := map[string]bool{}
		for _, f := range functions {
			if f.Schedule != nil {
				fn := getAtt(s.logicalID(t, "AWS::Lambda::Function", functionID(f.Name)+"Function"), "Arn")
				rule := getAtt(s.logicalID(t, "AWS::Events::Rule", functionID(f.Name)+"Schedule"), "Arn")
				scheduled[canonical(fn)+" "+canonical(rule)] = true
			}
		}
		invoked := map[string]bool{}
		for id, p := range s.resources("AWS::Lambda::Permission") {
			pp := props(p)
			switch {
			case pp["Action"] != "lambda:InvokeFunction" || pp["SourceArn"] == nil:
				t.Errorf("permission %s: %s: want an invocation from one source ARN", id, canonical(pp))
			case pp["Principal"] == "apigateway.amazonaws.com":
			case pp["Principal"] == "events.amazonaws.com":
				pair := canonical(pp["FunctionName"]) + " " + canonical(pp["SourceArn"])
				if !scheduled[pair] {
					t.Errorf("permission %s: EventBridge may invoke %s from %s; want only a scheduled function from its own schedule", id, canonical(pp["FunctionName"]), canonical(pp["SourceArn"]))
				}
				invoked[pair] = true
			default:
				t.Errorf("permission %s: %s may invoke a function", id, pp["Principal"])
			}
		}
		for pair := range scheduled {
			if !invoked[pair] {
				t.Errorf("no permission lets EventBridge invoke %s", pair)
			}
		}
	})
}

func strs(sts []statement) []string {
	out := make([]string, len(sts))
	for i, s := range sts {
		out[i] = s.String()
	}
	return out
}
