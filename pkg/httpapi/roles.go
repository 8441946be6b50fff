package httpapi

import (
	"context"
	"net/http"

	"github.com/refx-dev/refx/pkg/refx"
)

// adminRoles is the role each admin route needs, by the pattern it is
// registered with: the one place roles are declared. A new admin route
// is one line here; TestAdminRoutesHaveRoles walks RouteTable and fails
// for an admin route missing from it, and until then the route is open to
// owners only.
var adminRoles = map[string]refx.AdminRole{
	// Reads.
	"GET /v1/me":                              refx.RoleViewer,
	"GET /v1/audit":                           refx.RoleViewer,
	"GET /v1/reviews":                         refx.RoleViewer,
	"GET /v1/blocks":                          refx.RoleViewer,
	"GET /v1/experiments":                     refx.RoleViewer,
	"GET /v1/experiments/{id}":                refx.RoleViewer,
	"GET /v1/experiments/{id}/results":        refx.RoleViewer,
	"GET /v1/experiments/{id}/power":          refx.RoleViewer,
	"GET /v1/experiments/{id}/health":         refx.RoleViewer,
	"GET /v1/experiments/{id}/conclusion":     refx.RoleViewer,
	"GET /v1/experiments/{id}/timeseries":     refx.RoleViewer,
	"GET /v1/experiments/{id}/charts/{chart}": refx.RoleViewer,
	"GET /v1/referrers/{user}/referrals":      refx.RoleViewer,
	"GET /v1/experiments/{id}/leaderboard":    refx.RoleViewer,
	"GET /v1/flags":                           refx.RoleViewer,
	"GET /v1/flags/{key}":                     refx.RoleViewer,
	"GET /v1/segments":                        refx.RoleViewer,
	"GET /v1/segments/{key}":                  refx.RoleViewer,
	"GET /lamed/experiments":                  refx.RoleViewer,
	"GET /v1/layers":                          refx.RoleViewer,
	"GET /v1/layers/{id}":                     refx.RoleViewer,
	"GET /v1/holdouts":                        refx.RoleViewer,
	"GET /v1/holdouts/{id}":                   refx.RoleViewer,
	"GET /v1/webhooks":                        refx.RoleViewer,
	"GET /v1/webhooks/{id}":                   refx.RoleViewer,
	"GET /v1/webhooks/{id}/deliveries":        refx.RoleViewer,
	"GET /v1/rewards":                         refx.RoleViewer,
	"GET /v1/rewards/{id}":                    refx.RoleViewer,
	"GET /v1/programs":                        refx.RoleViewer,
	"GET /v1/programs/{id}":                   refx.RoleViewer,
	"GET /v1/programs/{id}/results":           refx.RoleViewer,

	// Drafts, flags, segments, and an experiment's lifecycle but its
	// approval.
	"POST /v1/experiments":                      refx.RoleEditor,
	"POST /v1/reviews/{referee}/approve":        refx.RoleEditor,
	"POST /v1/reviews/{referee}/reject":         refx.RoleEditor,
	"POST /v1/blocks":                           refx.RoleEditor,
	"DELETE /v1/blocks/{kind}/{id}":             refx.RoleEditor,
	"PATCH /v1/experiments/{id}":                refx.RoleEditor,
	"POST /v1/experiments/{id}/submit":          refx.RoleEditor,
	"POST /v1/experiments/{id}/request-changes": refx.RoleEditor,
	"POST /v1/experiments/{id}/start":           refx.RoleEditor,
	"POST /v1/experiments/{id}/stop":            refx.RoleEditor,
	"POST /v1/experiments/{id}/conclude":        refx.RoleEditor,
	"POST /v1/experiments/{id}/archive":         refx.RoleEditor,
	"POST /v1/experiments/{id}/phases":          refx.RoleEditor,
	"POST /v1/experiments/{id}/aa-simulation":   refx.RoleEditor,
	"POST /v1/flags":                            refx.RoleEditor,
	"POST /v1/flags:import":                     refx.RoleEditor,
	"PATCH /v1/flags/{key}":                     refx.RoleEditor,
	"DELETE /v1/flags/{key}":                    refx.RoleEditor,
	"POST /v1/segments":                         refx.RoleEditor,
	"PATCH /v1/segments/{key}":                  refx.RoleEditor,
	"DELETE /v1/segments/{key}":                 refx.RoleEditor,
	"POST /v1/layers":                           refx.RoleEditor,
	"PATCH /v1/layers/{id}":                     refx.RoleEditor,
	"POST /v1/holdouts":                         refx.RoleEditor,
	"POST /v1/webhooks":                         refx.RoleEditor,
	"PATCH /v1/webhooks/{id}":                   refx.RoleEditor,
	"POST /v1/webhooks/{id}/rotate-secret":      refx.RoleEditor,
	"POST /v1/codes":                            refx.RoleEditor,
	"POST /v1/rewards/{id}/approve":             refx.RoleEditor, // or a secret key (adminOrSecret)
	"POST /v1/rewards/{id}/reject":              refx.RoleEditor,
	"POST /v1/rewards/{id}/issue":               refx.RoleEditor, // or a secret key
	"POST /v1/rewards/{id}/reverse":             refx.RoleEditor, // or a secret key
	"POST /v1/programs":                         refx.RoleEditor,
	"PATCH /v1/programs/{id}":                   refx.RoleEditor,

	"POST /v1/experiments/{id}/approve": refx.RoleApprover,

	// Keys and roles, and what cannot be undone.
	"POST /v1/keys":               refx.RoleOwner,
	"GET /v1/keys":                refx.RoleOwner,
	"PATCH /v1/keys/{id}":         refx.RoleOwner,
	"DELETE /v1/keys/{id}":        refx.RoleOwner,
	"DELETE /v1/experiments/{id}": refx.RoleOwner,
	"DELETE /v1/layers/{id}":      refx.RoleOwner,
	"DELETE /v1/webhooks/{id}":    refx.RoleOwner,
	"DELETE /v1/users/{user}":     refx.RoleOwner, // or a secret key (adminOrSecret)
	"DELETE /lamed/delete":        refx.RoleOwner,
}

// roleFor is the role the route registered as pattern needs: owner when
// adminRoles forgets it, so that a route added without its role is closed
// rather than open to every viewer.
func roleFor(pattern string) refx.AdminRole {
	if need, ok := adminRoles[pattern]; ok {
		return need
	}
	return refx.RoleOwner
}

// adminToken returns the admin credential a request presents as its bearer
// token: the bootstrap key or an admin key (rfx_adm_…). ok is false when
// it presents neither, which is not yet a refusal where a secret key may
// do instead (adminOrSecret).
func adminToken(r *http.Request, isAdminKey func(string) bool) (token string, ok bool) {
	token, ok = bearerToken(r.Header.Get("Authorization"))
	if !ok {
		return "", false
	}
	if kind, _, parsed := refx.ParseKeyToken(token); (parsed && kind == refx.KeyAdmin) || isAdminKey(token) {
		return token, true
	}
	return "", false
}

// adminActor is who holds token: BootstrapActor for the deployment's admin
// key, else the person of a live admin key. The key is read through the
// instance's cache, so a revoked key, or a changed role, takes effect on
// other instances within keyCacheTTL. EUNAUTHORIZED for anything else;
// a store outage passes through (503, not a refusal).
func (s *Server) adminActor(ctx context.Context, token string, isAdminKey func(string) bool) (refx.Actor, error) {
	if isAdminKey(token) {
		return refx.BootstrapActor, nil
	}
	kind, id, ok := refx.ParseKeyToken(token)
	if !ok || kind != refx.KeyAdmin {
		return refx.Actor{}, refx.Errorf(refx.EUNAUTHORIZED, "a valid admin key is required (Authorization: Bearer <key>)")
	}
	key, err := s.verifyKey(ctx, token, kind, id)
	if err != nil {
		return refx.Actor{}, err
	}
	return key.Actor(), nil
}

// requireRole lets a request through only with an admin credential of at
// least the role the route registered as pattern needs, as a bearer token
// in the Authorization header, and puts its holder into the request's
// context as the actor of its changes. The scheme is matched without
// regard to case ("bearer" too: RFC 9110 §11.1 makes auth schemes
// case-insensitive, and OAuth-style clients send the token_type "bearer"
// as they got it), and one or more spaces may follow it (RFC 6750 §2.1);
// the key itself is compared exactly. A key in the URL (?access_token=,
// RFC 6750 §2.3) is never read: URLs end up in logs, histories and Referer
// headers.
func (s *Server) requireRole(isAdminKey func(string) bool, pattern string, next apiFunc) apiFunc {
	need := roleFor(pattern)
	return func(w http.ResponseWriter, r *http.Request) error {
		token, ok := adminToken(r, isAdminKey)
		if !ok {
			return challenge(w, refx.Errorf(refx.EUNAUTHORIZED, "a valid admin key is required (Authorization: Bearer <key>)"))
		}
		actor, err := s.adminActor(r.Context(), token, isAdminKey)
		if err != nil {
			return challenge(w, err)
		}
		if !actor.Role.Allows(need) {
			return refx.Errorf(refx.EFORBIDDEN, "%s needs the role %s or above; %s has the role %s", pattern, need, actor.Name, actor.Role)
		}
		return next(w, r.WithContext(refx.WithActor(r.Context(), actor)))
	}
}

// challenge adds the Bearer challenge to an unauthorized answer.
func challenge(w http.ResponseWriter, err error) error {
	if refx.ErrorCode(err) == refx.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="refx"`)
	}
	return err
}

// me answers who the caller is, for the dashboard to show the person and
// hide the controls their role does not allow.
func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]refx.Actor{"actor": refx.ActorOf(r.Context())})
	return nil
}
