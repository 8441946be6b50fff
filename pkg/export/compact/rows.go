package compact

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"slices"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/parquetread"
)

// reader reads one table's files into rows of its type, boxed as
// export.Table.Encode takes them.
type reader struct {
	table *export.Table
	// read returns the rows of a Parquet file.
	read func(body []byte) ([]any, error)
	// seq is the index of the row type's SequenceNumber field.
	seq int
}

// newReader is the reader of table. Every row type carries the stream
// record's sequence_number, which orders the compacted rows; a table
// without a known row type, or a row type without it, is a programming
// error.
func newReader(table *export.Table) reader {
	typ, ok := parquetread.RowType(table)
	if !ok {
		panic(fmt.Sprintf("compact: no row type for table %s", table.Name))
	}
	f, ok := typ.FieldByName("SequenceNumber")
	if !ok || f.Type.Kind() != reflect.String {
		panic(fmt.Sprintf("compact: %s rows have no SequenceNumber string", table.Name))
	}
	return reader{table: table, seq: f.Index[0], read: func(body []byte) ([]any, error) { return parquetread.Rows(table, body) }}
}

// readers are the exported tables' readers, one per table of
// export.Tables(); TestEveryTableHasAReader reads each back.
var readers = func() []reader {
	var out []reader
	for _, t := range export.Tables() {
		out = append(out, newReader(t))
	}
	return out
}()

// readFile reads a file's rows, first checking that it has exactly the
// table's columns: a file written before a column was added would read the
// missing column as a zero where Athena reads a null, so compacting it
// would change what the views answer. A panic in the Parquet reader (a
// corrupt file) is an error.
func (r reader) readFile(body []byte) (rows []any, err error) {
	defer func() {
		if p := recover(); p != nil {
			rows, err = nil, fmt.Errorf("parquet reader panicked: %v", p)
		}
	}()
	f, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return nil, err
	}
	var got []string
	for _, field := range f.Schema().Fields() {
		got = append(got, field.Name())
	}
	var want []string
	for _, c := range r.table.Schema.Columns {
		want = append(want, c.Name)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return nil, fmt.Errorf("%w: columns %v, the table has %v", errOldSchema, got, want)
	}
	return r.read(body)
}

// sequence is a row's sequence_number.
func (r reader) sequence(row any) string {
	return reflect.ValueOf(row).Field(r.seq).String()
}

// rowHash identifies a row by its exact content: a SHA-256 (truncated to
// 128 bits) of every field, length-prefixed, with nulls apart from zeros
// and times as instants. Two rows are the same row when every column is
// equal, which is what copies of one stream record are; two different rows
// colliding would take 2^64 rows to expect once.
type rowHash [16]byte

func hashRow(row any) (rowHash, error) {
	var buf []byte
	buf, err := appendValue(buf, reflect.ValueOf(row))
	if err != nil {
		return rowHash{}, err
	}
	sum := sha256.Sum256(buf)
	return rowHash(sum[:16]), nil
}

var timeType = reflect.TypeFor[time.Time]()

// appendValue appends an unambiguous encoding of v: every field of a
// struct in order; a pointer as a null marker or its value; strings with
// their length.
func appendValue(buf []byte, v reflect.Value) ([]byte, error) {
	switch {
	case v.Type() == timeType:
		t := v.Interface().(time.Time)
		return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(buf, uint64(t.Unix())), uint64(t.Nanosecond())), nil
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			var err error
			if buf, err = appendValue(buf, v.Field(i)); err != nil {
				return nil, fmt.Errorf("%s: %w", v.Type().Field(i).Name, err)
			}
		}
		return buf, nil
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			return append(buf, 0), nil
		}
		return appendValue(append(buf, 1), v.Elem())
	case v.Kind() == reflect.String:
		return append(binary.AppendUvarint(buf, uint64(v.Len())), v.String()...), nil
	case v.Kind() == reflect.Bool:
		if v.Bool() {
			return append(buf, 1), nil
		}
		return append(buf, 0), nil
	case v.Kind() == reflect.Int32 || v.Kind() == reflect.Int64:
		return binary.BigEndian.AppendUint64(buf, uint64(v.Int())), nil
	case v.Kind() == reflect.Float64:
		return binary.BigEndian.AppendUint64(buf, math.Float64bits(v.Float())), nil
	}
	return nil, fmt.Errorf("compact: cannot hash a %s", v.Type())
}
