package refx

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	goaway "github.com/TwiN/go-away"
)

// Referral codes, random or vanity, are 4 to 24 characters of A-Z, 0-9 and
// '-', starting and ending with a letter or digit. Random codes (NewCode)
// are the 8-character subset without look-alikes; a vanity code is one a
// referrer or an admin asks for ("JANE10"). Codes are case-insensitive:
// NormalizeCode upper-cases them before they are looked up or stored.
const (
	MinCodeLength = 4
	MaxCodeLength = 24
)

// NormalizeCode returns the stored form of a code as typed or linked.
func NormalizeCode(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// validCodeShape reports whether s (normalized) has the shape of a code.
func validCodeShape(s string) bool {
	if len(s) < MinCodeLength || len(s) > MaxCodeLength || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// reservedCodes are words a vanity code may not be: they name routes and
// pages (/r/ADMIN must not look like an admin page), the product, or look
// official to the people a link is shared with. Compared after removing
// '-', so that A-D-M-I-N is ADMIN.
var reservedCodes = wordSet(`
		ADMIN ADMINISTRATOR ROOT SYSTEM SUPPORT HELP STAFF OFFICIAL SECURITY
		REFX API V1 HEALTHZ HEALTH DASHBOARD STATIC ASSETS LOGIN LOGOUT SIGNIN
		SIGNUP SIGNUPS REGISTER ACCOUNT BILLING PAYMENT PAYMENTS REFUND
		STATS LEADERBOARD CODES CODE REFERRAL REFERRALS REFERRER REFERRERS
		EXPERIMENT EXPERIMENTS EVENTS ASSIGN IDENTIFY FLAGS SEGMENTS LAYERS
		HOLDOUTS KEYS AUDIT USERS REWARDS REVIEWS BLOCKS WEBHOOKS PROGRAMS
		OFREP LAMED GROWTHBOOK NULL NONE UNDEFINED TEST DEMO EXPIRED INVALID
	`)

func wordSet(words string) map[string]bool {
	set := map[string]bool{}
	for _, w := range strings.Fields(words) {
		set[w] = true
	}
	return set
}

// profanity is TwiN/go-away's detector (github.com/TwiN/go-away, MIT: its
// maintained English list, leetspeak and look-alike folding), built once.
var profanity = sync.OnceValue(goaway.NewProfanityDetector)

// ValidateVanityCode checks a requested vanity code (normalized): its
// shape, that it is not a reserved word, and not profane. Every refusal is
// an EINVALID on the field "code"; whether it is taken is the store's
// answer (ECONFLICT, reason code_taken).
func ValidateVanityCode(code string) error {
	switch {
	case !validCodeShape(code):
		return FieldErrorf("code", "must be %d to %d letters, digits or '-', starting and ending with a letter or digit", MinCodeLength, MaxCodeLength)
	case reservedCodes[strings.ReplaceAll(code, "-", "")]:
		return FieldErrorf("code", "%s is a reserved word", code)
	case profanity().IsProfane(strings.ReplaceAll(code, "-", "")):
		return FieldErrorf("code", "%s is not allowed: choose another", code)
	}
	return nil
}

// ReasonCodeTaken starts the message of the conflict a vanity code held
// by another referrer gets: clients match on it.
const ReasonCodeTaken = "code_taken"

// CodeTakenError is the ECONFLICT of a vanity code another referrer holds.
func CodeTakenError(code string) *Error {
	return &Error{Code: ECONFLICT, Field: "code", Message: ReasonCodeTaken + ": the code " + code + " is taken: choose another"}
}

// CodeRequest asks for a referrer's code in an experiment: a random one
// when Code is empty, else the vanity code Code. ExpiresAt (admins only)
// ends the code before the experiment's code_ttl_days would.
type CodeRequest struct {
	Experiment string     `json:"experiment"`
	Referrer   string     `json:"referrer"`
	Code       string     `json:"code,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	// IPHash, DeviceHash and EmailHash are the keyed hashes of the
	// referrer's address, device and e-mail as the link request gave
	// them, filled by the server: a signup that matches one is the
	// referrer signing up through their own link (Signup).
	IPHash     string `json:"-"`
	DeviceHash string `json:"-"`
	EmailHash  string `json:"-"`
}

// Normalize puts the referrer and the code in their stored forms.
func (r *CodeRequest) Normalize() {
	r.Referrer = NormalizeUser(r.Referrer)
	r.Code = NormalizeCode(r.Code)
}

// Validate checks a code request's fields; now bounds expires_at.
func (r *CodeRequest) Validate(now time.Time) error {
	switch {
	case !ValidSlug(r.Experiment):
		return FieldErrorf("experiment", "must be an experiment id")
	case !ValidUser(r.Referrer):
		return InvalidUser("referrer")
	case r.ExpiresAt != nil && !r.ExpiresAt.After(now):
		return FieldErrorf("expires_at", "must be in the future")
	case r.ExpiresAt != nil && r.ExpiresAt.After(now.AddDate(10, 0, 0)):
		return FieldErrorf("expires_at", "must be within 10 years")
	}
	if r.Code != "" {
		return ValidateVanityCode(r.Code)
	}
	return nil
}

// CodeExpiry is when a code stops working: its own expires_at, else its
// creation plus the experiment's code_ttl_days, else never (nil). Derived
// when read, so that changing code_ttl_days applies to every code.
func CodeExpiry(createdAt time.Time, expiresAt *time.Time, c *ReferralConfig) *time.Time {
	if expiresAt != nil {
		return expiresAt
	}
	if c != nil && c.CodeTTLDays > 0 {
		t := createdAt.AddDate(0, 0, c.CodeTTLDays)
		return &t
	}
	return nil
}

// Leaderboard orders, for GET /v1/experiments/{id}/leaderboard?by=.
const (
	LeaderBySignups     = "signups"
	LeaderByConversions = "conversions"
	LeaderByValue       = "value"
	MaxLeaderboard      = 100
)

// LeaderBys are the orders a leaderboard can take.
var LeaderBys = []string{LeaderBySignups, LeaderByConversions, LeaderByValue}

// CodeStats are one code's counts, for its referrer.
type CodeStats struct {
	Code        string      `json:"code"`
	Experiment  string      `json:"experiment"`
	Variant     string      `json:"variant"`
	Referrer    string      `json:"referrer"`
	Clicks      int64       `json:"clicks"`
	Signups     int64       `json:"signups"`
	Conversions int64       `json:"conversions"`
	Value       json.Number `json:"value"`
	// Channels splits the counts by the channel of the referee's click.
	Channels  map[string]ChannelCounts `json:"channels"`
	ExpiresAt *time.Time               `json:"expires_at,omitempty"`
	// Rewards are the referrer's rewards (of all their codes: caps and
	// payouts are per beneficiary) by currency and status.
	Rewards []RewardTotal `json:"rewards"`
}

// StatsAccess is what a caller of CodeStats shows: the code's stats token,
// or that it is trusted (a secret key).
type StatsAccess struct {
	Token   string
	Trusted bool
}

// LeaderboardEntry is one referrer's code and totals.
type LeaderboardEntry struct {
	Rank        int         `json:"rank"`
	Referrer    string      `json:"referrer"`
	Code        string      `json:"code"`
	Variant     string      `json:"variant"`
	Clicks      int64       `json:"clicks"`
	Signups     int64       `json:"signups"`
	Conversions int64       `json:"conversions"`
	Value       json.Number `json:"value"`
}

// Leaderboard is an experiment's top referrers by one total.
type Leaderboard struct {
	Experiment string             `json:"experiment"`
	By         string             `json:"by"`
	Entries    []LeaderboardEntry `json:"entries"`
}

// CodeService manages codes beyond a referrer's first random one.
type CodeService interface {
	// CreateCode returns the referrer's code in a running referral
	// experiment, creating it on the first call: req.Code is the vanity
	// code asked for (first come, first served), else a random one. A
	// referrer who has a code gets theirs. ENOTFOUND, EINVALID,
	// ECONFLICT (not a running referral experiment, or CodeTakenError).
	CreateCode(ctx context.Context, req CodeRequest) (*ReferralLink, error)
	// IssueCode is CreateCode by an admin (ctx's actor), written with its
	// audit entry; only it takes ExpiresAt.
	IssueCode(ctx context.Context, req CodeRequest) (*ReferralLink, error)
	// CodeStats reads a code's totals. EUNAUTHORIZED without a token,
	// EFORBIDDEN for a wrong one, ENOTFOUND for an unknown code.
	CodeStats(ctx context.Context, code string, access StatsAccess) (*CodeStats, error)
	// Leaderboard lists an experiment's top referrers by (LeaderBys), at
	// most limit (≤ MaxLeaderboard). ENOTFOUND, EINVALID.
	Leaderboard(ctx context.Context, experiment, by string, limit int) (*Leaderboard, error)
}
