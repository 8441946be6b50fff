package refx

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Webhook event types: what a subscription may ask to be told.
const (
	// EventReferralAttributed: a referee's signup was attributed, or a
	// flagged one was approved.
	EventReferralAttributed = "referral.attributed"
	// EventReferralFlagged: a signup was attributed but held for review.
	EventReferralFlagged = "referral.flagged"
	// EventReferralConverted: an attributed referee converted for the
	// first time.
	EventReferralConverted = "referral.converted"
	// EventRewardApproved and EventRewardReversed: a reward in the ledger
	// reached that status.
	EventRewardApproved = "reward.approved"
	EventRewardReversed = "reward.reversed"
)

// WebhookEventTypes lists the event types, in the order the API documents
// them.
var WebhookEventTypes = []string{
	EventReferralAttributed, EventReferralFlagged, EventReferralConverted, EventRewardApproved, EventRewardReversed,
}

// Webhook limits.
const (
	maxWebhookDescription = 500
	// WebhookSecretPrefix starts every signing secret, so that a leaked
	// one is recognisable in logs and by secret scanners.
	WebhookSecretPrefix = "whsec_"
	webhookIDPrefix     = "wh_"
)

// Webhook is a subscription: where to POST which events. Its secret signs
// every delivery; it is shown once, when created or rotated, and never in
// the API's answers, audit entries or exports after that (json "-").
type Webhook struct {
	ID          string    `json:"id"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"`
	Description string    `json:"description,omitempty"`
	Disabled    bool      `json:"disabled"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Secret      string    `json:"-"`
}

// Wants reports whether the subscription is enabled and asks for events of
// type typ.
func (w *Webhook) Wants(typ string) bool { return !w.Disabled && slices.Contains(w.Events, typ) }

// WebhookWithSecret is a subscription as its creation and a secret rotation
// answer it: the only times the secret is shown.
type WebhookWithSecret struct {
	*Webhook
	Secret string `json:"secret"`
}

// NewWebhook is the body of POST /v1/webhooks.
type NewWebhook struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description"`
}

// Build validates the request and returns the subscription with a fresh id
// and secret. The URL's shape is checked here; whether its host may be
// called is the deployment's policy (pkg/webhook.CheckTarget).
func (n NewWebhook) Build(now time.Time) (*Webhook, error) {
	now = now.UTC()
	w := &Webhook{
		ID: webhookIDPrefix + strings.ToLower(rand.Text()[:16]), URL: n.URL, Events: n.Events,
		Description: n.Description, Version: 1, CreatedAt: now, UpdatedAt: now, Secret: NewWebhookSecret(),
	}
	return w, w.validate()
}

// NewWebhookSecret returns a fresh signing secret: 128 random bits.
func NewWebhookSecret() string { return WebhookSecretPrefix + rand.Text() }

// ValidWebhookID reports whether s has the shape of a subscription id.
func ValidWebhookID(s string) bool {
	rest, ok := strings.CutPrefix(s, webhookIDPrefix)
	if !ok || len(rest) != 16 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

func (w *Webhook) validate() error {
	if err := ValidateWebhookURL(w.URL); err != nil {
		return err
	}
	if len(w.Events) == 0 {
		return FieldErrorf("events", "must list at least one of %s", strings.Join(WebhookEventTypes, ", "))
	}
	for i, e := range w.Events {
		if !slices.Contains(WebhookEventTypes, e) {
			return FieldErrorf("events", "%q is not an event type: one of %s", e, strings.Join(WebhookEventTypes, ", "))
		}
		if slices.Contains(w.Events[:i], e) {
			return FieldErrorf("events", "%q is listed twice", e)
		}
	}
	if len(w.Description) > maxWebhookDescription {
		return FieldErrorf("description", "must be at most %d bytes", maxWebhookDescription)
	}
	return nil
}

// ValidateWebhookURL checks a subscription URL's shape: an absolute http(s)
// URL without credentials or fragment, of at most 2048 bytes. Plain http
// and private hosts are refused later, by the deployment's policy.
func ValidateWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if raw == "" || len(raw) > maxURLLen || err != nil || u.Hostname() == "" || (u.Scheme != "https" && u.Scheme != "http") ||
		u.User != nil || u.Fragment != "" {
		return FieldErrorf("url", "must be an absolute https URL without credentials or fragment, of at most %d bytes", maxURLLen)
	}
	return nil
}

// WebhookPatch is the body of PATCH /v1/webhooks/{id}: the fields given
// replace the stored ones if Version is the stored version.
type WebhookPatch struct {
	Version     int64     `json:"version"`
	URL         *string   `json:"url"`
	Events      *[]string `json:"events"`
	Description *string   `json:"description"`
	Disabled    *bool     `json:"disabled"`
}

// Apply returns w changed by p, validated, its version counted up.
func (w *Webhook) Apply(p WebhookPatch, now time.Time) (*Webhook, error) {
	next := *w
	if p.URL != nil {
		next.URL = *p.URL
	}
	if p.Events != nil {
		next.Events = *p.Events
	}
	if p.Description != nil {
		next.Description = *p.Description
	}
	if p.Disabled != nil {
		next.Disabled = *p.Disabled
	}
	next.Version, next.UpdatedAt = w.Version+1, now.UTC()
	return &next, next.validate()
}

// WebhookEvent is the envelope every delivery carries. ID is derived from
// the table change that caused it, so that a change read twice from the
// stream yields the same id: receivers deduplicate on it (it is also the
// Refx-Webhook-Id header).
type WebhookEvent struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// WebhookDelivery is one attempt to deliver an event to a subscription, as
// the delivery log keeps it (for 30 days).
type WebhookDelivery struct {
	Webhook string    `json:"webhook"`
	Event   string    `json:"event"`
	Type    string    `json:"type"`
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	// StatusCode is the receiver's answer, 0 when none came.
	StatusCode int     `json:"status_code,omitempty"`
	LatencyMS  float64 `json:"latency_ms"`
	Delivered  bool    `json:"delivered"`
	Error      string  `json:"error,omitempty"`
}

// WebhookPage is one page of subscriptions.
type WebhookPage struct {
	Webhooks   []*Webhook `json:"webhooks"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// WebhookDeliveryPage is one page of a subscription's delivery log, newest
// first.
type WebhookDeliveryPage struct {
	Deliveries []*WebhookDelivery `json:"deliveries"`
	NextCursor string             `json:"next_cursor,omitempty"`
}

// WebhookService manages subscriptions; every change is written with its
// audit entry (resource webhook), the secret left out.
type WebhookService interface {
	// CreateWebhook stores a new subscription. ECONFLICT if the id exists.
	CreateWebhook(ctx context.Context, w *Webhook) error
	// Webhook reads a subscription. ENOTFOUND.
	Webhook(ctx context.Context, id string) (*Webhook, error)
	// Webhooks lists subscriptions, newest first. EINVALID for a bad cursor.
	Webhooks(ctx context.Context, limit int, cursor string) (*WebhookPage, error)
	// UpdateWebhook applies a patch if its version is current. ECONFLICT,
	// ENOTFOUND, EINVALID.
	UpdateWebhook(ctx context.Context, id string, p WebhookPatch) (*Webhook, error)
	// RotateWebhookSecret gives a subscription a new secret and returns it.
	// ENOTFOUND.
	RotateWebhookSecret(ctx context.Context, id string) (*WebhookWithSecret, error)
	// DeleteWebhook deletes a subscription. ENOTFOUND.
	DeleteWebhook(ctx context.Context, id string) error
	// WebhookDeliveries reads a subscription's delivery log, newest first.
	// EINVALID for a bad cursor.
	WebhookDeliveries(ctx context.Context, id string, limit int, cursor string) (*WebhookDeliveryPage, error)
}
