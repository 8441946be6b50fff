package parquetread_test

import (
	"reflect"
	"testing"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/parquetread"
)

// TestEveryTable: every exported table has a row type, and a file of it
// (here an empty one, as the encoder writes for no rows) reads back.
func TestEveryTable(t *testing.T) {
	for _, table := range export.Tables() {
		t.Run(table.Name, func(t *testing.T) {
			typ, ok := parquetread.RowType(table)
			if !ok || typ.Kind() != reflect.Struct {
				t.Fatalf("no row type for %s: add it to rowTypes", table.Name)
			}
			body, err := table.Encode(nil)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := parquetread.Rows(table, body)
			if err != nil || len(rows) != 0 {
				t.Fatalf("empty file: %d rows, %v", len(rows), err)
			}
		})
	}
	if _, err := parquetread.Rows(&export.Table{Name: "unknown"}, nil); err == nil {
		t.Error("a table without a row type read without error")
	}
}
