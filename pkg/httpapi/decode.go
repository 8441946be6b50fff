package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/refx-dev/refx/pkg/refx"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

// decodeJSON reads exactly one JSON object into v, refusing unknown fields,
// trailing data, bodies over MaxBodyBytes, and text that encoding/json
// would silently rewrite or resolve (checkText). Numbers inside free-form
// values stay exact (json.Number).
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeBody(http.MaxBytesReader(w, r.Body, MaxBodyBytes), v)
}

func decodeBody(body io.Reader, v any) error {
	raw, err := io.ReadAll(body)
	if err != nil {
		return decodeError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return refx.Errorf(refx.EINVALID, "the body must hold exactly one JSON value")
	}
	// After the decoder, so that raw is known to be one well-formed JSON
	// value and syntax errors keep the decoder's messages.
	return checkText(raw)
}

// checkText refuses what encoding/json accepts but should not reach a
// handler: invalid UTF-8 and unpaired surrogate escapes ("\ud800"), which
// it replaces with U+FFFD, so that two different ids would become one; and
// duplicate object keys, of which the last silently wins, so that a
// reviewer or a proxy reading the first sees another request than refx.
// Keys are compared as encoding/json matches them to fields, ignoring case
// ("user", "USER" and "uſer" all set User). raw must be well-formed JSON:
// the scan is one pass over at most MaxBodyBytes that only tracks strings
// and nesting, and names the offending field as "events[1].user".
func checkText(raw []byte) error {
	var stack []textFrame
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '{':
			stack = append(stack, textFrame{object: true, wantKey: true})
		case '[':
			stack = append(stack, textFrame{})
		case '}', ']':
			stack = stack[:len(stack)-1]
		case ',':
			if top := &stack[len(stack)-1]; top.object {
				top.wantKey = true
			} else {
				top.index++
			}
		case '"':
			end, escaped, ok := scanString(raw, i)
			isKey := len(stack) > 0 && stack[len(stack)-1].wantKey
			switch {
			case !ok && isKey:
				return textError(stack[:len(stack)-1], "", "has a key that is not valid UTF-8 (unpaired surrogates included)")
			case !ok:
				return textError(stack, "", "must be valid UTF-8 text (unpaired surrogates included)")
			case isKey:
				top := &stack[len(stack)-1]
				top.wantKey, top.key = false, string(raw[i+1:end])
				if escaped {
					json.Unmarshal(raw[i:end+1], &top.key)
				}
				folded := foldKey(top.key)
				if _, dup := top.keys[folded]; dup {
					return textError(stack[:len(stack)-1], top.key, "is given more than once (keys are compared ignoring case)")
				}
				if top.keys == nil {
					top.keys = map[string]struct{}{}
				}
				top.keys[folded] = struct{}{}
			}
			i = end
		}
	}
	return nil
}

// textFrame is an object or array checkText is inside of.
type textFrame struct {
	object, wantKey bool
	key             string // the current member's, in an object
	index           int    // the current element's, in an array
	keys            map[string]struct{}
}

// scanString scans the well-formed JSON string starting at raw[start] (its
// opening quote): end is the index of its closing quote, escaped says
// whether it holds escapes, and ok whether it is valid UTF-8 with every
// surrogate escape in a high-low pair.
func scanString(raw []byte, start int) (end int, escaped, ok bool) {
	ok = true
	i := start + 1
	for ; raw[i] != '"'; i++ {
		if raw[i] != '\\' {
			continue
		}
		escaped = true
		i++
		if raw[i] != 'u' {
			continue
		}
		switch r := hex4(raw[i+1:]); {
		case utf16.IsSurrogate(r) && r < 0xdc00:
			// A high surrogate: the next escape must be a low one.
			if i+10 < len(raw) && raw[i+5] == '\\' && raw[i+6] == 'u' {
				if low := hex4(raw[i+7:]); low >= 0xdc00 && low <= 0xdfff {
					i += 6
					break
				}
			}
			ok = false
		case utf16.IsSurrogate(r):
			ok = false
		}
		i += 4
	}
	return i, escaped, ok && utf8.Valid(raw[start+1:i])
}

// hex4 is the value of the 4 hex digits b starts with.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// foldKey folds a key as encoding/json does when it matches keys to struct
// fields.
func foldKey(k string) string {
	return strings.Map(func(r rune) rune { return unicode.ToUpper(unicode.ToLower(r)) }, k)
}

// textError is the error about the value at path stack (plus key, when
// given); a body-level error when the path is empty.
func textError(stack []textFrame, key, message string) error {
	var b strings.Builder
	for _, f := range stack {
		if !f.object {
			fmt.Fprintf(&b, "[%d]", f.index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(f.key)
	}
	if key != "" {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(key)
	}
	if b.Len() == 0 {
		return refx.Errorf(refx.EINVALID, "the body %s", message)
	}
	return refx.FieldErrorf(b.String(), "%s", message)
}

// decodeError turns a decoding failure into a client error naming the field
// where possible.
func decodeError(err error) error {
	var (
		domain    *refx.Error
		tooLarge  *http.MaxBytesError
		syntax    *json.SyntaxError
		wrongType *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &domain):
		return domain
	case errors.As(err, &tooLarge):
		return refx.Errorf(refx.ETOOLARGE, "the body must be at most %d bytes", tooLarge.Limit)
	case errors.Is(err, io.EOF):
		return refx.Errorf(refx.EINVALID, "the body must be a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return refx.Errorf(refx.EINVALID, "the body ends in the middle of a JSON value")
	case errors.As(err, &syntax):
		return refx.Errorf(refx.EINVALID, "malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &wrongType):
		if wrongType.Field == "" {
			return refx.Errorf(refx.EINVALID, "the body must be a JSON object")
		}
		return refx.FieldErrorf(wrongType.Field, "must be a JSON %s", jsonKind(wrongType.Type.String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return refx.FieldErrorf(name, "is not a known field")
	}
	return refx.Errorf(refx.EINVALID, "the body is not valid for this request: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(goType string) string {
	switch {
	case strings.Contains(goType, "int"), strings.Contains(goType, "float"), goType == "refx.Decimal":
		return "number"
	case goType == "string":
		return "string"
	case goType == "bool":
		return "boolean"
	case strings.HasPrefix(goType, "[]"):
		return "array"
	}
	return fmt.Sprintf("value of the documented shape (%s)", strings.TrimPrefix(goType, "refx."))
}
