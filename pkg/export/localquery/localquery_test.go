package localquery_test

import (
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/export/localquery"
)

var schemaDir = filepath.Join("..", "..", "..", "schema", "athena")

// TestEmptyExport opens a bucket with nothing exported yet: every table
// exists with its columns, and every view and named query runs.
func TestEmptyExport(t *testing.T) {
	db, err := localquery.Open(t.Context(), localquery.Options{Root: t.TempDir(), SchemaDir: schemaDir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Query(t.Context(), "SELECT count(*), count(DISTINCT event_id) FROM events_unique WHERE dt >= '2025-01-01'")
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows[0][0] != int64(0) {
		t.Fatalf("empty export has %v events", res.Rows[0][0])
	}
	files, _ := filepath.Glob(filepath.Join(schemaDir, "queries", "*.sql"))
	for _, f := range files {
		if _, err := db.QueryFile(t.Context(), f); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"Null", nil, "NULL"},
		{"Decimal", big.NewRat(19990000, 1000000), "19.99"},
		{"DecimalWhole", big.NewRat(12, 1), "12"},
		{"DecimalNegative", big.NewRat(-11, 2), "-5.5"},
		{"Time", time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC), "2026-01-02 03:04:05.006"},
		{"Int", int64(42), "42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := localquery.Format(tt.in); got != tt.want {
				t.Fatalf("Format(%v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestOpenBadInput(t *testing.T) {
	tests := []struct {
		name string
		opts localquery.Options
	}{
		{"ErrNoRoot", localquery.Options{SchemaDir: schemaDir}},
		{"ErrNoSchemaDir", localquery.Options{Root: t.TempDir()}},
		{"ErrPrefix", localquery.Options{Root: t.TempDir(), Prefix: "export", SchemaDir: schemaDir}},
		{"ErrSchemaDir", localquery.Options{Root: t.TempDir(), SchemaDir: t.TempDir() + "/none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := localquery.Open(t.Context(), tt.opts)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
		})
	}
}
