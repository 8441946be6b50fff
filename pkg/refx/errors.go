package refx

import (
	"errors"
	"fmt"
)

// Error codes. They are part of the API: clients switch on them, so they
// never change once published. The HTTP adapter maps each to one status.
const (
	EINVALID      = "invalid_argument"
	EUNAUTHORIZED = "unauthorized"
	// EFORBIDDEN: the caller is known but may not do this (a secret key
	// from a browser, guard data from a client key, a namespace not
	// allowed).
	EFORBIDDEN = "forbidden"
	// ERATELIMITED: the caller sent more than its rate limit allows.
	ERATELIMITED = "rate_limited"
	// ELIMIT: a configured quota is reached (experiments per namespace,
	// variants or goals per experiment).
	ELIMIT       = "limit_exceeded"
	ENOTFOUND    = "not_found"
	ECONFLICT    = "conflict"
	EKEYREUSED   = "idempotency_key_reused"
	ETOOLARGE    = "payload_too_large"
	EUNAVAILABLE = "unavailable"
	EINTERNAL    = "internal"
)

// Error is a domain error: a stable code, a message safe to show a client,
// optionally the request field it concerns, and optionally the cause, for
// the logs only.
type Error struct {
	Code    string
	Message string
	Field   string
	Cause   error
}

// Error implements the error interface; the cause is included, for logs.
func (e *Error) Error() string {
	msg := fmt.Sprintf("refx %s: %s", e.Code, e.Message)
	if e.Field != "" {
		msg = fmt.Sprintf("refx %s: %s: %s", e.Code, e.Field, e.Message)
	}
	if e.Cause != nil {
		msg += " (" + e.Cause.Error() + ")"
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an invalid_argument *Error about one request field.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err's *Error, "" for nil and EINTERNAL for any
// other error: an error without a code is a bug or an outage, not a client's
// mistake.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err. Internal errors get a
// generic message so that nothing about the infrastructure leaks.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorField returns the field err concerns, if any.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
