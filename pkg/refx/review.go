package refx

import (
	"context"
	"time"
)

// BlockKind says what a block stops: one code, or every code of a referrer.
type BlockKind string

// Block kinds.
const (
	BlockCode     BlockKind = "code"
	BlockReferrer BlockKind = "referrer"
)

// ReasonBlocked refuses a signup through a blocked code or a blocked
// referrer's code.
const ReasonBlocked = "blocked"

// Block stops a code, or all of a referrer's codes, from counting: their
// links lead to the fallback page, their signups are refused and their
// pending rewards are held.
type Block struct {
	Kind      BlockKind `json:"kind"`
	ID        string    `json:"id"`
	Reason    string    `json:"reason"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// maxBlockReason bounds a block's reason.
const maxBlockReason = 500

// Validate checks a block's kind, id and reason.
func (b *Block) Validate() error {
	switch {
	case b.Kind == BlockCode && !ValidCode(b.ID):
		return FieldErrorf("code", "must be a referral code")
	case b.Kind == BlockReferrer && !ValidUser(b.ID):
		return InvalidUser("referrer")
	case b.Kind != BlockCode && b.Kind != BlockReferrer:
		return FieldErrorf("kind", "must be %q or %q", BlockCode, BlockReferrer)
	case len(b.Reason) > maxBlockReason:
		return FieldErrorf("reason", "must be at most %d bytes", maxBlockReason)
	}
	return nil
}

// BlockPage is one page of blocks, newest first.
type BlockPage struct {
	Blocks     []*Block `json:"blocks"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// BlockService keeps the blocks. Every change is audited.
type BlockService interface {
	// CreateBlock stores a block; blocking what is already blocked returns
	// the stored block unchanged. EINVALID.
	CreateBlock(ctx context.Context, b *Block) (*Block, error)
	// Blocks lists the blocks. EINVALID for a bad cursor.
	Blocks(ctx context.Context, limit int, cursor string) (*BlockPage, error)
	// DeleteBlock lifts a block. ENOTFOUND when there is none.
	DeleteBlock(ctx context.Context, kind BlockKind, id string) error
}

// Review decisions on a flagged (or, for reject, attributed) attribution.
const (
	DecisionApprove = "approve"
	DecisionReject  = "reject"
)

// ReviewDecision is a reviewer's decision on a referee's attribution.
type ReviewDecision struct {
	Decision   string    `json:"decision"`
	ReviewedBy string    `json:"reviewed_by,omitempty"`
	ReviewedAt time.Time `json:"reviewed_at"`
	Note       string    `json:"note,omitempty"`
}

// maxReviewNote bounds a decision's note.
const maxReviewNote = 500

// ValidateReview checks a decision and its note.
func ValidateReview(decision, note string) error {
	switch {
	case decision != DecisionApprove && decision != DecisionReject:
		return FieldErrorf("decision", "must be %q or %q", DecisionApprove, DecisionReject)
	case len(note) > maxReviewNote:
		return FieldErrorf("note", "must be at most %d bytes", maxReviewNote)
	}
	return nil
}

// ReviewService runs the review queue of flagged attributions.
type ReviewService interface {
	// Reviews lists an experiment's flagged attributions awaiting a
	// decision, newest first. EINVALID for a bad cursor.
	Reviews(ctx context.Context, experiment string, limit int, cursor string) (*AttributionPage, error)
	// Review decides on a referee's attribution: approve a flagged one
	// (it counts from then on) or reject a flagged or attributed one (what
	// it counted is reversed). The same decision again returns the
	// attribution as decided. ENOTFOUND; ECONFLICT when the attribution
	// was decided otherwise or cannot take this decision; EINVALID.
	Review(ctx context.Context, referee, decision, note string) (*Attribution, error)
}
