package parquetw

import "encoding/binary"

// Thrift compact protocol types.
const (
	tBoolTrue  = 1
	tBoolFalse = 2
	tByte      = 3
	tI16       = 4
	tI32       = 5
	tI64       = 6
	tBinary    = 8
	tList      = 9
	tStruct    = 12
)

// thriftWriter writes Thrift compact protocol: the encoding of the Parquet
// footer and page headers. Field ids are parquet.thrift's.
type thriftWriter struct {
	buf  []byte
	last []int16 // the last field id of each open struct
}

func (w *thriftWriter) varint(v uint64) { w.buf = binary.AppendUvarint(w.buf, v) }

func (w *thriftWriter) zigzag(v int64) { w.varint(uint64(v<<1) ^ uint64(v>>63)) }

func (w *thriftWriter) field(id int16, typ byte) {
	last := &w.last[len(w.last)-1]
	if d := id - *last; d > 0 && d <= 15 {
		w.buf = append(w.buf, byte(d)<<4|typ)
	} else {
		w.buf = append(w.buf, typ)
		w.zigzag(int64(id))
	}
	*last = id
}

// begin opens a struct, as a field (id > 0) or as a list element (id 0).
func (w *thriftWriter) begin(id int16) {
	if id > 0 {
		w.field(id, tStruct)
	}
	w.last = append(w.last, 0)
}

// end closes the struct begin opened.
func (w *thriftWriter) end() {
	w.buf = append(w.buf, 0)
	w.last = w.last[:len(w.last)-1]
}

func (w *thriftWriter) i8(id int16, v int8) { w.field(id, tByte); w.buf = append(w.buf, byte(v)) }

func (w *thriftWriter) i16(id int16, v int16) { w.field(id, tI16); w.zigzag(int64(v)) }

func (w *thriftWriter) i32(id int16, v int32) { w.field(id, tI32); w.zigzag(int64(v)) }

func (w *thriftWriter) i64(id int16, v int64) { w.field(id, tI64); w.zigzag(v) }

func (w *thriftWriter) bool(id int16, v bool) {
	if v {
		w.field(id, tBoolTrue)
	} else {
		w.field(id, tBoolFalse)
	}
}

func (w *thriftWriter) binary(id int16, v []byte) {
	w.field(id, tBinary)
	w.varint(uint64(len(v)))
	w.buf = append(w.buf, v...)
}

func (w *thriftWriter) string(id int16, v string) {
	w.field(id, tBinary)
	w.varint(uint64(len(v)))
	w.buf = append(w.buf, v...)
}

// list starts a list field of n elements of type elem; the elements follow.
func (w *thriftWriter) list(id int16, elem byte, n int) {
	w.field(id, tList)
	if n < 15 {
		w.buf = append(w.buf, byte(n)<<4|elem)
	} else {
		w.buf = append(w.buf, 0xf0|elem)
		w.varint(uint64(n))
	}
}

// listI32 writes a list field of i32 (enum) values.
func (w *thriftWriter) listI32(id int16, vs []int32) {
	w.list(id, tI32, len(vs))
	for _, v := range vs {
		w.zigzag(int64(v))
	}
}

// listString writes a list field of strings.
func (w *thriftWriter) listString(id int16, vs []string) {
	w.list(id, tBinary, len(vs))
	for _, v := range vs {
		w.varint(uint64(len(v)))
		w.buf = append(w.buf, v...)
	}
}
