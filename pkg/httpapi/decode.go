package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/refx-dev/refx/pkg/refx"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

// decodeJSON reads exactly one JSON object into v, refusing unknown fields,
// trailing data and bodies over MaxBodyBytes. Numbers inside free-form
// values stay exact (json.Number).
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeBody(http.MaxBytesReader(w, r.Body, MaxBodyBytes), v)
}

func decodeBody(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return decodeError(err)
		}
		return refx.Errorf(refx.EINVALID, "the body must hold exactly one JSON value")
	}
	return nil
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
		return refx.Errorf(refx.ETOOLARGE, "the body must be at most %d bytes", MaxBodyBytes)
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
