package dynamo

import (
	"testing"
	"time"
)

func TestKeys(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.FixedZone("X", 3600))
	tests := []struct {
		name     string
		got      itemKey
		pk, sk   string
		attrSize int
	}{
		{"Experiment", experimentKey("cta"), "EXP#cta", "META", 2},
		{"Assignment", assignmentKey("user#1", "cta", 1), "USER#user#1", "ASSIGN#cta", 2},
		{"AssignmentBeforePhases", assignmentKey("user#1", "cta", 0), "USER#user#1", "ASSIGN#cta", 2},
		{"AssignmentPhase", assignmentKey("user#1", "cta", 12), "USER#user#1", "ASSIGN#cta#P12", 2},
		{"Event", eventKey("6f1c"), "EVENT#6f1c", "EVENT", 2},
		{"Refund", refundKey("6f1c"), "EVENT#6f1c", "REFUND", 2},
		{"ConversionGoal", conversionChangeKey("user#1", goalConversionScope("cta", 2, "signup"), 3), "CONV#user#1", "cta#P2#GOAL#signup#00000003", 2},
		{"ConversionReferral", conversionChangeKey("user#1", referralConversionScope("give-get"), 12), "CONV#user#1", "give-get#REFERRAL#00000012", 2},
		{"Participants", participantsKey("cta", 7, "bold"), "COUNT#cta#007", "VARIANT#bold#PARTICIPANTS", 2},
		{"Goal", goalKey("cta", 63, "bold", "signup"), "COUNT#cta#063", "VARIANT#bold#GOAL#signup", 2},
		{"GoalPhase", goalKey(phaseScope("cta", 2), 63, "bold", "signup"), "COUNT#cta#P2#063", "VARIANT#bold#GOAL#signup", 2},
		{"Snapshot", snapshotKey("cta", created), "SNAP#cta", "2026-01-02T02:04:05.600000Z", 2},
		{"Erasure", erasureKey("ab12"), "ERASURE#ab12", "ERASURE", 2},
		{"Flag", flagKey("new-checkout"), "FLAGS", "FLAG#new-checkout", 2},
		{"Segment", segmentKey("beta-users"), "FLAGS", "SEGMENT#beta-users", 2},
		{"FlagsMeta", flagsMetaKey, "FLAGS", "META", 2},
		{"FlagPayload", flagPayloadKey("production"), "FLAGPAYLOAD#production", "PAYLOAD", 2},
		{"FlagHoldout", flagHoldoutKey("hold-2027"), "FLAGHOLDOUTS", "hold-2027", 2},
		{"Program", programKey("give-get"), "PROGRAM#give-get", "PROGRAM", 2},
		{"ProgramCounter", programCounterKey("give-get"), "COUNT#PROGRAM#give-get", "TOTALS", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got.PK != tt.pk || tt.got.SK != tt.sk || len(tt.got.Attributes()) != tt.attrSize {
				t.Fatalf("key = %+v, want %s / %s", tt.got, tt.pk, tt.sk)
			}
		})
	}
	if got := experimentListSK(created, "cta"); got != "2026-01-02T02:04:05.600000Z#cta" {
		t.Fatalf("list sort key = %s", got)
	}
	if pk, sk := userEventsPK("user#1"), userEventsSK(created, "6f1c"); pk != "USEREVENTS#user#1" || sk != "2026-01-02T02:04:05.600000Z#6f1c" {
		t.Fatalf("user events index keys = %s / %s", pk, sk)
	}
	// Fixed width: a later time always sorts after an earlier one.
	if experimentListSK(created.Add(time.Microsecond), "a") <= experimentListSK(created, "z") {
		t.Fatal("list sort keys do not sort by time")
	}
	for _, shards := range []int{1, 8, 64} {
		if s := shardOf("6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90", shards); s < 0 || s >= shards || s != shardOf("6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90", shards) {
			t.Fatalf("shardOf out of range or unstable for %d shards: %d", shards, s)
		}
	}
}
