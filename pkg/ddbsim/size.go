package ddbsim

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// attributeValue is the JSON wire form of a DynamoDB AttributeValue, as
// far as its size is concerned. encoding/json decodes the base64 of B and
// BS into raw bytes, which is what DynamoDB counts.
type attributeValue struct {
	S    *string                   `json:"S"`
	N    *string                   `json:"N"`
	B    []byte                    `json:"B"`
	BOOL *bool                     `json:"BOOL"`
	NULL *bool                     `json:"NULL"`
	SS   []string                  `json:"SS"`
	NS   []string                  `json:"NS"`
	BS   [][]byte                  `json:"BS"`
	L    []attributeValue          `json:"L"`
	M    map[string]attributeValue `json:"M"`
}

// itemSize returns the size DynamoDB bills for an item in its JSON wire
// form: the UTF-8 length of each attribute name plus the size of its value.
func itemSize(item map[string]json.RawMessage) (int, error) {
	n := 0
	for name, raw := range item {
		var v attributeValue
		if err := json.Unmarshal(raw, &v); err != nil {
			return 0, fmt.Errorf("attribute %q: %w", name, err)
		}
		n += len(name) + v.size()
	}
	return n, nil
}

// size follows "DynamoDB item sizes and formats": a list or map costs 3
// bytes plus 1 per element beside the elements (and, for a map, their
// names); null and Boolean 1 byte.
func (v attributeValue) size() int {
	switch {
	case v.S != nil:
		return len(*v.S)
	case v.N != nil:
		return numberSize(*v.N)
	case v.B != nil:
		return len(v.B)
	case v.BOOL != nil, v.NULL != nil:
		return 1
	case v.SS != nil:
		n := 0
		for _, s := range v.SS {
			n += len(s)
		}
		return n
	case v.NS != nil:
		n := 0
		for _, s := range v.NS {
			n += numberSize(s)
		}
		return n
	case v.BS != nil:
		n := 0
		for _, b := range v.BS {
			n += len(b)
		}
		return n
	case v.L != nil:
		n := 3
		for _, e := range v.L {
			n += 1 + e.size()
		}
		return n
	case v.M != nil:
		n := 3
		for k, e := range v.M {
			n += 1 + len(k) + e.size()
		}
		return n
	}
	return 0
}

// numberSize is "1 byte per two significant digits, plus 1 byte": leading
// and trailing zeros, the sign, the decimal point and the exponent do not
// count.
func numberSize(s string) int {
	s = strings.TrimLeft(s, "+-")
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s = s[:i]
	}
	s = strings.Replace(s, ".", "", 1)
	s = strings.TrimRight(strings.TrimLeft(s, "0"), "0")
	digits := utf8.RuneCountInString(s)
	return (digits+1)/2 + 1
}

// writeUnits is what one write of an item of size bytes costs: one unit per
// started KB, at least one.
func writeUnits(size int) int64 {
	if size <= 0 {
		return 1
	}
	return int64((size + 1023) / 1024)
}
