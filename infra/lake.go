package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsquicksight"
	"github.com/aws/jsii-runtime-go"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/lakeviews"
	"github.com/refx-dev/refx/pkg/httpapi"
)

// The export function's batch log line (pkg/export) counts the records it
// filed in export_errors (undecodable) and those it reported failed
// (failed_records, retried, then given up on into the DLQ); metric
// filters turn them into metrics that alarm.
const (
	exportUndecodableMetric = "ExportUndecodableRecords"
	exportFailedMetric      = "ExportFailedRecords"
)

// viewsTimeout is how long CloudFormation waits for the views' custom
// resource to answer: the function's timeout for each of the three
// attempts Lambda makes of an asynchronous invocation that fails.
const viewsTimeout = 15 * 60 // seconds

// wireLake makes the deployed lake queryable: the views of
// schema/athena/views created by a custom resource (functions/lakeviews)
// after the Glue tables and before the named queries that read them, and,
// when quicksightUserArn is set, the QuickSight data source and datasets of
// the dashboard queries.
func (s *service) wireLake() error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	views, err := schemaViews(root)
	if err != nil {
		return err
	}
	// Checked here too, so that a view reading an unknown table or a
	// cycle fails `cdk synth`, not the deployment.
	ordered, err := lakeviews.Order(views, exportTableNames())
	if err != nil {
		return fmt.Errorf("schema/athena/views: %w", err)
	}
	fn, ok := s.functions[viewsFunction()]
	if !ok {
		return fmt.Errorf("no function creates the views (access.Views in infra/functions.go)")
	}
	p := s.export
	for _, st := range s.viewsStatements(ordered) {
		fn.Role().AddToPrincipalPolicy(st)
	}
	props := make([]map[string]string, len(ordered))
	for i, v := range ordered {
		props[i] = map[string]string{"Name": v.Name, "Sql": v.SQL}
	}
	cr := awscdk.NewCustomResource(s.stack, jsii.String("AthenaViews"), &awscdk.CustomResourceProps{
		ResourceType:   jsii.String("Custom::AthenaViews"),
		ServiceToken:   fn.FunctionArn(),
		ServiceTimeout: awscdk.Duration_Seconds(jsii.Number(viewsTimeout)),
		// The statements themselves, so that a changed view is a changed
		// resource (CloudFormation sends an Update); 11 views are about
		// 10 KB of the template.
		Properties: &map[string]any{
			"WorkGroup": p.workGroup.Ref(), "Database": p.databaseName, "Tables": exportTableNames(), "Views": props,
		},
	})
	// Its role's policy (a child of the role) before the first request, the
	// bucket of the query results, and the tables the views read, which
	// must also outlive them when the stack goes.
	cr.Node().AddDependency(fn.Role(), p.bucket, s.stack.Node().FindChild(jsii.String("ExportDatabase")))
	for _, c := range *s.stack.Node().Children() {
		switch id := *c.Node().Id(); {
		case strings.HasPrefix(id, "ExportTable-"):
			cr.Node().AddDependency(c)
		case strings.HasPrefix(id, "Query-"):
			c.Node().AddDependency(cr)
		}
	}
	if s.cfg.QuickSightUserArn != "" {
		return s.newQuickSight(cr, root)
	}
	return nil
}

// exportTableNames are the exported tables' names: what the views may read
// besides each other.
func exportTableNames() []string {
	var names []string
	for _, t := range export.Tables() {
		names = append(names, t.Name)
	}
	return names
}

// viewsFunction is the function whose access entry creates the views.
func viewsFunction() string {
	for _, f := range functions {
		if f.Access.Views {
			return f.Name
		}
	}
	return ""
}

// schemaViews are schema/athena/views/*.sql, each named for its file.
func schemaViews(root string) ([]lakeviews.View, error) {
	files, err := filepath.Glob(filepath.Join(root, "schema", "athena", "views", "*.sql"))
	if err != nil {
		return nil, err
	}
	var views []lakeviews.View
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		views = append(views, lakeviews.View{Name: strings.TrimSuffix(filepath.Base(f), ".sql"), SQL: string(b)})
	}
	return views, nil
}

// viewsStatements are what running the view statements through Athena
// needs: the two Athena calls in the workgroup; reading the catalog, the
// database and the tables and views the statements name, and writing the
// views only (Athena checks a table's catalog and database too); and
// writing the statements' results where the workgroup puts them. A view's
// DDL scans no data, so nothing under export/ is readable.
func (s *service) viewsStatements(views []lakeviews.View) []awsiam.PolicyStatement {
	p := s.export
	arn := func(service, resource, name string) *string {
		c := &awscdk.ArnComponents{Service: jsii.String(service), Resource: jsii.String(resource)}
		if name != "" {
			c.ResourceName = jsii.String(name)
		}
		return s.stack.FormatArn(c)
	}
	catalog := []*string{arn("glue", "catalog", ""), arn("glue", "database", p.databaseName)}
	readable, writable := append([]*string{}, catalog...), append([]*string{}, catalog...)
	for _, name := range exportTableNames() {
		readable = append(readable, arn("glue", "table", p.databaseName+"/"+name))
	}
	for _, v := range views {
		t := arn("glue", "table", p.databaseName+"/"+v.Name)
		readable = append(readable, t)
		writable = append(writable, t)
	}
	stmt := func(sid string, actions []string, resources []*string) awsiam.PolicyStatement {
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: &resources,
		})
	}
	return []awsiam.PolicyStatement{
		stmt("RunViewStatements", []string{"athena:StartQueryExecution", "athena:GetQueryExecution"},
			[]*string{arn("athena", "workgroup", *p.workGroup.Name())}),
		stmt("ReadCatalog", []string{"glue:GetDatabase", "glue:GetTable"}, readable),
		stmt("WriteViews", []string{"glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable"}, writable),
		stmt("WriteQueryResults", []string{"s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"},
			[]*string{p.bucket.ArnForObjects(jsii.String(resultsPrefix + "*"))}),
		stmt("LocateQueryResults", []string{"s3:GetBucketLocation"}, []*string{p.bucket.BucketArn()}),
		// Athena lists the results location before it writes there (its
		// documented results permissions), under the results prefix only.
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("ListQueryResults"), Actions: jsii.Strings("s3:ListBucket"),
			Resources:  &[]*string{p.bucket.BucketArn()},
			Conditions: &map[string]any{"StringLike": map[string]any{"s3:prefix": resultsPrefix + "*"}},
		}),
	}
}

// exportErrorMetrics are the export's undecodable and failed records, from
// its batch log lines by metric filters on its log group, in refx's
// namespace.
func (s *service) exportErrorMetrics() (undecodable, failed awscloudwatch.Metric) {
	logs := s.functions["export"].LogGroup()
	filter := func(id, field, metric string) awscloudwatch.Metric {
		f := awslogs.NewMetricFilter(s.stack, jsii.String(id), &awslogs.MetricFilterProps{
			LogGroup:        logs,
			FilterPattern:   awslogs.FilterPattern_NumberValue(jsii.String("$."+field), jsii.String(">"), jsii.Number(0)),
			MetricNamespace: jsii.String(httpapi.MetricNamespace),
			MetricName:      jsii.String(metric),
			MetricValue:     jsii.String("$." + field),
		})
		return f.Metric(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: fiveMinutes})
	}
	return filter("ExportUndecodableFilter", "undecodable", exportUndecodableMetric),
		filter("ExportFailedRecordsFilter", "failed_records", exportFailedMetric)
}

// QuickSight permissions of the configured user: an owner's, on the data
// source and on each dataset.
var (
	quickSightSourceActions = []string{
		"quicksight:DescribeDataSource", "quicksight:DescribeDataSourcePermissions", "quicksight:PassDataSource",
		"quicksight:UpdateDataSource", "quicksight:DeleteDataSource", "quicksight:UpdateDataSourcePermissions",
	}
	quickSightDatasetActions = []string{
		"quicksight:DescribeDataSet", "quicksight:DescribeDataSetPermissions", "quicksight:PassDataSet",
		"quicksight:DescribeIngestion", "quicksight:ListIngestions", "quicksight:UpdateDataSet",
		"quicksight:DeleteDataSet", "quicksight:CreateIngestion", "quicksight:CancelIngestion",
		"quicksight:UpdateDataSetPermissions",
	}
)

// newQuickSight defines an Athena data source on the stack's workgroup and
// a custom SQL dataset per dashboard query (lakeviews.Datasets), owned by
// the configured QuickSight user, after the views they read. The datasets
// query Athena directly (DIRECT_QUERY): a dashboard shows the lake as it
// is, and each dated visual reads only its days (the views keep dt).
// QuickSight reaches Athena and the bucket with its own service role,
// which the account's one-time QuickSight setup grants (README).
func (s *service) newQuickSight(views awscdk.CustomResource, root string) error {
	p := s.export
	prefix := "refx-" + s.cfg.Stage
	user := jsii.String(s.cfg.QuickSightUserArn)
	source := awsquicksight.NewCfnDataSource(s.stack, jsii.String("QuickSightDataSource"), &awsquicksight.CfnDataSourceProps{
		AwsAccountId: s.stack.Account(),
		DataSourceId: jsii.String(prefix + "-athena"),
		Name:         jsii.String("refx " + s.cfg.Stage + " (Athena)"),
		Type:         jsii.String("ATHENA"),
		DataSourceParameters: &awsquicksight.CfnDataSource_DataSourceParametersProperty{
			AthenaParameters: &awsquicksight.CfnDataSource_AthenaParametersProperty{WorkGroup: p.workGroup.Ref()},
		},
		Permissions: &[]any{&awsquicksight.CfnDataSource_ResourcePermissionProperty{
			Principal: user, Actions: jsii.Strings(quickSightSourceActions...),
		}},
	})
	for _, d := range lakeviews.Datasets {
		sql, err := os.ReadFile(filepath.Join(root, "schema", "athena", "queries", d.Query+".sql"))
		if err != nil {
			return fmt.Errorf("QuickSight dataset %s: %w", d.Query, err)
		}
		var cols []any
		for _, c := range d.Columns {
			cols = append(cols, &awsquicksight.CfnDataSet_InputColumnProperty{Name: jsii.String(c.Name), Type: jsii.String(c.Type)})
		}
		// Physical table ids are letters, digits and hyphens.
		id := strings.ReplaceAll(d.Query, "_", "-")
		ds := awsquicksight.NewCfnDataSet(s.stack, jsii.String("QuickSightDataSet-"+d.Query), &awsquicksight.CfnDataSetProps{
			AwsAccountId: s.stack.Account(),
			DataSetId:    jsii.String(prefix + "-" + id),
			Name:         jsii.String("refx " + s.cfg.Stage + " " + d.Query),
			ImportMode:   jsii.String("DIRECT_QUERY"),
			PhysicalTableMap: map[string]any{id: &awsquicksight.CfnDataSet_PhysicalTableProperty{
				CustomSql: &awsquicksight.CfnDataSet_CustomSqlProperty{
					DataSourceArn: source.AttrArn(), Name: jsii.String(d.Query),
					SqlQuery: jsii.String(string(sql)), Columns: &cols,
				},
			}},
			Permissions: &[]any{&awsquicksight.CfnDataSet_ResourcePermissionProperty{
				Principal: user, Actions: jsii.Strings(quickSightDatasetActions...),
			}},
		})
		ds.Node().AddDependency(views)
	}
	return nil
}
