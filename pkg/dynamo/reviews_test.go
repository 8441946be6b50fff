package dynamo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/refx"
)

// reviewer is the actor of the decisions in these tests.
var reviewer = refx.Actor{ID: "admin:rev", Name: "Reviewer", Role: refx.RoleEditor}

func mustReview(tb testing.TB, s *dynamo.Store, referee, decision string) *refx.Attribution {
	tb.Helper()
	a, err := s.Review(refx.WithActor(context.Background(), reviewer), referee, decision, "checked by hand")
	if err != nil {
		tb.Fatalf("%s %s: %v", decision, referee, err)
	}
	return a
}

func queued(tb testing.TB, s *dynamo.Store, exp string) []string {
	tb.Helper()
	page, err := s.Reviews(context.Background(), exp, 100, "")
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, a := range page.Referrals {
		out = append(out, a.Referee)
	}
	return out
}

// TestReviewDecisions walks every transition: approving a flagged referee
// counts their signup once, rejecting a flagged one counts nothing,
// rejecting an attributed one takes its signup back once; retried
// decisions answer the same and count nothing more; the opposite decision
// is a conflict.
func TestReviewDecisions(t *testing.T) {
	t.Parallel()
	ctx := refx.WithActor(context.Background(), reviewer)
	s := MustStore(t, dynamo.Options{})
	n := newReferralExperiment("review")
	n.Referral.MaxSignupsPerHour, n.Referral.MaxSignupsPerDay = 100, 100
	e := MustRunning(t, s, n)
	link := mustLink(t, s, e.ID, "alice")

	// No address: flagged ip_missing, awaiting review.
	mustAttribute(t, s, refx.Signup{Code: link.Code, Referee: "flag-approve"}, refx.AttributionFlagged, refx.ReasonIPMissing)
	mustAttribute(t, s, refx.Signup{Code: link.Code, Referee: "flag-reject"}, refx.AttributionFlagged, refx.ReasonIPMissing)
	mustAttribute(t, s, refx.Signup{Code: link.Code, Referee: "clean", IPHash: "ip-clean"}, refx.AttributionAttributed)
	if got := fmt.Sprint(queued(t, s, e.ID)); got != "[flag-reject flag-approve]" {
		t.Fatalf("queue = %s", got)
	}
	if r := referralCounts(t, s, e.ID, link.Variant); r.Signups != 1 || r.Flagged[refx.ReasonIPMissing] != 2 {
		t.Fatalf("before review: %+v", r)
	}

	for _, tc := range []struct {
		name, referee, decision, status string
		signups                         int64
	}{
		{"ApproveFlagged", "flag-approve", refx.DecisionApprove, refx.AttributionAttributed, 2},
		{"RejectFlagged", "flag-reject", refx.DecisionReject, refx.AttributionRejected, 2},
		{"RejectAttributed", "clean", refx.DecisionReject, refx.AttributionRejected, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mustReview(t, s, tc.referee, tc.decision)
			if a.Status != tc.status || a.Review == nil || a.Review.Decision != tc.decision || a.Review.ReviewedBy != reviewer.ID || a.Review.Note != "checked by hand" {
				t.Fatalf("decided = %+v (review %+v)", a, a.Review)
			}
			again := mustReview(t, s, tc.referee, tc.decision) // a retried request
			if again.Status != tc.status || !again.Review.ReviewedAt.Equal(a.Review.ReviewedAt) {
				t.Fatalf("retried = %+v, want the first decision", again)
			}
			other := refx.DecisionReject
			if tc.decision == refx.DecisionReject {
				other = refx.DecisionApprove
			}
			_, err := s.Review(ctx, tc.referee, other, "")
			wantCode(t, err, refx.ECONFLICT)
			if r := referralCounts(t, s, e.ID, link.Variant); r.Signups != tc.signups {
				t.Fatalf("signups = %d, want %d", r.Signups, tc.signups)
			}
			entries, err := s.Audit(ctx, refx.AuditFilter{Resource: refx.AuditReferral, ResourceID: tc.referee})
			if err != nil {
				t.Fatal(err)
			}
			if len(entries.Entries) != 1 || entries.Entries[0].Action != tc.decision || entries.Entries[0].Actor.ID != reviewer.ID {
				t.Fatalf("audit = %+v, want one %s entry", entries.Entries, tc.decision)
			}
		})
	}
	if q := queued(t, s, e.ID); len(q) != 0 {
		t.Fatalf("queue after the decisions = %v", q)
	}

	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := s.Review(ctx, "nobody", refx.DecisionApprove, "")
		wantCode(t, err, refx.ENOTFOUND)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		_, err := s.Review(ctx, "clean", "maybe", "")
		wantCode(t, err, refx.EINVALID)
		_, err = s.Reviews(ctx, "", 10, "")
		wantCode(t, err, refx.EINVALID)
	})
	t.Run("ErrApproveClean", func(t *testing.T) {
		mustAttribute(t, s, refx.Signup{Code: link.Code, Referee: "clean-2", IPHash: "ip-clean-2"}, refx.AttributionAttributed)
		_, err := s.Review(ctx, "clean-2", refx.DecisionApprove, "")
		wantCode(t, err, refx.ECONFLICT)
	})
	t.Run("RejectedDoesNotConvert", func(t *testing.T) {
		if _, err := s.RecordEvent(ctx, &refx.Event{ID: uuid(), User: "clean", Type: "purchase", Value: decimal(t, "30")}); err != nil {
			t.Fatal(err)
		}
		if r := referralCounts(t, s, e.ID, link.Variant); r.Conversions != 0 || r.ConvertingReferees != 0 {
			t.Fatalf("a rejected referee's purchase counted: %+v", r)
		}
	})
}

// TestContentionReviewDecision sends, for each of several flagged
// referees, ten approvals and rejections at once through the conflict
// emulation: one decision wins per referee, every request answers it or
// ECONFLICT, and the signups counted are exactly the approvals.
func TestContentionReviewDecision(t *testing.T) {
	t.Parallel()
	c := MustContention(t, true)
	ctx := refx.WithActor(context.Background(), reviewer)
	n := newReferralExperiment("review-storm")
	n.Referral.MaxSignupsPerHour, n.Referral.MaxSignupsPerDay = 100, 100
	e := MustRunning(t, c.direct, n)
	link := mustLink(t, c.direct, e.ID, "alice")
	const referees, requests = 6, 10
	for r := range referees {
		mustAttribute(t, c.direct, refx.Signup{Code: link.Code, Referee: fmt.Sprintf("storm-%d", r)}, refx.AttributionFlagged, refx.ReasonIPMissing)
	}
	type answer struct {
		referee, decision, status string
		code                      string
	}
	var mu sync.Mutex
	var answers []answer
	var ops []func() error
	for r := range referees {
		referee := fmt.Sprintf("storm-%d", r)
		for i := range requests {
			decision := refx.DecisionApprove
			if i%2 == 1 {
				decision = refx.DecisionReject
			}
			ops = append(ops, func() error {
				a, err := retry(c, func() (*refx.Attribution, error) { return c.through.Review(ctx, referee, decision, "") })
				if err != nil && refx.ErrorCode(err) != refx.ECONFLICT {
					return err
				}
				got := answer{referee: referee, decision: decision, code: refx.ErrorCode(err)}
				if a != nil {
					got.status = a.Status
				}
				mu.Lock()
				answers = append(answers, got)
				mu.Unlock()
				return nil
			})
		}
	}
	runAll(t, contentionClients, ops)
	c.report(t)
	c.mustNotConflictOn(t, "EXP#", "COUNT#")

	approved := int64(0)
	for r := range referees {
		referee := fmt.Sprintf("storm-%d", r)
		page, err := c.direct.Referrals(context.Background(), "alice", 100, "")
		if err != nil {
			t.Fatal(err)
		}
		var stored *refx.Attribution
		for _, a := range page.Referrals {
			if a.Referee == referee {
				stored = a
			}
		}
		if stored == nil || stored.Review == nil {
			t.Fatalf("%s undecided: %+v", referee, stored)
		}
		if stored.Review.Decision == refx.DecisionApprove {
			approved++
		}
		for _, a := range answers {
			switch {
			case a.referee != referee:
			case a.decision == stored.Review.Decision && (a.code != "" || a.status != stored.Status):
				t.Errorf("%s: the winning decision %s was answered %q %q", referee, a.decision, a.code, a.status)
			case a.decision != stored.Review.Decision && a.code != refx.ECONFLICT:
				t.Errorf("%s: the losing decision %s was answered %q %q, want a conflict", referee, a.decision, a.code, a.status)
			}
		}
		entries, err := c.direct.Audit(ctx, refx.AuditFilter{Resource: refx.AuditReferral, ResourceID: referee})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries.Entries) != 1 {
			t.Errorf("%s has %d audit entries, want 1", referee, len(entries.Entries))
		}
	}
	if r := referralCounts(t, c.direct, e.ID, link.Variant); r.Signups != approved || r.Flagged[refx.ReasonIPMissing] != referees {
		t.Fatalf("counts = signups %d flagged %v, want %d approved signups", r.Signups, r.Flagged, approved)
	}
	if q := queued(t, c.direct, e.ID); len(q) != 0 {
		t.Fatalf("queue after the storm = %v", q)
	}
}
