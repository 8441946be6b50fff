package refx

import "context"

// Link statuses, per experiment, of an identify request.
const (
	// LinkLinked: the user now holds the anonymous visitor's variant (by
	// this call or an earlier one with the same ids).
	LinkLinked = "linked"
	// LinkExisting: the user already had their own assignment in the
	// experiment and keeps it.
	LinkExisting = "existing"
	// LinkClaimed: the anonymous assignment was already linked to another
	// user (a shared browser); nothing is copied, and the user is assigned
	// on their own when they next ask.
	LinkClaimed = "claimed"
)

// Identity is a request to link an anonymous visitor's assignments to the
// user they turned out to be.
type Identity struct {
	Anonymous string `json:"anonymous"`
	User      string `json:"user"`
}

// Normalize puts both ids in their canonical spelling (NormalizeUser).
func (id *Identity) Normalize() {
	id.Anonymous, id.User = NormalizeUser(id.Anonymous), NormalizeUser(id.User)
}

// Validate checks the ids.
func (id Identity) Validate() error {
	switch {
	case !ValidUser(id.Anonymous):
		return InvalidUser("anonymous")
	case !ValidUser(id.User):
		return InvalidUser("user")
	case id.Anonymous == id.User:
		return FieldErrorf("user", "must differ from anonymous")
	}
	return nil
}

// LinkedAssignment is the outcome of identify for one experiment the
// anonymous visitor was assigned in.
type LinkedAssignment struct {
	Experiment string `json:"experiment"`
	// Variant is the variant the user holds now: the anonymous one when
	// linked, the user's own when existing, empty when claimed.
	Variant string `json:"variant,omitempty"`
	Status  string `json:"status"`
}

// IdentifyResult lists, per experiment, what identify did.
type IdentifyResult struct {
	Anonymous   string             `json:"anonymous"`
	User        string             `json:"user"`
	Assignments []LinkedAssignment `json:"assignments"`
}

// IdentityService links anonymous visitors to users.
type IdentityService interface {
	// Identify gives the user, in every experiment the anonymous visitor
	// is assigned in and the user is not, the anonymous visitor's variant,
	// so that a visitor who signs up keeps what they saw. It counts no
	// participant: the anonymous visitor was counted when assigned, and the
	// user is the same person. Each anonymous assignment links to one user
	// only (the first); repeating a call is a no-op. EUNAVAILABLE.
	Identify(ctx context.Context, id Identity) (*IdentifyResult, error)
}
