package export_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/parquetw/parquetwtest"
)

// TestTablesEncode writes rows of every table as the exporter does and
// reads them back with parquet-go and with DuckDB, which must see exactly
// the rows written (nulls, decimals, timestamps, empty and unicode
// strings); the same rows must encode to the same bytes; and the file must
// mean what parquet-go, the exporter's previous writer, wrote for the same
// rows: the same column types and the same values read back.
func TestTablesEncode(t *testing.T) {
	tests := []struct {
		table *export.Table
		check func(t *testing.T, table *export.Table, n int)
	}{
		{export.Events, checkTable[export.EventRow]},
		{export.Credits, checkTable[export.CreditRow]},
		{export.Assignments, checkTable[export.AssignmentRow]},
		{export.Experiments, checkTable[export.ExperimentRow]},
		{export.ExperimentVariants, checkTable[export.ExperimentVariantRow]},
		{export.ExperimentGoals, checkTable[export.ExperimentGoalRow]},
		{export.ExperimentRatios, checkTable[export.ExperimentRatioMetricRow]},
		{export.Referrals, checkTable[export.ReferralRow]},
		{export.Clicks, checkTable[export.ClickRow]},
		{export.Attributions, checkTable[export.AttributionRow]},
		{export.Errors, checkTable[export.ErrorRow]},
		{export.Erasures, checkTable[export.ErasureRow]},
		{export.Refunds, checkTable[export.RefundRow]},
		{export.Audit, checkTable[export.AuditRow]},
	}
	if len(tests) != len(export.Tables()) {
		t.Fatalf("%d tables tested, %d exported", len(tests), len(export.Tables()))
	}
	for _, tt := range tests {
		for _, n := range []int{0, 1, 3000} {
			t.Run(fmt.Sprintf("%s/%d", tt.table.Name, n), func(t *testing.T) { tt.check(t, tt.table, n) })
		}
	}
	// A file past one row group: the row groups split at 64Ki rows.
	t.Run("events/65537", func(t *testing.T) { checkTable[export.EventRow](t, export.Events, 64*1024+1) })
}

func checkTable[T any](t *testing.T, table *export.Table, n int) {
	typed := make([]T, n)
	rows := make([]any, n)
	for i := range typed {
		typed[i] = parquetwtest.Fill[T](i)
		rows[i] = typed[i]
	}
	file, err := table.Encode(rows)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := table.Encode(rows); err != nil || !bytes.Equal(file, again) {
		t.Fatalf("the same rows encoded to different bytes (%v)", err)
	}
	if got := parquetwtest.ReadParquetGo[T](t, file); !parquetwtest.EqualRows(t, "parquet-go", got, typed) {
		return
	}
	parquetwtest.EqualRows(t, "DuckDB", parquetwtest.ReadDuckDB[T](t, file), typed)
	checkReaders(t, file, typed)

	old := encodeParquetGo(t, typed)
	if got, want := schemaOf(t, file), schemaOf(t, old); got != want {
		t.Errorf("columns:\n%s\nparquet-go wrote:\n%s", got, want)
	}
	parquetwtest.EqualRows(t, "parquet-go (its own file)", parquetwtest.ReadParquetGo[T](t, old), typed)
	f := mustOpen(t, file)
	wantGroups := (n + 64*1024 - 1) / (64 * 1024)
	if md := f.Metadata(); len(md.RowGroups) != wantGroups || md.NumRows != int64(n) {
		t.Errorf("%d rows in %d row groups; want %d in %d", md.NumRows, len(md.RowGroups), n, wantGroups)
	}
}

// encodeParquetGo writes rows as the exporter did with parquet-go, opts
// added.
func encodeParquetGo[T any](t *testing.T, rows []T, opts ...parquet.WriterOption) []byte {
	var buf bytes.Buffer
	opts = append([]parquet.WriterOption{parquet.Compression(&parquet.Zstd), parquet.MaxRowsPerRowGroup(64 * 1024)}, opts...)
	w := parquet.NewGenericWriter[T](&buf, opts...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func mustOpen(t *testing.T, file []byte) *parquet.File {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// schemaOf lists the file's leaf columns with what readers go by: the
// physical, logical and converted types and the repetition.
func schemaOf(t *testing.T, file []byte) string {
	var b strings.Builder
	for _, e := range mustOpen(t, file).Metadata().Schema[1:] {
		typ, _ := e.Type.Get()
		rep, _ := e.RepetitionType.Get()
		conv, hasConv := e.ConvertedType.Get()
		fmt.Fprintf(&b, "%s %v %v logical=%v", e.Name, typ, rep, &e.LogicalType)
		if hasConv {
			fmt.Fprintf(&b, " converted=%v", conv)
		}
		if s, ok := e.Scale.Get(); ok {
			p, _ := e.Precision.Get()
			fmt.Fprintf(&b, " scale=%d precision=%d", s, p)
		}
		b.WriteString("\n")
	}
	return b.String()
}
