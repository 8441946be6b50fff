package parquetw

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Options tune an Encoder; the zero value is the exporter's.
type Options struct {
	// RowGroupRows bounds the rows of a row group (default 64Ki).
	RowGroupRows int
	// PageBytes is the size of a page's values, before compression, at which
	// the page is cut (default 1 MiB).
	PageBytes int
	// CreatedBy is the file's created_by (default "refx export").
	CreatedBy string
}

// Encoder writes rows of type T, a struct, as Parquet files. It is safe for
// concurrent use.
type Encoder[T any] struct {
	schema *Schema
	opts   Options
}

// NewEncoder derives T's schema (see SchemaOf).
func NewEncoder[T any](opts Options) (*Encoder[T], error) {
	s, err := SchemaOf(reflect.TypeFor[T]())
	if err != nil {
		return nil, err
	}
	if opts.RowGroupRows <= 0 {
		opts.RowGroupRows = 64 * 1024
	}
	if opts.PageBytes <= 0 {
		opts.PageBytes = 1 << 20
	}
	if opts.CreatedBy == "" {
		opts.CreatedBy = "refx export"
	}
	return &Encoder[T]{schema: s, opts: opts}, nil
}

// Schema returns T's schema.
func (e *Encoder[T]) Schema() *Schema { return e.schema }

// Encode writes rows as one Parquet file. No rows give a valid file with
// the schema and no row groups.
func (e *Encoder[T]) Encode(rows []T) ([]byte, error) {
	zenc, err := encoder()
	if err != nil {
		return nil, fmt.Errorf("parquetw: %w", err)
	}
	f := &fileWriter{schema: e.schema, opts: e.opts, zenc: zenc, out: []byte(magic)}
	rv := reflect.ValueOf(rows)
	for lo := 0; lo < len(rows); lo += e.opts.RowGroupRows {
		f.rowGroup(rv.Slice(lo, min(lo+e.opts.RowGroupRows, len(rows))))
	}
	f.footer(int64(len(rows)))
	return f.out, nil
}

const magic = "PAR1"

// Parquet enum values (parquet.thrift).
const (
	encPlain       = 0
	encRLE         = 3
	codecZstd      = 6
	pageData       = 0
	repRequired    = 0
	repOptional    = 1
	convUTF8       = 0
	convDecimal    = 5
	convTimeMillis = 9
	convTimeMicros = 10
	convInt32      = 17
	convInt64      = 18
)

// maxStatBytes bounds the min and max of a byte array column: longer ones
// (JSON documents) are left out rather than truncated.
const maxStatBytes = 128

// encoder is the Zstd encoder of every page. EncodeAll is safe for
// concurrent use and, at a fixed level, deterministic.
var encoder = sync.OnceValues(func() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
})

type fileWriter struct {
	schema *Schema
	opts   Options
	zenc   *zstd.Encoder
	out    []byte
	groups []rowGroup
}

type rowGroup struct {
	rows   int64
	chunks []chunk
}

// chunk is a written column chunk.
type chunk struct {
	offset, values, uncompressed, compressed int64
	stats                                    stats
}

func (f *fileWriter) rowGroup(rows reflect.Value) {
	g := rowGroup{rows: int64(rows.Len())}
	for i := range f.schema.Columns {
		g.chunks = append(g.chunks, f.chunk(&f.schema.Columns[i], rows))
	}
	f.groups = append(f.groups, g)
}

// chunk writes the column c of rows as one column chunk of data pages.
func (f *fileWriter) chunk(c *Column, rows reflect.Value) chunk {
	ch := chunk{offset: int64(len(f.out)), values: int64(rows.Len())}
	var p page
	for i := range rows.Len() {
		v := rows.Index(i).Field(c.field)
		if c.Optional {
			if v.IsNil() {
				p.defs = append(p.defs, 0)
				ch.stats.nulls++
				p.n++
				continue
			}
			p.defs = append(p.defs, 1)
			v = v.Elem()
		}
		p.n++
		switch c.kind {
		case kString:
			s := v.String()
			p.vals = binary.LittleEndian.AppendUint32(p.vals, uint32(len(s)))
			p.vals = append(p.vals, s...)
			ch.stats.string(s)
		case kBool:
			b := v.Bool()
			p.bools = append(p.bools, b)
			ch.stats.bool(b)
		case kInt32:
			n := int32(v.Int())
			p.vals = binary.LittleEndian.AppendUint32(p.vals, uint32(n))
			ch.stats.int(int64(n))
		case kInt64:
			n := v.Int()
			p.vals = binary.LittleEndian.AppendUint64(p.vals, uint64(n))
			ch.stats.int(n)
		case kFloat64:
			x := v.Float()
			p.vals = binary.LittleEndian.AppendUint64(p.vals, math.Float64bits(x))
			ch.stats.float(x)
		case kTime:
			n := timestamp(*v.Addr().Interface().(*time.Time), c.Unit) // rows are addressable: no copy to box
			p.vals = binary.LittleEndian.AppendUint64(p.vals, uint64(n))
			ch.stats.int(n)
		}
		if len(p.vals)+len(p.bools)/8+len(p.defs)/8 >= f.opts.PageBytes {
			f.page(&ch, c, &p)
		}
	}
	if p.n > 0 {
		f.page(&ch, c, &p)
	}
	return ch
}

// page is the buffered values of one data page.
type page struct {
	n     int    // values, nulls included
	defs  []byte // definition levels (optional columns)
	vals  []byte // PLAIN values but booleans
	bools []bool // boolean values
}

// page writes p as a data page v1 of ch and empties it.
func (f *fileWriter) page(ch *chunk, c *Column, p *page) {
	var body []byte
	if c.Optional {
		levels := levels(p.defs)
		body = binary.LittleEndian.AppendUint32(body, uint32(len(levels)))
		body = append(body, levels...)
	}
	if c.kind == kBool {
		body = append(body, packBools(p.bools)...)
	} else {
		body = append(body, p.vals...)
	}
	data := f.zenc.EncodeAll(body, nil)
	var w thriftWriter
	w.begin(0) // PageHeader
	w.i32(1, pageData)
	w.i32(2, int32(len(body)))
	w.i32(3, int32(len(data)))
	w.begin(5) // DataPageHeader
	w.i32(1, int32(p.n))
	w.i32(2, encPlain)
	w.i32(3, encRLE)
	w.i32(4, encRLE)
	w.end()
	w.end()
	f.out = append(f.out, w.buf...)
	f.out = append(f.out, data...)
	ch.uncompressed += int64(len(w.buf) + len(body))
	ch.compressed += int64(len(w.buf) + len(data))
	*p = page{defs: p.defs[:0], vals: p.vals[:0], bools: p.bools[:0]}
}

// timestamp is t in unit since the Unix epoch, as parquet-go writes it.
func timestamp(t time.Time, u TimeUnit) int64 {
	switch u {
	case Millisecond:
		return t.UnixMilli()
	case Microsecond:
		return t.UnixMicro()
	}
	return t.UnixNano()
}

// levels encodes definition levels of bit width 1 in the RLE/bit-packed
// hybrid: one RLE run when all are equal, else bit-packed runs.
func levels(defs []byte) []byte {
	same := true
	for _, d := range defs {
		if d != defs[0] {
			same = false
			break
		}
	}
	if same {
		out := binary.AppendUvarint(nil, uint64(len(defs))<<1)
		return append(out, defs[0])
	}
	var out []byte
	// At most 63 groups of 8 per run, the run length parquet-mr writes.
	for lo := 0; lo < len(defs); lo += 63 * 8 {
		run := defs[lo:min(lo+63*8, len(defs))]
		groups := (len(run) + 7) / 8
		out = binary.AppendUvarint(out, uint64(groups)<<1|1)
		packed := make([]byte, groups)
		for i, d := range run {
			packed[i/8] |= d << (i % 8)
		}
		out = append(out, packed...)
	}
	return out
}

// packBools is PLAIN booleans: one bit each, least significant first.
func packBools(bs []bool) []byte {
	out := make([]byte, (len(bs)+7)/8)
	for i, b := range bs {
		if b {
			out[i/8] |= 1 << (i % 8)
		}
	}
	return out
}

// stats are a column chunk's statistics.
type stats struct {
	nulls      int64
	seen, nan  bool
	minI, maxI int64
	minF, maxF float64
	minS, maxS string
}

func (s *stats) int(n int64) {
	if !s.seen || n < s.minI {
		s.minI = n
	}
	if !s.seen || n > s.maxI {
		s.maxI = n
	}
	s.seen = true
}

func (s *stats) bool(b bool) {
	n := int64(0)
	if b {
		n = 1
	}
	s.int(n)
}

func (s *stats) float(x float64) {
	if math.IsNaN(x) {
		s.nan = true
		return
	}
	if !s.seen || x < s.minF {
		s.minF = x
	}
	if !s.seen || x > s.maxF {
		s.maxF = x
	}
	s.seen = true
}

func (s *stats) string(v string) {
	if !s.seen || v < s.minS {
		s.minS = v
	}
	if !s.seen || v > s.maxS {
		s.maxS = v
	}
	s.seen = true
}

// minMax is the PLAIN encoding of the min and max values, nil when there
// are none to give.
func (s *stats) minMax(t Type) (lo, hi []byte) {
	if !s.seen || s.nan {
		return nil, nil
	}
	switch t {
	case Boolean:
		return []byte{byte(s.minI)}, []byte{byte(s.maxI)}
	case Int32:
		return binary.LittleEndian.AppendUint32(nil, uint32(s.minI)), binary.LittleEndian.AppendUint32(nil, uint32(s.maxI))
	case Int64:
		return binary.LittleEndian.AppendUint64(nil, uint64(s.minI)), binary.LittleEndian.AppendUint64(nil, uint64(s.maxI))
	case Double:
		// Zeros are written as -0.0 for a min and +0.0 for a max, as the
		// format asks, since readers cannot tell which one was seen.
		lo, hi := s.minF, s.maxF
		if lo == 0 {
			lo = math.Copysign(0, -1)
		}
		if hi == 0 {
			hi = 0
		}
		return binary.LittleEndian.AppendUint64(nil, math.Float64bits(lo)), binary.LittleEndian.AppendUint64(nil, math.Float64bits(hi))
	case ByteArray:
		if len(s.minS) > maxStatBytes || len(s.maxS) > maxStatBytes {
			return nil, nil
		}
		return []byte(s.minS), []byte(s.maxS)
	}
	return nil, nil
}

// footer writes the FileMetaData, its length and the closing magic.
func (f *fileWriter) footer(rows int64) {
	var w thriftWriter
	w.begin(0) // FileMetaData
	w.i32(1, 1)
	cols := f.schema.Columns
	w.list(2, tStruct, 1+len(cols))
	w.begin(0) // the root SchemaElement
	w.string(4, "schema")
	w.i32(5, int32(len(cols)))
	w.end()
	for i := range cols {
		schemaElement(&w, &cols[i])
	}
	w.i64(3, rows)
	w.list(4, tStruct, len(f.groups))
	for i, g := range f.groups {
		w.begin(0) // RowGroup
		w.list(1, tStruct, len(g.chunks))
		var size, compressed int64
		for j, ch := range g.chunks {
			size += ch.uncompressed
			compressed += ch.compressed
			columnChunk(&w, &cols[j], &ch)
		}
		w.i64(2, size)
		w.i64(3, g.rows)
		w.i64(5, g.chunks[0].offset)
		w.i64(6, compressed)
		w.i16(7, int16(i))
		w.end()
	}
	w.string(6, f.opts.CreatedBy)
	// Min and max follow each type's own order (signed integers, unsigned
	// bytes), which readers use only when the column orders say so.
	w.list(7, tStruct, len(cols))
	for range cols {
		w.begin(0) // ColumnOrder
		w.begin(1) // TYPE_ORDER
		w.end()
		w.end()
	}
	w.end()
	f.out = append(f.out, w.buf...)
	f.out = binary.LittleEndian.AppendUint32(f.out, uint32(len(w.buf)))
	f.out = append(f.out, magic...)
}

func schemaElement(w *thriftWriter, c *Column) {
	w.begin(0)
	w.i32(1, int32(c.Type))
	if c.Optional {
		w.i32(3, repOptional)
	} else {
		w.i32(3, repRequired)
	}
	w.string(4, c.Name)
	switch c.Logical {
	case String:
		w.i32(6, convUTF8)
		w.begin(10)
		w.begin(1) // StringType
		w.end()
		w.end()
	case Integer:
		width := int8(32)
		if c.Type == Int32 {
			w.i32(6, convInt32)
		} else {
			w.i32(6, convInt64)
			width = 64
		}
		w.begin(10)
		w.begin(10) // IntType
		w.i8(1, width)
		w.bool(2, true)
		w.end()
		w.end()
	case Decimal:
		w.i32(6, convDecimal)
		w.i32(7, int32(c.Scale))
		w.i32(8, int32(c.Precision))
		w.begin(10)
		w.begin(5) // DecimalType
		w.i32(1, int32(c.Scale))
		w.i32(2, int32(c.Precision))
		w.end()
		w.end()
	case Timestamp:
		switch c.Unit {
		case Millisecond:
			w.i32(6, convTimeMillis)
		case Microsecond:
			w.i32(6, convTimeMicros)
		}
		w.begin(10)
		w.begin(8) // TimestampType
		w.bool(1, true)
		w.begin(2)                 // TimeUnit
		w.begin(int16(c.Unit) + 1) // MILLIS, MICROS, NANOS
		w.end()
		w.end()
		w.end()
		w.end()
	}
	w.end()
}

func columnChunk(w *thriftWriter, c *Column, ch *chunk) {
	w.begin(0)
	w.i64(2, ch.offset)
	w.begin(3) // ColumnMetaData
	w.i32(1, int32(c.Type))
	if c.Optional {
		w.listI32(2, []int32{encPlain, encRLE})
	} else {
		w.listI32(2, []int32{encPlain})
	}
	w.listString(3, []string{c.Name})
	w.i32(4, codecZstd)
	w.i64(5, ch.values)
	w.i64(6, ch.uncompressed)
	w.i64(7, ch.compressed)
	w.i64(9, ch.offset)
	w.begin(12) // Statistics
	w.i64(3, ch.stats.nulls)
	if lo, hi := ch.stats.minMax(c.Type); lo != nil {
		w.binary(5, hi)
		w.binary(6, lo)
	}
	w.end()
	w.end()
	w.end()
}
