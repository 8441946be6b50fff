package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsathena"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsglue"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/refx-dev/refx/pkg/export"
)

// The export bucket's layout: the exporter writes
// export/<table>/dt=YYYY-MM-DD/hour=HH/<batch>.parquet (see package export),
// and Athena writes its results under athena-results/.
const (
	exportPrefix  = export.DefaultPrefix
	resultsPrefix = "athena-results/"
)

// Environment of the export function (read by functions/export).
const (
	envExportBucket = "REFX_EXPORT_BUCKET"
	envExportPrefix = "REFX_EXPORT_PREFIX"
)

// exportPipeline is the storage side of the export: the bucket, the Glue
// database and tables, the Athena workgroup. (Its stream mapping and DLQ
// are wireStreams'.)
type exportPipeline struct {
	bucket       awss3.Bucket
	databaseName string
	workGroup    awsathena.CfnWorkGroup
}

func (p *exportPipeline) environment() map[string]string {
	return map[string]string{envExportBucket: *p.bucket.BucketName(), envExportPrefix: exportPrefix}
}

// newExportStorage defines the bucket, the Glue catalog and the Athena
// workgroup; wireExport defines the named queries.
func (s *service) newExportStorage() (*exportPipeline, error) {
	p := &exportPipeline{}
	days := func(n float64) awscdk.Duration { return awscdk.Duration_Days(jsii.Number(n)) }
	exportRule := &awss3.LifecycleRule{
		Id: jsii.String("ExportTiering"), Prefix: jsii.String(exportPrefix),
		// Objects under 128 KB stay in Standard (the bucket's default
		// minimum transition size); larger ones tier down when cold.
		Transitions: &[]*awss3.Transition{{
			StorageClass: awss3.StorageClass_INTELLIGENT_TIERING(), TransitionAfter: days(30),
		}},
	}
	if s.cfg.ExportRetentionDays > 0 {
		exportRule.Expiration = days(float64(s.cfg.ExportRetentionDays))
	}
	p.bucket = awss3.NewBucket(s.stack, jsii.String("ExportBucket"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		LifecycleRules: &[]*awss3.LifecycleRule{
			{Id: jsii.String("AbortIncompleteUploads"), AbortIncompleteMultipartUploadAfter: days(1)},
			{Id: jsii.String("ExpireAthenaResults"), Prefix: jsii.String(resultsPrefix), Expiration: days(30)},
			exportRule,
		},
		RemovalPolicy: s.removal(),
	})
	p.databaseName = "refx_" + strings.ReplaceAll(s.cfg.Stage, "-", "_")
	db := awsglue.NewCfnDatabase(s.stack, jsii.String("ExportDatabase"), &awsglue.CfnDatabaseProps{
		CatalogId: s.stack.Account(),
		DatabaseInput: &awsglue.CfnDatabase_DatabaseInputProperty{
			Name:        jsii.String(p.databaseName),
			Description: jsii.String("refx " + s.cfg.Stage + ": the table's stream exported as Parquet"),
		},
	})
	for _, t := range export.Tables() {
		schema, err := fileSchema(t)
		if err != nil {
			return nil, fmt.Errorf("export table %s: %w", t.Name, err)
		}
		cols, err := glueColumns(schema)
		if err != nil {
			return nil, fmt.Errorf("export table %s: %w", t.Name, err)
		}
		gt := awsglue.NewCfnTable(s.stack, jsii.String("ExportTable-"+t.Name), &awsglue.CfnTableProps{
			CatalogId:    s.stack.Account(),
			DatabaseName: jsii.String(p.databaseName),
			TableInput:   p.glueTableInput(t.Name, cols),
		})
		gt.Node().AddDependency(db)
	}

	p.workGroup = awsathena.NewCfnWorkGroup(s.stack, jsii.String("WorkGroup"), &awsathena.CfnWorkGroupProps{
		Name:                  jsii.String("refx-" + s.cfg.Stage),
		Description:           jsii.String("refx " + s.cfg.Stage + ": queries of the export"),
		State:                 jsii.String("ENABLED"),
		RecursiveDeleteOption: jsii.Bool(true),
		WorkGroupConfiguration: &awsathena.CfnWorkGroup_WorkGroupConfigurationProperty{
			EnforceWorkGroupConfiguration:   jsii.Bool(true),
			PublishCloudWatchMetricsEnabled: jsii.Bool(true),
			// 10 GB: a runaway query costs at most about $0.05.
			BytesScannedCutoffPerQuery: jsii.Number(10 * 1 << 30),
			EngineVersion: &awsathena.CfnWorkGroup_EngineVersionProperty{
				SelectedEngineVersion: jsii.String("Athena engine version 3"),
			},
			ResultConfiguration: &awsathena.CfnWorkGroup_ResultConfigurationProperty{
				OutputLocation: p.bucket.S3UrlForObject(jsii.String(resultsPrefix)),
				EncryptionConfiguration: &awsathena.CfnWorkGroup_EncryptionConfigurationProperty{
					EncryptionOption: jsii.String("SSE_S3"),
				},
			},
		},
	})
	return p, nil
}

// glueTableInput is an external Parquet table over export/<name>/ with
// partition projection: Athena computes the dt and hour partitions from the
// query's predicates, so no crawler or MSCK REPAIR is ever needed.
func (p *exportPipeline) glueTableInput(name string, cols []*awsglue.CfnTable_ColumnProperty) *awsglue.CfnTable_TableInputProperty {
	location := *p.bucket.S3UrlForObject(jsii.String(exportPrefix + name + "/"))
	return &awsglue.CfnTable_TableInputProperty{
		Name:        jsii.String(name),
		Description: jsii.String("refx export: " + name),
		TableType:   jsii.String("EXTERNAL_TABLE"),
		Parameters: map[string]any{
			"classification":              "parquet",
			"EXTERNAL":                    "TRUE",
			"parquet.compression":         "ZSTD",
			"projection.enabled":          "true",
			"projection.dt.type":          "date",
			"projection.dt.format":        "yyyy-MM-dd",
			"projection.dt.range":         "2025-01-01,NOW",
			"projection.dt.interval":      "1",
			"projection.dt.interval.unit": "DAYS",
			"projection.hour.type":        "integer",
			"projection.hour.range":       "0,23",
			"projection.hour.digits":      "2",
			"storage.location.template":   location + "dt=${dt}/hour=${hour}/",
		},
		PartitionKeys: []*awsglue.CfnTable_ColumnProperty{
			{Name: jsii.String("dt"), Type: jsii.String("string")},
			{Name: jsii.String("hour"), Type: jsii.String("string")},
		},
		StorageDescriptor: &awsglue.CfnTable_StorageDescriptorProperty{
			Location:     jsii.String(location),
			Columns:      cols,
			InputFormat:  jsii.String("org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"),
			OutputFormat: jsii.String("org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"),
			SerdeInfo: &awsglue.CfnTable_SerdeInfoProperty{
				SerializationLibrary: jsii.String("org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"),
				Parameters:           map[string]any{"serialization.format": "1"},
			},
		},
	}
}

// fileSchema is the Parquet schema of t's files as a reader sees it: that
// of an empty file the exporter writes, read with parquet-go (which the
// exporter itself no longer links; see package parquetw).
func fileSchema(t *export.Table) (*parquet.Schema, error) {
	b, err := t.Encode(nil)
	if err != nil {
		return nil, err
	}
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	return f.Schema(), nil
}

// glueColumns maps the Parquet schema of an export table to Glue (Hive)
// columns, in order.
func glueColumns(schema *parquet.Schema) ([]*awsglue.CfnTable_ColumnProperty, error) {
	var cols []*awsglue.CfnTable_ColumnProperty
	for _, f := range schema.Fields() {
		t, err := hiveType(f)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", f.Name(), err)
		}
		cols = append(cols, &awsglue.CfnTable_ColumnProperty{Name: jsii.String(f.Name()), Type: jsii.String(t)})
	}
	return cols, nil
}

// hiveType is the Athena type of a leaf Parquet column.
func hiveType(f parquet.Field) (string, error) {
	if !f.Leaf() || f.Repeated() {
		return "", fmt.Errorf("only flat columns are exported")
	}
	t := f.Type()
	if lt := t.LogicalType(); lt != nil {
		switch v := lt.Value.(type) {
		case *format.StringType, *format.EnumType, *format.JsonType:
			return "string", nil
		case *format.TimestampType:
			return "timestamp", nil
		case *format.DateType:
			return "date", nil
		case *format.DecimalType:
			return fmt.Sprintf("decimal(%d,%d)", v.Precision, v.Scale), nil
		case *format.IntType:
			if t, ok := map[int8]string{8: "tinyint", 16: "smallint", 32: "int", 64: "bigint"}[v.BitWidth]; ok && v.IsSigned {
				return t, nil
			}
			return "", fmt.Errorf("no Athena type for %s", lt)
		default:
			return "", fmt.Errorf("no Athena type for %s", lt)
		}
	}
	switch t.Kind() {
	case parquet.Boolean:
		return "boolean", nil
	case parquet.Int32:
		return "int", nil
	case parquet.Int64:
		return "bigint", nil
	case parquet.Float:
		return "float", nil
	case parquet.Double:
		return "double", nil
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return "binary", nil
	}
	return "", fmt.Errorf("no Athena type for Parquet type %s", t)
}

// namedQueries are the .sql files under schema/athena, except the table DDL
// (schema/athena/tables: the stack defines those tables in Glue), keyed by
// their path below schema/athena without ".sql": "views/results".
func namedQueries(root string) (map[string]string, error) {
	dir := filepath.Join(root, "schema", "athena")
	queries := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil && path == dir && os.IsNotExist(err):
			return fs.SkipAll
		case err != nil:
			return err
		case d.IsDir() && path == filepath.Join(dir, "tables"):
			return fs.SkipDir
		case d.IsDir() || !strings.HasSuffix(path, ".sql"):
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		queries[filepath.ToSlash(strings.TrimSuffix(rel, ".sql"))] = string(b)
		return nil
	})
	return queries, err
}

// sqlComment is a query file's leading "-- " comment, its description.
var sqlComment = regexp.MustCompile(`^(?:--[^\n]*\n)+`)

func queryDescription(sql string) string {
	lines := strings.Split(strings.TrimSpace(sqlComment.FindString(sql)), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(strings.TrimPrefix(l, "--"))
	}
	d := strings.Join(lines, " ")
	if len(d) > 1024 {
		d = d[:1021] + "..."
	}
	return d
}

// wireExport defines the named queries of the export.
func (s *service) wireExport() error {
	p := s.export
	root, err := repoRoot()
	if err != nil {
		return err
	}
	queries, err := namedQueries(root)
	if err != nil {
		return fmt.Errorf("read schema/athena: %w", err)
	}
	names := slices.Sorted(maps.Keys(queries))
	for _, name := range names {
		q := awsathena.NewCfnNamedQuery(s.stack, jsii.String("Query-"+name), &awsathena.CfnNamedQueryProps{
			Name:        jsii.String("refx " + name),
			Description: jsii.String(queryDescription(queries[name])),
			Database:    jsii.String(p.databaseName),
			WorkGroup:   p.workGroup.Ref(),
			QueryString: jsii.String(queries[name]),
		})
		q.Node().AddDependency(p.workGroup)
	}
	return nil
}
