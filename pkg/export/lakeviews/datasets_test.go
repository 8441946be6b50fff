package lakeviews_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/export/lakeviews"
	"github.com/refx-dev/refx/pkg/export/localquery"
)

// quickSightType maps a DuckDB result type to the QuickSight column type
// Athena's type for it maps to: integers (DuckDB's HUGEINT sums are
// Athena's BIGINT) INTEGER, decimals and floating point DECIMAL, dates
// and timestamps DATETIME.
func quickSightType(duck string) string {
	switch {
	case duck == "VARCHAR":
		return "STRING"
	case slices.Contains([]string{"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}, duck):
		return "INTEGER"
	case strings.HasPrefix(duck, "DECIMAL"), duck == "DOUBLE", duck == "FLOAT":
		return "DECIMAL"
	case duck == "DATE", strings.HasPrefix(duck, "TIMESTAMP"):
		return "DATETIME"
	case duck == "BOOLEAN":
		return "BOOLEAN"
	}
	return "unmapped " + duck
}

// TestDatasetColumns describes each dashboard query in DuckDB over the
// views and holds the dataset's declared columns to its result: names, order
// and types.
func TestDatasetColumns(t *testing.T) {
	schema := filepath.Join("..", "..", "..", "schema", "athena")
	db, err := localquery.Open(t.Context(), localquery.Options{Root: t.TempDir(), Prefix: "export/", SchemaDir: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, d := range lakeviews.Datasets {
		t.Run(d.Query, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(schema, "queries", d.Query+".sql"))
			if err != nil {
				t.Fatal(err)
			}
			res, err := db.Query(t.Context(), "DESCRIBE "+string(b))
			if err != nil {
				t.Fatal(err)
			}
			var got []lakeviews.Column
			for _, row := range res.Rows {
				got = append(got, lakeviews.Column{Name: row[0].(string), Type: quickSightType(row[1].(string))})
			}
			if !slices.Equal(got, d.Columns) {
				t.Errorf("columns\n got %v\nwant %v", got, d.Columns)
			}
		})
	}
}
