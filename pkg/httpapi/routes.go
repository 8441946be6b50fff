package httpapi

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// Route is one route of the API: its method, its path template (written the
// same way for http.ServeMux and API Gateway: "/v1/experiments/{id}") and the
// group that serves it.
type Route struct {
	Method string
	Path   string
	Group  Routes
}

// String returns the route as "METHOD /path".
func (r Route) String() string { return r.Method + " " + r.Path }

// RouteTable lists every route Handler registers, with its group. It is what
// the CDK stack turns into API Gateway routes, each sent to the Lambda that
// serves its group; TestRouteTableMatchesHandler keeps it equal to what
// Handler really routes, so a route added to Handler without being added here
// fails the tests rather than being missing from the deployed API.
//
// Methods and paths are separate literals on purpose: the API description
// test finds Handler's patterns by looking for "METHOD /path" literals.
func RouteTable() []Route {
	return []Route{
		{http.MethodGet, "/healthz", HealthRoutes},
		{http.MethodPost, "/v1/assign", AssignRoutes},
		{http.MethodPost, "/v1/referrals", AssignRoutes},
		{http.MethodGet, "/v1/referrals/{code}", AssignRoutes},
		{http.MethodGet, "/v1/referrals/{code}/stats", AssignRoutes},
		{http.MethodPost, "/v1/identify", AssignRoutes},
		{http.MethodGet, "/v1/refx.js", AssignRoutes},
		{http.MethodGet, "/v1/refx.mjs", AssignRoutes},
		{http.MethodPost, eventsPath, TrackRoutes},
		{http.MethodPost, eventsPath + batchSuffix, TrackRoutes},
		{http.MethodPost, "/v1/referrals/{code}/signups", TrackRoutes},
		{http.MethodGet, "/r/{code}", TrackRoutes},
		{http.MethodGet, "/r", TrackRoutes},
		{http.MethodPost, "/ofrep/v1/evaluate/flags/{key}", TrackRoutes},
		{http.MethodPost, "/ofrep/v1/evaluate/flags", TrackRoutes},
		{http.MethodGet, "/api/features/{clientKey}", TrackRoutes},
		{http.MethodPost, "/v1/experiments", AdminRoutes},
		{http.MethodGet, "/v1/reviews", AdminRoutes},
		{http.MethodPost, "/v1/reviews/{referee}/approve", AdminRoutes},
		{http.MethodPost, "/v1/reviews/{referee}/reject", AdminRoutes},
		{http.MethodPost, "/v1/blocks", AdminRoutes},
		{http.MethodGet, "/v1/blocks", AdminRoutes},
		{http.MethodDelete, "/v1/blocks/{kind}/{id}", AdminRoutes},
		{http.MethodGet, "/v1/experiments", AdminRoutes},
		{http.MethodGet, "/v1/experiments/{id}", AdminRoutes},
		{http.MethodPatch, "/v1/experiments/{id}", AdminRoutes},
		{http.MethodPost, "/v1/experiments/{id}/phases", AdminRoutes},
		{http.MethodPost, "/v1/experiments/{id}/submit", AdminRoutes},
		{http.MethodPost, "/v1/experiments/{id}/request-changes", AdminRoutes},
		{http.MethodPost, "/v1/experiments/{id}/approve", AdminRoutes},
		{http.MethodPost, "/v1/experiments/{id}/start", AdminRoutes},
		{http.MethodPost, "/v1/experiments/{id}/stop", AdminRoutes},
		{http.MethodPost, "/v1/experiments/{id}/conclude", AdminRoutes},
		{http.MethodPost, "/v1/experiments/{id}/archive", AdminRoutes},
		{http.MethodGet, "/v1/experiments/{id}/conclusion", AdminRoutes},
		{http.MethodGet, "/v1/experiments/{id}/results", AdminRoutes},
		{http.MethodGet, "/v1/experiments/{id}/power", AdminRoutes},
		{http.MethodGet, "/v1/experiments/{id}/health", AdminRoutes},
		{http.MethodPost, "/v1/experiments/{id}/aa-simulation", AdminRoutes},
		{http.MethodGet, "/v1/referrers/{user}/referrals", AdminRoutes},
		{http.MethodPost, "/v1/codes", AdminRoutes},
		{http.MethodGet, "/v1/experiments/{id}/leaderboard", AdminRoutes},
		{http.MethodDelete, "/v1/users/{user}", AdminRoutes},
		{http.MethodDelete, "/v1/experiments/{id}", AdminRoutes},
		{http.MethodGet, "/v1/experiments/{id}/timeseries", AdminRoutes},
		{http.MethodGet, "/v1/experiments/{id}/charts/{chart}", AdminRoutes},
		{http.MethodPost, "/v1/keys", AdminRoutes},
		{http.MethodGet, "/v1/keys", AdminRoutes},
		{http.MethodPatch, "/v1/keys/{id}", AdminRoutes},
		{http.MethodDelete, "/v1/keys/{id}", AdminRoutes},
		{http.MethodGet, "/v1/me", AdminRoutes},
		{http.MethodGet, "/v1/audit", AdminRoutes},
		{http.MethodPost, "/v1/flags", AdminRoutes},
		{http.MethodPost, "/v1/flags:import", AdminRoutes},
		{http.MethodGet, "/v1/flags", AdminRoutes},
		{http.MethodGet, "/v1/flags/{key}", AdminRoutes},
		{http.MethodPatch, "/v1/flags/{key}", AdminRoutes},
		{http.MethodDelete, "/v1/flags/{key}", AdminRoutes},
		{http.MethodPost, "/v1/segments", AdminRoutes},
		{http.MethodGet, "/v1/segments", AdminRoutes},
		{http.MethodGet, "/v1/segments/{key}", AdminRoutes},
		{http.MethodPatch, "/v1/segments/{key}", AdminRoutes},
		{http.MethodDelete, "/v1/segments/{key}", AdminRoutes},
		{http.MethodPost, "/v1/layers", AdminRoutes},
		{http.MethodGet, "/v1/layers", AdminRoutes},
		{http.MethodGet, "/v1/layers/{id}", AdminRoutes},
		{http.MethodPatch, "/v1/layers/{id}", AdminRoutes},
		{http.MethodDelete, "/v1/layers/{id}", AdminRoutes},
		{http.MethodPost, "/v1/holdouts", AdminRoutes},
		{http.MethodGet, "/v1/holdouts", AdminRoutes},
		{http.MethodGet, "/v1/holdouts/{id}", AdminRoutes},
		{http.MethodPost, "/v1/webhooks", AdminRoutes},
		{http.MethodGet, "/v1/webhooks", AdminRoutes},
		{http.MethodGet, "/v1/webhooks/{id}", AdminRoutes},
		{http.MethodPatch, "/v1/webhooks/{id}", AdminRoutes},
		{http.MethodDelete, "/v1/webhooks/{id}", AdminRoutes},
		{http.MethodPost, "/v1/webhooks/{id}/rotate-secret", AdminRoutes},
		{http.MethodGet, "/v1/webhooks/{id}/deliveries", AdminRoutes},
		{http.MethodGet, "/v1/rewards", AdminRoutes},
		{http.MethodGet, "/v1/rewards/{id}", AdminRoutes},
		{http.MethodPost, "/v1/rewards/{id}/approve", AdminRoutes},
		{http.MethodPost, "/v1/rewards/{id}/reject", AdminRoutes},
		{http.MethodPost, "/v1/rewards/{id}/issue", AdminRoutes},
		{http.MethodPost, "/v1/rewards/{id}/reverse", AdminRoutes},
		{http.MethodPost, "/v1/programs", AdminRoutes},
		{http.MethodGet, "/v1/programs", AdminRoutes},
		{http.MethodGet, "/v1/programs/{id}", AdminRoutes},
		{http.MethodPatch, "/v1/programs/{id}", AdminRoutes},
		{http.MethodGet, "/v1/programs/{id}/results", AdminRoutes},
		{http.MethodGet, "/dashboard", AdminRoutes},
		{http.MethodGet, "/dashboard/{asset...}", AdminRoutes},
		{http.MethodGet, "/lamed/track", TrackRoutes},
		{http.MethodGet, "/lamed/experiments", AdminRoutes},
		{http.MethodDelete, "/lamed/delete", AdminRoutes},
	}
}

const (
	eventsPath  = "/v1/events"
	batchSuffix = ":batch"
)

// trackPathRE is what an extra tracking path may look like: absolute, one or
// more segments of unreserved URL characters, no trailing slash, no
// parameters. Short and boring on purpose: ad-blockers match on paths like
// /v1/events, /track or /collect, and a neutral first-party path is the point.
var trackPathRE = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)

// ValidateTrackPath checks an extra tracking path (REFX_TRACK_PATHS, the CDK
// context trackPaths): it must be a plain absolute path that no route of
// RouteTable already matches, whatever the method, and neither must its
// ":batch" form.
func ValidateTrackPath(p string) error {
	if len(p) > 128 || !trackPathRE.MatchString(p) {
		return fmt.Errorf("track path %q: want an absolute path of letters, digits and ._~- segments, like /t/e", p)
	}
	table := RouteTable()
	for _, candidate := range []string{p, p + batchSuffix} {
		for _, r := range table {
			if templateMatches(r.Path, candidate) {
				return fmt.Errorf("track path %q: %s is already the route %s", p, candidate, r)
			}
		}
	}
	return nil
}

// TrackPathRoutes returns the routes the extra tracking paths add: each path
// p answers like POST /v1/events, and p+":batch" like POST /v1/events:batch.
// Both the CDK stack (API Gateway routes) and WithTrackPaths (the handler)
// derive them from here.
func TrackPathRoutes(paths []string) ([]Route, error) {
	var routes []Route
	seen := map[string]bool{}
	for _, p := range paths {
		if err := ValidateTrackPath(p); err != nil {
			return nil, err
		}
		if seen[p] {
			return nil, fmt.Errorf("track path %q is listed twice", p)
		}
		seen[p] = true
		routes = append(routes,
			Route{http.MethodPost, p, TrackRoutes},
			Route{http.MethodPost, p + batchSuffix, TrackRoutes})
	}
	return routes, nil
}

// WithTrackPaths serves h with the extra tracking paths as aliases of the
// event routes: a POST to p is served as POST /v1/events, one to p+":batch"
// as POST /v1/events:batch. Anything else goes to h unchanged.
func WithTrackPaths(h http.Handler, paths []string) (http.Handler, error) {
	routes, err := TrackPathRoutes(paths)
	if err != nil || len(routes) == 0 {
		return h, err
	}
	alias := make(map[string]string, len(routes))
	for _, r := range routes {
		target := eventsPath
		if strings.HasSuffix(r.Path, batchSuffix) {
			target += batchSuffix
		}
		alias[r.Path] = target
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target, ok := alias[r.URL.Path]
		// OPTIONS too: the alias answers a CORS preflight like its target.
		if !ok || (r.Method != http.MethodPost && r.Method != http.MethodOptions) {
			h.ServeHTTP(w, r)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawPath = target, ""
		h.ServeHTTP(w, r2)
	}), nil
}

// templateMatches reports whether the concrete path p matches the route
// template t as http.ServeMux matches them: {param} matches one non-empty
// segment, {param...} the rest of the path, and a final {$} only the path
// ending in that slash.
func templateMatches(t, p string) bool {
	ts, ps := strings.Split(t, "/"), strings.Split(p, "/")
	for i, seg := range ts {
		switch {
		case seg == "{$}":
			return i == len(ps)-1 && ps[i] == ""
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "...}"):
			return i < len(ps)
		case i >= len(ps):
			return false
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
			if ps[i] == "" {
				return false
			}
		case seg != ps[i]:
			return false
		}
	}
	return len(ts) == len(ps)
}
