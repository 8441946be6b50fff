package main

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/refx-dev/refx/pkg/export"
)

// TestStreamMapping checks the two consumers of the table's stream, each on
// its own event source mapping with its own DLQ. The aggregator's settings
// are part of its exactly-once argument (pkg/aggregate): one batch per shard
// at a time, failures reported at the batch's first record and retried
// from there, never bisected, never given up on.
func TestStreamMapping(t *testing.T) {
	s := mustSynth(t, devContext)
	table := s.logicalID(t, "AWS::DynamoDB::GlobalTable", "Table")
	// The stream's mappings only: the webhook queue's is webhooks_test.go's.
	mappings := map[string]map[string]any{}
	for id, m := range s.resources("AWS::Lambda::EventSourceMapping") {
		if canonical(props(m)["EventSourceArn"]) == canonical(getAtt(table, "StreamArn")) {
			mappings[id] = m
		}
	}
	want := map[string]map[string]any{
		"export": {
			"BatchSize":                      1000.0,
			"MaximumBatchingWindowInSeconds": 60.0,
			"BisectBatchOnFunctionError":     true,
			"MaximumRetryAttempts":           10.0,
			"MaximumRecordAgeInSeconds":      86400.0,
			"ParallelizationFactor":          1.0,
		},
		"aggregate": {
			"BatchSize":                      1000.0,
			"MaximumBatchingWindowInSeconds": 1.0,
			"BisectBatchOnFunctionError":     false,
			"MaximumRetryAttempts":           -1.0,
			"MaximumRecordAgeInSeconds":      -1.0,
			"ParallelizationFactor":          1.0,
		},
	}
	if len(mappings) != len(want) {
		t.Fatalf("%d event source mappings, want %d (the export's and the aggregator's)", len(mappings), len(want))
	}
	for name, settings := range want {
		t.Run(name, func(t *testing.T) {
			id := functionID(name)
			fn := s.logicalID(t, "AWS::Lambda::Function", id+"Function")
			dlq := s.logicalID(t, "AWS::SQS::Queue", id+"DLQ")
			want := map[string]any{
				"FunctionName":          ref(fn),
				"EventSourceArn":        getAtt(table, "StreamArn"),
				"StartingPosition":      "TRIM_HORIZON",
				"FunctionResponseTypes": []any{"ReportBatchItemFailures"},
				"DestinationConfig":     map[string]any{"OnFailure": map[string]any{"Destination": getAtt(dlq, "Arn")}},
			}
			maps.Copy(want, settings)
			got := props(mappings[s.logicalID(t, "AWS::Lambda::EventSourceMapping", id+"Stream")])
			for k, v := range want {
				if canonical(got[k]) != canonical(v) {
					t.Errorf("%s = %s, want %s", k, canonical(got[k]), canonical(v))
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok && k != "Tags" {
					t.Errorf("unexpected setting %s = %s", k, canonical(got[k]))
				}
			}
		})
	}
	tmpl := s.tmpl
	for name := range want {
		dlq := s.logicalID(t, "AWS::SQS::Queue", functionID(name)+"DLQ")
		if p := props(s.resources("AWS::SQS::Queue")[dlq]); p["SqsManagedSseEnabled"] != true || p["MessageRetentionPeriod"] != 14.0*24*3600 {
			t.Errorf("%s DLQ: %s, want SQS-managed encryption and 14 days' retention", name, canonical(p))
		}
		check(t, name+" DLQ TLS", func() {
			tmpl.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), &map[string]any{
				"Queues": []any{ref(dlq)},
				"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
					"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
				})})},
			})
		})
	}
}

func TestExportBucket(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ctx    map[string]any
		expire bool
	}{
		{"Dev", devContext, false},
		{"ExportRetention", map[string]any{"exportRetentionDays": "400"}, true},
		// A production stage expires its export by default (400 days),
		// unless told 0.
		{"Prod", prodContext, true},
		{"ProdKeepForever", map[string]any{"stage": "prod", "alarmEmailOptOut": true, "exportRetentionDays": 0.0}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSynth(t, tc.ctx)
			tmpl := s.tmpl
			exportRule := map[string]any{
				"Id": "ExportTiering", "Prefix": "export/", "Status": "Enabled",
				"Transitions": []any{map[string]any{"StorageClass": "INTELLIGENT_TIERING", "TransitionInDays": 30}},
			}
			if tc.expire {
				exportRule["ExpirationInDays"] = 400
			} else {
				exportRule["ExpirationInDays"] = assertions.Match_Absent()
			}
			check(t, "bucket", func() {
				tmpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), &map[string]any{
					"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{
						map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}},
					}},
					"PublicAccessBlockConfiguration": map[string]any{
						"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
					},
					"OwnershipControls": map[string]any{"Rules": []any{map[string]any{"ObjectOwnership": "BucketOwnerEnforced"}}},
					"LifecycleConfiguration": map[string]any{"Rules": []any{
						map[string]any{"Id": "AbortIncompleteUploads", "Status": "Enabled",
							"AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": 1}},
						map[string]any{"Id": "ExpireAthenaResults", "Prefix": "athena-results/", "Status": "Enabled", "ExpirationInDays": 30},
						assertions.Match_ObjectEquals(&exportRule),
					}},
				})
			})
			check(t, "bucket TLS", func() {
				tmpl.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), &map[string]any{
					"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
						assertions.Match_ObjectLike(&map[string]any{
							"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
						}),
						assertions.Match_ObjectLike(&map[string]any{
							"Effect": "Deny", "Condition": map[string]any{"NumericLessThan": map[string]any{"s3:TlsVersion": 1.2}},
						}),
					})},
				})
			})
		})
	}
}

// ddlColumns reads the columns of schema/athena/tables/<table>.sql.
func ddlColumns(t *testing.T, root, table string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "schema", "athena", "tables", table+".sql"))
	if err != nil {
		t.Fatal(err)
	}
	body := regexp.MustCompile(`(?s)CREATE EXTERNAL TABLE IF NOT EXISTS \w+ \((.*?)\)\s*PARTITIONED BY`).FindStringSubmatch(string(b))
	if body == nil {
		t.Fatalf("cannot read the columns of %s.sql", table)
	}
	var cols []string
	for _, line := range strings.Split(strings.TrimSpace(body[1]), "\n") {
		f := strings.Fields(strings.TrimSuffix(strings.TrimSpace(line), ","))
		cols = append(cols, f[0]+" "+f[1])
	}
	return cols
}

// TestGlueCatalog checks a Glue table per exported table, with the columns
// of its Parquet schema (the same as schema/athena/tables' DDL) and the
// partition projection of the export layout.
func TestGlueCatalog(t *testing.T) {
	s := mustSynth(t, devContext)
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bucket := s.logicalID(t, "AWS::S3::Bucket", "ExportBucket")
	check(t, "database", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::Glue::Database"), &map[string]any{
			"DatabaseInput": map[string]any{"Name": "refx_dev", "Description": assertions.Match_AnyValue()},
		})
	})
	tables := s.resources("AWS::Glue::Table")
	if len(tables) != len(export.Tables()) {
		t.Errorf("%d Glue tables, %d exported tables", len(tables), len(export.Tables()))
	}
	for _, et := range export.Tables() {
		t.Run(et.Name, func(t *testing.T) {
			id := s.logicalID(t, "AWS::Glue::Table", "ExportTable"+strings.ReplaceAll(et.Name, "_", ""))
			p := props(tables[id])
			if p["DatabaseName"] != "refx_dev" {
				t.Errorf("database %v", p["DatabaseName"])
			}
			in := p["TableInput"].(map[string]any)
			location := join("s3://", ref(bucket), "/export/"+et.Name+"/")
			params := in["Parameters"].(map[string]any)
			wantParams := map[string]any{
				"classification": "parquet", "EXTERNAL": "TRUE", "parquet.compression": "ZSTD",
				"projection.enabled": "true",
				"projection.dt.type": "date", "projection.dt.format": "yyyy-MM-dd", "projection.dt.range": "2025-01-01,NOW",
				"projection.dt.interval": "1", "projection.dt.interval.unit": "DAYS",
				"projection.hour.type": "integer", "projection.hour.range": "0,23", "projection.hour.digits": "2",
				"storage.location.template": join("s3://", ref(bucket), "/export/"+et.Name+"/dt=${dt}/hour=${hour}/"),
			}
			if canonical(params) != canonical(wantParams) {
				t.Errorf("parameters:\n got %s\nwant %s", canonical(params), canonical(wantParams))
			}
			if got := canonical(in["PartitionKeys"]); got != `[{"Name":"dt","Type":"string"},{"Name":"hour","Type":"string"}]` {
				t.Errorf("partition keys %s", got)
			}
			sd := in["StorageDescriptor"].(map[string]any)
			if canonical(sd["Location"]) != canonical(location) {
				t.Errorf("location %s, want %s", canonical(sd["Location"]), canonical(location))
			}
			if sd["SerdeInfo"].(map[string]any)["SerializationLibrary"] != "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe" {
				t.Errorf("serde %v", sd["SerdeInfo"])
			}
			var cols []string
			for _, c := range sd["Columns"].([]any) {
				cols = append(cols, c.(map[string]any)["Name"].(string)+" "+c.(map[string]any)["Type"].(string))
			}
			if want := ddlColumns(t, root, et.Name); strings.Join(cols, ", ") != strings.Join(want, ", ") {
				t.Errorf("columns:\n glue %v\n  ddl %v", cols, want)
			}
		})
	}
}

func TestAthena(t *testing.T) {
	s := mustSynth(t, devContext)
	bucket := s.logicalID(t, "AWS::S3::Bucket", "ExportBucket")
	check(t, "workgroup", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::Athena::WorkGroup"), &map[string]any{
			"Name": "refx-dev", "State": "ENABLED", "RecursiveDeleteOption": true,
			"WorkGroupConfiguration": map[string]any{
				"EnforceWorkGroupConfiguration":   true,
				"PublishCloudWatchMetricsEnabled": true,
				"BytesScannedCutoffPerQuery":      10 * 1 << 30,
				"EngineVersion":                   map[string]any{"SelectedEngineVersion": "Athena engine version 3"},
				"ResultConfiguration": map[string]any{
					"OutputLocation":          join("s3://", ref(bucket), "/athena-results/"),
					"EncryptionConfiguration": map[string]any{"EncryptionOption": "SSE_S3"},
				},
			},
		})
	})
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := namedQueries(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no query under schema/athena")
	}
	queries := map[string]map[string]any{}
	for _, q := range s.resources("AWS::Athena::NamedQuery") {
		queries[props(q)["Name"].(string)] = props(q)
	}
	if len(queries) != len(files) {
		t.Errorf("%d named queries for %d files: %v", len(queries), len(files), sortedKeys(queries))
	}
	workGroup := s.logicalID(t, "AWS::Athena::WorkGroup", "WorkGroup")
	for name, sql := range files {
		q, ok := queries["refx "+name]
		if !ok {
			t.Errorf("no named query for schema/athena/%s.sql", name)
			continue
		}
		if q["QueryString"] != sql || q["Database"] != "refx_dev" || canonical(q["WorkGroup"]) != canonical(ref(workGroup)) {
			t.Errorf("named query %s: database %v, workgroup %v, same text %v", name, q["Database"], q["WorkGroup"], q["QueryString"] == sql)
		}
		if q["Description"] == "" {
			t.Errorf("named query %s has no description (its leading comment)", name)
		}
		if strings.HasPrefix(name, "tables/") {
			t.Errorf("the table DDL %s is a named query; the stack defines the tables", name)
		}
	}
}
