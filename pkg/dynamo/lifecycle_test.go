package dynamo_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/refx"
)

var (
	editor   = refx.Actor{ID: "admin:ed", Name: "ed", Role: refx.RoleEditor}
	approver = refx.Actor{ID: "admin:ann", Name: "ann", Role: refx.RoleApprover}
)

// frozenCounts freezes the store's raw counts as a conclusion's results.
func frozenCounts(s *dynamo.Store) func(context.Context, *refx.Experiment) (json.RawMessage, error) {
	return func(ctx context.Context, e *refx.Experiment) (json.RawMessage, error) {
		res, err := s.Results(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		return json.Marshal(res)
	}
}

// mustMove makes the actions, in order, on experiment id: the editor
// submits, starts, stops, concludes ("inconclusive") and archives, the
// approver approves.
func mustMove(tb testing.TB, s *dynamo.Store, id string, actions ...refx.Action) *refx.Experiment {
	tb.Helper()
	var e *refx.Experiment
	for _, a := range actions {
		by := editor
		if a == refx.ActionApprove {
			by = approver
		}
		req := refx.TransitionRequest{Action: a}
		if a == refx.ActionConclude {
			req.Decision, req.Results = refx.DecisionInconclusive, frozenCounts(s)
		}
		var err error
		if e, err = s.Transition(refx.WithActor(context.Background(), by), id, req); err != nil {
			tb.Fatalf("%s %s: %v", a, id, err)
		}
	}
	return e
}

// TestLifecycleStore walks an experiment through review, launch and
// conclusion on a deployment that requires approval: each move is stored
// with its one audit entry (action and note), a retried move changes
// nothing and writes no entry, and a refused one writes nothing.
func TestLifecycleStore(t *testing.T) {
	t.Parallel()
	s := MustStore(t, dynamo.Options{RequireApproval: true})
	as := func(a refx.Actor) context.Context { return refx.WithActor(context.Background(), a) }
	e, err := newExperiment("reviewed").Build(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateExperiment(as(editor), e); err != nil {
		t.Fatal(err)
	}
	if e.LastEditor != editor.ID {
		t.Fatalf("last_editor %q, want the creator", e.LastEditor)
	}
	steps := []struct {
		name   string
		by     refx.Actor
		req    refx.TransitionRequest
		code   string
		status refx.Status
		entry  bool
	}{
		{"ErrStartUnapproved", editor, refx.TransitionRequest{Action: refx.ActionStart}, refx.ECONFLICT, refx.StatusDraft, false},
		{"Submit", editor, refx.TransitionRequest{Action: refx.ActionSubmit, Note: "ready"}, "", refx.StatusInReview, true},
		{"SubmitAgain", editor, refx.TransitionRequest{Action: refx.ActionSubmit}, "", refx.StatusInReview, false},
		{"ErrApproveOwnEdit", editor, refx.TransitionRequest{Action: refx.ActionApprove}, refx.EFORBIDDEN, refx.StatusInReview, false},
		{"RequestChanges", approver, refx.TransitionRequest{Action: refx.ActionRequestChanges, Note: "add a guardrail"}, "", refx.StatusDraft, true},
		{"Resubmit", editor, refx.TransitionRequest{Action: refx.ActionSubmit}, "", refx.StatusInReview, true},
		{"Approve", approver, refx.TransitionRequest{Action: refx.ActionApprove, Note: "lgtm"}, "", refx.StatusApproved, true},
		{"ErrStop", editor, refx.TransitionRequest{Action: refx.ActionStop}, refx.ECONFLICT, refx.StatusApproved, false},
		{"Start", editor, refx.TransitionRequest{Action: refx.ActionStart}, "", refx.StatusRunning, true},
		{"StartAgain", editor, refx.TransitionRequest{Action: refx.ActionStart}, "", refx.StatusRunning, false},
		{"ErrArchiveRunning", editor, refx.TransitionRequest{Action: refx.ActionArchive}, refx.ECONFLICT, refx.StatusRunning, false},
		{"Conclude", editor, refx.TransitionRequest{Action: refx.ActionConclude, Decision: "ship:bold", Learnings: "bigger rewards sell", Results: frozenCounts(s)}, "", refx.StatusConcluded, true},
		{"ConcludeAgain", editor, refx.TransitionRequest{Action: refx.ActionConclude, Decision: "ship:bold", Results: frozenCounts(s)}, "", refx.StatusConcluded, false},
		{"ErrConcludeOtherwise", editor, refx.TransitionRequest{Action: refx.ActionConclude, Decision: "rollback", Results: frozenCounts(s)}, refx.ECONFLICT, refx.StatusConcluded, false},
		{"Archive", editor, refx.TransitionRequest{Action: refx.ActionArchive}, "", refx.StatusArchived, true},
	}
	for _, st := range steps {
		before := len(MustAudit(t, s, refx.AuditExperiment, e.ID))
		got, err := s.Transition(as(st.by), e.ID, st.req)
		wantCode(t, err, st.code)
		stored, err := s.Experiment(context.Background(), e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Status != st.status || (st.code == "" && got.Status != st.status) {
			t.Fatalf("%s: stored %s, want %s", st.name, stored.Status, st.status)
		}
		entries := MustAudit(t, s, refx.AuditExperiment, e.ID)
		if grew := len(entries) - before; grew != map[bool]int{false: 0, true: 1}[st.entry] {
			t.Fatalf("%s: %d new audit entries", st.name, grew)
		}
		if st.entry {
			if last := entries[0]; last.Action != string(st.req.Action) || last.Note != st.req.Note || last.Actor.ID != st.by.ID {
				t.Fatalf("%s: entry %s by %s note %q", st.name, last.Action, last.Actor.ID, last.Note)
			}
		}
	}
	final, _ := s.Experiment(context.Background(), e.ID)
	if final.Approval == nil || final.Approval.By.ID != approver.ID || final.SubmittedBy == nil || final.SubmittedBy.ID != editor.ID ||
		final.Conclusion == nil || final.Conclusion.Decision != "ship:bold" || final.StoppedAt == nil {
		t.Fatalf("review not kept: approval %+v submitted_by %+v conclusion %+v", final.Approval, final.SubmittedBy, final.Conclusion)
	}
}

// TestConclusionFrozen: the conclusion keeps the counts of its moment,
// while the experiment's own results keep every event sent before it
// ended, counted later.
func TestConclusionFrozen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	e := MustRunning(t, s, newExperiment("frozen"))
	if _, err := s.Assign(ctx, e.ID, "ada", nil); err != nil {
		t.Fatal(err)
	}
	dynamotest.MustCount(t, s)
	// Bob enrols before the conclusion, but the aggregator has not counted
	// him yet when the results are frozen.
	if _, err := s.Assign(ctx, e.ID, "bob", nil); err != nil {
		t.Fatal(err)
	}
	mustMove(t, s, e.ID, refx.ActionConclude)
	c, err := s.Conclusion(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	var frozen refx.Results
	if err := json.Unmarshal(c.Results, &frozen); err != nil {
		t.Fatal(err)
	}
	participants := func(r refx.Results) (n int64) {
		for _, v := range r.Variants {
			n += v.Participants
		}
		return n
	}
	live := mustResults(t, s, e.ID)
	if n := live["control"].Participants + live["bold"].Participants; participants(frozen) != 1 || n != 2 {
		t.Fatalf("frozen %d participants, live %d: want 1 and 2", participants(frozen), n)
	}
	if c.Decision != refx.DecisionInconclusive || c.By.ID != editor.ID || c.At.IsZero() {
		t.Fatalf("conclusion %+v", c.Conclusion)
	}
	again, _ := s.Conclusion(ctx, e.ID)
	if string(again.Results) != string(c.Results) {
		t.Fatal("the conclusion changed")
	}
	t.Run("ErrNotConcluded", func(t *testing.T) {
		other := MustRunning(t, s, newExperiment("open"))
		_, err := s.Conclusion(ctx, other.ID)
		wantCode(t, err, refx.ENOTFOUND)
	})
	t.Run("DeletedWithTheExperiment", func(t *testing.T) {
		if err := s.DeleteExperiment(ctx, e.ID); err != nil {
			t.Fatal(err)
		}
		_, err := s.Conclusion(ctx, e.ID)
		wantCode(t, err, refx.ENOTFOUND)
	})
}

// TestEndedStatusesCount: a change made before an experiment ended counts
// whether it is now stopped, concluded or archived; one made after does
// not, and nothing enrols in any of them.
func TestEndedStatusesCount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, end := range [][]refx.Action{
		{refx.ActionStop},
		{refx.ActionConclude},
		{refx.ActionStop, refx.ActionConclude, refx.ActionArchive},
	} {
		t.Run(string(end[len(end)-1]), func(t *testing.T) {
			t.Parallel()
			s := MustStore(t, dynamo.Options{})
			e := MustRunning(t, s, newExperiment("ends"))
			if _, err := s.Assign(ctx, e.ID, "ada", nil); err != nil {
				t.Fatal(err)
			}
			mustEvent(t, s, &refx.Event{ID: uuid(), Type: "signup", User: "ada"})
			ended := mustMove(t, s, e.ID, end...)
			if !ended.Status.Ended() {
				t.Fatalf("status %s", ended.Status)
			}
			late, err := s.Assign(ctx, e.ID, "bob", nil)
			if err != nil || late.InExperiment {
				t.Fatalf("assign after the end: %+v, %v", late, err)
			}
			mustEvent(t, s, &refx.Event{ID: uuid(), Type: "signup", User: "ada"})
			res := mustResults(t, s, e.ID)
			var participants, events int64
			for _, v := range res {
				participants += v.Participants
				events += v.Goals["signup"].Events
			}
			if participants != 1 || events != 1 {
				t.Fatalf("%d participants, %d signups: want what came before the end", participants, events)
			}
		})
	}
}
