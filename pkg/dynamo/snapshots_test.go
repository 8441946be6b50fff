package dynamo_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/refx"
)

// mustEvent records an event or fails.
func mustEvent(tb testing.TB, s *dynamo.Store, e *refx.Event) {
	tb.Helper()
	if _, err := s.RecordEvent(context.Background(), e); err != nil {
		tb.Fatal(err)
	}
}

func TestSnapshot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	s := MustStore(t, dynamo.Options{Now: clk.Now})
	e := MustRunning(t, s, newReferralExperiment("snap"))
	hour := clk.Now().Truncate(time.Hour)

	for _, u := range []string{"alice", "bob", "carol"} {
		if _, err := s.Assign(ctx, e.ID, u, nil); err != nil {
			t.Fatal(err)
		}
	}
	mustEvent(t, s, &refx.Event{ID: uuid(), Type: "purchase", User: "alice", Value: decimal(t, "12.3456")})
	mustLink(t, s, e.ID, "alice")

	dynamotest.MustCount(t, s)
	first, err := s.Snapshot(ctx, e.ID, hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("SameAsResults", func(t *testing.T) {
		res, err := s.Results(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(first.Results())
		want, _ := json.Marshal(res)
		if string(got) != string(want) {
			t.Fatalf("snapshot counts\n got %s\nwant %s", got, want)
		}
		stored, err := s.Snapshots(ctx, e.ID, hour, hour)
		if err != nil || len(stored) != 1 {
			t.Fatalf("Snapshots = %v, %v; want one", stored, err)
		}
		got, _ = json.Marshal(stored[0])
		want, _ = json.Marshal(first)
		if string(got) != string(want) {
			t.Fatalf("stored snapshot\n got %s\nwant %s", got, want)
		}
	})

	t.Run("SamePeriodKeepsNewerTotals", func(t *testing.T) {
		clk.Advance(10 * time.Minute)
		if _, err := s.Assign(ctx, e.ID, "dave", nil); err != nil {
			t.Fatal(err)
		}
		dynamotest.MustCount(t, s)
		again, err := s.Snapshot(ctx, e.ID, hour)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := s.Snapshots(ctx, e.ID, hour.Add(-time.Hour), hour.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(stored) != 1 || snapshotParticipants(stored[0]) != 4 || !stored[0].TakenAt.Equal(again.TakenAt) {
			t.Fatalf("after a second snapshot of the period: %+v", stored)
		}
	})

	t.Run("OlderNeverOverwritesNewer", func(t *testing.T) {
		// A slow attempt whose clock read precedes the stored snapshot's.
		slow := dynamo.New(s.Client(), s.Table(), dynamo.Options{Now: func() time.Time { return clk.Now().Add(-time.Hour) }})
		got, err := slow.Snapshot(ctx, e.ID, hour)
		if err != nil {
			t.Fatal(err)
		}
		if !got.TakenAt.Equal(clk.Now()) {
			t.Fatalf("slow snapshot returned %v, want the stored newer one taken at %v", got.TakenAt, clk.Now())
		}
	})

	t.Run("Range", func(t *testing.T) {
		clk.Advance(time.Hour)
		if _, err := s.Snapshot(ctx, e.ID, hour.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		all, err := s.Snapshots(ctx, e.ID, hour.Add(-24*time.Hour), hour.Add(24*time.Hour))
		if err != nil || len(all) != 2 || !all[0].Period.Equal(hour) || !all[1].Period.Equal(hour.Add(time.Hour)) {
			t.Fatalf("Snapshots = %+v, %v; want two, oldest first", all, err)
		}
		if all[1].Variants[0].Referral == nil {
			t.Fatal("referral totals missing from the snapshot")
		}
		later, err := s.Snapshots(ctx, e.ID, hour.Add(time.Minute), hour.Add(24*time.Hour))
		if err != nil || len(later) != 1 {
			t.Fatalf("Snapshots from after the first period = %d, %v; want one", len(later), err)
		}
		none, err := s.Snapshots(ctx, "no-such", hour, hour)
		if err != nil || len(none) != 0 {
			t.Fatalf("Snapshots of an unknown experiment = %v, %v", none, err)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := s.Snapshot(ctx, "no-such", hour)
		wantCode(t, err, refx.ENOTFOUND)
	})
}

func snapshotParticipants(s refx.Snapshot) int64 {
	var n int64
	for _, v := range s.Variants {
		n += v.Participants
	}
	return n
}

func TestSnapshotAll(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	running := MustRunning(t, s, newExperiment("all-running"))
	stopped := MustRunning(t, s, newExperiment("all-stopped"))
	if _, err := s.SetStatus(ctx, stopped.ID, refx.StatusStopped); err != nil {
		t.Fatal(err)
	}
	draft, _ := newExperiment("all-draft").Build(time.Now())
	if err := s.CreateExperiment(ctx, draft); err != nil {
		t.Fatal(err)
	}
	if err := s.LamedTrack(ctx, refx.LamedTrack{Namespace: "alephbet", Experiment: "hero", Variant: "a", Event: "participate", UUID: "u1"}); err != nil {
		t.Fatal(err)
	}
	// Both running experiments started a moment ago: young, each gets the
	// snapshot of the 5-minute period of the tick.
	cadence := refx.SnapshotCadence{Period: time.Hour, Fine: 5 * time.Minute, Young: 24 * time.Hour}
	now := time.Now().UTC()
	fine := now.Truncate(5 * time.Minute)
	for range 2 { // idempotent per period
		n, err := s.SnapshotAll(ctx, now, cadence)
		if err != nil || n != 2 {
			t.Fatalf("SnapshotAll = %d, %v; want the 2 running experiments", n, err)
		}
	}
	// A day later they are old: the first tick of an hour takes the hour's
	// snapshot, the next ticks of the hour none.
	hour := now.Add(25 * time.Hour).Truncate(time.Hour)
	for _, tick := range []struct {
		at   time.Time
		want int
	}{{hour.Add(time.Minute), 2}, {hour.Add(6 * time.Minute), 0}, {hour.Add(59 * time.Minute), 0}} {
		if n, err := s.SnapshotAll(ctx, tick.at, cadence); err != nil || n != tick.want {
			t.Fatalf("SnapshotAll at %s = %d, %v; want %d", tick.at, n, err, tick.want)
		}
	}
	for id, want := range map[string][]time.Time{
		running.ID: {fine, hour}, stopped.ID: nil, draft.ID: nil, refx.LamedExperimentID("alephbet", "hero"): {fine, hour},
	} {
		got, err := s.Snapshots(ctx, id, fine, hour)
		var periods []time.Time
		for _, snap := range got {
			periods = append(periods, snap.Period)
		}
		if err != nil || !slices.EqualFunc(periods, want, time.Time.Equal) {
			t.Errorf("%s: snapshots of %v (%v), want %v", id, periods, err, want)
		}
	}
}
