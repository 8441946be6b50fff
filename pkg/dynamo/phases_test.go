package dynamo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/refx"
)

// phaseCounts is a recount of one phase from what the requests answered:
// participants and signup converters per arm.
type phaseCounts map[string][2]int64

func (c phaseCounts) add(arm string, participants, users int64) {
	v := c[arm]
	c[arm] = [2]int64{v[0] + participants, v[1] + users}
}

func mustPhaseCounts(t *testing.T, s *dynamo.Store, id string, phase int) (phaseCounts, *refx.Results) {
	t.Helper()
	dynamotest.MustCount(t, s)
	res, err := s.PhaseResults(context.Background(), id, phase)
	if err != nil {
		t.Fatal(err)
	}
	out := phaseCounts{}
	for _, v := range res.Variants {
		out[v.Key] = [2]int64{v.Participants, v.Goals["signup"].Users}
	}
	return out, res
}

// TestPhases: a new phase re-randomizes (about 1 − Σw² of users change
// arm), counts apart from the old one, whose counts stay final even for a
// server whose cache still says phase 1, and credits a user's events only
// once they are assigned in the new phase; each phase's results equal a
// recount.
func TestPhases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table, dynamo.Options{})
	// A second server whose cached experiment outlives the phase change.
	stale := dynamo.New(client, table, dynamo.Options{ExperimentCacheTTL: time.Hour})
	e := MustRunning(t, s, newExperiment("phased"))
	const users = 2000
	signup := func(t *testing.T, through *dynamo.Store, user, id string) {
		t.Helper()
		if _, err := through.RecordEvent(ctx, &refx.Event{ID: id, Type: "signup", User: user}); err != nil {
			t.Fatal(err)
		}
	}
	arm1 := map[string]string{}
	want1 := phaseCounts{}
	for i := range users {
		user := fmt.Sprint("user-", i)
		a, err := s.Assign(ctx, e.ID, user, nil)
		if err != nil || !a.Enrolled {
			t.Fatalf("assign %s: %+v, %v", user, a, err)
		}
		arm1[user] = a.Variant
		converted := int64(0)
		if i%2 == 0 {
			signup(t, s, user, "p1-"+user)
			converted = 1
		}
		want1.add(a.Variant, 1, converted)
	}
	// The stale server reads the experiment now, in phase 1, and keeps it.
	if _, err := stale.Assign(ctx, e.ID, "user-0", nil); err != nil {
		t.Fatal(err)
	}
	got1, _ := mustPhaseCounts(t, s, e.ID, 1)
	if fmt.Sprint(got1) != fmt.Sprint(want1) {
		t.Fatalf("phase 1 counts %v, recount %v", got1, want1)
	}

	t.Run("ErrWeightsPatch", func(t *testing.T) {
		current, _ := s.Experiment(ctx, e.ID)
		vs := []refx.Variant{{Key: "control", Weight: 20}, {Key: "bold", Weight: 80}}
		_, err := s.UpdateExperiment(ctx, e.ID, refx.ExperimentPatch{Version: current.Version, Variants: &vs})
		wantCode(t, err, refx.ECONFLICT)
	})

	next, err := s.StartPhase(ctx, e.ID, refx.NewPhase{Reason: "re-randomize after a bug", Rerandomize: true})
	if err != nil {
		t.Fatal(err)
	}
	if next.Phase != 2 || len(next.Phases) != 2 || next.Phases[0].EndedAt == nil || next.Phases[1].Seed == next.Phases[0].Seed {
		t.Fatalf("after StartPhase: phase %d, phases %+v", next.Phase, next.Phases)
	}
	if stored, _ := s.Experiment(ctx, e.ID); stored.Phase != 2 || len(stored.Phases) != 2 || stored.Phases[1].Reason != "re-randomize after a bug" {
		t.Fatalf("stored: phase %d, phases %+v", stored.Phase, stored.Phases)
	}

	t.Run("Phase1Frozen", func(t *testing.T) {
		// The stale server enrols a new user and credits a phase-1 user in
		// phase 1 after it ended: neither counts anywhere.
		a, err := stale.Assign(ctx, e.ID, "late", nil)
		if err != nil || !a.Enrolled {
			t.Fatalf("stale assign: %+v, %v", a, err)
		}
		signup(t, stale, "user-1", "stale-user-1")
		got, _ := mustPhaseCounts(t, s, e.ID, 1)
		if fmt.Sprint(got) != fmt.Sprint(want1) {
			t.Fatalf("phase 1 counts moved after it ended: %v, want %v", got, want1)
		}
	})

	t.Run("NotCountedUntilAssigned", func(t *testing.T) {
		// Users of phase 1 who are not yet assigned in phase 2.
		for i := 1; i < 200; i += 2 {
			signup(t, s, fmt.Sprint("user-", i), fmt.Sprint("early-", i))
		}
		got, res := mustPhaseCounts(t, s, e.ID, 0)
		if res.Phase != 2 || fmt.Sprint(got) != fmt.Sprint(phaseCounts{"bold": {}, "control": {}}) {
			t.Fatalf("phase %d counts %v before anyone was assigned in it, want zeros", res.Phase, got)
		}
	})

	moved := 0
	want2 := phaseCounts{}
	for i := range users {
		user := fmt.Sprint("user-", i)
		a, err := s.Assign(ctx, e.ID, user, nil)
		if err != nil || !a.Enrolled {
			t.Fatalf("phase 2 assign %s: %+v, %v", user, a, err)
		}
		if a.Variant != arm1[user] {
			moved++
		}
		converted := int64(0)
		if i%3 == 0 {
			signup(t, s, user, "p2-"+user)
			converted = 1
		}
		want2.add(a.Variant, 1, converted)
	}
	// Equal weights: a user keeps their arm with chance Σw² = 1/2.
	share := float64(moved) / users
	t.Logf("re-randomized: %d of %d users (%.3f) changed arm, expected 1 − Σw² = 0.5", moved, users, share)
	if share < 0.45 || share > 0.55 {
		t.Fatalf("%.3f of users changed arm, want ≈ 0.5", share)
	}
	got2, res := mustPhaseCounts(t, s, e.ID, 0)
	if res.Phase != 2 || fmt.Sprint(got2) != fmt.Sprint(want2) {
		t.Fatalf("phase %d counts %v, recount %v", res.Phase, got2, want2)
	}
	if got, _ := mustPhaseCounts(t, s, e.ID, 1); fmt.Sprint(got) != fmt.Sprint(want1) {
		t.Fatalf("phase 1 counts %v after phase 2's traffic, want %v", got, want1)
	}
	t.Run("ErrNoSuchPhase", func(t *testing.T) {
		_, err := s.PhaseResults(ctx, e.ID, 3)
		if refx.ErrorCode(err) != refx.EINVALID || refx.ErrorField(err) != "phase" {
			t.Fatalf("PhaseResults(3): %v, want invalid phase", err)
		}
	})
}

// TestPhaseKeepsSeed: without re-randomization the seed stays, so with
// the same weights every user keeps their arm in the new phase; they are
// enrolled again all the same, and counted in it.
func TestPhaseKeepsSeed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	e := MustRunning(t, s, newExperiment("same-seed"))
	arms := map[string]string{}
	for i := range 200 {
		user := fmt.Sprint("u", i)
		a, err := s.Assign(ctx, e.ID, user, nil)
		if err != nil {
			t.Fatal(err)
		}
		arms[user] = a.Variant
	}
	if _, err := s.StartPhase(ctx, e.ID, refx.NewPhase{Reason: "audience removed"}); err != nil {
		t.Fatal(err)
	}
	for user, arm := range arms {
		a, err := s.Assign(ctx, e.ID, user, nil)
		if err != nil || !a.Enrolled || a.Variant != arm {
			t.Fatalf("%s in phase 2: %+v, %v; want enrolled again in %s", user, a, err, arm)
		}
	}
	var participants int64
	for _, v := range mustResults(t, s, e.ID) {
		participants += v.Participants
	}
	if participants != 200 {
		t.Fatalf("phase 2 has %d participants, want 200", participants)
	}
}
