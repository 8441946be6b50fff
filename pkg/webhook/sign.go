package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// The headers of a delivery.
const (
	// SignatureHeader is "t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
	// "<t>.<body>")>"; while a secret is rotated a receiver may see
	// several v1 entries, any of which may match.
	SignatureHeader = "Refx-Signature"
	// IDHeader is the event's id, the same on every attempt.
	IDHeader = "Refx-Webhook-Id"
	// TypeHeader is the event's type.
	TypeHeader = "Refx-Event-Type"
)

// DefaultTolerance is the replay window Verify is meant to be given: a
// signature older (or further in the future) than this is refused.
const DefaultTolerance = 5 * time.Minute

// Verification failures.
var (
	ErrNoSignature = errors.New("webhook: no valid Refx-Signature header")
	ErrStale       = errors.New("webhook: signature timestamp outside the tolerance")
	ErrSignature   = errors.New("webhook: no signature matches the body")
)

// Sign returns the SignatureHeader value of body signed with secret at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + signature(secret, ts, body)
}

func signature(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a delivery as a receiver should: header is the
// SignatureHeader value, body the raw request body, and the timestamp must
// be within tolerance of now, so that a captured delivery cannot be
// replayed later. The comparison is constant-time.
func Verify(secret, header string, body []byte, tolerance time.Duration, now time.Time) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	want := []byte(signature(secret, ts, body))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), want) {
			return nil
		}
	}
	return ErrSignature
}
