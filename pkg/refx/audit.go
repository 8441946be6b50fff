package refx

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// AuditResource is the kind of thing an audit entry records a change of.
type AuditResource string

// Audited resources.
const (
	AuditExperiment AuditResource = "experiment"
	AuditFlag       AuditResource = "flag"
	AuditSegment    AuditResource = "segment"
	AuditKey        AuditResource = "key"
	AuditUser       AuditResource = "user"
	AuditLayer      AuditResource = "layer"
	// AuditWebhook: webhook subscriptions (never their secrets).
	AuditWebhook AuditResource = "webhook"
	// AuditReferral records review decisions on a referee's attribution.
	AuditReferral AuditResource = "referral"
	AuditBlock    AuditResource = "block"
	// AuditProgram records programs' edits and the offers conclusions
	// give them.
	AuditProgram AuditResource = "program"
	// AuditReward records people's moves of rewards (approve, reject,
	// issue, reverse).
	AuditReward AuditResource = "reward"
	// AuditCode records codes admins issue (POST /v1/codes).
	AuditCode AuditResource = "code"
)

// AuditResources lists the kinds of audited resources.
var AuditResources = []AuditResource{AuditExperiment, AuditFlag, AuditSegment, AuditKey, AuditUser, AuditLayer, AuditReferral, AuditBlock, AuditWebhook, AuditProgram, AuditReward, AuditCode}

// Valid reports whether r is one of AuditResources.
func (r AuditResource) Valid() bool { return slices.Contains(AuditResources, r) }

// AuditService reads the audit trail. Nothing updates or deletes an entry:
// each is written by the store in the transaction of its change.
type AuditService interface {
	// Audit returns a page of entries, newest first. EINVALID for a cursor
	// it did not return.
	Audit(ctx context.Context, f AuditFilter) (*AuditPage, error)
}

// AuditEntry is one change, as the experiment log keeps it: append-only,
// written in the same transaction as the change it records, so that no
// change exists without its entry and no entry without its change.
type AuditEntry struct {
	// ID orders entries of one resource and names the entry: the change's
	// time, fixed width, and a random suffix.
	ID         string        `json:"id"`
	Resource   AuditResource `json:"resource"`
	ResourceID string        `json:"resource_id"`
	// Action is what was done: "create", "update", "start", "approve",
	// "delete", ...
	Action string    `json:"action"`
	Actor  Actor     `json:"actor"`
	At     time.Time `json:"at"`
	// Before and After are the resource as JSON (null when it did not
	// exist before or does not after); secrets never appear in them.
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
	// Note is the reason given with the change, if any.
	Note string `json:"note,omitempty"`
}

// AuditFilter selects audit entries: those of one resource (Resource and
// ResourceID), of one kind of resource, or all, newest first.
type AuditFilter struct {
	Resource   AuditResource
	ResourceID string
	Limit      int
	Cursor     string
}

// AuditPage is one page of audit entries and the cursor of the next, empty
// on the last.
type AuditPage struct {
	Entries []*AuditEntry `json:"entries"`
	Next    string        `json:"next,omitempty"`
}
