package refx

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// ReferralConfig makes an experiment a referral experiment: its variants are
// referral offers shown to referrers, and referral links, clicks, referee
// signups and referee conversions are counted per referrer's variant.
type ReferralConfig struct {
	// LandingURL is where a referral link leads, with ref=<code> added. It
	// is the only redirect target a link can have.
	LandingURL string `json:"landing_url"`
	// ConversionGoal is the event type that counts as a referee's
	// conversion (default "purchase"). When the experiment lists a goal of
	// that key, the goal's server_only and cap apply to the referrer's
	// credit as well: one event type has one trust rule and one cap.
	ConversionGoal string `json:"conversion_goal"`
	// WindowDays bounds attribution: a signup more than this many days after
	// the referee's click (or the code's creation) is refused (default 30).
	WindowDays int `json:"window_days"`
	// MaxSignupsPerHour and MaxSignupsPerDay flag signups through one code
	// beyond these rates (defaults 20 and 100).
	MaxSignupsPerHour int `json:"max_signups_per_hour"`
	MaxSignupsPerDay  int `json:"max_signups_per_day"`
	// Metrics judges the per-referrer metrics, by name (ReferralMetrics);
	// one not listed is secondary and should increase.
	Metrics map[string]Decision `json:"metrics,omitempty"`
	// CodeTTLDays ends each code this many days after it was created
	// (0: codes live as long as the experiment); a code's own expires_at
	// comes first. An expired code's link goes to the fallback page,
	// counts nothing, and its signups are refused (code_expired).
	CodeTTLDays int `json:"code_ttl_days,omitempty"`
	// Program names the program (/v1/programs) the experiment tests offers
	// of: once the experiment has ended, its codes keep working under the
	// program's current offer and count for the program.
	Program string `json:"program,omitempty"`
}

// Referral defaults and limits.
const (
	DefaultWindowDays        = 30
	DefaultMaxSignupsPerHour = 20
	DefaultMaxSignupsPerDay  = 100
	maxURLLen                = 2048
)

// withDefaults returns a copy of c with the defaults filled in.
func (c ReferralConfig) withDefaults() *ReferralConfig {
	if c.ConversionGoal == "" {
		c.ConversionGoal = "purchase"
	}
	if c.WindowDays == 0 {
		c.WindowDays = DefaultWindowDays
	}
	if c.MaxSignupsPerHour == 0 {
		c.MaxSignupsPerHour = DefaultMaxSignupsPerHour
	}
	if c.MaxSignupsPerDay == 0 {
		c.MaxSignupsPerDay = DefaultMaxSignupsPerDay
	}
	return &c
}

func (c *ReferralConfig) validate() error {
	switch {
	case !validLandingURL(c.LandingURL):
		return FieldErrorf("referral.landing_url", "must be an absolute http(s) URL of at most %d bytes", maxURLLen)
	case c.Program != "" && !ValidSlug(c.Program):
		return FieldErrorf("referral.program", "must be the id of a program")
	case !ValidKey(c.ConversionGoal):
		return FieldErrorf("referral.conversion_goal", "must be an event type")
	case c.CodeTTLDays < 0 || c.CodeTTLDays > 3650:
		return FieldErrorf("referral.code_ttl_days", "must be between 0 (no expiry) and 3650")
	case c.WindowDays < 1 || c.WindowDays > 365:
		return FieldErrorf("referral.window_days", "must be between 1 and 365")
	case c.MaxSignupsPerHour < 1 || c.MaxSignupsPerDay < c.MaxSignupsPerHour:
		return FieldErrorf("referral.max_signups_per_hour", "must be at least 1 and at most max_signups_per_day")
	}
	for _, name := range slices.Sorted(maps.Keys(c.Metrics)) {
		if !slices.Contains(ReferralMetrics, name) {
			return FieldErrorf("referral.metrics", "%q is not a referral metric: one of %s", name, strings.Join(ReferralMetrics, ", "))
		}
		if err := c.Metrics[name].validate("referral.metrics", name); err != nil {
			return err
		}
	}
	return nil
}

// Window is the attribution window.
func (c *ReferralConfig) Window() time.Duration { return time.Duration(c.WindowDays) * 24 * time.Hour }

// LinkTarget returns the landing URL with ref=code added.
func (c *ReferralConfig) LinkTarget(code string) string { return linkTarget(c.LandingURL, code) }

func linkTarget(landingURL, code string) string {
	u, err := url.Parse(landingURL)
	if err != nil {
		return landingURL
	}
	q := u.Query()
	q.Set("ref", code)
	u.RawQuery = q.Encode()
	return u.String()
}

// Referral codes: 8 characters from an alphabet without look-alikes (no 0/O,
// 1/I/L), random and unrelated to the user: 31⁸ ≈ 8.5·10¹¹ codes.
const (
	CodeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	CodeLength   = 8
)

// NewCode returns a random referral code.
func NewCode() string {
	b := make([]byte, CodeLength)
	rand.Read(b)
	for i := range b {
		// 256 is not a multiple of the alphabet size; rejecting the top
		// values keeps every character equally likely.
		for int(b[i]) >= 256/len(CodeAlphabet)*len(CodeAlphabet) {
			var one [1]byte
			rand.Read(one[:])
			b[i] = one[0]
		}
		b[i] = CodeAlphabet[int(b[i])%len(CodeAlphabet)]
	}
	return string(b)
}

// ValidCode reports whether s (normalized) has the shape of a referral
// code, random or vanity (vanity.go).
func ValidCode(s string) bool { return validCodeShape(s) }

// ReferralLink is a referrer's code in an experiment.
type ReferralLink struct {
	Code       string          `json:"code"`
	URL        string          `json:"url"`
	Experiment string          `json:"experiment"`
	Referrer   string          `json:"referrer"`
	Variant    string          `json:"variant"`
	Payload    json.RawMessage `json:"payload,omitempty"`
	// InExperiment is false when the referrer is outside the experiment's
	// coverage: the link works but nothing it brings is counted.
	InExperiment bool      `json:"in_experiment"`
	CreatedAt    time.Time `json:"created_at"`
	// ExpiresAt is when the code stops working (CodeExpiry), if ever.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// StatsToken reads the code's stats (GET /v1/referrals/{code}/stats).
	// Only its digest is stored: it is in the answer that created the
	// code, and never again.
	StatsToken string `json:"stats_token,omitempty"`
}

// CodeInfo is the public view of a code, for landing pages.
type CodeInfo struct {
	Code       string          `json:"code"`
	Valid      bool            `json:"valid"`
	Experiment string          `json:"experiment,omitempty"`
	Variant    string          `json:"variant,omitempty"`
	Payload    json.RawMessage `json:"payload,omitempty"`
	// Rewards is what the offer pays the referrer and the referee.
	Rewards *RewardPlan `json:"rewards,omitempty"`
	// Program is set once the code's experiment has ended: the code serves
	// its program's current offer, and Variant names that offer.
	Program string `json:"program,omitempty"`
}

// Click is one opening of a referral link by a visitor.
type Click struct {
	Code    string
	Visitor string
	// IPHash is a keyed hash of the visitor's IP address; raw addresses are
	// never stored.
	IPHash string
	// Channel is NormalizeChannel's of the link's channel and utm_source;
	// UTM the link's campaign parameters, cleaned.
	Channel string
	UTM     UTM
}

// ClickResult says where to send the visitor and what was counted.
type ClickResult struct {
	Location string
	// Recorded is true for the first click of this visitor on this code.
	Recorded bool
}

// Attribution statuses and guard reasons.
const (
	AttributionAttributed = "attributed"
	AttributionFlagged    = "flagged"
	// AttributionRejected is a flagged or attributed referee a reviewer
	// rejected: nothing of theirs counts or earns.
	AttributionRejected  = "rejected"
	AttributionRefused   = "refused"
	AttributionDuplicate = "duplicate"

	ReasonSelfReferral      = "self_referral"
	ReasonAlreadyAttributed = "already_attributed"
	ReasonOutsideWindow     = "outside_window"
	ReasonNotRunning        = "experiment_not_running"
	ReasonUnknownCode       = "unknown_code"
	ReasonCodeExpired       = "code_expired"
	ReasonVelocityHour      = "velocity_hour"
	ReasonVelocityDay       = "velocity_day"
	ReasonRepeatedIP        = "repeated_ip"
	ReasonRepeatedDevice    = "repeated_device"
	// ReasonSelfReferralIP and ReasonSelfReferralDevice flag a signup from
	// the address or device the referrer asked for the link from: likely
	// the referrer again, but also a housemate behind the same router, so
	// a reviewer decides rather than the guard refusing.
	ReasonSelfReferralIP     = "self_referral_ip"
	ReasonSelfReferralDevice = "self_referral_device"
	// ReasonIPMissing flags a signup a backend sent without the referee's
	// address: the repeated-IP guard cannot run, so it is not counted
	// until reviewed rather than let through unguarded.
	ReasonIPMissing = "ip_missing"
)

// Signup is a referee signing up through a code.
type Signup struct {
	Code    string `json:"-"`
	Referee string `json:"referee"`
	// Visitor is the visitor id the link set, when the landing page knows
	// it: the attribution window then starts at that visitor's click.
	Visitor string `json:"visitor,omitempty"`
	// Device is a client-computed device fingerprint; it is hashed before
	// it is stored.
	Device string `json:"device,omitempty"`
	// IPHash is filled by the server from the request.
	IPHash string `json:"-"`
	// PreviousIPHash and PreviousDevice are the same values hashed with
	// the previous hash key while one is configured: markers left before
	// the key was rotated are still found, never written.
	PreviousIPHash string `json:"-"`
	PreviousDevice string `json:"-"`
	// EmailHash is the keyed hash of the referee's e-mail address
	// (NormalizeEmail), when the signup sends one: equal to the
	// referrer's, the signup is refused as a self-referral.
	EmailHash         string `json:"-"`
	PreviousEmailHash string `json:"-"`
}

// Validate checks a signup's fields.
func (s *Signup) Validate() error {
	switch {
	case !ValidCode(s.Code):
		return FieldErrorf("code", "must be a referral code")
	case !ValidUser(s.Referee):
		return InvalidUser("referee")
	case s.Visitor != "" && !ValidVisitor(s.Visitor):
		return FieldErrorf("visitor", "must be a visitor id set by a referral link")
	case len(s.Device) > 512:
		return FieldErrorf("device", "must be at most 512 bytes")
	}
	return nil
}

// ValidVisitor reports whether s is a visitor id as referral links set them:
// 16 to 64 letters, digits, '-' or '_'.
func ValidVisitor(s string) bool {
	if len(s) < 16 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// MaxEmailLen is the longest e-mail address a mail server relays (RFC 5321).
const MaxEmailLen = 254

// NormalizeEmail returns the spelling of an e-mail address that is hashed
// and compared: trimmed and lower-cased, so that "Ann@Shop.example " and
// "ann@shop.example" are one person. Lower-casing the local part is not what
// RFC 5321 promises, but it is what every large mail provider does, and a
// false match only flags a referee for review.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidEmail reports whether s, normalized, has the shape of an address:
// one '@' between a non-empty local part and a domain with a dot, no
// spaces or control characters, at most MaxEmailLen bytes. Whether it
// receives mail is not ours to check.
func ValidEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || len(s) > MaxEmailLen || !utf8.ValidString(s) ||
		strings.Contains(domain, "@") || !strings.Contains(domain, ".") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || !idChar(r) {
			return false
		}
	}
	return true
}

// Attribution links a referee to the referrer whose code they signed up
// through.
type Attribution struct {
	Referee      string     `json:"referee"`
	Referrer     string     `json:"referrer"`
	Code         string     `json:"code"`
	Experiment   string     `json:"experiment"`
	Variant      string     `json:"variant"`
	Status       string     `json:"status"`
	Reasons      []string   `json:"reasons,omitempty"`
	AttributedAt time.Time  `json:"attributed_at"`
	ConvertedAt  *time.Time `json:"converted_at,omitempty"`
	// Review is the reviewer's decision, once there is one.
	Review *ReviewDecision `json:"review,omitempty"`
	// Program is set when the signup came after the code's experiment
	// ended: it counts for the program, not the experiment.
	Program string `json:"program,omitempty"`
}

// AttributionResult is the outcome of a signup: the attribution when one
// exists, and the status of this request (attributed, flagged, refused or
// duplicate) with the reasons.
type AttributionResult struct {
	Status      string       `json:"status"`
	Reasons     []string     `json:"reasons,omitempty"`
	Attribution *Attribution `json:"attribution,omitempty"`
}

// AttributionPage is one page of a referrer's referees.
type AttributionPage struct {
	Referrals  []*Attribution `json:"referrals"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// ReferralService runs referral programs.
type ReferralService interface {
	CodeService
	// CreateReferral returns the referrer's link in an experiment, creating
	// it (and assigning the referrer) on the first call. ENOTFOUND,
	// ECONFLICT when the experiment is not a running referral experiment.
	CreateReferral(ctx context.Context, experiment, referrer string) (*ReferralLink, error)
	// Code describes a code for landing pages; unknown codes are not valid.
	Code(ctx context.Context, code string) (*CodeInfo, error)
	// RecordClick counts a visitor's first click on a code and says where
	// to send them; unknown or expired codes get Location "" and count
	// nothing.
	RecordClick(ctx context.Context, c Click) (*ClickResult, error)
	// Attribute attributes a referee to a code's referrer, applying the
	// guards. ENOTFOUND for an unknown code.
	Attribute(ctx context.Context, s Signup) (*AttributionResult, error)
	// Referrals lists a referrer's referees. EINVALID for a bad cursor.
	Referrals(ctx context.Context, referrer string, limit int, cursor string) (*AttributionPage, error)
}
