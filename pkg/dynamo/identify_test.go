package dynamo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/refx"
)

// userOutside returns a user id that every experiment buckets into a
// variant other than the one given for it.
func userOutside(tb testing.TB, prefix string, exps []*refx.Experiment, variants []string) string {
	tb.Helper()
next:
	for i := range 1000 {
		u := fmt.Sprintf("%s-%d", prefix, i)
		for j, e := range exps {
			if v, ok := e.Bucket(u); !ok || v.Key == variants[j] {
				continue next
			}
		}
		return u
	}
	tb.Fatalf("no user outside %v", variants)
	return ""
}

func participants(tb testing.TB, s *dynamo.Store, exp string) map[string]int64 {
	tb.Helper()
	out := map[string]int64{}
	for k, v := range mustResults(tb, s, exp) {
		out[k] = v.Participants
	}
	return out
}

func linkStatus(res *refx.IdentifyResult) map[string]refx.LinkedAssignment {
	out := map[string]refx.LinkedAssignment{}
	for _, a := range res.Assignments {
		out[a.Experiment] = a
	}
	return out
}

func TestIdentify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	landing := MustRunning(t, s, newExperiment("landing"))
	pricing := MustRunning(t, s, newExperiment("pricing"))
	MustRunning(t, s, newExperiment("untouched"))

	anon := "8c1d0d3e-5b0e-4f4e-9f57-0d6c2b0f3b11"
	anonLanding, err := s.Assign(ctx, landing.ID, anon, nil)
	if err != nil {
		t.Fatal(err)
	}
	anonPricing, err := s.Assign(ctx, pricing.ID, anon, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The user would hash into the other arm of landing, so keeping the
	// anonymous variant is the identify's doing, not the hash's; and the
	// user already has their own, different variant of pricing.
	user := userOutside(t, "user", []*refx.Experiment{landing, pricing}, []string{anonLanding.Variant, anonPricing.Variant})
	own, err := s.Assign(ctx, pricing.ID, user, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The anonymous visitor converted before signing up.
	if _, err := s.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: "signup", User: anon}); err != nil {
		t.Fatal(err)
	}
	before := map[string]map[string]int64{landing.ID: participants(t, s, landing.ID), pricing.ID: participants(t, s, pricing.ID)}

	t.Run("OK", func(t *testing.T) {
		res, err := s.Identify(ctx, refx.Identity{Anonymous: anon, User: user})
		if err != nil {
			t.Fatal(err)
		}
		got := linkStatus(res)
		if len(got) != 2 || got[landing.ID] != (refx.LinkedAssignment{Experiment: landing.ID, Variant: anonLanding.Variant, Status: refx.LinkLinked}) {
			t.Fatalf("identify = %+v", res)
		}
		if got[pricing.ID] != (refx.LinkedAssignment{Experiment: pricing.ID, Variant: own.Variant, Status: refx.LinkExisting}) {
			t.Fatalf("pricing, where the user has their own variant: %+v, want existing %s", got[pricing.ID], own.Variant)
		}
		a, err := s.Assign(ctx, landing.ID, user, nil)
		if err != nil {
			t.Fatal(err)
		}
		if a.Variant != anonLanding.Variant || a.Enrolled || !a.InExperiment {
			t.Fatalf("user's assignment after identify = %+v, want %s without enrolment", a, anonLanding.Variant)
		}
	})
	t.Run("NoNewParticipant", func(t *testing.T) {
		for exp, want := range before {
			if got := participants(t, s, exp); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s participants = %v, want %v (unchanged)", exp, got, want)
			}
		}
	})
	t.Run("ConvertsOnce", func(t *testing.T) {
		res, err := s.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: "signup", User: user})
		if err != nil {
			t.Fatal(err)
		}
		var credit *refx.Credit
		for i := range res.Credits {
			if res.Credits[i].Experiment == landing.ID {
				credit = &res.Credits[i]
			}
		}
		if credit == nil || credit.Variant != anonLanding.Variant || credit.FirstConversion {
			t.Fatalf("credits = %+v, want landing's %s, not a first conversion", res.Credits, anonLanding.Variant)
		}
		g := mustResults(t, s, landing.ID)[anonLanding.Variant].Goals["signup"]
		if g.Users != 1 || g.Events != 2 {
			t.Fatalf("signup counts = %+v, want 1 user, 2 events", g)
		}
	})
	t.Run("Claimed", func(t *testing.T) {
		// Someone else signs up in the same browser: landing went to the
		// first user; pricing's anonymous assignment was not used, so it
		// links.
		res, err := s.Identify(ctx, refx.Identity{Anonymous: anon, User: "second-person"})
		if err != nil {
			t.Fatal(err)
		}
		got := linkStatus(res)
		if got[landing.ID] != (refx.LinkedAssignment{Experiment: landing.ID, Status: refx.LinkClaimed}) {
			t.Errorf("landing, linked to another user before = %+v, want claimed", got[landing.ID])
		}
		if p := got[pricing.ID]; p.Status != refx.LinkLinked || p.Variant != anonPricing.Variant {
			t.Errorf("pricing = %+v, want linked to %s", p, anonPricing.Variant)
		}
	})
	t.Run("Repeated", func(t *testing.T) {
		res, err := s.Identify(ctx, refx.Identity{Anonymous: anon, User: user})
		if err != nil {
			t.Fatal(err)
		}
		got := linkStatus(res)
		if got[landing.ID].Status != refx.LinkLinked || got[landing.ID].Variant != anonLanding.Variant {
			t.Fatalf("repeated identify = %+v", res)
		}
	})
	t.Run("UnknownVisitor", func(t *testing.T) {
		res, err := s.Identify(ctx, refx.Identity{Anonymous: "never-seen-visitor", User: user})
		if err != nil || len(res.Assignments) != 0 {
			t.Fatalf("identify of a visitor without assignments = %+v, %v", res, err)
		}
	})
}

// TestIdentifyConcurrent links one anonymous assignment to several users at
// once: exactly one gets it, and retries of the winner still say linked.
func TestIdentifyConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	e := MustRunning(t, s, newExperiment("race"))
	anon := "visitor-race-0123456789"
	if _, err := s.Assign(ctx, e.ID, anon, nil); err != nil {
		t.Fatal(err)
	}
	const users = 6
	statuses := make([][]string, users)
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for i := range users {
		for range 2 { // each user twice, as a retry would
			wg.Go(func() {
				res, err := s.Identify(ctx, refx.Identity{Anonymous: anon, User: fmt.Sprintf("racer-%d", i)})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				statuses[i] = append(statuses[i], res.Assignments[0].Status)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	winners := 0
	for i, st := range statuses {
		if len(st) == 0 {
			continue
		}
		if st[0] != st[len(st)-1] {
			t.Errorf("racer-%d got %v: a repeated identify must answer alike", i, st)
		}
		if st[0] == refx.LinkLinked {
			winners++
		}
	}
	if winners != 1 {
		t.Fatalf("statuses %v: want exactly one user linked", statuses)
	}
}
