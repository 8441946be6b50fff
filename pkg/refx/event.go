package refx

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"strings"
	"time"
)

// Event limits.
const (
	MaxPropertiesBytes = 4096
	MaxProperties      = 50
	// MaxEventAge and MaxEventSkew bound occurred_at: older events are more
	// likely replays than late arrivals, and clocks ahead by more than the
	// skew are broken.
	MaxEventAge  = 30 * 24 * time.Hour
	MaxEventSkew = 24 * time.Hour
	// MaxBatch is the largest events batch.
	MaxBatch = 25
)

// Event is a referral or conversion event. ID is the client's idempotency key.
type Event struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	User       string         `json:"user"`
	Value      *Decimal       `json:"value,omitempty"`
	OccurredAt *time.Time     `json:"occurred_at,omitempty"`
	Properties map[string]any `json:"properties,omitempty"`
	// ReferralCode, on a signup, attributes the user to the code's referrer
	// before the event is recorded.
	ReferralCode string `json:"referral_code,omitempty"`
	// RefereeIP is the user's address as a customer's backend saw it, for
	// the guards of ReferralCode's attribution: accepted from a secret key
	// only, hashed, never stored with the event nor part of its
	// fingerprint (it describes the request, not the event).
	RefereeIP string `json:"referee_ip,omitempty"`
	// Refund, on an event of type EventRefund, is the id of the earlier
	// event it reverses: that event's counts and rewards are taken back
	// once, however many refunds of it are sent.
	Refund string `json:"refund,omitempty"`
	// Trusted is set by the API, never by a client: the event came with a
	// secret key (a customer's backend). Only trusted events count for
	// server-only goals.
	Trusted bool `json:"-"`
}

// EventRefund is the type of a refund: an event of this type that names an
// earlier event in its Refund field reverses that event, and is not itself
// a conversion of any goal. Without Refund it is an ordinary event, so that
// a goal named refund (a refund-rate guardrail) keeps counting the shop's
// refund events as before refunds could reverse anything.
const EventRefund = "refund"

// IsRefund reports whether e reverses an earlier event.
func (e *Event) IsRefund() bool { return e.Refund != "" }

// Validate checks e against the limits, with now as the current time.
func (e *Event) Validate(now time.Time) error {
	switch {
	case !ValidUUID(e.ID):
		return FieldErrorf("id", "must be a UUID (the idempotency key)")
	case !ValidKey(e.Type):
		return FieldErrorf("type", "must be 1-64 characters of letters, digits, '-', '_' or '.'")
	case !ValidUser(e.User):
		return InvalidUser("user")
	case e.ReferralCode != "" && !ValidCode(e.ReferralCode):
		return FieldErrorf("referral_code", "must be a referral code")
	case e.RefereeIP != "" && (e.ReferralCode == "" || net.ParseIP(e.RefereeIP) == nil):
		return FieldErrorf("referee_ip", "must be an IPv4 or IPv6 address, with a referral_code")
	case e.Type != EventRefund && e.Refund != "":
		return FieldErrorf("refund", "is only for events of type refund")
	case e.IsRefund() && !ValidUUID(e.Refund):
		return FieldErrorf("refund", "must be the id (a UUID) of the event to refund")
	case e.IsRefund() && e.Refund == e.ID:
		return FieldErrorf("refund", "must name an earlier event, not the refund itself")
	case e.IsRefund() && (e.Value != nil || e.ReferralCode != ""):
		// A refund takes back the whole event it names; it has no value
		// of its own and converts no one.
		return FieldErrorf("type", "a refund carries no value nor referral_code")
	}
	if e.OccurredAt != nil {
		t := *e.OccurredAt
		if t.Before(now.Add(-MaxEventAge)) || t.After(now.Add(MaxEventSkew)) {
			return FieldErrorf("occurred_at", "must be within the last 30 days and not more than a day ahead")
		}
	}
	if len(e.Properties) > MaxProperties {
		return FieldErrorf("properties", "must have at most %d keys", MaxProperties)
	}
	if e.Properties != nil {
		b, err := json.Marshal(e.Properties)
		if err != nil || len(b) > MaxPropertiesBytes {
			return FieldErrorf("properties", "must encode to at most %d bytes of JSON", MaxPropertiesBytes)
		}
	}
	return nil
}

// Normalize puts fields that have one canonical form in it, before they are
// validated, fingerprinted or stored: a UUID id in lower case (hex digits
// are case-insensitive, so an upper-case copy of an id is the same key, not
// a second event), the user in NFC (NormalizeUser), and referral codes in
// upper case, as in links. An id that is not a UUID is left as it is (and
// refused by Validate).
func (e *Event) Normalize() {
	if ValidUUID(e.ID) {
		e.ID = strings.ToLower(e.ID)
	}
	e.User = NormalizeUser(e.User)
	e.ReferralCode = strings.ToUpper(e.ReferralCode)
	if ValidUUID(e.Refund) {
		e.Refund = strings.ToLower(e.Refund)
	}
}

// Fingerprint is a digest of everything the client sent except the id. Two
// requests with one id and equal fingerprints are a retry; different
// fingerprints mean the key was reused for another event.
func (e *Event) Fingerprint() string {
	canonical := struct {
		Type       string         `json:"t"`
		User       string         `json:"u"`
		Value      *Decimal       `json:"v"`
		OccurredAt *time.Time     `json:"o"`
		Properties map[string]any `json:"p"`
		Code       string         `json:"c,omitempty"`
		Refund     string         `json:"r,omitempty"`
	}{e.Type, e.User, e.Value, nil, e.Properties, e.ReferralCode, e.Refund}
	if e.OccurredAt != nil {
		t := e.OccurredAt.UTC()
		canonical.OccurredAt = &t
	}
	// encoding/json sorts map keys, so equal properties encode equally.
	b, _ := json.Marshal(canonical)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
