package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/refx-dev/refx/pkg/refx"
)

// statusOf maps every domain error code to its HTTP status. It is the only
// place where codes meet statuses.
var statusOf = map[string]int{
	refx.EINVALID:      http.StatusBadRequest,
	refx.EUNAUTHORIZED: http.StatusUnauthorized,
	refx.EFORBIDDEN:    http.StatusForbidden,
	refx.ERATELIMITED:  http.StatusTooManyRequests,
	refx.ELIMIT:        http.StatusForbidden,
	refx.ENOTFOUND:     http.StatusNotFound,
	refx.ECONFLICT:     http.StatusConflict,
	refx.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	refx.EKEYREUSED:    http.StatusUnprocessableEntity,
	refx.EUNAVAILABLE:  http.StatusServiceUnavailable,
	refx.EINTERNAL:     http.StatusInternalServerError,
}

// retryAfterSeconds is what 503 answers ask clients to wait: the store's
// own backoff has already spent about a second on the request.
const retryAfterSeconds = "1"

// StatusOf returns the HTTP status for an error code.
func StatusOf(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail describes one error: a stable code, a message for people, the
// request field concerned if any, and the request id to quote to support.
type ErrorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

func errorDetail(ctx context.Context, err error) ErrorDetail {
	return ErrorDetail{
		Code:      refx.ErrorCode(err),
		Message:   refx.ErrorMessage(err),
		Field:     refx.ErrorField(err),
		RequestID: requestID(ctx),
	}
}

// writeError answers with err's code and status. Internal errors are logged
// with their cause; clients get a generic message.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	detail := errorDetail(r.Context(), err)
	if detail.Code == refx.EINTERNAL {
		logger(r.Context()).ErrorContext(r.Context(), "internal error", "err", err)
	} else if detail.Code == refx.EUNAVAILABLE {
		logger(r.Context()).WarnContext(r.Context(), "unavailable", "err", err)
		// The same request may be sent again: every write path is
		// idempotent, and nothing was half-written.
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	writeJSON(w, StatusOf(detail.Code), ErrorBody{Error: detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		slog.Error("encode response", "err", err)
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	writeJSONBytes(w, status, b)
}

// writeJSONBytes writes b, one JSON value, as writeJSON does.
func writeJSONBytes(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
