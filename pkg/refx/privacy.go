package refx

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Erasure says what erasing a user removed from the table, per kind of
// item. A second erasure of the same user finds nothing left and returns
// zeros (or what the user wrote in between).
type Erasure struct {
	User string `json:"user"`
	// UserHash is ErasureHash(User): what the export's erasure record
	// carries instead of the id.
	UserHash string `json:"user_hash"`
	// Assignments are the user's enrolments, including copies made when an
	// anonymous visitor identified as the user and the anonymous
	// assignments linked to the user.
	Assignments int `json:"assignments"`
	Events      int `json:"events"`
	// Codes are the user's referral codes (and their pointers): an erased
	// referrer's link stops working, so it brings no new clicks or signups.
	Codes int `json:"codes"`
	// Attributions are the user's own attribution as a referee, and
	// Referees the attributions of other users that named the user as
	// their referrer: those keep counting, with the referrer replaced by a
	// pseudonym.
	Attributions int `json:"attributions"`
	Referees     int `json:"referees"`
	Refusals     int `json:"refusals"`
	// Clicks and Visits are the click and visitor marks of the visitor id
	// the user signed up from.
	Clicks int `json:"clicks"`
	Visits int `json:"visits"`
	// ErasedAt is when the erasure completed; the export excludes the
	// user's rows streamed up to the erasure record.
	ErasedAt time.Time `json:"erased_at"`
}

// ErasedName replaces an erased user's id where it remains in someone
// else's data: the referrer of a referee's attribution and credits
// (non-empty, so the referee's conversions still count as referral
// credits) and the linked_from of an account's assignment copied from an
// erased anonymous visitor (non-empty, so it is still no new participant).
// The export's views and purge job replace it the same way.
const ErasedName = "erased"

// PrivacyService erases users.
type PrivacyService interface {
	// EraseUser deletes the user's personal items from the table, leaving
	// the counters (anonymous sums) unchanged, and records the erasure for
	// the export. Idempotent. EINVALID for an invalid user id,
	// EUNAVAILABLE when the store is busy (send it again: it completes).
	EraseUser(ctx context.Context, user string) (*Erasure, error)
}

// ErasureHash is the lowercase hex SHA-256 of a user id: the form an
// erasure record names the user in, and the one Athena computes from the
// exported rows (lower(to_hex(sha256(to_utf8(user_id))))) to exclude them.
// It is unkeyed, because Athena must compute it without a secret; for
// guessable ids it is a pseudonym, not anonymity.
func ErasureHash(user string) string {
	sum := sha256.Sum256([]byte(user))
	return hex.EncodeToString(sum[:])
}
