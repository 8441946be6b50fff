package export_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/refx-dev/refx/pkg/export"
)

// athenaDir is schema/athena, from this package's directory.
var athenaDir = filepath.Join("..", "..", "schema", "athena")

// athenaType is the Athena (Hive DDL) type that reads a Parquet leaf column.
func athenaType(t *testing.T, f parquet.Field) string {
	t.Helper()
	if lt := f.Type().LogicalType(); lt != nil {
		switch v := lt.Value.(type) {
		case *format.StringType:
			return "string"
		case *format.TimestampType:
			if _, ms := v.Unit.Value.(*format.MilliSeconds); !ms || !v.IsAdjustedToUTC {
				t.Errorf("column %s: timestamps must be UTC milliseconds, Athena's precision", f.Name())
			}
			return "timestamp"
		case *format.DecimalType:
			return fmt.Sprintf("decimal(%d,%d)", v.Precision, v.Scale)
		}
	}
	switch f.Type().Kind() {
	case parquet.Boolean:
		return "boolean"
	case parquet.Int32:
		return "int"
	case parquet.Int64:
		return "bigint"
	case parquet.Double:
		return "double"
	}
	t.Errorf("column %s: no Athena type for %v", f.Name(), f.Type())
	return "?"
}

// fileSchema is the schema of table's files as a reader sees it: that of
// an empty file the exporter writes, read with parquet-go.
func fileSchema(t *testing.T, table *export.Table) *parquet.Schema {
	t.Helper()
	b, err := table.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return f.Schema()
}

var (
	// ddlTable's LOCATION is the bucket (the one placeholder,
	// schema/athena/README.md) and the deployed prefix.
	ddlTable = regexp.MustCompile(`(?s)CREATE EXTERNAL TABLE IF NOT EXISTS (\w+) \((.*?)\)\s*PARTITIONED BY \(dt string, hour string\)\s*STORED AS PARQUET\s*LOCATION 's3://\{\{bucket\}\}/` +
		regexp.QuoteMeta(export.DefaultPrefix) + `(\w+)/'`)
	ddlColumn   = regexp.MustCompile(`^\s*(\w+)\s+([\w(),]+?),?$`)
	ddlProjects = []string{
		"'projection.enabled' = 'true'", "'projection.dt.type' = 'date'", "'projection.dt.format' = 'yyyy-MM-dd'",
		"'projection.hour.type' = 'integer'", "'projection.hour.range' = '0,23'", "'projection.hour.digits' = '2'",
	}
)

// TestDDLMatchesParquet holds schema/athena/tables to the files the exporter
// writes: one DDL per table, the same columns in the same order with the
// Athena types that read them, Hive partitions dt/hour projected, and the
// location the exporter writes to.
func TestDDLMatchesParquet(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(athenaDir, "tables", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(export.Tables()) {
		t.Errorf("%d DDL files for %d tables", len(files), len(export.Tables()))
	}
	for _, table := range export.Tables() {
		t.Run(table.Name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(athenaDir, "tables", table.Name+".sql"))
			if err != nil {
				t.Fatal(err)
			}
			ddl := string(b)
			m := ddlTable.FindStringSubmatch(ddl)
			if m == nil {
				t.Fatalf("DDL does not have the expected shape:\n%s", ddl)
			}
			if m[1] != table.Name || m[3] != table.Name {
				t.Errorf("table %s, location %s; want %s", m[1], m[3], table.Name)
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(m[2]), "\n") {
				c := ddlColumn.FindStringSubmatch(line)
				if c == nil {
					t.Fatalf("cannot read column %q", line)
				}
				got = append(got, c[1]+" "+c[2])
			}
			var want []string
			for _, f := range fileSchema(t, table).Fields() {
				want = append(want, f.Name()+" "+athenaType(t, f))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("DDL columns:\n%s\n\nParquet columns:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			for _, p := range ddlProjects {
				if !strings.Contains(ddl, p) {
					t.Errorf("DDL lacks %s", p)
				}
			}
		})
	}
}
