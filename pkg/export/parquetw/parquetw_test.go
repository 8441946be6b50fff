package parquetw_test

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/refx-dev/refx/pkg/export/parquetw"
	"github.com/refx-dev/refx/pkg/export/parquetw/parquetwtest"
)

// allTypes has a column of every kind parquetw writes, required and
// optional.
type allTypes struct {
	S       string     `parquet:"s"`
	Dict    string     `parquet:"dict,dict"`
	SO      *string    `parquet:"s_opt,optional"`
	I32     int32      `parquet:"i32"`
	I32O    *int32     `parquet:"i32_opt,optional"`
	I64     int64      `parquet:"i64"`
	I64O    *int64     `parquet:"i64_opt,optional"`
	Dec     int64      `parquet:"dec,decimal(4:14)"`
	DecO    *int64     `parquet:"dec_opt,optional,decimal(4:14)"`
	B       bool       `parquet:"b"`
	BO      *bool      `parquet:"b_opt,optional"`
	F       float64    `parquet:"f"`
	FO      *float64   `parquet:"f_opt,optional"`
	T       time.Time  `parquet:"t,timestamp(millisecond)"`
	TO      *time.Time `parquet:"t_opt,optional,timestamp(millisecond)"`
	TMicro  time.Time  `parquet:"t_micro,timestamp(microsecond)"`
	skipped int
	Skipped string `parquet:"-"`
}

func rows[T any](n int) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = parquetwtest.Fill[T](i)
	}
	return out
}

func mustEncoder[T any](tb testing.TB, opts parquetw.Options) *parquetw.Encoder[T] {
	tb.Helper()
	e, err := parquetw.NewEncoder[T](opts)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func TestEncode(t *testing.T) {
	small := parquetw.Options{RowGroupRows: 300, PageBytes: 256}
	tests := []struct {
		name      string
		rows      int
		opts      parquetw.Options
		rowGroups int
		duckdb    bool
	}{
		{name: "Empty", rows: 0, rowGroups: 0, duckdb: true},
		{name: "OneRow", rows: 1, rowGroups: 1, duckdb: true},
		{name: "Batch", rows: 1000, rowGroups: 1, duckdb: true},
		{name: "ManyPagesAndRowGroups", rows: 1000, opts: small, rowGroups: 4, duckdb: true},
		{name: "OverDefaultRowGroup", rows: 64*1024 + 1, rowGroups: 2}, // DuckDB reads the exporter's own in package export
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := rows[allTypes](tt.rows)
			for i := range in {
				in[i].skipped, in[i].Skipped = 0, ""
			}
			e := mustEncoder[allTypes](t, tt.opts)
			file, err := e.Encode(in)
			if err != nil {
				t.Fatal(err)
			}
			again, err := e.Encode(slicesClone(in))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(file, again) {
				t.Error("the same rows encoded to different bytes")
			}
			if got := parquetwtest.ReadParquetGo[allTypes](t, file); !parquetwtest.EqualRows(t, "parquet-go", got, in) {
				return
			}
			if tt.duckdb {
				parquetwtest.EqualRows(t, "DuckDB", parquetwtest.ReadDuckDB[allTypes](t, file), in)
			}
			f, err := parquet.OpenFile(bytes.NewReader(file), int64(len(file)))
			if err != nil {
				t.Fatal(err)
			}
			md := f.Metadata()
			if len(md.RowGroups) != tt.rowGroups || md.NumRows != int64(tt.rows) || md.CreatedBy != "refx export" {
				t.Errorf("%d row groups, %d rows, created by %q; want %d, %d, refx export",
					len(md.RowGroups), md.NumRows, md.CreatedBy, tt.rowGroups, tt.rows)
			}
			pages := checkPages(t, file, md)
			if tt.opts.PageBytes != 0 && pages <= len(md.RowGroups)*len(md.Schema) {
				t.Errorf("%d pages: small pages should split every column chunk", pages)
			}
			checkStats(t, md, in)
		})
	}
}

func slicesClone[T any](s []T) []T { return append([]T(nil), s...) }

// checkPages walks every column chunk's pages from their headers: all data
// pages v1, PLAIN, as many values as the chunk says. It returns the number
// of pages.
func checkPages(t *testing.T, file []byte, md *format.FileMetaData) int {
	t.Helper()
	pages := 0
	for _, rg := range md.RowGroups {
		for _, cc := range rg.Columns {
			m := cc.MetaData
			if m.Codec != format.Zstd {
				t.Errorf("%s: codec %v", m.PathInSchema, m.Codec)
			}
			off, end, values := m.DataPageOffset, m.DataPageOffset+m.TotalCompressedSize, int64(0)
			for off < end {
				r := bytes.NewReader(file[off:end])
				var h format.PageHeader
				if err := thrift.NewDecoder(new(thrift.CompactProtocol).NewReader(r)).Decode(&h); err != nil {
					t.Fatalf("%s: page header at %d: %v", m.PathInSchema, off, err)
				}
				dp, ok := h.DataPageHeader.Get()
				if h.Type != format.DataPage || !ok || dp.Encoding != format.Plain {
					t.Fatalf("%s: page at %d is %+v, want a PLAIN data page v1", m.PathInSchema, off, h)
				}
				values += int64(dp.NumValues)
				off = end - int64(r.Len()) + int64(h.CompressedPageSize)
				pages++
			}
			if off != end || values != m.NumValues {
				t.Errorf("%s: pages end at %d with %d values; chunk ends at %d with %d", m.PathInSchema, off, values, end, m.NumValues)
			}
		}
	}
	return pages
}

// checkStats checks each column chunk's null count and, where given, that
// its min and max bound the values.
func checkStats(t *testing.T, md *format.FileMetaData, in []allTypes) {
	t.Helper()
	lo := 0
	for _, rg := range md.RowGroups {
		part := in[lo : lo+int(rg.NumRows)]
		lo += int(rg.NumRows)
		for _, cc := range rg.Columns {
			name := cc.MetaData.PathInSchema[0]
			st := cc.MetaData.Statistics
			nulls := 0
			for _, r := range part {
				if v := fieldByColumn(r, name); v.Kind() == reflect.Pointer && v.IsNil() {
					nulls++
				}
			}
			if st.NullCount != int64(nulls) {
				t.Errorf("%s: null count %d, want %d", name, st.NullCount, nulls)
			}
			if name == "i64" {
				minV, maxV := part[0].I64, part[0].I64
				for _, r := range part {
					minV, maxV = min(minV, r.I64), max(maxV, r.I64)
				}
				if got, want := fmt.Sprint(st.MinValue, st.MaxValue), fmt.Sprint(le64(minV), le64(maxV)); got != want {
					t.Errorf("i64 min, max %s; want %s", got, want)
				}
			}
		}
	}
}

func le64(v int64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(uint64(v) >> (8 * i))
	}
	return b
}

func fieldByColumn(row allTypes, name string) reflect.Value {
	v := reflect.ValueOf(row)
	for i := range v.NumField() {
		if strings.Split(v.Type().Field(i).Tag.Get("parquet"), ",")[0] == name {
			return v.Field(i)
		}
	}
	panic("no column " + name)
}

func TestSchemaOfErrors(t *testing.T) {
	tests := []struct {
		name string
		typ  reflect.Type
		want string
	}{
		{"NotStruct", reflect.TypeFor[int](), "not a struct"},
		{"NoColumns", reflect.TypeFor[struct{ a int }](), "no columns"},
		{"PointerNotOptional", reflect.TypeFor[struct {
			A *string `parquet:"a"`
		}](), "must be optional"},
		{"OptionalNotPointer", reflect.TypeFor[struct {
			A string `parquet:"a,optional"`
		}](), "must be a pointer"},
		{"UnsupportedType", reflect.TypeFor[struct {
			A uint8 `parquet:"a"`
		}](), "unsupported type"},
		{"UnsupportedOption", reflect.TypeFor[struct {
			A string `parquet:"a,zstd"`
		}](), "unsupported tag option"},
		{"DecimalNotInt64", reflect.TypeFor[struct {
			A int32 `parquet:"a,decimal(2:9)"`
		}](), "needs an int64"},
		{"DecimalTooWide", reflect.TypeFor[struct {
			A int64 `parquet:"a,decimal(4:19)"`
		}](), "precision 1 to 18"},
		{"TimestampNotTime", reflect.TypeFor[struct {
			A int64 `parquet:"a,timestamp(millisecond)"`
		}](), "needs a time.Time"},
		{"BadUnit", reflect.TypeFor[struct {
			A time.Time `parquet:"a,timestamp(second)"`
		}](), "bad time unit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parquetw.SchemaOf(tt.typ)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("SchemaOf: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestNanosecondsAndNaN reads back what DuckDB's microsecond TIMESTAMPTZ
// cannot hold, and doubles whose NaN leaves the chunk without min and max.
func TestNanosecondsAndNaN(t *testing.T) {
	type row struct {
		T time.Time `parquet:"t"`
		F float64   `parquet:"f"`
	}
	in := []row{
		{time.Date(2026, 12, 6, 13, 0, 0, 123_456_789, time.UTC), math.NaN()},
		{time.Unix(0, -1).UTC(), 1},
	}
	file, err := mustEncoder[row](t, parquetw.Options{}).Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	got := parquetwtest.ReadParquetGo[row](t, file)
	if len(got) != 2 || !got[0].T.Equal(in[0].T) || !got[1].T.Equal(in[1].T) || !math.IsNaN(got[0].F) || got[1].F != 1 {
		t.Errorf("read %+v, want %+v", got, in)
	}
	f, err := parquet.OpenFile(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	if st := f.Metadata().RowGroups[0].Columns[1].MetaData.Statistics; st.MinValue != nil || st.MaxValue != nil {
		t.Errorf("double with NaN has min %v, max %v", st.MinValue, st.MaxValue)
	}
	if st := f.Metadata().RowGroups[0].Columns[0].MetaData.Statistics; len(st.MinValue) != 8 {
		t.Errorf("timestamp min %v", st.MinValue)
	}
}
