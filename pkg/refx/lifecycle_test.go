package refx_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
)

var (
	alice = refx.Actor{ID: "admin:alice", Name: "alice", Role: refx.RoleEditor}
	bob   = refx.Actor{ID: "admin:bob", Name: "bob", Role: refx.RoleApprover}
)

// TestLifecycle tries every action from every status, with and without the
// approval requirement: what the state machine allows moves, a retry of a
// move already made changes nothing, and everything else is a conflict
// naming the allowed moves.
func TestLifecycle(t *testing.T) {
	allowed := map[refx.Action][]refx.Status{
		refx.ActionSubmit:         {refx.StatusDraft},
		refx.ActionRequestChanges: {refx.StatusInReview},
		refx.ActionApprove:        {refx.StatusInReview},
		refx.ActionStart:          {refx.StatusApproved, refx.StatusDraft},
		refx.ActionStop:           {refx.StatusRunning},
		refx.ActionConclude:       {refx.StatusStopped, refx.StatusRunning},
		refx.ActionArchive:        {refx.StatusDraft, refx.StatusStopped, refx.StatusConcluded},
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, requireApproval := range []bool{false, true} {
		for _, action := range refx.Actions {
			for _, from := range refx.Statuses {
				name := string(action) + "/" + string(from)
				if requireApproval {
					name += "/RequireApproval"
				}
				t.Run(name, func(t *testing.T) {
					e := draft(t)
					e.Status, e.LastEditor = from, alice.ID
					if from == refx.StatusConcluded {
						e.Conclusion = &refx.Conclusion{Decision: refx.DecisionRollback, By: alice}
					}
					req := refx.TransitionRequest{Action: action}
					if action == refx.ActionConclude {
						req.Decision = refx.DecisionRollback
					}
					next, err := e.Transition(req, bob, refx.Policy{RequireApproval: requireApproval}, now)
					want := contains(allowed[action], from)
					if action == refx.ActionStart && from == refx.StatusDraft && requireApproval {
						want = false
					}
					switch {
					case from == action.Target():
						if err != nil || next != e {
							t.Fatalf("retry: %v, changed %v; want the experiment unchanged", err, next != e)
						}
					case want:
						if err != nil {
							t.Fatalf("Transition: %v", err)
						}
						if next.Status != action.Target() || next.Version != e.Version+1 || !next.UpdatedAt.Equal(now) {
							t.Fatalf("moved to %s v%d at %v", next.Status, next.Version, next.UpdatedAt)
						}
						if e.Status != from {
							t.Fatal("Transition changed its receiver")
						}
					default:
						if refx.ErrorCode(err) != refx.ECONFLICT {
							t.Fatalf("Transition: %v, want a conflict", err)
						}
						if !strings.Contains(refx.ErrorMessage(err), string(from)) {
							t.Fatalf("message %q does not name the status", refx.ErrorMessage(err))
						}
					}
				})
			}
		}
	}
}

func contains(ss []refx.Status, s refx.Status) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestTransitionConflictNamesAllowedMoves(t *testing.T) {
	e := draft(t)
	e.Status = refx.StatusInReview
	_, err := e.Transition(refx.TransitionRequest{Action: refx.ActionStart}, bob, refx.Policy{}, time.Now())
	msg := refx.ErrorMessage(err)
	if !strings.Contains(msg, "request-changes (to draft)") || !strings.Contains(msg, "approve (to approved)") {
		t.Fatalf("message %q does not name the allowed moves", msg)
	}
}

func TestTransitionRecords(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	e := draft(t)
	e.LastEditor = alice.ID
	move := func(e *refx.Experiment, a refx.Action, by refx.Actor) *refx.Experiment {
		t.Helper()
		req := refx.TransitionRequest{Action: a}
		if a == refx.ActionConclude {
			req.Decision, req.Learnings = "ship:bold", "bold wins"
		}
		next, err := e.Transition(req, by, refx.Policy{RequireApproval: true}, now)
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		return next
	}
	e = move(e, refx.ActionSubmit, alice)
	if e.SubmittedBy == nil || e.SubmittedBy.ID != alice.ID {
		t.Fatalf("submitted_by %+v", e.SubmittedBy)
	}
	t.Run("ErrApprovedByLastEditor", func(t *testing.T) {
		_, err := e.Transition(refx.TransitionRequest{Action: refx.ActionApprove}, alice, refx.Policy{}, now)
		if refx.ErrorCode(err) != refx.EFORBIDDEN || !strings.Contains(refx.ErrorMessage(err), "someone else") {
			t.Fatalf("approval by the last editor: %v", err)
		}
	})
	e = move(e, refx.ActionApprove, bob)
	if e.Approval == nil || e.Approval.By.ID != bob.ID || !e.Approval.At.Equal(now) {
		t.Fatalf("approval %+v", e.Approval)
	}
	e = move(e, refx.ActionStart, alice)
	if e.StartedAt == nil {
		t.Fatal("no started_at")
	}
	e = move(e, refx.ActionConclude, alice)
	if e.StoppedAt == nil || !e.StoppedAt.Equal(now) || !e.Status.Ended() {
		t.Fatalf("concluding a running experiment did not stop it: %+v", e)
	}
	if c := e.Conclusion; c == nil || c.Decision != "ship:bold" || c.Learnings != "bold wins" || c.By.ID != alice.ID {
		t.Fatalf("conclusion %+v", c)
	}
	t.Run("RetryWithAnotherDecision", func(t *testing.T) {
		_, err := e.Transition(refx.TransitionRequest{Action: refx.ActionConclude, Decision: refx.DecisionRollback}, alice, refx.Policy{}, now)
		if refx.ErrorCode(err) != refx.ECONFLICT {
			t.Fatalf("a second, different conclusion: %v", err)
		}
	})
}

func TestTransitionRequestValidate(t *testing.T) {
	long := strings.Repeat("x", refx.MaxTextLen+1)
	tests := []struct {
		name  string
		req   refx.TransitionRequest
		field string
	}{
		{"OK", refx.TransitionRequest{Action: refx.ActionConclude, Decision: "ship:bold"}, ""},
		{"Iterate", refx.TransitionRequest{Action: refx.ActionConclude, Decision: "iterate", Learnings: "x"}, ""},
		{"ErrAction", refx.TransitionRequest{Action: "launch"}, "-"},
		{"ErrDecision", refx.TransitionRequest{Action: refx.ActionConclude, Decision: "ship"}, "decision"},
		{"ErrNoDecision", refx.TransitionRequest{Action: refx.ActionConclude}, "decision"},
		{"ErrShipNothing", refx.TransitionRequest{Action: refx.ActionConclude, Decision: "ship:"}, "decision"},
		{"ErrLearnings", refx.TransitionRequest{Action: refx.ActionConclude, Decision: "iterate", Learnings: long}, "learnings"},
		{"ErrNote", refx.TransitionRequest{Action: refx.ActionStop, Note: long}, "note"},
		{"ErrDecisionOnStop", refx.TransitionRequest{Action: refx.ActionStop, Decision: "iterate"}, "decision"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.Validate()
			switch {
			case tt.field == "" && err != nil:
				t.Fatal(err)
			case tt.field == "-" && refx.ErrorCode(err) != refx.EINVALID:
				t.Fatalf("Validate: %v", err)
			case tt.field != "" && tt.field != "-" && refx.ErrorField(err) != tt.field:
				t.Fatalf("Validate: %v, want field %s", err, tt.field)
			}
		})
	}
	e := draft(t)
	e.Status = refx.StatusStopped
	_, err := e.Transition(refx.TransitionRequest{Action: refx.ActionConclude, Decision: "ship:nope"}, alice, refx.Policy{}, time.Now())
	if refx.ErrorField(err) != "decision" {
		t.Fatalf("shipping an unknown variant: %v", err)
	}
}

func TestBrief(t *testing.T) {
	at := func(s string) *time.Time {
		v, _ := time.Parse(time.RFC3339, s)
		return &v
	}
	mde := func(x float64) *float64 { return &x }
	tests := []struct {
		name  string
		edit  func(n *refx.NewExperiment)
		field string
	}{
		{"OK", func(n *refx.NewExperiment) {
			n.PlannedStart, n.PlannedEnd, n.MDE = at("2026-06-01T00:00:00Z"), at("2026-06-15T00:00:00Z"), mde(0.05)
			n.Priority = &refx.Priority{Impact: 8, Confidence: 5, Ease: 3}
			n.Links = []refx.Link{{Title: "design", URL: "https://docs.example.com/d"}}
		}, ""},
		{"ErrEndBeforeStart", func(n *refx.NewExperiment) {
			n.PlannedStart, n.PlannedEnd = at("2026-06-15T00:00:00Z"), at("2026-06-01T00:00:00Z")
		}, "planned_end"},
		{"ErrMDEZero", func(n *refx.NewExperiment) { n.MDE = mde(0) }, "mde"},
		{"ErrMDENegative", func(n *refx.NewExperiment) { n.MDE = mde(-0.1) }, "mde"},
		{"ErrImpact", func(n *refx.NewExperiment) { n.Priority = &refx.Priority{Impact: 11, Confidence: 5, Ease: 3} }, "priority.impact"},
		{"ErrEase", func(n *refx.NewExperiment) { n.Priority = &refx.Priority{Impact: 1, Confidence: 5} }, "priority.ease"},
		{"ErrLinkScheme", func(n *refx.NewExperiment) { n.Links = []refx.Link{{Title: "x", URL: "javascript:alert(1)"}} }, "links[0].url"},
		{"ErrLinkTitle", func(n *refx.NewExperiment) { n.Links = []refx.Link{{URL: "https://x.example"}} }, "links[0].title"},
		{"ErrTooManyLinks", func(n *refx.NewExperiment) {
			for range refx.MaxLinks + 1 {
				n.Links = append(n.Links, refx.Link{Title: "t", URL: "https://x.example"})
			}
		}, "links"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := refx.NewExperiment{ID: "exp", Variants: []refx.Variant{{Key: "a", Weight: 1}, {Key: "b", Weight: 1}},
				Goals: []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial}}}
			tt.edit(&n)
			e, err := n.Build(time.Now())
			if refx.ErrorField(err) != tt.field || (tt.field == "" && err != nil) {
				t.Fatalf("Build: %v, want field %q", err, tt.field)
			}
			if err == nil && e.Priority.Score != 8*5*3 {
				t.Fatalf("score %d, want the product 120", e.Priority.Score)
			}
		})
	}
}

// TestEditUnderReview: changing the design of an experiment in review or
// approved sends it back to draft, its approval void; changing the rest of
// its brief does not.
func TestEditUnderReview(t *testing.T) {
	for _, status := range []refx.Status{refx.StatusInReview, refx.StatusApproved} {
		base := draft(t)
		base.Status, base.SubmittedBy, base.Approval = status, &alice, &refx.Approval{By: bob}
		tests := []struct {
			name  string
			patch string
			draft bool
		}{
			{"Name", `{"name":"renamed","links":[{"title":"t","url":"https://t.example"}],"priority":{"impact":2,"confidence":3,"ease":4}}`, false},
			{"PlannedDates", `{"planned_start":"2026-06-01T00:00:00Z","planned_end":null}`, false},
			{"Weights", `{"variants":[{"key":"control","weight":1},{"key":"bold","weight":1,"payload":{"a":1}}]}`, true},
			{"SameVariantsReformatted", `{"variants":[{"key":"control","weight":1},{"key":"bold","weight":3,"payload":{ "a" : 1 }}]}`, false},
			{"Coverage", `{"coverage":0.5}`, true},
			{"Audience", `{"audience":{"country":"FR"}}`, true},
			{"GoalDirection", `{"goals":[{"key":"signup","kind":"binomial","direction":"decrease"}]}`, true},
			{"MDE", `{"mde":0.1}`, true},
		}
		for _, tt := range tests {
			t.Run(string(status)+"/"+tt.name, func(t *testing.T) {
				var p refx.ExperimentPatch
				if err := json.Unmarshal([]byte(tt.patch), &p); err != nil {
					t.Fatal(err)
				}
				p.Version = base.Version
				next, err := base.Apply(p, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				if got := next.Status == refx.StatusDraft; got != tt.draft {
					t.Fatalf("status %s after the edit", next.Status)
				}
				if tt.draft && (next.Approval != nil || next.SubmittedBy != nil) {
					t.Fatal("the review survived a design change")
				}
				if !tt.draft && next.Approval == nil {
					t.Fatal("the approval was voided by a brief edit")
				}
			})
		}
	}
}

func TestPatchClearsPlan(t *testing.T) {
	e := draft(t)
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	x := 0.05
	e.PlannedStart, e.MDE = &start, &x
	var p refx.ExperimentPatch
	if err := json.Unmarshal([]byte(`{"planned_start":null}`), &p); err != nil {
		t.Fatal(err)
	}
	p.Version = e.Version
	next, err := e.Apply(p, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if next.PlannedStart != nil || next.MDE == nil {
		t.Fatalf("planned_start %v, mde %v: want null cleared, absent kept", next.PlannedStart, next.MDE)
	}
}

func TestEnded(t *testing.T) {
	for _, s := range refx.Statuses {
		want := s == refx.StatusStopped || s == refx.StatusConcluded || s == refx.StatusArchived
		if s.Ended() != want || s.Launched() != (want || s == refx.StatusRunning) {
			t.Errorf("%s: ended %v launched %v", s, s.Ended(), s.Launched())
		}
	}
}
