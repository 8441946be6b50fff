package refx

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/base64"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RewardPlan is what a referral variant pays: the referrer and the referee
// each under their own rule. Either may be absent.
type RewardPlan struct {
	Referrer *RewardRule `json:"referrer,omitempty"`
	Referee  *RewardRule `json:"referee,omitempty"`
}

// RewardRule is one beneficiary's reward: a fixed amount or a share of the
// qualifying event's value, in a currency, earned on the referee's signup
// or on each of their events of the experiment's conversion goal worth at
// least MinValue, held HoldDays before it is approved, and capped per
// beneficiary per calendar month (UTC, of the qualifying event) and in all.
// Amounts are decimal strings, as money is written, never floats.
type RewardRule struct {
	Amount   string `json:"amount,omitempty"`
	Percent  string `json:"percent,omitempty"`
	Currency string `json:"currency"`
	// On is "signup" or the experiment's conversion goal.
	On          string `json:"on"`
	MinValue    string `json:"min_value,omitempty"`
	HoldDays    int    `json:"hold_days,omitempty"`
	CapPerMonth int    `json:"cap_per_month,omitempty"`
	CapLifetime int    `json:"cap_lifetime,omitempty"`
}

// Reward roles, the qualifying signup and the limits of a rule.
const (
	RewardReferrer = "referrer"
	RewardReferee  = "referee"
	RewardOnSignup = "signup"
	MaxHoldDays    = 365
	MaxRewardCap   = 1_000_000
)

// RoleRule is a plan's rule for one role.
type RoleRule struct {
	Role string
	Rule *RewardRule
}

// Rules returns the plan's rules, the referrer's first.
func (p *RewardPlan) Rules() []RoleRule {
	var out []RoleRule
	if p == nil {
		return out
	}
	for _, r := range []RoleRule{{RewardReferrer, p.Referrer}, {RewardReferee, p.Referee}} {
		if r.Rule != nil {
			out = append(out, r)
		}
	}
	return out
}

// validate checks the plan of variant against the experiment's conversion
// goal; field names say which variant, role and attribute is wrong.
func (p *RewardPlan) validate(variant, goal string) error {
	if p.Referrer == nil && p.Referee == nil {
		return FieldErrorf("variants."+variant+".rewards", "must name a referrer or a referee rule")
	}
	for _, r := range p.Rules() {
		if err := r.Rule.validate("variants."+variant+".rewards."+r.Role+".", goal); err != nil {
			return err
		}
	}
	return nil
}

func (r *RewardRule) validate(field, goal string) error {
	exp, known := CurrencyExponent(r.Currency)
	if !known {
		return FieldErrorf(field+"currency", "must be an active ISO 4217 currency code such as USD or EUR")
	}
	switch {
	case (r.Amount == "") == (r.Percent == ""):
		return FieldErrorf(field+"amount", "give exactly one of amount and percent")
	case r.On != RewardOnSignup && r.On != goal:
		return FieldErrorf(field+"on", "must be %q or the experiment's conversion goal %q", RewardOnSignup, goal)
	case r.HoldDays < 0 || r.HoldDays > MaxHoldDays:
		return FieldErrorf(field+"hold_days", "must be between 0 and %d", MaxHoldDays)
	case r.CapPerMonth < 0 || r.CapPerMonth > MaxRewardCap:
		return FieldErrorf(field+"cap_per_month", "must be between 0 (no cap) and %d", MaxRewardCap)
	case r.CapLifetime < 0 || r.CapLifetime > MaxRewardCap:
		return FieldErrorf(field+"cap_lifetime", "must be between 0 (no cap) and %d", MaxRewardCap)
	case r.Percent != "" && r.On == RewardOnSignup:
		return FieldErrorf(field+"percent", "needs a valued event: a signup has no value to take a share of")
	case r.MinValue != "" && r.On == RewardOnSignup:
		return FieldErrorf(field+"min_value", "needs a valued event: a signup has no value")
	}
	if r.Amount != "" {
		d, err := ParseDecimal(r.Amount)
		switch {
		case err != nil || d.units <= 0:
			return FieldErrorf(field+"amount", "must be a positive decimal such as \"10.00\"")
		case d.units%pow10(DecimalPlaces-exp) != 0:
			return FieldErrorf(field+"amount", "must have at most %d decimal places in %s", exp, r.Currency)
		}
	}
	if r.Percent != "" {
		d, err := ParseDecimal(r.Percent)
		if err != nil || d.units <= 0 || d.units > 100*pow10(DecimalPlaces) {
			return FieldErrorf(field+"percent", "must be a decimal greater than 0 and at most 100")
		}
	}
	if r.MinValue != "" {
		if d, err := ParseDecimal(r.MinValue); err != nil || d.units < 0 {
			return FieldErrorf(field+"min_value", "must be a decimal of at least 0")
		}
	}
	return nil
}

// Qualifies reports whether an event of value v (nil: none) meets the
// rule's minimum value.
func (r *RewardRule) Qualifies(v *Decimal) bool {
	if r.MinValue == "" {
		return true
	}
	min, _ := ParseDecimal(r.MinValue) // validated
	return v != nil && v.units >= min.units
}

// AmountFor is the reward the rule pays for an event of value v (nil for a
// signup): the fixed amount, or the rule's percentage of v rounded down to
// the currency's minor unit (10% of 19.99 USD is 1.99), computed exactly.
// ok is false when the reward would be zero or less: nothing to pay.
func (r *RewardRule) AmountFor(v *Decimal) (amount Decimal, ok bool) {
	if r.Amount != "" {
		d, _ := ParseDecimal(r.Amount) // validated
		return d, d.units > 0
	}
	if v == nil {
		return Decimal{}, false
	}
	p, _ := ParseDecimal(r.Percent) // validated
	exp, _ := CurrencyExponent(r.Currency)
	// v·p/100 in units of 1/10⁴: v.units·p.units / (100·10⁴), then down
	// to the minor unit. The product can pass int64; big.Int cannot.
	n := new(big.Int).Mul(big.NewInt(v.units), big.NewInt(p.units))
	n.Quo(n, big.NewInt(100*pow10(DecimalPlaces)))
	step := big.NewInt(pow10(DecimalPlaces - exp))
	n.Mul(n.Quo(n, step), step)
	if n.Sign() <= 0 {
		return Decimal{}, false
	}
	return Decimal{units: n.Int64()}, true
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

//go:embed currencies.txt
var currencyList string

// currencies maps each active ISO 4217 code of currencies.txt to its minor
// unit.
var currencies = func() map[string]int {
	m := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(currencyList))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		code, digits, _ := strings.Cut(line, " ")
		n, err := strconv.Atoi(digits)
		if err != nil || len(code) != 3 || n > DecimalPlaces {
			panic(fmt.Sprintf("refx: currencies.txt: bad line %q", line))
		}
		m[code] = n
	}
	return m
}()

// CurrencyExponent returns the number of decimal places of an active ISO
// 4217 currency (2 for USD, 0 for JPY, 3 for KWD); ok is false for a code
// not in the list.
func CurrencyExponent(code string) (exp int, ok bool) {
	exp, ok = currencies[code]
	return exp, ok
}

// Reward statuses: pending (held until HoldUntil) → approved → issued, and
// rejected (a cap, or a person) and reversed (a refund, a chargeback, a
// rejected referral) as ends.
const (
	RewardPending  = "pending"
	RewardApproved = "approved"
	RewardIssued   = "issued"
	RewardReversed = "reversed"
	RewardRejected = "rejected"
)

// RewardStatuses lists the statuses.
var RewardStatuses = []string{RewardPending, RewardApproved, RewardIssued, RewardReversed, RewardRejected}

// Reasons a reward is rejected or reversed by refx itself.
const (
	RewardReasonCapMonth    = "cap_month"
	RewardReasonCapLifetime = "cap_lifetime"
	// RewardReasonRefund reverses the rewards of a refunded event.
	RewardReasonRefund = "refund"
	// RewardReasonReviewRejected reverses the rewards of a referee whose
	// attribution a reviewer rejected.
	RewardReasonReviewRejected = "review_rejected"
)

// RewardAction is a move of a reward asked through the API.
type RewardAction string

// Reward actions.
const (
	RewardApprove RewardAction = "approve"
	RewardReject  RewardAction = "reject"
	RewardIssue   RewardAction = "issue"
	RewardReverse RewardAction = "reverse"
)

// rewardMoves are the statuses each action moves from, and to.
var rewardMoves = map[RewardAction]struct {
	from []string
	to   string
}{
	RewardApprove: {[]string{RewardPending}, RewardApproved},
	RewardReject:  {[]string{RewardPending, RewardApproved}, RewardRejected},
	RewardIssue:   {[]string{RewardApproved}, RewardIssued},
	// Reversing an issued reward records a chargeback: the money went out
	// and must be taken back.
	RewardReverse: {[]string{RewardPending, RewardApproved, RewardIssued}, RewardReversed},
}

// Move returns the status action moves a reward of status from to; done
// is true when the reward already has it (a retry: nothing to write).
// ECONFLICT naming the statuses it moves from otherwise; EINVALID for an
// unknown action.
func (a RewardAction) Move(from string) (to string, done bool, err error) {
	m, ok := rewardMoves[a]
	switch {
	case !ok:
		return "", false, FieldErrorf("action", "must be approve, reject, issue or reverse")
	case from == m.to:
		return m.to, true, nil
	case !slices.Contains(m.from, from):
		return "", false, Errorf(ECONFLICT, "cannot %s a reward that is %s: %s moves a reward that is %s", a, from, a, strings.Join(m.from, " or "))
	}
	return m.to, false, nil
}

// Reward is one entry of the rewards ledger: what one beneficiary earns
// for one qualifying signup or event.
type Reward struct {
	// ID is stable and url-safe, derived from the qualifying key and the
	// role (RewardID).
	ID          string `json:"id"`
	Status      string `json:"status"`
	Role        string `json:"role"`
	Beneficiary string `json:"beneficiary"`
	Referrer    string `json:"referrer"`
	Referee     string `json:"referee"`
	Code        string `json:"code"`
	Experiment  string `json:"experiment"`
	Program     string `json:"program,omitempty"`
	Variant     string `json:"variant"`
	Amount      string `json:"amount"`
	Currency    string `json:"currency"`
	// QualifyingEvent is "SIGNUP#<referee>" or "EVENT#<event id>".
	QualifyingEvent string     `json:"qualifying_event"`
	HoldUntil       *time.Time `json:"hold_until,omitempty"`
	Reason          string     `json:"reason,omitempty"`
	IssuedRef       string     `json:"issued_ref,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	By              *Actor     `json:"by,omitempty"`
}

// Qualifying keys name what earned a reward.
func SignupQualifying(referee string) string { return "SIGNUP#" + referee }

// EventQualifying is the qualifying key of an event.
func EventQualifying(eventID string) string { return "EVENT#" + eventID }

// RewardID is the id of the reward of role for a qualifying key.
func RewardID(qualifying, role string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(qualifying + "|" + role))
}

// ParseRewardID returns the qualifying key and role of a reward id.
// EINVALID for anything RewardID did not make.
func ParseRewardID(id string) (qualifying, role string, err error) {
	b, decErr := base64.RawURLEncoding.DecodeString(id)
	q, r, cut := strings.Cut(string(b), "|")
	if decErr != nil || !cut || (r != RewardReferrer && r != RewardReferee) ||
		!(strings.HasPrefix(q, "SIGNUP#") || strings.HasPrefix(q, "EVENT#")) {
		return "", "", FieldErrorf("id", "must be a reward id")
	}
	return q, r, nil
}

// RewardFilter selects rewards of a listing.
type RewardFilter struct {
	Status      string
	Beneficiary string
	Experiment  string
	Limit       int
	Cursor      string
}

// Validate checks the filter's fields.
func (f *RewardFilter) Validate() error {
	switch {
	case f.Status != "" && !slices.Contains(RewardStatuses, f.Status):
		return FieldErrorf("status", "must be one of %s", strings.Join(RewardStatuses, ", "))
	case f.Beneficiary != "" && !ValidUser(f.Beneficiary):
		return InvalidUser("beneficiary")
	case f.Experiment != "" && !ValidSlug(f.Experiment):
		return FieldErrorf("experiment", "must be an experiment id")
	}
	return nil
}

// RewardPage is one page of rewards.
type RewardPage struct {
	Rewards    []*Reward `json:"rewards"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// RewardTotal is what a beneficiary has in one currency and status.
type RewardTotal struct {
	Currency string `json:"currency"`
	Status   string `json:"status"`
	Count    int64  `json:"count"`
	Amount   string `json:"amount"`
}

// RewardMove is an action on a reward with what it needs: the shop's
// reference of an issue, a note for the audit trail.
type RewardMove struct {
	Action    RewardAction `json:"-"`
	Reference string       `json:"reference,omitempty"`
	Note      string       `json:"note,omitempty"`
}

// maxRewardText bounds a reference and a note.
const maxRewardText = 500

// Validate checks a move's fields.
func (m *RewardMove) Validate() error {
	switch {
	case m.Action == RewardIssue && m.Reference == "":
		return FieldErrorf("reference", "issuing a reward needs the shop's reference of the payout")
	case m.Action != RewardIssue && m.Reference != "":
		return FieldErrorf("reference", "only an issue takes a reference")
	case len(m.Reference) > maxRewardText:
		return FieldErrorf("reference", "must be at most %d bytes", maxRewardText)
	case len(m.Note) > maxRewardText:
		return FieldErrorf("note", "must be at most %d bytes", maxRewardText)
	}
	return nil
}

// RewardService keeps the rewards ledger.
type RewardService interface {
	// Rewards lists rewards, newest change first. EINVALID for a bad
	// filter or cursor.
	Rewards(ctx context.Context, f RewardFilter) (*RewardPage, error)
	// Reward reads one reward. ENOTFOUND, EINVALID for a malformed id.
	Reward(ctx context.Context, id string) (*Reward, error)
	// MoveReward applies a move, written with its audit entry; the same
	// move again returns the reward unchanged. ENOTFOUND, ECONFLICT for a
	// move its status does not allow (or an issue with another reference).
	MoveReward(ctx context.Context, id string, m RewardMove) (*Reward, error)
}

// Equal reports whether two plans pay the same.
func (p *RewardPlan) Equal(q *RewardPlan) bool {
	same := func(a, b *RewardRule) bool { return a == b || a != nil && b != nil && *a == *b }
	return p == q || p != nil && q != nil && same(p.Referrer, q.Referrer) && same(p.Referee, q.Referee)
}

// validateRewards checks the variants' reward plans: only a referral
// experiment pays rewards, on signups or its conversion goal.
func (e *Experiment) validateRewards() error {
	for _, v := range e.Variants {
		switch {
		case v.Rewards == nil:
		case e.Referral == nil:
			return FieldErrorf("variants."+v.Key+".rewards", "only a referral experiment's variants pay rewards")
		default:
			if err := v.Rewards.validate(v.Key, e.Referral.ConversionGoal); err != nil {
				return err
			}
		}
	}
	return nil
}

// VariantRewards returns the reward plan of a variant, nil when it pays
// none.
func (e *Experiment) VariantRewards(variant string) *RewardPlan {
	v, _ := e.Variant(variant)
	return v.Rewards
}
