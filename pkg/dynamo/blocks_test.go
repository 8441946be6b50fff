package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/refx"
)

// TestBlocks blocks a code and a referrer: their links lead nowhere and
// count no click, their codes are not valid, their signups are refused
// (blocked); lifting the block restores them. A second instance, which
// read "not blocked" a moment before, sees the block once its cache entry
// is older than BlockCacheTTL.
func TestBlocks(t *testing.T) {
	t.Parallel()
	ctx := refx.WithActor(context.Background(), reviewer)
	clk := newClock()
	s := MustStore(t, dynamo.Options{Now: clk.Now})
	other := dynamo.New(s.Client(), s.Table(), dynamo.Options{Now: clk.Now, BlockCacheTTL: time.Minute})
	e := MustRunning(t, s, newReferralExperiment("blocks"))
	second := MustRunning(t, s, newReferralExperiment("blocks-2"))
	code := mustLink(t, s, e.ID, "alice")
	fraudster := mustLink(t, s, e.ID, "mallory")
	fraudster2 := mustLink(t, s, second.ID, "mallory")
	if info, err := other.Code(ctx, code.Code); err != nil || !info.Valid {
		t.Fatalf("before the block: %+v %v", info, err) // cached: not blocked
	}

	for _, b := range []*refx.Block{
		{Kind: refx.BlockCode, ID: code.Code, Reason: "spam"},
		{Kind: refx.BlockReferrer, ID: "mallory", Reason: "self-referral ring"},
	} {
		got, err := s.CreateBlock(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		again, err := s.CreateBlock(ctx, &refx.Block{Kind: b.Kind, ID: b.ID, Reason: "again"})
		if err != nil || again.Reason != b.Reason || !again.CreatedAt.Equal(got.CreatedAt) || got.CreatedBy != reviewer.ID {
			t.Fatalf("blocking again = %+v %v, want the first block %+v", again, err, got)
		}
	}
	for _, c := range []string{code.Code, fraudster.Code, fraudster2.Code} {
		t.Run("Blocked"+c, func(t *testing.T) {
			if info, err := s.Code(ctx, c); err != nil || info.Valid {
				t.Fatalf("code info = %+v %v, want not valid", info, err)
			}
			res, err := s.RecordClick(ctx, refx.Click{Code: c, Visitor: "visitor-blocked-0001"})
			if err != nil || res.Location != "" || res.Recorded {
				t.Fatalf("click = %+v %v, want the fallback and nothing recorded", res, err)
			}
			mustAttribute(t, s, refx.Signup{Code: c, Referee: "ref-" + c, IPHash: "ip-" + c}, refx.AttributionRefused, refx.ReasonBlocked)
		})
	}
	if info, _ := other.Code(ctx, code.Code); !info.Valid {
		t.Fatal("the other instance acted before its cache entry expired")
	}
	clk.Advance(time.Minute + time.Second)
	if info, _ := other.Code(ctx, code.Code); info.Valid {
		t.Fatal("the other instance still serves the code a cache TTL after the block")
	}
	r := referralCounts(t, s, e.ID, code.Variant)
	if r.Clicks+referralCounts(t, s, e.ID, fraudster.Variant).Clicks != 0 {
		t.Fatalf("blocked clicks counted: %+v", r)
	}

	page, err := s.Blocks(ctx, 10, "")
	if err != nil || len(page.Blocks) != 2 {
		t.Fatalf("blocks = %+v %v", page, err)
	}
	if err := s.DeleteBlock(ctx, refx.BlockReferrer, "mallory"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteBlock(ctx, refx.BlockReferrer, "mallory"), refx.ENOTFOUND)
	if info, err := s.Code(ctx, fraudster.Code); err != nil || !info.Valid {
		t.Fatalf("after lifting the block: %+v %v", info, err)
	}
	mustAttribute(t, s, refx.Signup{Code: fraudster.Code, Referee: "after-lift", IPHash: "ip-after-lift"}, refx.AttributionAttributed)
	entries, err := s.Audit(ctx, refx.AuditFilter{Resource: refx.AuditBlock})
	if err != nil || len(entries.Entries) != 3 {
		t.Fatalf("audit = %+v %v, want 2 creations and 1 deletion", entries, err)
	}

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, b := range []*refx.Block{{Kind: "ip", ID: "x"}, {Kind: refx.BlockCode, ID: "lower"}, {Kind: refx.BlockReferrer, ID: ""}} {
			_, err := s.CreateBlock(ctx, b)
			wantCode(t, err, refx.EINVALID)
		}
	})
}
