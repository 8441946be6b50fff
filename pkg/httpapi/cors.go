package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/refx-dev/refx/pkg/refx"
)

// CORS: browsers on the configured origins may call the public API routes
// (those under /v1/ of the assign and track groups: assign, identify,
// events, referrals, refx.js). The admin routes never answer CORS, so a web
// page cannot use an admin key it has no business holding; /r/... are
// navigations, and /lamed/... answer as Lamed does.
//
// refx.js sends its bodies as text/plain, a "simple" request that needs no
// preflight; clients sending application/json get one. Preflights are
// answered here, before the routes (no OPTIONS route is registered), so the
// local server and a Lambda answer alike; behind API Gateway, CORSRoutes are
// the OPTIONS routes to send to the same functions.
//
// Requests carry credentials (the visitor cookie of referral links, which
// must reach the signup), so an allowed origin is always echoed exactly,
// with Access-Control-Allow-Credentials: true, never as "*". Configuring "*"
// allows every origin that way; "null" (sandboxed frames, files) is never
// allowed.

// corsGroups are the route groups browsers call.
const corsGroups = AssignRoutes | TrackRoutes

// corsPrefixes are the paths answering CORS: the versioned API, GrowthBook's
// SDK payload (growthbook.go), which GrowthBook's browser SDK reads from the
// customer's pages, and OFREP (ofrep.go), which OpenFeature's web provider
// calls from them.
var corsPrefixes = []string{versionedPrefix, "/api/features/", "/ofrep/"}

// versionedPrefix is refx's own API, as opposed to Lamed's and the SDKs'.
const versionedPrefix = "/v1/"

// corsMaxAge is how long a browser may reuse a preflight's answer.
const corsMaxAge = 600

// corsAllowHeaders are the request headers a cross-origin caller may send:
// OpenFeature's web provider sends its key as Authorization and revalidates
// with If-None-Match.
var corsAllowHeaders = []string{"Content-Type", RequestIDHeader, KeyHeader, "Authorization", "If-None-Match"}

// corsExposeHeaders are the answer's headers a page may read: the ETag a
// client revalidates with.
var corsExposeHeaders = RequestIDHeader + ", ETag"

// corsRoutes returns the routes of RouteTable that answer CORS, among the
// groups served.
func corsRoutes(served Routes) []Route {
	var out []Route
	for _, r := range RouteTable() {
		if r.Group&corsGroups&served != 0 && slices.ContainsFunc(corsPrefixes, func(p string) bool { return strings.HasPrefix(r.Path, p) }) {
			out = append(out, r)
		}
	}
	return out
}

// CORSRoutes returns the OPTIONS routes that answer CORS preflights: one per
// path of a route that answers CORS, in the group of that route. API Gateway
// needs them as routes to reach the handler; the handler itself answers
// preflights without routes.
func CORSRoutes() []Route {
	var out []Route
	seen := map[string]bool{}
	for _, r := range corsRoutes(AllRoutes) {
		if !seen[r.Path] {
			seen[r.Path] = true
			out = append(out, Route{http.MethodOptions, r.Path, r.Group})
		}
	}
	return out
}

// cors answers preflights and adds the CORS headers to the answers of the
// routes that answer CORS.
func (s *Server) cors(served Routes, next http.Handler) http.Handler {
	routes := corsRoutes(served)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var methods []string
		for _, rt := range routes {
			if templateMatches(rt.Path, r.URL.Path) && !slices.Contains(methods, rt.Method) {
				methods = append(methods, rt.Method)
			}
		}
		if len(methods) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		ok := refx.OriginAllowed(s.AllowedOrigins, origin)
		requested := r.Header.Get("Access-Control-Request-Method")
		if r.Method == http.MethodOptions && requested != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			// GET routes answer HEAD too.
			if ok && (slices.Contains(methods, requested) || requested == http.MethodHead && slices.Contains(methods, http.MethodGet)) {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Allow-Credentials", "true")
				h.Set("Access-Control-Allow-Methods", strings.Join(methods, ", "))
				h.Set("Access-Control-Allow-Headers", strings.Join(corsAllowHeaders, ", "))
				h.Set("Access-Control-Max-Age", strconv.Itoa(corsMaxAge))
			}
			// A refused preflight is a 204 without the allow headers: the
			// browser then refuses the request itself.
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if ok {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		}
		next.ServeHTTP(w, r)
	})
}
