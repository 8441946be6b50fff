package dynamo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/refx"
)

func TestAssign(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	e := MustRunning(t, s, newExperiment("sticky"))

	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := s.Assign(ctx, "missing", "alice", nil)
		wantCode(t, err, refx.ENOTFOUND)
	})
	t.Run("StickyAndEnrolledOnce", func(t *testing.T) {
		first, err := s.Assign(ctx, e.ID, "alice", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !first.InExperiment || !first.Enrolled || first.Payload == nil {
			t.Fatalf("first assign = %+v", first)
		}
		want, _ := e.Bucket("alice")
		if first.Variant != want.Key {
			t.Fatalf("variant %s, hash says %s", first.Variant, want.Key)
		}
		again, err := s.Assign(ctx, e.ID, "alice", nil)
		if err != nil {
			t.Fatal(err)
		}
		if again.Enrolled || again.Variant != first.Variant {
			t.Fatalf("second assign = %+v", again)
		}
	})
	t.Run("ErrWeightsChange", func(t *testing.T) {
		a, err := s.Assign(ctx, e.ID, "bob", nil)
		if err != nil {
			t.Fatal(err)
		}
		// Moving all weight to the other arm would leave bob where he is
		// and send every newcomer elsewhere: refused, a new phase's work.
		current, _ := s.Experiment(ctx, e.ID)
		vs := append([]refx.Variant(nil), current.Variants...)
		for i := range vs {
			vs[i].Weight = 0
			if vs[i].Key != a.Variant {
				vs[i].Weight = 100
			}
		}
		_, err = s.UpdateExperiment(ctx, e.ID, refx.ExperimentPatch{Version: current.Version, Variants: &vs})
		if refx.ErrorCode(err) != refx.ECONFLICT || refx.ErrorField(err) != "variants" {
			t.Fatalf("UpdateExperiment: %v, want a conflict on variants", err)
		}
		again, err := s.Assign(ctx, e.ID, "bob", nil)
		if err != nil {
			t.Fatal(err)
		}
		if again.Variant != a.Variant || again.Enrolled {
			t.Fatalf("bob got %+v, want his arm %s", again, a.Variant)
		}
	})
}

func TestAssignNotInExperiment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	draft, _ := newExperiment("draft").Build(time.Now())
	if err := s.CreateExperiment(ctx, draft); err != nil {
		t.Fatal(err)
	}
	zero := 0.0
	uncovered := newExperiment("uncovered")
	uncovered.Coverage = &zero
	MustRunning(t, s, uncovered)
	stopped := MustRunning(t, s, newExperiment("stopped"))
	if _, err := s.SetStatus(ctx, stopped.ID, refx.StatusStopped); err != nil {
		t.Fatal(err)
	}
	// Neither may a reviewed experiment before its start, nor one concluded
	// or archived.
	mustMove(t, s, mustDraft(t, s, newExperiment("in-review")).ID, refx.ActionSubmit)
	mustMove(t, s, mustDraft(t, s, newExperiment("approved")).ID, refx.ActionSubmit, refx.ActionApprove)
	mustMove(t, s, MustRunning(t, s, newExperiment("concluded")).ID, refx.ActionConclude)
	mustMove(t, s, MustRunning(t, s, newExperiment("archived")).ID, refx.ActionStop, refx.ActionArchive)
	for _, id := range []string{"draft", "uncovered", "stopped", "in-review", "approved", "concluded", "archived"} {
		t.Run(id, func(t *testing.T) {
			a, err := s.Assign(ctx, id, "dave", nil)
			if err != nil {
				t.Fatal(err)
			}
			if a.InExperiment || a.Enrolled || a.Variant != "control" || string(a.Payload) != `{"reward":10}` {
				t.Fatalf("assign = %+v, want control outside the experiment", a)
			}
			for key, v := range mustResults(t, s, id) {
				if v.Participants != 0 {
					t.Fatalf("%s counted %d participants", key, v.Participants)
				}
			}
		})
	}
}

func TestConcurrentFirstAssign(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	e := MustRunning(t, s, newExperiment("race"))
	const users, callers = 5, 12
	var wg sync.WaitGroup
	var mu sync.Mutex
	variants := map[string]map[string]bool{}
	enrolled := map[string]int{}
	for u := range users {
		user := fmt.Sprintf("user-%d", u)
		variants[user] = map[string]bool{}
		for range callers {
			wg.Go(func() {
				// Each caller is its own Lambda: its own store, its own cache.
				a, err := dynamo.New(s.Client(), s.Table(), dynamo.Options{}).Assign(ctx, e.ID, user, nil)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				variants[user][a.Variant] = true
				if a.Enrolled {
					enrolled[user]++
				}
			})
		}
	}
	wg.Wait()
	var participants int64
	for _, v := range mustResults(t, s, e.ID) {
		participants += v.Participants
	}
	for u, vs := range variants {
		if len(vs) != 1 || enrolled[u] != 1 {
			t.Errorf("%s: variants %v, enrolled %d times; want one variant, enrolled once", u, vs, enrolled[u])
		}
	}
	if participants != users {
		t.Fatalf("participants = %d, want %d", participants, users)
	}
}
