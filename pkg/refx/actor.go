package refx

import (
	"context"
	"slices"
)

// AdminRole is what an admin credential may do. Roles are ordered: each allows
// everything the ones before it do.
type AdminRole string

// Admin roles, least to most.
const (
	// RoleViewer reads experiments, results, flags and the audit log.
	RoleViewer AdminRole = "viewer"
	// RoleEditor creates and edits drafts and flags, submits for review,
	// starts, stops and concludes.
	RoleEditor AdminRole = "editor"
	// RoleApprover approves a launch under review.
	RoleApprover AdminRole = "approver"
	// RoleOwner manages keys and roles and deletes.
	RoleOwner AdminRole = "owner"
)

// AdminRoles lists the roles, least to most.
var AdminRoles = []AdminRole{RoleViewer, RoleEditor, RoleApprover, RoleOwner}

// Valid reports whether r is one of AdminRoles.
func (r AdminRole) Valid() bool { return slices.Contains(AdminRoles, r) }

// Allows reports whether a credential of role r may do what needs role need.
func (r AdminRole) Allows(need AdminRole) bool {
	have, want := slices.Index(AdminRoles, r), slices.Index(AdminRoles, need)
	return have >= 0 && want >= 0 && have >= want
}

// Actor is who makes a change: an admin credential (its id and the person
// or system it was issued to), a secret key, or refx itself.
type Actor struct {
	// ID is stable and unique: "admin:<key id>", "bootstrap" (the admin
	// key of the deployment's configuration), "secret:<key id>", "system".
	ID   string    `json:"id"`
	Name string    `json:"name"`
	Role AdminRole `json:"role,omitempty"`
}

// SystemActor makes the changes no person asked for: a Lamed experiment
// created by its clients' events, a schedule.
var SystemActor = Actor{ID: "system", Name: "refx"}

type actorKey struct{}

// WithActor returns ctx carrying who is making the request's changes.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorOf returns who makes ctx's changes: SystemActor when no one was
// recorded.
func ActorOf(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok && a.ID != "" {
		return a
	}
	return SystemActor
}
