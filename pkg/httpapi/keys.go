package httpapi

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
)

// KeyHeader carries a client or secret key. Browsers that cannot set
// headers (sendBeacon, a text/plain fetch that must not be preflighted,
// Alephbet's GET tracking) pass a client key as the query parameter
// KeyParam instead; a secret key is never read from a URL, which ends up in
// logs and histories. A secret key may also come as a bearer token.
const (
	KeyHeader = "X-Refx-Key"
	KeyParam  = "key"
)

// Key lookups are cached in the instance: every public request presents a
// key, and reading its item each time would make the item of a busy site's
// client key a hot read. A revoked key stops working everywhere within
// keyCacheTTL; an unknown id is remembered for less, so that a key created
// a moment ago works at once after a miss.
const (
	keyCacheTTL     = 30 * time.Second
	keyMissCacheTTL = 5 * time.Second
	maxCachedKeys   = 10_000
)

// caller is who sent a public request: a key (nil when the deployment is
// keyless and none came) and the keyed hash of its address.
type caller struct {
	key    *refx.APIKey
	ipHash string
}

// trusted reports whether the caller is a customer's backend: only a secret
// key says so.
func (c caller) trusted() bool { return c.key != nil && c.key.Kind == refx.KeySecret }

type callerKey struct{}

func callerOf(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

// trust holds what the key checks and rate limits remember between
// requests.
type trust struct {
	byKey, byIP *rateLimiter

	mu   sync.Mutex
	keys map[string]cachedKey
}

type cachedKey struct {
	key   *refx.APIKey
	err   error
	until time.Time
}

func (s *Server) trust() *trust {
	s.trustOnce.Do(func() {
		s.trustState = &trust{
			byKey: newRateLimiter(s.RatePerKey, s.now),
			byIP:  newRateLimiter(s.RatePerIP, s.now),
			keys:  map[string]cachedKey{},
		}
	})
	return s.trustState
}

// public guards a public route: the address's rate limit first (it costs
// nothing, and bounds what a flood of made-up keys can make the key lookup
// read), then the key, then the key's rate limit. The caller is then in the
// request's context.
func (s *Server) public(next apiFunc) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.admit(w, r)
		if err != nil {
			return err
		}
		return next(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
	}
}

func (s *Server) admit(w http.ResponseWriter, r *http.Request) (caller, error) {
	t := s.trust()
	c := caller{ipHash: s.clientHash(r, "ip")}
	if err := s.limit(w, r, t.byIP, "ip:"+c.ipHash); err != nil {
		return caller{}, err
	}
	key, err := s.authenticate(r)
	if err != nil {
		if code := refx.ErrorCode(err); code == refx.EUNAUTHORIZED || code == refx.EFORBIDDEN {
			s.metric(r.Context(), MetricKeyRefused, 1)
		}
		return caller{}, err
	}
	c.key = key
	if key != nil {
		if err := s.limit(w, r, t.byKey, "key:"+key.ID); err != nil {
			return caller{}, err
		}
	}
	return c, nil
}

// limit takes a token for id, or answers rate_limited with Retry-After.
func (s *Server) limit(w http.ResponseWriter, r *http.Request, l *rateLimiter, id string) error {
	ok, wait := l.allow(id)
	if ok {
		return nil
	}
	s.metric(r.Context(), MetricRateLimited, 1)
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int((wait+time.Second-1)/time.Second))))
	return refx.Errorf(refx.ERATELIMITED, "too many requests; retry after the time in Retry-After")
}

// authenticate finds the request's key and checks that it may be used from
// where it comes. With no key, a keyless deployment lets the request
// through as an untrusted caller; otherwise it is unauthorized.
func (s *Server) authenticate(r *http.Request) (*refx.APIKey, error) {
	token, inURL := presentedKey(r)
	origin := r.Header.Get("Origin")
	if token == "" {
		if !s.Keyless {
			return nil, refx.Errorf(refx.EUNAUTHORIZED, "an API key is required: send a client key in the %s header (or the %s query parameter), a secret key in the %s header", KeyHeader, KeyParam, KeyHeader)
		}
		// Lamed answered any origin; the versioned API answers those the
		// deployment allows, so a cross-site form can't post to it.
		if origin != "" && strings.HasPrefix(r.URL.Path, versionedPrefix) && !s.originAllowed(origin, r) {
			return nil, refx.Errorf(refx.EFORBIDDEN, "origin %s may not call this API", origin)
		}
		return nil, nil
	}
	kind, id, ok := refx.ParseKeyToken(token)
	if !ok {
		return nil, refx.Errorf(refx.EUNAUTHORIZED, "the key is not a refx key")
	}
	if kind == refx.KeyAdmin {
		return nil, refx.Errorf(refx.EUNAUTHORIZED, "an admin key opens the admin routes only: send a client or secret key")
	}
	if kind == refx.KeySecret && (inURL || fromBrowserFetch(r)) {
		return nil, refx.Errorf(refx.EFORBIDDEN, "a secret key is never accepted from a browser or in a URL: revoke it, and use a client key in web pages")
	}
	key, err := s.verifyKey(r.Context(), token, kind, id)
	if err != nil {
		return nil, err
	}
	if kind == refx.KeyClient && origin != "" && !key.AllowsOrigin(origin) && !sameOrigin(origin, r) {
		return nil, refx.Errorf(refx.EFORBIDDEN, "the key %s may not be used from origin %s", key.ID, origin)
	}
	return key, nil
}

// verifyKey returns the live key of kind and id that token is, read through
// the instance's cache; EUNAUTHORIZED when there is none (unknown, forged,
// revoked), a store outage as it is.
func (s *Server) verifyKey(ctx context.Context, token string, kind refx.KeyKind, id string) (*refx.APIKey, error) {
	key, err := s.lookupKey(ctx, id)
	switch refx.ErrorCode(err) {
	case "":
	case refx.ENOTFOUND:
		return nil, refx.Errorf(refx.EUNAUTHORIZED, "unknown key")
	default:
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(key.Digest), []byte(refx.KeyDigest(token))) != 1 || key.Kind != kind {
		return nil, refx.Errorf(refx.EUNAUTHORIZED, "unknown key")
	}
	if key.Revoked() {
		return nil, refx.Errorf(refx.EUNAUTHORIZED, "the key %s was revoked", key.ID)
	}
	return key, nil
}

// presentedKey is the key a request carries, and whether it came in the URL.
func presentedKey(r *http.Request) (token string, inURL bool) {
	// GrowthBook's SDKs put their client key in the path
	// (GET /api/features/{clientKey}); it names the payload asked for.
	if k := r.PathValue("clientKey"); k != "" {
		return k, true
	}
	if k := strings.TrimSpace(r.Header.Get(KeyHeader)); k != "" {
		return k, false
	}
	// A bearer token is a key only when it looks like a client or secret
	// key: a client may send its admin key (the bootstrap key or an
	// rfx_adm_ key) everywhere, which opens the admin routes only.
	if t, ok := bearerToken(r.Header.Get("Authorization")); ok && strings.HasPrefix(t, "rfx_") {
		if kind, _, _ := refx.ParseKeyToken(t); kind != refx.KeyAdmin {
			return t, false
		}
	}
	return r.URL.Query().Get(KeyParam), r.URL.Query().Has(KeyParam)
}

// fromBrowserFetch reports whether a browser sent the request: browsers
// send Origin on cross-origin requests and on every POST, and
// Sec-Fetch-Site on every request; a backend sends neither unless it
// forges them, which only hurts itself. Sec-Fetch-Mode is no sign: Node's
// fetch (undici), which server SDKs such as OpenFeature's OFREP provider
// use, sends "Sec-Fetch-Mode: cors" on every request.
func fromBrowserFetch(r *http.Request) bool {
	return r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") != ""
}

// sameOrigin reports whether origin is the API's own (the dashboard, the
// demo pages): a page may always call the server it came from.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// originAllowed applies the deployment's allowed origins to keyless
// callers.
func (s *Server) originAllowed(origin string, r *http.Request) bool {
	return sameOrigin(origin, r) || refx.OriginAllowed(s.AllowedOrigins, origin)
}

// lookupKey reads a key through the instance's cache.
func (s *Server) lookupKey(ctx context.Context, id string) (*refx.APIKey, error) {
	if s.Keys == nil {
		return nil, refx.Errorf(refx.ENOTFOUND, "no keys")
	}
	t := s.trust()
	now := s.now()
	t.mu.Lock()
	c, ok := t.keys[id]
	t.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.key, c.err
	}
	key, err := s.Keys.Key(ctx, id)
	ttl := keyCacheTTL
	switch refx.ErrorCode(err) {
	case "":
	case refx.ENOTFOUND:
		ttl = keyMissCacheTTL
	default:
		return nil, err // an outage is not remembered
	}
	t.mu.Lock()
	if len(t.keys) >= maxCachedKeys {
		clear(t.keys)
	}
	t.keys[id] = cachedKey{key: key, err: err, until: now.Add(ttl)}
	t.mu.Unlock()
	return key, err
}

// forgetKey drops a changed key from this instance's cache: the instance
// that revokes a key or changes its role applies it at once, the others
// within keyCacheTTL.
func (s *Server) forgetKey(id string) {
	t := s.trust()
	t.mu.Lock()
	delete(t.keys, id)
	t.mu.Unlock()
}

// adminOrSecret lets a request through with an admin credential of the
// role the route registered as pattern needs, or with a secret key: a
// customer's backend may erase the users who ask it to without holding an
// admin key. The secret key is then the actor of the change.
func (s *Server) adminOrSecret(isAdminKey func(string) bool, pattern string, next apiFunc) http.Handler {
	admin := s.requireRole(isAdminKey, pattern, next)
	return apiFunc(func(w http.ResponseWriter, r *http.Request) error {
		if _, ok := adminToken(r, isAdminKey); ok {
			return admin(w, r)
		}
		key, err := s.authenticate(r)
		switch code := refx.ErrorCode(err); {
		case code == "" && key != nil && key.Kind == refx.KeySecret:
			return next(w, r.WithContext(refx.WithActor(r.Context(), key.Actor())))
		case code != "" && code != refx.EUNAUTHORIZED && code != refx.EFORBIDDEN:
			return err // the store is unreachable: 503, not a refusal
		}
		s.metric(r.Context(), MetricKeyRefused, 1)
		w.Header().Set("WWW-Authenticate", `Bearer realm="refx"`)
		return refx.Errorf(refx.EUNAUTHORIZED, "an admin key or a secret key is required (Authorization: Bearer <key>)")
	})
}

// The admin routes of keys.

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) error {
	var req refx.NewKey
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	issued, err := req.Issue(s.now())
	if err != nil {
		return err
	}
	if err := s.Keys.CreateKey(r.Context(), issued.APIKey); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, issued)
	return nil
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.Keys.Keys(r.Context())
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []*refx.APIKey{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
	return nil
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !refx.ValidKeyID(id) {
		return refx.FieldErrorf("id", "must be a key id")
	}
	key, err := s.Keys.RevokeKey(r.Context(), id)
	if err != nil {
		return err
	}
	s.forgetKey(id)
	writeJSON(w, http.StatusOK, key)
	return nil
}

// keyChange is the body of PATCH /v1/keys/{id}: an admin key's role is the
// only thing of a key that changes.
type keyChange struct {
	Role refx.AdminRole `json:"role"`
}

// updateKey changes an admin key's role. A key may not change its own:
// only an owner may change roles, and an owner demoting itself by mistake
// would need another owner to undo it.
func (s *Server) updateKey(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !refx.ValidKeyID(id) {
		return refx.FieldErrorf("id", "must be a key id")
	}
	var req keyChange
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := refx.ValidateAdminRole(req.Role); err != nil {
		return err
	}
	if refx.ActorOf(r.Context()).ID == (&refx.APIKey{ID: id, Kind: refx.KeyAdmin}).Actor().ID {
		return refx.Errorf(refx.EFORBIDDEN, "a key cannot change its own role: ask another owner")
	}
	key, err := s.Keys.SetKeyRole(r.Context(), id, req.Role)
	if err != nil {
		return err
	}
	s.forgetKey(id)
	writeJSON(w, http.StatusOK, key)
	return nil
}
