package growthbook

import (
	"math"
	"strconv"
	"strings"
)

// GrowthBook's semantics are JavaScript's: conditions compare attributes with
// ===, <, String(x) and x*1, whose coercions are reproduced here for the
// values encoding/json produces (nil, bool, float64, string, []any,
// map[string]any). Any other Go type is treated like a JavaScript object.

// jsString is JavaScript's String(v).
func jsString(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return v
	case bool:
		if v {
			return "true"
		}
		return "false"
	case float64:
		return jsNumber(v)
	case []any:
		// Array.prototype.join: null elements become "".
		var b strings.Builder
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			if e != nil {
				b.WriteString(jsString(e))
			}
		}
		return b.String()
	default:
		return "[object Object]"
	}
}

// jsNumber is Number.prototype.toString for f: integers below 1e21 in full,
// otherwise the shortest round-tripping digits, in exponent form outside
// [1e-6, 1e21) with an exponent written without leading zeros ("1e+21").
func jsNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0" // -0 too
	}
	if a := math.Abs(f); a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // 1.5e-07, 1e+21
	i := strings.IndexByte(s, 'e')
	exp := strings.TrimLeft(s[i+2:], "0")
	return s[:i+2] + exp
}

// jsToNumber is JavaScript's Number(v) (v * 1).
func jsToNumber(v any) float64 {
	switch v := v.(type) {
	case nil:
		return 0
	case bool:
		if v {
			return 1
		}
		return 0
	case float64:
		return v
	case string:
		return stringToNumber(v)
	case []any:
		return stringToNumber(jsString(v))
	default:
		return math.NaN()
	}
}

// stringToNumber is JavaScript's ToNumber on a string: surrounding white
// space ignored, "" is 0, decimal literals, Infinity, and 0x/0o/0b integers;
// anything else is NaN. It checks the syntax itself because strconv accepts
// more ("inf", "1_0", "0x1p3") and allocates an error for what it refuses.
func stringToNumber(s string) float64 {
	s = strings.TrimFunc(s, isJSSpace)
	if s == "" {
		return 0
	}
	if len(s) > 2 && s[0] == '0' {
		base := 0
		switch s[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 0 {
			n := 0.0
			for i := 2; i < len(s); i++ {
				d := digitValue(s[i])
				if d >= base {
					return math.NaN()
				}
				n = n*float64(base) + float64(d)
			}
			return n
		}
	}
	body := s
	if body[0] == '+' || body[0] == '-' {
		body = body[1:]
	}
	if body == "Infinity" {
		if s[0] == '-' {
			return math.Inf(-1)
		}
		return math.Inf(1)
	}
	if !isDecimalLiteral(body) {
		return math.NaN()
	}
	f, _ := strconv.ParseFloat(s, 64) // out of range gives ±Inf or 0, as in JavaScript
	return f
}

func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return 99
}

// isDecimalLiteral matches digits [. digits] [e [+-] digits], with digits on
// at least one side of the point.
func isDecimalLiteral(s string) bool {
	i, n := 0, len(s)
	digits := func() int {
		start := i
		for i < n && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	m := digits()
	if i < n && s[i] == '.' {
		i++
		m += digits()
	}
	if m == 0 {
		return false
	}
	if i < n && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < n && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == n
}

func isJSSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// truthy is JavaScript's Boolean(v).
func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case float64:
		return v != 0 && !math.IsNaN(v)
	case string:
		return v != ""
	default:
		return true
	}
}

// strictEqual is JavaScript's a === b. An attribute is never the same object
// as a value written in a condition, so arrays and objects are never equal.
func strictEqual(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case bool:
		bb, ok := b.(bool)
		return ok && a == bb
	case float64:
		bf, ok := b.(float64)
		return ok && a == bf
	case string:
		bs, ok := b.(string)
		return ok && a == bs
	}
	return false
}

// jsLess is JavaScript's a < b: strings compare as strings, anything else as
// numbers after coercion; defined is false when a number is NaN (every
// comparison with NaN is false, including <= and >=).
func jsLess(a, b any) (less, defined bool) {
	pa, pb := toPrimitive(a), toPrimitive(b)
	if sa, ok := pa.(string); ok {
		if sb, ok := pb.(string); ok {
			return sa < sb, true
		}
	}
	na, nb := jsToNumber(pa), jsToNumber(pb)
	if math.IsNaN(na) || math.IsNaN(nb) {
		return false, false
	}
	return na < nb, true
}

// toPrimitive turns arrays and objects into their string forms, as
// JavaScript does before comparing them.
func toPrimitive(v any) any {
	switch v.(type) {
	case nil, bool, float64, string:
		return v
	}
	return jsString(v)
}

// jsonEqual reports whether JSON.stringify(a) === JSON.stringify(b), except
// that object keys compare as sets: decoded attributes do not keep their
// order, and an order-sensitive match would depend on how a client happened
// to serialize its attributes.
func jsonEqual(a, b any) bool {
	switch a := a.(type) {
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return false
		}
		for i := range a {
			if !jsonEqual(a[i], bs[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			w, ok := bm[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	}
	return strictEqual(a, b)
}

// paddedVersion is GrowthBook's paddedVersionString: a version made
// comparable as a string. A leading "v" and build metadata ("+...") are
// dropped, the parts split on "." and "-", a release (exactly three parts)
// gets a "~" part so it sorts after its pre-releases, and numeric parts are
// left-padded to five characters so "10" sorts after " 9".
func paddedVersion(v any) string {
	s, ok := v.(string)
	if f, isNum := v.(float64); isNum {
		s, ok = jsNumber(f), true
	}
	if !ok || s == "" {
		s = "0"
	}
	s = strings.TrimPrefix(s, "v")
	// JavaScript's /\+.*$/ stops at a line break, so a "+" followed by one
	// is kept; look for the first "+" whose tail has none.
	for i := 0; i < len(s); i++ {
		if s[i] == '+' && !strings.ContainsAny(s[i:], "\n\r\u2028\u2029") {
			s = s[:i]
			break
		}
	}
	parts := splitDotDash(s)
	if len(parts) == 3 {
		parts = append(parts, "~")
	}
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('-')
		}
		if isDigits(p) {
			for j := len(p); j < 5; j++ {
				b.WriteByte(' ')
			}
		}
		b.WriteString(p)
	}
	return b.String()
}

// splitDotDash is s.split(/[-.]/), keeping empty parts.
func splitDotDash(s string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' || s[i] == '-' {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
