package parquetw

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Type is a Parquet physical type; the values are parquet.thrift's.
type Type int32

// The physical types a column can have.
const (
	Boolean   Type = 0
	Int32     Type = 1
	Int64     Type = 2
	Double    Type = 5
	ByteArray Type = 6
)

func (t Type) String() string {
	switch t {
	case Boolean:
		return "BOOLEAN"
	case Int32:
		return "INT32"
	case Int64:
		return "INT64"
	case Double:
		return "DOUBLE"
	case ByteArray:
		return "BYTE_ARRAY"
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Logical is a column's logical type, if any.
type Logical int

// The logical types a column can have.
const (
	NoLogical Logical = iota
	String
	Decimal
	Timestamp
	// Integer is a signed integer of its physical type's width, what
	// parquet-go writes for int32 and int64 fields.
	Integer
)

// TimeUnit is the unit of a Timestamp column.
type TimeUnit int

// The units of timestamps.
const (
	Millisecond TimeUnit = iota
	Microsecond
	Nanosecond
)

// Column describes one column: a field of the row struct.
type Column struct {
	Name     string
	Type     Type
	Optional bool
	Logical  Logical
	// Precision and Scale are those of a Decimal column.
	Precision, Scale int
	// Unit is that of a Timestamp column (always adjusted to UTC).
	Unit TimeUnit

	field int       // index of the struct field
	kind  valueKind // how the field's value is read
}

// valueKind is how a column reads its field.
type valueKind int

const (
	kString valueKind = iota
	kBool
	kInt32
	kInt64
	kFloat64
	kTime
)

// Schema is the columns of a row struct type, in field order.
type Schema struct {
	Columns []Column
	typ     reflect.Type
}

var timeType = reflect.TypeFor[time.Time]()

// SchemaOf derives the schema of the struct type t from its fields' parquet
// tags. Unexported fields and fields tagged "-" are not columns.
func SchemaOf(t reflect.Type) (*Schema, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("parquetw: %s is not a struct", t)
	}
	s := &Schema{typ: t}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("parquet")
		if !f.IsExported() || tag == "-" {
			continue
		}
		c, err := column(f, tag)
		if err != nil {
			return nil, fmt.Errorf("parquetw: %s.%s: %w", t.Name(), f.Name, err)
		}
		c.field = i
		s.Columns = append(s.Columns, c)
	}
	if len(s.Columns) == 0 {
		return nil, fmt.Errorf("parquetw: %s has no columns", t)
	}
	return s, nil
}

func column(f reflect.StructField, tag string) (Column, error) {
	opts := strings.Split(tag, ",")
	c := Column{Name: opts[0], Unit: Nanosecond}
	if c.Name == "" {
		c.Name = f.Name
	}
	var decimal, timestamp bool
	for _, o := range opts[1:] {
		switch {
		case o == "optional":
			c.Optional = true
		case o == "dict", o == "":
			// Dictionary encoding is not written: every column is PLAIN.
		case strings.HasPrefix(o, "decimal(") && strings.HasSuffix(o, ")"):
			scale, prec, ok := strings.Cut(o[len("decimal("):len(o)-1], ":")
			s, err1 := strconv.Atoi(scale)
			p, err2 := strconv.Atoi(prec)
			if !ok || err1 != nil || err2 != nil || p < 1 || p > 18 || s < 0 || s > p {
				return c, fmt.Errorf("bad %q: want decimal(scale:precision), precision 1 to 18", o)
			}
			c.Scale, c.Precision, decimal = s, p, true
		case strings.HasPrefix(o, "timestamp(") && strings.HasSuffix(o, ")"):
			switch u := o[len("timestamp(") : len(o)-1]; u {
			case "millisecond":
				c.Unit = Millisecond
			case "microsecond":
				c.Unit = Microsecond
			case "nanosecond":
				c.Unit = Nanosecond
			default:
				return c, fmt.Errorf("bad time unit %q", u)
			}
			timestamp = true
		default:
			return c, fmt.Errorf("unsupported tag option %q", o)
		}
	}
	t := f.Type
	if t.Kind() == reflect.Pointer {
		if !c.Optional {
			return c, fmt.Errorf("a pointer field must be optional")
		}
		t = t.Elem()
	} else if c.Optional {
		return c, fmt.Errorf("an optional field must be a pointer (nil is null)")
	}
	switch {
	case t == timeType:
		c.Type, c.Logical, c.kind = Int64, Timestamp, kTime
	case t.Kind() == reflect.String:
		c.Type, c.Logical, c.kind = ByteArray, String, kString
	case t.Kind() == reflect.Bool:
		c.Type, c.kind = Boolean, kBool
	case t.Kind() == reflect.Int32:
		c.Type, c.Logical, c.kind = Int32, Integer, kInt32
	case t.Kind() == reflect.Int64:
		c.Type, c.Logical, c.kind = Int64, Integer, kInt64
	case t.Kind() == reflect.Float64:
		c.Type, c.kind = Double, kFloat64
	default:
		return c, fmt.Errorf("unsupported type %s", f.Type)
	}
	if decimal {
		if c.kind != kInt64 {
			return c, fmt.Errorf("decimal needs an int64 field")
		}
		c.Logical = Decimal
	}
	if timestamp && c.kind != kTime {
		return c, fmt.Errorf("timestamp needs a time.Time field")
	}
	return c, nil
}
