package webhook

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/item"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stream"
)

// The entities events come from (schema/table.md).
const (
	entityAttribution = "attribution"
	entityReward      = "reward"
)

// Reward statuses that are events.
var rewardEvents = map[string]string{"approved": refx.EventRewardApproved, "reversed": refx.EventRewardReversed}

// rewardFields are the attributes of a reward item an event shows: the
// ledger's fields as GET /v1/rewards/{id} shows them, under the same
// names, nothing internal.
var rewardFields = []string{
	"id", "status", "role", "beneficiary", "referrer", "referee", "code", "experiment", "program", "variant",
	"amount", "currency", "qualifying_event", "hold_until", "reason", "issued_ref", "created_at", "updated_at",
}

// Events derives the webhook events of a batch of stream records, in
// order. Each event's id is a hash of the item's key, the event type and
// the change's own time (attributed_at, converted_at, updated_at): the
// same change read again yields the same id, whatever batch it arrives in.
//
//   - an attribution inserted attributed or flagged: referral.attributed or
//     referral.flagged;
//   - an attribution moved from flagged to attributed (a review's
//     approval): referral.attributed;
//   - an attribution whose converted_at is set: referral.converted;
//   - a reward item (inserted or modified) whose status became approved or
//     reversed: reward.approved or reward.reversed.
//
// Removals and TTL expiries are no events.
func Events(records []*stream.Record) ([]*refx.WebhookEvent, error) {
	var out []*refx.WebhookEvent
	for _, r := range records {
		if r.Change != stream.Insert && r.Change != stream.Modify {
			continue
		}
		var evs []*refx.WebhookEvent
		var err error
		switch stream.StringAttr(r.New, "entity") {
		case entityAttribution:
			evs, err = attributionEvents(r)
		case entityReward:
			evs, err = rewardEvent(r)
		}
		if err != nil {
			return nil, fmt.Errorf("webhook.Events: record %s: %w", r.SequenceNumber, err)
		}
		out = append(out, evs...)
	}
	return out, nil
}

func attributionEvents(r *stream.Record) ([]*refx.WebhookEvent, error) {
	var now, before item.Attribution
	if err := attributevalue.UnmarshalMap(r.New, &now); err != nil {
		return nil, err
	}
	if r.Old != nil {
		if err := attributevalue.UnmarshalMap(r.Old, &before); err != nil {
			return nil, err
		}
	}
	data, err := json.Marshal(&refx.Attribution{
		Referee: now.Referee, Referrer: now.Referrer, Code: now.Code, Experiment: now.Experiment,
		Variant: now.Variant, Status: now.Status, Reasons: now.Reasons,
		AttributedAt: now.AttributedAt, ConvertedAt: now.ConvertedAt,
	})
	if err != nil {
		return nil, err
	}
	var out []*refx.WebhookEvent
	add := func(typ string, at time.Time) {
		out = append(out, newEvent(now.Key, typ, at.UTC().Format(time.RFC3339Nano), at, data))
	}
	switch {
	case r.Old == nil && now.Status == refx.AttributionAttributed:
		add(refx.EventReferralAttributed, now.AttributedAt)
	case r.Old == nil && now.Status == refx.AttributionFlagged:
		add(refx.EventReferralFlagged, now.AttributedAt)
	case before.Status == refx.AttributionFlagged && now.Status == refx.AttributionAttributed:
		// The approval's own time is not on the item; the status change
		// happens once per attribution, so its key and type name it.
		out = append(out, newEvent(now.Key, refx.EventReferralAttributed, "approved", r.StreamedAt, data))
	}
	if now.ConvertedAt != nil && before.ConvertedAt == nil {
		add(refx.EventReferralConverted, *now.ConvertedAt)
	}
	return out, nil
}

func rewardEvent(r *stream.Record) ([]*refx.WebhookEvent, error) {
	status := stream.StringAttr(r.New, "status")
	typ, ok := rewardEvents[status]
	if !ok || stream.StringAttr(r.Old, "status") == status {
		return nil, nil
	}
	fields := make(map[string]types.AttributeValue, len(rewardFields))
	for _, name := range rewardFields {
		if v, ok := r.New[name]; ok {
			fields[name] = v
		}
	}
	var shown map[string]any
	if err := attributevalue.UnmarshalMap(fields, &shown); err != nil {
		return nil, err
	}
	data, err := json.Marshal(shown)
	if err != nil {
		return nil, err
	}
	var key item.Key
	if err := attributevalue.UnmarshalMap(r.New, &key); err != nil {
		return nil, err
	}
	stamp := stream.StringAttr(r.New, "updated_at")
	at, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		at = r.StreamedAt
	}
	return []*refx.WebhookEvent{newEvent(key, typ, stamp, at, data)}, nil
}

// eventIDEncoding writes ids in lower-case base32: url-safe, no padding.
var eventIDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newEvent is the event of type typ for the change of the item at key
// that stamp identifies.
func newEvent(key item.Key, typ, stamp string, at time.Time, data []byte) *refx.WebhookEvent {
	h := sha256.Sum256([]byte(key.PK + "\x00" + key.SK + "\x00" + typ + "\x00" + stamp))
	return &refx.WebhookEvent{
		ID:   "evt_" + strings.ToLower(eventIDEncoding.EncodeToString(h[:20])),
		Type: typ, CreatedAt: at.UTC(), Data: data,
	}
}
