package refx

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"time"
)

// Program is a referral program: it outlives the experiments that test its
// offers. A referral experiment names its program (ReferralConfig.Program);
// once the experiment has ended, its codes keep working under the
// program's current offer, and what they bring counts for the program.
type Program struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// LandingURL is where the codes of the program's ended experiments
	// lead, with ref=<code> added.
	LandingURL string `json:"landing_url"`
	// DefaultOffer is served until a conclusion ships a variant, and again
	// after a rollback.
	DefaultOffer Offer `json:"default_offer"`
	// CurrentOffer is what the codes of ended experiments serve.
	CurrentOffer Offer     `json:"current_offer"`
	Version      int64     `json:"version"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Offer is what a code shows and pays: a variant's payload and rewards,
// with where it comes from. Its Key names the variant served (OfferDefault
// for the default offer); its Weight means nothing.
type Offer struct {
	// Source is OfferDefault, or "experiment:<id>/<variant>" for a variant
	// shipped by an experiment's conclusion.
	Source string `json:"source"`
	Variant
}

// OfferDefault is the source and variant key of a program's default offer.
const OfferDefault = "default"

// ShippedOffer is the offer of variant v of experiment e, shipped by e's
// conclusion.
func ShippedOffer(e *Experiment, v Variant) Offer {
	v.Weight = 0
	return Offer{Source: "experiment:" + e.ID + "/" + v.Key, Variant: v}
}

// NewProgram is the body of a create request.
type NewProgram struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	LandingURL   string `json:"landing_url"`
	DefaultOffer Offer  `json:"default_offer"`
}

// Build validates n and returns the program it describes, serving its
// default offer.
func (n NewProgram) Build(now time.Time) (*Program, error) {
	p := &Program{ID: n.ID, Name: n.Name, LandingURL: n.LandingURL, DefaultOffer: defaultOffer(n.DefaultOffer),
		Version: 1, CreatedAt: now.UTC(), UpdatedAt: now.UTC()}
	if p.Name == "" {
		p.Name = p.ID
	}
	p.CurrentOffer = p.DefaultOffer
	return p, p.validate()
}

// defaultOffer is o as a default offer: what the client sent of it, its
// source and key set by the server.
func defaultOffer(o Offer) Offer {
	o.Source, o.Key, o.Weight = OfferDefault, OfferDefault, 0
	return o
}

func (p *Program) validate() error {
	switch {
	case !ValidSlug(p.ID):
		return FieldErrorf("id", "must be 1-64 characters of a-z, 0-9, '-' or '_', starting with a letter or digit")
	case len(p.Name) > MaxTextLen:
		return FieldErrorf("name", "must be at most %d bytes", MaxTextLen)
	case !validLandingURL(p.LandingURL):
		return FieldErrorf("landing_url", "must be an absolute http(s) URL of at most %d bytes", maxURLLen)
	case len(p.DefaultOffer.Payload) > MaxPayloadBytes:
		return FieldErrorf("default_offer.payload", "must be at most %d bytes", MaxPayloadBytes)
	case len(p.DefaultOffer.Payload) > 0 && !json.Valid(p.DefaultOffer.Payload):
		return FieldErrorf("default_offer.payload", "must be JSON")
	}
	return validateOfferRewards(p.DefaultOffer.Rewards)
}

// validateOfferRewards checks a default offer's reward plan as a variant's
// is checked, but for the conversion goal: a program has none of its own
// (its experiments name theirs), so a rule may qualify on any event type.
func validateOfferRewards(plan *RewardPlan) error {
	const field = "default_offer.rewards"
	if plan == nil {
		return nil
	}
	rules := plan.Rules()
	if len(rules) == 0 {
		return FieldErrorf(field, "must name a referrer or a referee rule")
	}
	for _, r := range rules {
		prefix := field + "." + r.Role + "."
		if !ValidKey(r.Rule.On) {
			return FieldErrorf(prefix+"on", "must be %q or an event type", RewardOnSignup)
		}
		if err := r.Rule.validate(prefix, r.Rule.On); err != nil {
			return err
		}
	}
	return nil
}

// validLandingURL reports whether s is an absolute http(s) URL short
// enough to redirect to.
func validLandingURL(s string) bool {
	u, err := url.Parse(s)
	return s != "" && len(s) <= maxURLLen && err == nil && u.Host != "" && (u.Scheme == "https" || u.Scheme == "http")
}

// LinkTarget returns the landing URL with ref=code added.
func (p *Program) LinkTarget(code string) string { return linkTarget(p.LandingURL, code) }

// ProgramPatch is the body of an update: Version is the version the
// client read. A new default offer replaces the current one too while the
// program serves its default.
type ProgramPatch struct {
	Version      int64   `json:"version"`
	Name         *string `json:"name"`
	LandingURL   *string `json:"landing_url"`
	DefaultOffer *Offer  `json:"default_offer"`
}

// Apply returns a copy of p with the patch applied, its version bumped.
// ECONFLICT for a stale version.
func (p *Program) Apply(patch ProgramPatch, now time.Time) (*Program, error) {
	if patch.Version != p.Version {
		return nil, Errorf(ECONFLICT, "program %s is at version %d, not %d: read it again", p.ID, p.Version, patch.Version)
	}
	next := *p
	if patch.Name != nil {
		next.Name = *patch.Name
	}
	if patch.LandingURL != nil {
		next.LandingURL = *patch.LandingURL
	}
	if patch.DefaultOffer != nil {
		next.DefaultOffer = defaultOffer(*patch.DefaultOffer)
		if p.CurrentOffer.Source == OfferDefault {
			next.CurrentOffer = next.DefaultOffer
		}
	}
	if err := next.validate(); err != nil {
		return nil, err
	}
	next.bump(now)
	return &next, nil
}

func (p *Program) bump(now time.Time) {
	p.Version++
	p.UpdatedAt = now.UTC()
}

// Concluded returns a copy of p serving what the conclusion of its
// experiment e decided: the shipped variant for "ship:<variant>", the
// default offer for a rollback. Other decisions, and a decision p already
// serves, return p itself.
func (p *Program) Concluded(e *Experiment, decision string, now time.Time) *Program {
	offer := p.DefaultOffer
	if key, ok := strings.CutPrefix(decision, DecisionShip); ok {
		v, found := e.Variant(key)
		if !found {
			return p
		}
		offer = ShippedOffer(e, v)
	} else if decision != DecisionRollback {
		return p
	}
	if offersEqual(p.CurrentOffer, offer) {
		return p
	}
	next := *p
	next.CurrentOffer = offer
	next.bump(now)
	return &next
}

// offersEqual compares offers as JSON, which compacts their payloads.
func offersEqual(a, b Offer) bool {
	x, errA := json.Marshal(a)
	y, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(x) == string(y)
}

// ProgramPage is one page of programs and the cursor of the next.
type ProgramPage struct {
	Programs   []*Program `json:"programs"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// ProgramResults are what a program's codes brought after their
// experiments ended: counted by the aggregator, per program, from the
// clicks, signups and referee conversions made after the stop.
type ProgramResults struct {
	Program string `json:"program"`
	Clicks  int64  `json:"clicks"`
	// Signups counts clean attributions (flagged ones wait for review).
	Signups int64 `json:"signups"`
	// Conversions counts referees' conversion events; ConvertingReferees
	// the referees whose first conversion came after the stop.
	Conversions        int64 `json:"conversions"`
	ConvertingReferees int64 `json:"converting_referees"`
	// Value is the conversions' total value, a decimal string.
	Value string `json:"value"`
}

// ProgramService manages referral programs. Its store must be the
// experiments' own: a conclusion changes its program's offer in the
// experiment's own transaction.
type ProgramService interface {
	// CreateProgram stores a new program. ECONFLICT if the id is taken.
	CreateProgram(ctx context.Context, p *Program) error
	// Program reads a program. ENOTFOUND.
	Program(ctx context.Context, id string) (*Program, error)
	// Programs lists programs, newest first. EINVALID for a bad cursor.
	Programs(ctx context.Context, limit int, cursor string) (*ProgramPage, error)
	// UpdateProgram applies a patch. ECONFLICT for a stale version,
	// ENOTFOUND.
	UpdateProgram(ctx context.Context, id string, p ProgramPatch) (*Program, error)
	// ProgramResults reads a program's totals. ENOTFOUND.
	ProgramResults(ctx context.Context, id string) (*ProgramResults, error)
}
