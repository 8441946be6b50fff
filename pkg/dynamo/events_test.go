package dynamo_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/refx"
)

// uuid returns a random UUID-shaped idempotency key.
func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func decimal(tb testing.TB, s string) *refx.Decimal {
	tb.Helper()
	d, err := refx.ParseDecimal(s)
	if err != nil {
		tb.Fatal(err)
	}
	return &d
}

func TestRecordEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	e := MustRunning(t, s, newExperiment("events"))
	a, err := s.Assign(ctx, e.ID, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	signup := &refx.Event{ID: uuid(), Type: "signup", User: "alice"}
	purchase1 := &refx.Event{ID: uuid(), Type: "purchase", User: "alice", Value: decimal(t, "12.5")}
	purchase2 := &refx.Event{ID: uuid(), Type: "purchase", User: "alice", Value: decimal(t, "0.0001")}
	reused := *purchase2
	reused.Value = decimal(t, "99")
	stranger := &refx.Event{ID: uuid(), Type: "signup", User: "never-assigned"}
	unmeasured := &refx.Event{ID: uuid(), Type: "share", User: "alice"}

	tests := []struct {
		name    string
		event   *refx.Event
		status  string
		code    string
		credits int
	}{
		{"Recorded", signup, refx.EventRecorded, "", 1},
		{"Duplicate", signup, refx.EventDuplicate, "", 1},
		{"Purchase", purchase1, refx.EventRecorded, "", 1},
		{"SecondPurchase", purchase2, refx.EventRecorded, "", 1},
		{"ErrReusedKey", &reused, "", refx.EKEYREUSED, 0},
		{"NotAssigned", stranger, refx.EventRecorded, "", 0},
		{"NotMeasured", unmeasured, refx.EventRecorded, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := s.RecordEvent(ctx, tt.event)
			wantCode(t, err, tt.code)
			if err != nil {
				return
			}
			if res.Status != tt.status || len(res.Credits) != tt.credits {
				t.Fatalf("result = %+v, want status %s with %d credits", res, tt.status, tt.credits)
			}
		})
	}
	got := mustResults(t, s, e.ID)[a.Variant]
	want := map[string]refx.GoalCounts{
		"signup":   {Users: 1, Events: 1, ValueSum: "0", ValueSumSq: "0", ValueParticipantSumSq: "0"},
		"purchase": {Users: 1, Events: 2, ValueSum: "12.5001", ValueSumSq: "156.25000001", ValueParticipantSumSq: "156.25250001"},
	}
	if got.Participants != 1 || fmt.Sprint(got.Goals) != fmt.Sprint(want) {
		t.Fatalf("results = %+v, want participants 1 and %v", got, want)
	}
}

func TestStoppedExperimentCountsNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{ExperimentCacheTTL: time.Hour})
	e := MustRunning(t, s, newExperiment("stops"))
	a, err := s.Assign(ctx, e.ID, "erin", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Another Lambda stops it; this store's cache still says running: the
	// event is recorded with the credit its stale plan made, and the
	// aggregator, reading the experiment with the batch, does not count it.
	other := dynamo.New(s.Client(), s.Table(), dynamo.Options{})
	if _, err := other.SetStatus(ctx, e.ID, refx.StatusStopped); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: "signup", User: "erin"}); err != nil {
		t.Fatal(err)
	}
	if g := mustResults(t, s, e.ID)[a.Variant].Goals["signup"]; g.Events != 0 {
		t.Fatalf("counted %d events after stop", g.Events)
	}
}
