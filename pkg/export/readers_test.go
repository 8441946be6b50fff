package export_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pqschema "github.com/apache/arrow-go/v18/parquet/schema"
	parquetgo "github.com/parquet-go/parquet-go"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/parquetw"
	"github.com/refx-dev/refx/pkg/export/parquetw/parquetwtest"
)

// The readers below are independent of parquetw and of each other: Apache
// Arrow's Go Parquet code and DuckDB's, held to the encodings Spark before
// 3.4 (Glue 4.0), Velox and Iceberg's vectorized reader can decode. TestTablesEncode runs them on
// every exported table through checkReaders.

// readableEncodings are the encodings every engine of the lake decodes:
// values PLAIN or dictionary-coded, levels RLE/bit-packed. DELTA_* and
// BYTE_STREAM_SPLIT are left out: Spark < 3.4 fails on them.
var readableEncodings = map[parquet.Encoding]string{
	parquet.Encodings.Plain:     "PLAIN",
	parquet.Encodings.RLE:       "RLE",
	parquet.Encodings.PlainDict: "PLAIN_DICTIONARY",
	parquet.Encodings.RLEDict:   "RLE_DICTIONARY",
}

// smallGroups splits a file of a few thousand rows into many row groups
// and many pages per column chunk, so that the readers cross both
// boundaries without 64Ki-row files for every table.
var smallGroups = parquetw.Options{RowGroupRows: 1000, PageBytes: 4096, CreatedBy: "refx export version 1 (build parquetw)"}

// checkReaders reads data, rows of T, with Apache Arrow (every value, the
// logical and Arrow types, every page header) and checks its column chunks'
// encodings with DuckDB's parquet_metadata; then, unless data has row
// groups enough already, does the same for the rows written in row groups
// of smallGroups.
func checkReaders[T any](t *testing.T, data []byte, rows []T) {
	t.Helper()
	groups := checkArrow(t, data, rows)
	checkDuckDBMetadata(t, data)
	if groups > 1 || len(rows) <= smallGroups.RowGroupRows {
		return
	}
	enc, err := parquetw.NewEncoder[T](smallGroups)
	if err != nil {
		t.Fatal(err)
	}
	small, err := enc.Encode(rows)
	if err != nil {
		t.Fatal(err)
	}
	if groups := checkArrow(t, small, rows); groups < 2 {
		t.Errorf("%d row groups with %d-row groups of %d rows", groups, smallGroups.RowGroupRows, len(rows))
	}
	checkDuckDBMetadata(t, small)
}

// checkArrow reads data with Arrow's Parquet reader and checks it against
// rows, returning the number of row groups.
func checkArrow[T any](t *testing.T, data []byte, rows []T) int {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	pf, err := file.NewParquetReader(bytes.NewReader(data), file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		t.Fatalf("arrow: %v", err)
	}
	defer pf.Close()
	schema := parquetwtest.MustSchema[T](t)
	checkArrowSchema(t, pf, schema)
	if problems, err := pageProblems(pf); err != nil || len(problems) > 0 {
		t.Errorf("arrow pages (%v):\n%s", err, strings.Join(problems, "\n"))
	}

	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 4096}, mem)
	if err != nil {
		t.Fatalf("pqarrow: %v", err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("pqarrow: %v", err)
	}
	defer tbl.Release()
	got, err := arrowRows[T](tbl, schema)
	if err != nil {
		t.Fatalf("arrow: %v", err)
	}
	parquetwtest.EqualRows(t, "Arrow", got, rows)
	return pf.NumRowGroups()
}

// checkArrowSchema checks the Parquet types Arrow reads from the footer:
// each column's physical, logical and converted type and repetition.
func checkArrowSchema(t *testing.T, pf *file.Reader, schema *parquetw.Schema) {
	t.Helper()
	s := pf.MetaData().Schema
	if s.NumColumns() != len(schema.Columns) {
		t.Fatalf("arrow sees %d columns, want %d", s.NumColumns(), len(schema.Columns))
	}
	for i, c := range schema.Columns {
		col := s.Column(i)
		phys, logical, conv := parquetTypes(c)
		optional := col.MaxDefinitionLevel() == 1
		if col.Name() != c.Name || col.PhysicalType() != phys || !col.LogicalType().Equals(logical) ||
			col.ConvertedType() != conv || optional != c.Optional || col.MaxRepetitionLevel() != 0 {
			t.Errorf("arrow reads column %d as %s %v %v %v optional=%v; want %s %v %v %v optional=%v", i,
				col.Name(), col.PhysicalType(), col.LogicalType(), col.ConvertedType(), optional,
				c.Name, phys, logical, conv, c.Optional)
		}
	}
}

// parquetTypes are the physical, logical and converted types column c must
// have in the footer.
func parquetTypes(c parquetw.Column) (parquet.Type, pqschema.LogicalType, pqschema.ConvertedType) {
	phys := map[parquetw.Type]parquet.Type{parquetw.Boolean: parquet.Types.Boolean, parquetw.Int32: parquet.Types.Int32,
		parquetw.Int64: parquet.Types.Int64, parquetw.Double: parquet.Types.Double, parquetw.ByteArray: parquet.Types.ByteArray}[c.Type]
	switch c.Logical {
	case parquetw.String:
		return phys, pqschema.StringLogicalType{}, pqschema.ConvertedTypes.UTF8
	case parquetw.Decimal:
		return phys, pqschema.NewDecimalLogicalType(int32(c.Precision), int32(c.Scale)), pqschema.ConvertedTypes.Decimal
	case parquetw.Timestamp:
		switch c.Unit {
		case parquetw.Millisecond:
			return phys, pqschema.NewTimestampLogicalType(true, pqschema.TimeUnitMillis), pqschema.ConvertedTypes.TimestampMillis
		case parquetw.Microsecond:
			return phys, pqschema.NewTimestampLogicalType(true, pqschema.TimeUnitMicros), pqschema.ConvertedTypes.TimestampMicros
		}
		return phys, pqschema.NewTimestampLogicalType(true, pqschema.TimeUnitNanos), pqschema.ConvertedTypes.None
	case parquetw.Integer:
		if c.Type == parquetw.Int32 {
			return phys, pqschema.NewIntLogicalType(32, true), pqschema.ConvertedTypes.Int32
		}
		return phys, pqschema.NewIntLogicalType(64, true), pqschema.ConvertedTypes.Int64
	}
	return phys, pqschema.NoLogicalType{}, pqschema.ConvertedTypes.None
}

// pageProblems walks every page of every column chunk with Arrow's page
// reader and lists what an engine of the lake could not read: pages other
// than data pages v1 (and dictionary pages), value encodings outside
// readableEncodings, levels not RLE, a chunk declaring such an encoding,
// pages holding other than the chunk's number of values.
func pageProblems(pf *file.Reader) ([]string, error) {
	var out []string
	for g := range pf.NumRowGroups() {
		rg := pf.RowGroup(g)
		for c := range rg.NumColumns() {
			cc, err := rg.MetaData().ColumnChunk(c)
			if err != nil {
				return nil, err
			}
			where := fmt.Sprintf("row group %d column %s", g, cc.PathInSchema())
			for _, e := range cc.Encodings() {
				if _, ok := readableEncodings[e]; !ok {
					out = append(out, fmt.Sprintf("%s: chunk encoding %v", where, e))
				}
			}
			n, err := chunkPageProblems(rg, c, where, &out)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			if n != cc.NumValues() {
				out = append(out, fmt.Sprintf("%s: pages hold %d values, the chunk %d", where, n, cc.NumValues()))
			}
		}
	}
	return out, nil
}

// chunkPageProblems adds the problems of column c's pages to out and
// returns the number of values its data pages hold.
func chunkPageProblems(rg *file.RowGroupReader, c int, where string, out *[]string) (int64, error) {
	pr, err := rg.GetColumnPageReader(c)
	if err != nil {
		return 0, err
	}
	defer pr.Close()
	var values int64
	for pr.Next() {
		switch p := pr.Page().(type) {
		case *file.DataPageV1:
			_, ok := readableEncodings[parquet.Encoding(p.Encoding())]
			if !ok || p.DefinitionLevelEncoding() != parquet.Encodings.RLE {
				*out = append(*out, fmt.Sprintf("%s: data page v1 with values %v, levels %v", where, p.Encoding(), p.DefinitionLevelEncoding()))
			}
			values += int64(p.NumValues())
		case *file.DictionaryPage:
			if e := parquet.Encoding(p.Encoding()); e != parquet.Encodings.Plain && e != parquet.Encodings.PlainDict {
				*out = append(*out, fmt.Sprintf("%s: dictionary page encoded %v", where, e))
			}
		default:
			*out = append(*out, fmt.Sprintf("%s: a %v page with values %v", where, p.Type(), p.Encoding()))
			values += int64(p.NumValues())
		}
	}
	return values, pr.Err()
}

// arrowType is the Arrow type pqarrow must give column c.
func arrowType(c parquetw.Column) arrow.DataType {
	switch c.Logical {
	case parquetw.String:
		return arrow.BinaryTypes.String
	case parquetw.Decimal:
		return &arrow.Decimal128Type{Precision: int32(c.Precision), Scale: int32(c.Scale)}
	case parquetw.Timestamp:
		unit := map[parquetw.TimeUnit]arrow.TimeUnit{parquetw.Millisecond: arrow.Millisecond,
			parquetw.Microsecond: arrow.Microsecond, parquetw.Nanosecond: arrow.Nanosecond}[c.Unit]
		return &arrow.TimestampType{Unit: unit, TimeZone: "UTC"}
	}
	return map[parquetw.Type]arrow.DataType{parquetw.Boolean: arrow.FixedWidthTypes.Boolean, parquetw.Int32: arrow.PrimitiveTypes.Int32,
		parquetw.Int64: arrow.PrimitiveTypes.Int64, parquetw.Double: arrow.PrimitiveTypes.Float64}[c.Type]
}

// arrowRows converts tbl back into rows of T after checking that each
// column has the Arrow type of arrowType.
func arrowRows[T any](tbl arrow.Table, schema *parquetw.Schema) ([]T, error) {
	if int(tbl.NumCols()) != len(schema.Columns) {
		return nil, fmt.Errorf("%d columns, want %d", tbl.NumCols(), len(schema.Columns))
	}
	out := make([]T, tbl.NumRows())
	fields := exportedFields(reflect.TypeFor[T]())
	for i, c := range schema.Columns {
		col := tbl.Column(i)
		if want := arrowType(c); col.Name() != c.Name || !arrow.TypeEqual(col.DataType(), want) {
			return nil, fmt.Errorf("column %d is %s %s, want %s %s", i, col.Name(), col.DataType(), c.Name, want)
		}
		row := 0
		for _, chunk := range col.Data().Chunks() {
			for j := range chunk.Len() {
				f := reflect.ValueOf(&out[row]).Elem().Field(fields[i])
				if err := setArrow(f, c, chunk, j); err != nil {
					return nil, fmt.Errorf("row %d column %s: %w", row, c.Name, err)
				}
				row++
			}
		}
		if row != len(out) {
			return nil, fmt.Errorf("column %s has %d values for %d rows", c.Name, row, len(out))
		}
	}
	return out, nil
}

// exportedFields is the index of the field of each column, in SchemaOf's
// order.
func exportedFields(t reflect.Type) []int {
	var out []int
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() && f.Tag.Get("parquet") != "-" {
			out = append(out, i)
		}
	}
	return out
}

// setArrow stores value j of the Arrow array a, column c, in the field f.
func setArrow(f reflect.Value, c parquetw.Column, a arrow.Array, j int) error {
	if a.IsNull(j) {
		if !c.Optional {
			return fmt.Errorf("null in a required column")
		}
		return nil
	}
	if c.Optional {
		f.Set(reflect.New(f.Type().Elem()))
		f = f.Elem()
	}
	switch a := a.(type) {
	case *array.String:
		f.SetString(a.Value(j))
	case *array.Boolean:
		f.SetBool(a.Value(j))
	case *array.Int32:
		f.SetInt(int64(a.Value(j)))
	case *array.Int64:
		f.SetInt(a.Value(j))
	case *array.Float64:
		f.SetFloat(a.Value(j))
	case *array.Decimal128:
		n := a.Value(j).BigInt()
		if !n.IsInt64() {
			return fmt.Errorf("decimal %v out of int64", n)
		}
		f.SetInt(n.Int64())
	case *array.Timestamp:
		f.Set(reflect.ValueOf(a.Value(j).ToTime(a.DataType().(*arrow.TimestampType).Unit)))
	default:
		return fmt.Errorf("unexpected Arrow array %T", a)
	}
	return nil
}

// checkDuckDBMetadata checks, with DuckDB's parquet_metadata, that every
// column chunk is Zstd-compressed with encodings every engine reads.
func checkDuckDBMetadata(t *testing.T, data []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.parquet")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.Query(fmt.Sprintf("SELECT DISTINCT path_in_schema, compression, encodings FROM parquet_metadata('%s')", path))
	if err != nil {
		t.Fatalf("duckdb: %v", err)
	}
	defer rs.Close()
	names := slices.Collect(maps.Values(readableEncodings))
	for rs.Next() {
		var col, compression, encodings string
		if err := rs.Scan(&col, &compression, &encodings); err != nil {
			t.Fatal(err)
		}
		for _, e := range strings.Split(encodings, ",") {
			if !slices.Contains(names, strings.TrimSpace(e)) {
				t.Errorf("DuckDB: column %s has encodings %s", col, encodings)
			}
		}
		if compression != "ZSTD" {
			t.Errorf("DuckDB: column %s compressed %s", col, compression)
		}
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestPageProblems shows the page check failing where it must: parquet-go's
// default data pages v2 and DELTA_LENGTH_BYTE_ARRAY strings, what the
// exporter wrote before issue 17, are flagged; parquetw's files are not.
func TestPageProblems(t *testing.T) {
	rows := make([]export.EventRow, 100)
	anyRows := make([]any, len(rows))
	for i := range rows {
		rows[i] = parquetwtest.Fill[export.EventRow](i)
		anyRows[i] = rows[i]
	}
	tests := []struct {
		name string
		file func(t *testing.T) []byte
		want []string // in the problems; none when empty
	}{
		{"Parquetw", func(t *testing.T) []byte {
			file, err := export.Events.Encode(anyRows)
			if err != nil {
				t.Fatal(err)
			}
			return file
		}, nil},
		{"ParquetGoPagesV2", func(t *testing.T) []byte { return encodeParquetGo(t, rows) }, []string{"DATA_PAGE_V2"}},
		{"ParquetGoDeltaStrings", func(t *testing.T) []byte {
			return encodeParquetGo(t, rows, parquetgo.DataPageVersion(1),
				parquetgo.DefaultEncodingFor(parquetgo.ByteArray, &parquetgo.DeltaLengthByteArray))
		}, []string{"chunk encoding DELTA_LENGTH_BYTE_ARRAY", "data page v1 with values DELTA_LENGTH_BYTE_ARRAY"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.file(t)
			pf, err := file.NewParquetReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			defer pf.Close()
			problems, err := pageProblems(pf)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(problems, "\n")
			if len(tt.want) == 0 && got != "" {
				t.Errorf("problems:\n%s", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("problems:\n%s\nwant %q among them", got, w)
				}
			}
		})
	}
}
