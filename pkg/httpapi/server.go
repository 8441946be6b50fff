package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/webclient"
	"github.com/refx-dev/refx/pkg/webhook"
)

// Routes selects the route groups a handler serves, so that each Lambda
// serves only its own routes and needs only its own permissions.
type Routes uint

// Route groups.
const (
	// AssignRoutes: POST /v1/assign.
	AssignRoutes Routes = 1 << iota
	// TrackRoutes: POST /v1/events and /v1/events:batch.
	TrackRoutes
	// AdminRoutes: experiments and results, behind the admin key, and the
	// dashboard's page and assets.
	AdminRoutes
	// HealthRoutes: GET /healthz.
	HealthRoutes

	// AllRoutes is what the local server serves.
	AllRoutes = AssignRoutes | TrackRoutes | AdminRoutes | HealthRoutes
)

// Server holds what the handlers need. Services a route group does not use
// may be nil.
type Server struct {
	Experiments refx.ExperimentService
	Assignments refx.AssignmentService
	Events      refx.EventService
	Results     refx.ResultsService
	Referrals   refx.ReferralService
	Lamed       refx.LamedService
	Identities  refx.IdentityService
	// Privacy erases users (DELETE /v1/users/{user}).
	Privacy refx.PrivacyService
	// Snapshots are the stored counts over time of the dashboard's charts;
	// nil answers with the live counts only.
	Snapshots refx.SnapshotService
	// Ping reports whether the store is reachable, for /healthz.
	Ping func(context.Context) error
	// AdminKey guards the admin routes; empty refuses every admin request.
	AdminKey string
	// LamedPrefix is where the Alephbet/Lamed-compatible routes are mounted
	// (default DefaultLamedPrefix).
	LamedPrefix string
	// PublicURL is the base URL of referral links (default: the URL a
	// request came to).
	PublicURL string
	// FallbackURL is where unknown and expired referral links lead (default:
	// a built-in page).
	FallbackURL string
	// HashKey keys the hashes of IP addresses and device fingerprints.
	HashKey []byte
	// PreviousHashKey is the hash key before the last rotation: guard
	// markers hashed with it are still compared, never written.
	PreviousHashKey []byte
	Logger          *slog.Logger
	Now             func() time.Time

	// DefaultCounterShards is the counter_shards of a new experiment that
	// does not set it; zero means refx.DefaultShards.
	DefaultCounterShards int

	// AllowedOrigins are the origins browsers may call the public routes
	// from (CORS, see cors.go); "*" allows any. Empty allows none:
	// same-origin pages only.
	AllowedOrigins []string

	// Metrics receives the abuse signals as EMF lines (see metrics.go):
	// os.Stdout in a Lambda; nil drops them.
	Metrics   io.Writer
	metricsMu sync.Mutex

	// Keys finds the client and secret keys public routes require.
	Keys refx.KeyService
	// Flags manages feature flags and segments (the admin routes).
	Flags refx.FlagService
	// WebhookPolicy is what webhook subscriptions may target
	// (REFX_WEBHOOK_ALLOW_PRIVATE).
	WebhookPolicy webhook.Policy
	// Keyless lets public requests without a key through, untrusted, as
	// before keys existed: for Alephbet/Lamed clients that cannot send one.
	// Off by default; a key presented is still checked.
	Keyless bool
	// RatePerKey and RatePerIP are the requests a second one key and one
	// address may send to this instance's public routes (see
	// ratelimit.go); zero is no limit.
	RatePerKey, RatePerIP float64
	trustOnce             sync.Once
	trustState            *trust
	flags                 flagCache // the OFREP routes' payloads (ofrep.go)
}

// apiFunc is a handler that returns its error, written by ServeHTTP in the
// one error shape.
type apiFunc func(w http.ResponseWriter, r *http.Request) error

// ServeHTTP implements http.Handler.
func (f apiFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := f(w, r); err != nil {
		writeError(w, r, err)
	}
}

// Group is one route group with the code that serves it. A handler
// composed of groups (Server.Serve) links only their handlers: the track
// Lambda's binary holds no dashboard, chart or statistics code, the assign
// Lambda's none of the admin routes'. Handler, which selects groups at run
// time, links them all, for the local server and the tests.
type Group struct {
	routes   Routes
	register func(*Server, *http.ServeMux)
}

// Routes returns the group's bit among the Routes.
func (g Group) Routes() Routes { return g.routes }

// Health is HealthRoutes: GET /healthz.
func Health() Group { return Group{HealthRoutes, (*Server).healthRoutes} }

// Assign is AssignRoutes: assignment, identify, referral links, refx.js.
func Assign() Group { return Group{AssignRoutes, (*Server).assignRoutes} }

// Track is TrackRoutes: events, referral clicks and signups, Lamed's track.
func Track() Group { return Group{TrackRoutes, (*Server).trackRoutes} }

// Admin is AdminRoutes: experiments, results, charts, the dashboard and
// Lamed's admin routes.
func Admin() Group { return Group{AdminRoutes, (*Server).adminRoutes} }

// Handler returns the HTTP handler serving the selected route groups.
func (s *Server) Handler(routes Routes) http.Handler {
	var groups []Group
	for _, g := range []Group{Health(), Assign(), Track(), Admin()} {
		if routes&g.routes != 0 {
			groups = append(groups, g)
		}
	}
	return s.Serve(groups...)
}

// Serve returns the HTTP handler serving groups, and answering every other
// request with a not_found error.
func (s *Server) Serve(groups ...Group) http.Handler {
	mux := http.NewServeMux()
	var routes Routes
	for _, g := range groups {
		routes |= g.routes
		g.register(s, mux)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, refx.Errorf(refx.ENOTFOUND, "no route %s %s", r.Method, r.URL.Path))
	})
	return s.observe(s.cors(routes, s.mountLamed(mux)))
}

func (s *Server) healthRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", s.health)
}

func (s *Server) assignRoutes(mux *http.ServeMux) {
	mux.Handle("POST /v1/assign", s.public(s.assign))
	mux.Handle("POST /v1/referrals", s.public(s.createReferral))
	mux.Handle("GET /v1/referrals/{code}", apiFunc(s.codeInfo))
	mux.Handle("GET /v1/referrals/{code}/stats", apiFunc(s.codeStats))
	mux.Handle("POST /v1/identify", s.public(s.identify))
	mux.Handle("GET /v1/refx.js", webclient.Script)
	mux.Handle("GET /v1/refx.mjs", webclient.Module)
}

func (s *Server) trackRoutes(mux *http.ServeMux) {
	mux.Handle("POST /v1/events", s.public(s.recordEvent))
	mux.Handle("POST /v1/events:batch", s.public(s.recordEvents))
	mux.Handle("POST /v1/referrals/{code}/signups", s.public(s.signup))
	mux.HandleFunc("GET /r/{code}", s.followLink)
	mux.Handle("GET /lamed/track", lamedQuery(s.public(s.lamedTrack)))
	mux.HandleFunc("GET /r", s.expiredPage)
	// OFREP flag evaluation, with a client or secret key: the track
	// function already answers per request at volume, and the reads are
	// one cached payload item per environment.
	mux.Handle("POST /ofrep/v1/evaluate/flags/{key}", s.public(s.ofrepEvaluate))
	mux.Handle("POST /ofrep/v1/evaluate/flags", s.public(s.ofrepEvaluateAll))
	// GrowthBook's SDKs read the same payloads, with the client key in the
	// path (growthbook.go).
	mux.Handle("GET /api/features/{clientKey}", s.public(s.growthbookFeatures))
}

func (s *Server) adminRoutes(mux *http.ServeMux) {
	isAdminKey := keyMatcher(s.AdminKey)
	// admin registers an admin route; the role it needs is declared in
	// adminRoles (roles.go).
	admin := func(pattern string, h apiFunc) { mux.Handle(pattern, s.requireRole(isAdminKey, pattern, h)) }
	admin("GET /v1/me", s.me)
	admin("GET /v1/audit", s.audit)
	admin("POST /v1/experiments", s.createExperiment)
	admin("GET /v1/experiments", s.listExperiments)
	admin("GET /v1/experiments/{id}", s.getExperiment)
	admin("PATCH /v1/experiments/{id}", s.updateExperiment)
	admin("POST /v1/experiments/{id}/phases", s.startPhase)
	admin("POST /v1/experiments/{id}/submit", s.transition(refx.ActionSubmit))
	admin("POST /v1/experiments/{id}/request-changes", s.transition(refx.ActionRequestChanges))
	admin("POST /v1/experiments/{id}/approve", s.transition(refx.ActionApprove))
	admin("POST /v1/experiments/{id}/start", s.transition(refx.ActionStart))
	admin("POST /v1/experiments/{id}/stop", s.transition(refx.ActionStop))
	admin("POST /v1/experiments/{id}/conclude", s.transition(refx.ActionConclude))
	admin("POST /v1/experiments/{id}/archive", s.transition(refx.ActionArchive))
	admin("GET /v1/experiments/{id}/conclusion", s.conclusion)
	admin("GET /v1/experiments/{id}/results", s.results)
	admin("GET /v1/experiments/{id}/power", s.power)
	admin("GET /v1/experiments/{id}/health", s.experimentHealth)
	admin("POST /v1/experiments/{id}/aa-simulation", s.aaSimulation)
	admin("GET /v1/referrers/{user}/referrals", s.referrerReferrals)
	admin("POST /v1/codes", s.issueCode)
	admin("GET /v1/experiments/{id}/leaderboard", s.leaderboard)
	mux.Handle("DELETE /v1/users/{user}", s.adminOrSecret(isAdminKey, "DELETE /v1/users/{user}", s.eraseUser))
	admin("DELETE /v1/experiments/{id}", s.deleteExperiment)
	admin("GET /v1/experiments/{id}/timeseries", s.timeseries)
	admin("GET /v1/experiments/{id}/charts/{chart}", s.chart)
	admin("POST /v1/keys", s.createKey)
	admin("GET /v1/keys", s.listKeys)
	admin("PATCH /v1/keys/{id}", s.updateKey)
	admin("DELETE /v1/keys/{id}", s.revokeKey)
	admin("POST /v1/flags", s.createFlag)
	admin("POST /v1/flags:import", s.importFlags)
	admin("GET /v1/flags", s.listFlags)
	admin("GET /v1/flags/{key}", s.getFlag)
	admin("PATCH /v1/flags/{key}", s.updateFlag)
	admin("DELETE /v1/flags/{key}", s.deleteFlag)
	admin("POST /v1/segments", s.createSegment)
	admin("GET /v1/segments", s.listSegments)
	admin("GET /v1/segments/{key}", s.getSegment)
	admin("PATCH /v1/segments/{key}", s.updateSegment)
	admin("DELETE /v1/segments/{key}", s.deleteSegment)
	admin("POST /v1/layers", s.createLayer)
	admin("GET /v1/layers", s.listLayers)
	admin("GET /v1/layers/{id}", s.getLayer)
	admin("PATCH /v1/layers/{id}", s.updateLayer)
	admin("DELETE /v1/layers/{id}", s.deleteLayer)
	s.reviewRoutes(admin)
	admin("POST /v1/holdouts", s.createHoldout)
	admin("GET /v1/holdouts", s.listHoldouts)
	admin("GET /v1/holdouts/{id}", s.getHoldout)
	s.webhookRoutes(admin)
	admin("GET /v1/rewards", s.listRewards)
	admin("GET /v1/rewards/{id}", s.getReward)
	admin("POST /v1/rewards/{id}/reject", s.moveReward(refx.RewardReject))
	// A shop's backend pays rewards: its secret key may approve, issue and
	// reverse them.
	// (The handler is an argument, as with admin, so that infra's
	// TestGrantsMatchCode sees what each route calls.)
	payout := func(pattern string, h apiFunc) { mux.Handle(pattern, s.adminOrSecret(isAdminKey, pattern, h)) }
	payout("POST /v1/rewards/{id}/approve", s.moveReward(refx.RewardApprove))
	payout("POST /v1/rewards/{id}/issue", s.moveReward(refx.RewardIssue))
	payout("POST /v1/rewards/{id}/reverse", s.moveReward(refx.RewardReverse))
	admin("POST /v1/programs", s.createProgram)
	admin("GET /v1/programs", s.listPrograms)
	admin("GET /v1/programs/{id}", s.getProgram)
	admin("PATCH /v1/programs/{id}", s.updateProgram)
	admin("GET /v1/programs/{id}/results", s.programResults)
	// The dashboard's page and assets hold no data and need no key;
	// the page sends the key with its API calls.
	mux.Handle("GET /dashboard", apiFunc(s.dashboardPage))
	mux.Handle("GET /dashboard/{asset...}", apiFunc(s.dashboardAsset))
	// Lamed's admin routes take its x-api-key header, not a bearer token.
	mux.Handle("GET /lamed/experiments", s.requireLamedKey(isAdminKey, "GET /lamed/experiments", s.lamedExperiments))
	mux.Handle("DELETE /lamed/delete", s.requireLamedKey(isAdminKey, "DELETE /lamed/delete", s.lamedDelete))
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

type ctxKey int

const (
	requestIDKey ctxKey = iota
	loggerKey
)

// RequestIDHeader carries the request id in and out. Behind API Gateway the
// adapter sets it from the gateway's own request id.
const RequestIDHeader = "X-Request-Id"

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// observe gives each request an id, a logger carrying it, one access log
// line, and turns a panic into a logged internal error instead of a crash.
func (s *Server) observe(next http.Handler) http.Handler {
	base := s.Logger
	if base == nil {
		base = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if id == "" || len(id) > 128 {
			id = newRequestID()
		}
		log := base.With("request_id", id)
		ctx := context.WithValue(context.WithValue(r.Context(), requestIDKey, id), loggerKey, log)
		r = r.WithContext(ctx)
		w.Header().Set(RequestIDHeader, id)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				log.ErrorContext(ctx, "panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if !rec.wrote {
					writeError(rec, r, fmt.Errorf("panic: %v", p))
				}
			}
			log.InfoContext(ctx, "request", "method", r.Method, "path", r.URL.Path,
				"status", rec.status, "duration_ms", float64(time.Since(start).Microseconds())/1000)
		}()
		next.ServeHTTP(rec, r)
	})
}

func newRequestID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// keyMatcher returns whether a presented key is key, which is hashed once
// here. Both sides are hashed before the constant-time comparison so that
// neither the key's content nor its length leaks through timing. An empty
// or blank key (only whitespace) matches nothing: it is no key, and HTTP
// strips the whitespace a client would present anyway.
func keyMatcher(key string) func(string) bool {
	want := sha256.Sum256([]byte(key))
	set := strings.TrimSpace(key) != ""
	return func(presented string) bool {
		got := sha256.Sum256([]byte(presented))
		return set && subtle.ConstantTimeCompare(got[:], want[:]) == 1
	}
}

// bearerToken returns the token of an Authorization header value of the
// Bearer scheme.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimLeft(token, " "), true
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if s.Ping != nil {
		if err := s.Ping(r.Context()); err != nil {
			logger(r.Context()).WarnContext(r.Context(), "health check failed", "err", err)
			writeError(w, r, refx.Errorf(refx.EUNAVAILABLE, "the store is not reachable"))
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
