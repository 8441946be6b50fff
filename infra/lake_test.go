package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/refx-dev/refx/pkg/export/lakeviews"
)

// quickSightUser is the QuickSight user of the tests' stack with QuickSight.
const quickSightUser = "arn:aws:quicksight:us-east-1:123456789012:user/default/analyst"

// dependsOn reports whether resource id of the template lists dep in its
// DependsOn.
func (s *synthesized) dependsOn(id, dep string) bool {
	res := s.template["Resources"].(map[string]any)[id].(map[string]any)
	return slices.ContainsFunc(asAnyList(res["DependsOn"]), func(d any) bool { return d == dep })
}

// stackArn is the ARN the stack formats for service and resource.
func stackArn(service, resource string) any {
	return join("arn:", ref("AWS::Partition"), ":"+service+":", ref("AWS::Region"), ":", ref("AWS::AccountId"), ":"+resource)
}

// TestAthenaViews checks the views' custom resource: served by the
// lakeviews function, with the workgroup, the database and every view of
// schema/athena/views in the order Athena can create them, its statement
// as in its file; created after the Glue tables, the bucket and its
// function's policy, before the named queries. (TestLeastPrivilege holds
// the function's grants.)
func TestAthenaViews(t *testing.T) {
	s := mustSynth(t, devContext)
	crs := s.resources("Custom::AthenaViews")
	if len(crs) != 1 {
		t.Fatalf("%d Custom::AthenaViews resources, want 1", len(crs))
	}
	id := s.logicalID(t, "Custom::AthenaViews", "AthenaViews")
	p := props(crs[id])
	fn := s.logicalID(t, "AWS::Lambda::Function", "LakeviewsFunction")
	if canonical(p["ServiceToken"]) != canonical(getAtt(fn, "Arn")) || p["ServiceTimeout"] != "900" {
		t.Errorf("ServiceToken %s, ServiceTimeout %v: want the lakeviews function, 900 s", canonical(p["ServiceToken"]), p["ServiceTimeout"])
	}
	wg := s.logicalID(t, "AWS::Athena::WorkGroup", "WorkGroup")
	if canonical(p["WorkGroup"]) != canonical(ref(wg)) || p["Database"] != "refx_dev" ||
		canonical(p["Tables"]) != canonical(exportTableNames()) || len(exportTableNames()) < 10 {
		t.Errorf("WorkGroup %s, Database %v, Tables %s", canonical(p["WorkGroup"]), p["Database"], canonical(p["Tables"]))
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := schemaViews(root)
	if err != nil {
		t.Fatal(err)
	}
	want, err := lakeviews.Order(files, exportTableNames())
	if err != nil {
		t.Fatal(err)
	}
	got := asAnyList(p["Views"])
	if len(got) != len(want) {
		t.Fatalf("%d views, want %d", len(got), len(want))
	}
	for i, v := range want {
		g := got[i].(map[string]any)
		if g["Name"] != v.Name || g["Sql"] != v.SQL {
			t.Errorf("view %d is %v, want %s with its file's statement", i, g["Name"], v.Name)
		}
	}

	policy := s.logicalID(t, "AWS::IAM::Policy", "LakeviewsRoleDefaultPolicy")
	bucket := s.logicalID(t, "AWS::S3::Bucket", "ExportBucket")
	deps := []string{policy, bucket, s.logicalID(t, "AWS::Glue::Database", "ExportDatabase")}
	for _, table := range exportTableNames() {
		deps = append(deps, s.logicalID(t, "AWS::Glue::Table", "ExportTable-"+table))
	}
	for _, d := range deps {
		if !s.dependsOn(id, d) {
			t.Errorf("the views do not depend on %s", d)
		}
	}
	queries := s.resources("AWS::Athena::NamedQuery")
	if len(queries) == 0 {
		t.Error("no named queries")
	}
	for q := range queries {
		if !s.dependsOn(q, id) {
			t.Errorf("named query %s does not depend on the views", q)
		}
	}

}

// mustReadQuery is the SQL of schema/athena/queries/<name>.sql.
func mustReadQuery(t *testing.T, name string) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "schema", "athena", "queries", name+".sql"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// toAny is ss as a template's JSON holds it.
func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// TestQuickSight synthesizes the stack without and with quicksightUserArn:
// without it there is no QuickSight resource at all; with it an Athena data
// source on the stack's workgroup and a direct-query custom SQL dataset per
// dashboard query, each owned by that user and created after the views.
func TestQuickSight(t *testing.T) {
	t.Run("Off", func(t *testing.T) {
		s := mustSynth(t, devContext)
		for id, r := range s.template["Resources"].(map[string]any) {
			if typ := r.(map[string]any)["Type"].(string); strings.HasPrefix(typ, "AWS::QuickSight::") {
				t.Errorf("%s: %s without quicksightUserArn", id, typ)
			}
		}
	})
	t.Run("On", func(t *testing.T) {
		s := mustSynth(t, map[string]any{"quicksightUserArn": quickSightUser})
		sources := s.resources("AWS::QuickSight::DataSource")
		if len(sources) != 1 {
			t.Fatalf("%d data sources, want 1", len(sources))
		}
		source := s.logicalID(t, "AWS::QuickSight::DataSource", "QuickSightDataSource")
		wg := s.logicalID(t, "AWS::Athena::WorkGroup", "WorkGroup")
		check(t, "data source", func() {
			s.tmpl.HasResourceProperties(jsii.String("AWS::QuickSight::DataSource"), &map[string]any{
				"AwsAccountId": ref("AWS::AccountId"), "DataSourceId": "refx-dev-athena", "Type": "ATHENA",
				"DataSourceParameters": map[string]any{"AthenaParameters": map[string]any{"WorkGroup": ref(wg)}},
				"Permissions":          []any{map[string]any{"Principal": quickSightUser, "Actions": toAny(quickSightSourceActions)}},
			})
		})
		views := s.logicalID(t, "Custom::AthenaViews", "AthenaViews")
		sets := s.resources("AWS::QuickSight::DataSet")
		if len(sets) != len(lakeviews.Datasets) {
			t.Errorf("%d datasets, want %d", len(sets), len(lakeviews.Datasets))
		}
		for _, d := range lakeviews.Datasets {
			id := s.logicalID(t, "AWS::QuickSight::DataSet", "QuickSightDataSet-"+d.Query)
			p := props(sets[id])
			var cols []any
			for _, c := range d.Columns {
				cols = append(cols, map[string]any{"Name": c.Name, "Type": c.Type})
			}
			physical, _ := p["PhysicalTableMap"].(map[string]any)[strings.ReplaceAll(d.Query, "_", "-")].(map[string]any)
			table, _ := physical["CustomSql"].(map[string]any)
			if canonical(table["DataSourceArn"]) != canonical(getAtt(source, "Arn")) || canonical(table["Columns"]) != canonical(cols) ||
				table["SqlQuery"] != mustReadQuery(t, d.Query) {
				t.Errorf("%s: custom SQL %s", d.Query, canonical(table))
			}
			if p["ImportMode"] != "DIRECT_QUERY" || canonical(p["Permissions"]) != canonical([]any{
				map[string]any{"Principal": quickSightUser, "Actions": toAny(quickSightDatasetActions)},
			}) {
				t.Errorf("%s: import mode %v, permissions %s", d.Query, p["ImportMode"], canonical(p["Permissions"]))
			}
			if !s.dependsOn(id, views) {
				t.Errorf("%s is created before the views it reads", d.Query)
			}
		}
	})
	t.Run("ErrBadArn", func(t *testing.T) {
		for _, v := range []any{"alice", "arn:aws:iam::123456789012:user/alice", 12.0} {
			if _, err := ConfigFromContext(func(k string) any { return map[string]any{"quicksightUserArn": v}[k] }); err == nil ||
				!strings.Contains(err.Error(), "quicksightUserArn") {
				t.Errorf("quicksightUserArn=%v: err %v", v, err)
			}
		}
	})
}

// TestExportErrorAlarms checks the metric filters on the export function's
// log group, which count the undecodable and failed records of its batch
// lines in refx's namespace, and their alarms (≥ 1 in five minutes, to the
// alarm topic: TestAlarms).
func TestExportErrorAlarms(t *testing.T) {
	s := mustSynth(t, devContext)
	logs := s.logicalID(t, "AWS::Logs::LogGroup", "ExportLogs")
	for _, tc := range []struct{ filter, field, metric, alarm string }{
		{"ExportUndecodableFilter", "undecodable", exportUndecodableMetric, "ExportUndecodableAlarm"},
		{"ExportFailedRecordsFilter", "failed_records", exportFailedMetric, "ExportFailedRecordsAlarm"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			p := props(s.resources("AWS::Logs::MetricFilter")[s.logicalID(t, "AWS::Logs::MetricFilter", tc.filter)])
			want := map[string]any{
				"LogGroupName":  ref(logs),
				"FilterPattern": "{ $." + tc.field + " > 0 }",
				"MetricTransformations": []any{map[string]any{
					"MetricNamespace": "refx", "MetricName": tc.metric, "MetricValue": "$." + tc.field,
				}},
			}
			for k, v := range want {
				if canonical(p[k]) != canonical(v) {
					t.Errorf("%s = %s, want %s", k, canonical(p[k]), canonical(v))
				}
			}
			check(t, tc.alarm, func() {
				s.tmpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
					"Namespace": "refx", "MetricName": tc.metric, "Statistic": "Sum", "Period": 300,
					"Threshold": 1, "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
					"Dimensions": assertions.Match_Absent(),
				})
			})
		})
	}
}
