// Package parquetwtest reads files package parquetw wrote back into rows,
// with parquet-go and with DuckDB, and makes rows to write: the readers the
// exporter's files must satisfy, for tests only (neither ships).
package parquetwtest

import (
	"bytes"
	"database/sql"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/parquet-go/parquet-go"

	"github.com/refx-dev/refx/pkg/export/parquetw"
)

// ReadParquetGo reads every row of file with parquet-go.
func ReadParquetGo[T any](tb testing.TB, file []byte) []T {
	tb.Helper()
	rows, err := parquet.Read[T](bytes.NewReader(file), int64(len(file)))
	if err != nil {
		tb.Fatalf("parquet-go: %v", err)
	}
	return rows
}

// MustSchema is T's parquetw schema.
func MustSchema[T any](tb testing.TB) *parquetw.Schema {
	tb.Helper()
	s, err := parquetw.SchemaOf(reflect.TypeFor[T]())
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// DuckDBType is the type DuckDB gives column c.
func DuckDBType(c parquetw.Column) string {
	switch c.Logical {
	case parquetw.String:
		return "VARCHAR"
	case parquetw.Decimal:
		return fmt.Sprintf("DECIMAL(%d,%d)", c.Precision, c.Scale)
	case parquetw.Timestamp:
		return "TIMESTAMP WITH TIME ZONE"
	}
	return map[parquetw.Type]string{parquetw.Boolean: "BOOLEAN", parquetw.Int32: "INTEGER",
		parquetw.Int64: "BIGINT", parquetw.Double: "DOUBLE"}[c.Type]
}

// ReadDuckDB reads every row of file with DuckDB, in file order, after
// checking that DuckDB sees T's columns with the types of DuckDBType.
func ReadDuckDB[T any](tb testing.TB, file []byte) []T {
	tb.Helper()
	schema := MustSchema[T](tb)
	path := filepath.Join(tb.TempDir(), "f.parquet")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		tb.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("SET TimeZone = 'UTC'"); err != nil {
		tb.Fatal(err)
	}
	src := fmt.Sprintf("read_parquet('%s')", path)
	var got, want []string
	desc, err := db.Query("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM " + src + ")")
	if err != nil {
		tb.Fatalf("duckdb: %v", err)
	}
	for desc.Next() {
		var name, typ string
		if err := desc.Scan(&name, &typ); err != nil {
			tb.Fatal(err)
		}
		got = append(got, name+" "+typ)
	}
	desc.Close()
	for _, c := range schema.Columns {
		want = append(want, c.Name+" "+DuckDBType(c))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		tb.Fatalf("DuckDB columns:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	rs, err := db.Query("SELECT * FROM " + src)
	if err != nil {
		tb.Fatalf("duckdb: %v", err)
	}
	defer rs.Close()
	rt := reflect.TypeFor[T]()
	fields := fieldsOf(rt)
	var out []T
	for rs.Next() {
		vals := make([]any, len(schema.Columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			tb.Fatal(err)
		}
		var row T
		rv := reflect.ValueOf(&row).Elem()
		for i, c := range schema.Columns {
			if err := set(rv.Field(fields[i]), c, vals[i]); err != nil {
				tb.Fatalf("row %d column %s: %v", len(out), c.Name, err)
			}
		}
		out = append(out, row)
	}
	if err := rs.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// fieldsOf is the index of the field of each column (SchemaOf's order).
func fieldsOf(t reflect.Type) []int {
	var out []int
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() && f.Tag.Get("parquet") != "-" {
			out = append(out, i)
		}
	}
	return out
}

// set stores DuckDB's value v of column c in the field f.
func set(f reflect.Value, c parquetw.Column, v any) error {
	if v == nil {
		if !c.Optional {
			return fmt.Errorf("null in a required column")
		}
		return nil
	}
	if c.Optional {
		p := reflect.New(f.Type().Elem())
		f.Set(p)
		f = p.Elem()
	}
	switch x := v.(type) {
	case duckdb.Decimal:
		if c.Logical != parquetw.Decimal || int(x.Scale) != c.Scale || int(x.Width) != c.Precision || !x.Value.IsInt64() {
			return fmt.Errorf("decimal %v for %+v", x, c)
		}
		f.SetInt(x.Value.Int64())
	case time.Time:
		f.Set(reflect.ValueOf(x.UTC()))
	default:
		rv := reflect.ValueOf(v)
		if rv.Type() != f.Type() {
			return fmt.Errorf("DuckDB gave %T, the field is %s", v, f.Type())
		}
		f.Set(rv)
	}
	return nil
}

// Fill makes row i of a test table: every field set by its kind to one of a
// cycle of edge values (empty and unicode strings, extreme integers and
// decimals, zero and negative floats, instants before 1970), optional ones
// nil every third row, times UTC at their column's precision.
func Fill[T any](i int) T {
	var row T
	rv := reflect.ValueOf(&row).Elem()
	rt := rv.Type()
	for j := range rt.NumField() {
		sf := rt.Field(j)
		tag := sf.Tag.Get("parquet")
		if !sf.IsExported() || tag == "-" {
			continue
		}
		f := rv.Field(j)
		if sf.Type.Kind() == reflect.Pointer {
			if (i+j)%3 == 0 {
				continue
			}
			f.Set(reflect.New(sf.Type.Elem()))
			f = f.Elem()
		}
		k := i + 7*j
		switch {
		case f.Type() == reflect.TypeFor[time.Time]():
			f.Set(reflect.ValueOf(instant(k, tag)))
		case f.Kind() == reflect.String:
			f.SetString(texts[k%len(texts)] + fmt.Sprint(k%11))
			if k%13 == 0 {
				f.SetString("")
			}
		case f.Kind() == reflect.Bool:
			f.SetBool(k%2 == 0 || k%5 == 0)
		case f.Kind() == reflect.Int32:
			f.SetInt(int64([]int32{0, 1, -1, math.MaxInt32, math.MinInt32, 42, int32(k)}[k%7]))
		case f.Kind() == reflect.Int64 && strings.Contains(tag, "decimal("):
			f.SetInt([]int64{0, 1, -1, 99_999_999_999_999, -99_999_999_999_999, 12_345, int64(k) * 10_001}[k%7])
		case f.Kind() == reflect.Int64:
			f.SetInt([]int64{0, 1, -1, math.MaxInt64, math.MinInt64, 1 << 40, int64(k)}[k%7])
		case f.Kind() == reflect.Float64:
			f.SetFloat([]float64{0, 1, -1.5, 0.1, 1e300, -math.SmallestNonzeroFloat64, float64(k) / 3}[k%7])
		default:
			panic("parquetwtest.Fill: unsupported field " + sf.Name)
		}
	}
	return row
}

var texts = []string{"a", "", "héllo wörld ✓ 日本語 🎉", "quote ' and \"", strings.Repeat("long,", 40), "Z", "line\nbreak"}

// instant is the k'th of a cycle of instants at the precision of the
// column's tag.
func instant(k int, tag string) time.Time {
	t := []time.Time{
		time.Date(2026, 12, 6, 13, 0, 0, 123_456_789, time.UTC).Add(time.Duration(k) * 1001 * time.Millisecond),
		time.Unix(0, 0),
		time.Unix(0, -1_500_000),
		time.Date(1900, 1, 1, 0, 0, 0, 1_000_999, time.UTC),
		time.Date(2100, 2, 28, 23, 59, 59, 999_999_999, time.UTC),
	}[k%5]
	switch {
	case strings.Contains(tag, "timestamp(millisecond)"):
		t = t.Truncate(time.Millisecond)
	case strings.Contains(tag, "timestamp(microsecond)"):
		t = t.Truncate(time.Microsecond)
	}
	return t.UTC()
}

// Show prints a row struct field by field, following pointers.
func Show(row any) string {
	v := reflect.ValueOf(row)
	var b strings.Builder
	for i := range v.NumField() {
		sf, f := v.Type().Field(i), v.Field(i)
		if !sf.IsExported() {
			continue
		}
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				fmt.Fprintf(&b, "%s=nil ", sf.Name)
				continue
			}
			f = f.Elem()
		}
		fmt.Fprintf(&b, "%s=%#v ", sf.Name, f.Interface())
	}
	return b.String()
}

// EqualRows reports whether rows read back by reader equal those written,
// failing tb with the first difference.
func EqualRows[T any](tb testing.TB, reader string, got, want []T) bool {
	tb.Helper()
	if len(got) != len(want) {
		tb.Errorf("%s read %d rows, want %d", reader, len(got), len(want))
		return false
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			tb.Errorf("%s row %d:\n got %s\nwant %s", reader, i, Show(got[i]), Show(want[i]))
			return false
		}
	}
	return true
}
