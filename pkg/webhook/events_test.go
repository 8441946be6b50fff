package webhook_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/item"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stream"
	"github.com/refx-dev/refx/pkg/webhook"
)

var at = time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)

func attribution(tb testing.TB, status string, converted *time.Time) map[string]types.AttributeValue {
	tb.Helper()
	av, err := attributevalue.MarshalMap(item.Attribution{
		Key: item.Key{PK: "USER#bob", SK: "ATTRIBUTION"}, Entity: "attribution", Referee: "bob", Referrer: "alice",
		Code: "ABCDEFGH", Experiment: "offer", Variant: "bold", Counted: true, Status: status, AttributedAt: at, ConvertedAt: converted,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return av
}

func reward(status, updated string) map[string]types.AttributeValue {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	return map[string]types.AttributeValue{
		"pk": s("REWARD#SIGNUP#bob"), "sk": s("REFERRER"), "entity": s("reward"), "id": s("U0lHTlVQI2JvYnxyZWZlcnJlcg"),
		"status": s(status), "role": s("referrer"), "beneficiary": s("alice"), "amount": s("10.00"), "currency": s("USD"),
		"updated_at": s(updated), "internal_counter": &types.AttributeValueMemberN{Value: "3"},
	}
}

// TestEvents derives events from each change the contract names, and
// checks that a change read twice has one id and two changes two.
func TestEvents(t *testing.T) {
	t.Parallel()
	converted := at.Add(time.Hour)
	rec := func(c stream.Change, old, new map[string]types.AttributeValue) *stream.Record {
		return &stream.Record{Change: c, Old: old, New: new, StreamedAt: at.Add(2 * time.Hour)}
	}
	for _, tc := range []struct {
		name string
		rec  *stream.Record
		want []string
	}{
		{"Attributed", rec(stream.Insert, nil, attribution(t, "attributed", nil)), []string{refx.EventReferralAttributed}},
		{"Flagged", rec(stream.Insert, nil, attribution(t, "flagged", nil)), []string{refx.EventReferralFlagged}},
		{"Approved", rec(stream.Modify, attribution(t, "flagged", nil), attribution(t, "attributed", nil)), []string{refx.EventReferralAttributed}},
		{"Converted", rec(stream.Modify, attribution(t, "attributed", nil), attribution(t, "attributed", &converted)), []string{refx.EventReferralConverted}},
		{"ConvertedAgain", rec(stream.Modify, attribution(t, "attributed", &converted), attribution(t, "attributed", &converted)), nil},
		{"Rejected", rec(stream.Modify, attribution(t, "flagged", nil), attribution(t, "rejected", nil)), nil},
		{"Refused", rec(stream.Insert, nil, attribution(t, "refused", nil)), nil},
		{"Removed", rec(stream.Remove, attribution(t, "attributed", nil), nil), nil},
		{"RewardPending", rec(stream.Insert, nil, reward("pending", "2026-12-07T01:00:00Z")), nil},
		{"RewardApprovedAtOnce", rec(stream.Insert, nil, reward("approved", "2026-12-07T01:00:00Z")), []string{refx.EventRewardApproved}},
		{"RewardApproved", rec(stream.Modify, reward("pending", "2026-12-07T01:00:00Z"), reward("approved", "2026-12-07T02:00:00Z")), []string{refx.EventRewardApproved}},
		{"RewardReversed", rec(stream.Modify, reward("issued", "2026-12-07T02:00:00Z"), reward("reversed", "2026-12-07T03:00:00Z")), []string{refx.EventRewardReversed}},
		{"RewardTouched", rec(stream.Modify, reward("approved", "2026-12-07T02:00:00Z"), reward("approved", "2026-12-07T02:00:00Z")), nil},
		{"OtherEntity", rec(stream.Insert, nil, map[string]types.AttributeValue{"entity": &types.AttributeValueMemberS{Value: "click"}}), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := webhook.Events([]*stream.Record{tc.rec, tc.rec})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 2*len(tc.want) {
				t.Fatalf("%d events, want %v twice", len(evs), tc.want)
			}
			for i, typ := range tc.want {
				first, again := evs[i], evs[i+len(tc.want)]
				if first.Type != typ || first.ID != again.ID || len(first.ID) != 36 || !first.CreatedAt.Equal(again.CreatedAt) {
					t.Fatalf("event %+v then %+v, want %s twice with one id", first, again, typ)
				}
				var data map[string]any
				if err := json.Unmarshal(first.Data, &data); err != nil {
					t.Fatal(err)
				}
				if _, leaked := data["internal_counter"]; leaked || (data["referrer"] == nil && data["beneficiary"] == nil) {
					t.Fatalf("data %s", first.Data)
				}
			}
		})
	}
	// Distinct changes of one item are distinct events.
	evs, err := webhook.Events([]*stream.Record{
		rec(stream.Insert, nil, reward("approved", "2026-12-07T01:00:00Z")),
		rec(stream.Modify, reward("reversed", "2026-12-07T02:00:00Z"), reward("approved", "2026-12-07T03:00:00Z")),
		rec(stream.Insert, nil, attribution(t, "attributed", nil)),
		rec(stream.Modify, attribution(t, "flagged", nil), attribution(t, "attributed", nil)),
	})
	if err != nil || len(evs) != 4 {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	if evs[0].ID == evs[1].ID || evs[2].ID == evs[3].ID {
		t.Fatalf("two changes share an id: %s %s %s %s", evs[0].ID, evs[1].ID, evs[2].ID, evs[3].ID)
	}
}
