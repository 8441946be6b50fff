package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/httpapi"
)

const assignBody = `{"experiment":"cta-test","user":"u1"}`

// testClock is a settable clock for a server.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestKeys(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Now()}
	a := MustAPIWith(t, func(s *httpapi.Server) { s.Now = clock.now })
	a.mustDo("POST", "/v1/experiments", experimentBody, true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments/cta-test/start", "", true, http.StatusOK)
	client := a.mustKey("client", "https://shop.example")
	secret := a.mustKey("secret")
	if !strings.HasPrefix(client, "rfx_pub_") || !strings.HasPrefix(secret, "rfx_sec_") {
		t.Fatalf("keys %q %q", client, secret)
	}

	tests := []struct {
		name    string
		path    string
		key     string
		headers []string
		status  int
		code    string
	}{
		{"NoKey", "/v1/assign", "", nil, 401, "unauthorized"},
		{"NotARefxKey", "/v1/assign", "hunter2", nil, 401, "unauthorized"},
		{"ForgedSecret", "/v1/assign", client[:len(client)-4] + "0000", nil, 401, "unauthorized"},
		{"WrongKindPrefix", "/v1/assign", "rfx_sec_" + strings.TrimPrefix(client, "rfx_pub_"), nil, 401, "unauthorized"},
		{"ClientFromServer", "/v1/assign", client, nil, 200, ""},
		{"ClientFromAllowedOrigin", "/v1/assign", client, []string{"Origin", "https://shop.example"}, 200, ""},
		{"ClientFromOtherOrigin", "/v1/assign", client, []string{"Origin", "https://evil.example"}, 403, "forbidden"},
		{"ClientInQuery", "/v1/assign?key=" + client, "", []string{"Origin", "https://shop.example"}, 200, ""},
		{"SecretFromServer", "/v1/assign", secret, nil, 200, ""},
		{"SecretAsBearer", "/v1/assign", "", []string{"Authorization", "Bearer " + secret}, 200, ""},
		{"SecretFromBrowser", "/v1/assign", secret, []string{"Origin", "https://shop.example"}, 403, "forbidden"},
		{"SecretFromBrowserFetchMetadata", "/v1/assign", secret, []string{"Sec-Fetch-Site", "cross-site"}, 403, "forbidden"},
		{"SecretInQuery", "/v1/assign?key=" + secret, "", nil, 403, "forbidden"},
		{"EventsNeedAKey", "/v1/events", "", nil, 401, "unauthorized"},
		{"LamedTrackNeedsAKey", "/lamed/track?experiment=e&variant=a&event=participate&uuid=u", "", nil, 401, "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, body := "POST", assignBody
			if strings.HasPrefix(tt.path, "/lamed/") {
				method, body = "GET", ""
			}
			res := a.doKey(method, tt.path, body, tt.key, tt.headers...)
			if res.Status != tt.status || res.errorCode() != tt.code {
				t.Fatalf("%s = %d %s, want %d %q", tt.path, res.Status, res.Raw, tt.status, tt.code)
			}
		})
	}

	t.Run("ListingShowsNoSecret", func(t *testing.T) {
		res := a.mustDo("GET", "/v1/keys", "", true, http.StatusOK)
		if strings.Contains(res.Raw, client) || strings.Contains(res.Raw, secret) || strings.Contains(res.Raw, "digest") {
			t.Fatalf("listing leaks a key: %s", res.Raw)
		}
		if keys, _ := res.Body["keys"].([]any); len(keys) != 2 || keys[0].(map[string]any)["environment"] != "production" {
			t.Fatalf("keys = %s", res.Raw)
		}
	})
	t.Run("KeysAreAdminOnly", func(t *testing.T) {
		if res := a.doKey("GET", "/v1/keys", "", secret); res.Status != 401 {
			t.Fatalf("listing with a secret key = %d", res.Status)
		}
	})
	t.Run("RevokedWithinTheCacheTTL", func(t *testing.T) {
		id := strings.Split(strings.TrimPrefix(client, "rfx_pub_"), "_")[0]
		a.mustDo("DELETE", "/v1/keys/"+id, "", true, http.StatusOK)
		again := a.mustDo("DELETE", "/v1/keys/"+id, "", true, http.StatusOK)
		if again.Body["revoked_at"] == nil {
			t.Fatalf("revoked key = %s", again.Raw)
		}
		clock.advance(31 * time.Second)
		if res := a.doKey("POST", "/v1/assign", assignBody, client); res.Status != 401 || !strings.Contains(res.Raw, "revoked") {
			t.Fatalf("revoked key = %d %s", res.Status, res.Raw)
		}
		a.mustDo("DELETE", "/v1/keys/0000000000000000", "", true, http.StatusNotFound)
	})
}

func TestKeylessCompatibility(t *testing.T) {
	t.Parallel()
	a := MustAPIWith(t, func(s *httpapi.Server) {
		s.Keyless, s.AllowedOrigins = true, []string{"https://shop.example"}
	})
	a.mustDo("POST", "/v1/experiments", experimentBody, true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments/cta-test/start", "", true, http.StatusOK)
	for _, tt := range []struct {
		name    string
		headers []string
		status  int
	}{
		{"Server", nil, 200},
		{"AllowedOrigin", []string{"Origin", "https://shop.example"}, 200},
		// A cross-site text/plain form post runs without a preflight:
		// only the server can refuse it.
		{"CrossSitePost", []string{"Origin", "https://evil.example", "Content-Type", "text/plain"}, 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if res := a.doKey("POST", "/v1/assign", assignBody, "", tt.headers...); res.Status != tt.status {
				t.Fatalf("= %d %s, want %d", res.Status, res.Raw, tt.status)
			}
		})
	}
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Now()}
	a := MustAPIWith(t, func(s *httpapi.Server) { s.Now, s.RatePerIP, s.RatePerKey = clock.now, 5, 2 })
	a.mustDo("POST", "/v1/experiments", experimentBody, true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments/cta-test/start", "", true, http.StatusOK)
	first, second, third := a.mustKey("secret"), a.mustKey("secret"), a.mustKey("secret")

	// A key's burst is twice its rate: 4 requests, then 429 until a token
	// is back; other keys of the same address have their own, until the
	// address's burst (10) is spent.
	for i := range 4 {
		if res := a.doKey("POST", "/v1/assign", assignBody, first); res.Status != 200 {
			t.Fatalf("request %d = %d %s", i, res.Status, res.Raw)
		}
	}
	res := a.doKey("POST", "/v1/assign", assignBody, first)
	if res.Status != http.StatusTooManyRequests || res.errorCode() != "rate_limited" || res.Header.Get("Retry-After") != "1" {
		t.Fatalf("over the key's limit = %d %s Retry-After %q", res.Status, res.Raw, res.Header.Get("Retry-After"))
	}
	for i, key := range []string{second, second, second, second, third} {
		if res := a.doKey("POST", "/v1/assign", assignBody, key); res.Status != 200 {
			t.Fatalf("other keys, request %d = %d %s", i, res.Status, res.Raw)
		}
	}
	if res := a.doKey("POST", "/v1/assign", assignBody, third); res.Status != http.StatusTooManyRequests {
		t.Fatalf("over the address's limit = %d %s", res.Status, res.Raw)
	}
	clock.advance(time.Second)
	if res := a.doKey("POST", "/v1/assign", assignBody, first); res.Status != 200 {
		t.Fatalf("a second later = %d %s", res.Status, res.Raw)
	}
}

// TestSignupGuardData: a referee's address and device are a backend's to
// give (secret key), a browser's own otherwise; a backend signup without an
// address is flagged, and markers hashed before a hash-key rotation are
// still found.
func TestSignupGuardData(t *testing.T) {
	t.Parallel()
	var srv *httpapi.Server
	a := MustAPIWith(t, func(s *httpapi.Server) { srv = s })
	a.mustDo("POST", "/v1/experiments", referralExperiment, true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments/give-get/start", "", true, http.StatusOK)
	client, secret := a.mustKey("client", "https://shop.example"), a.mustKey("secret")
	link := a.doKey("POST", "/v1/referrals", `{"experiment":"give-get","referrer":"alice"}`, secret)
	signups := "/v1/referrals/" + link.Body["code"].(string) + "/signups"

	for _, tt := range []struct {
		name, body, key, status, reasons string
	}{
		{"ClientKeyCannotClaimAnAddress", `{"referee":"r1","ip":"203.0.113.7"}`, client, "403", ""},
		{"ClientKeyCannotClaimADevice", `{"referee":"r1","device":"fp"}`, client, "403", ""},
		{"BackendWithoutAddressIsFlagged", `{"referee":"r2"}`, secret, "flagged", "ip_missing"},
		{"BackendWithABadAddress", `{"referee":"r2b","ip":"not an ip"}`, secret, "400", ""},
		{"BackendWithAddress", `{"referee":"r3","ip":"203.0.113.7","device":"fp-1"}`, secret, "attributed", ""},
		{"SameAddressAgain", `{"referee":"r4","ip":"203.0.113.7"}`, secret, "flagged", "repeated_ip"},
		// The browser's own address (loopback here) is used: the first
		// browser signup is clean, a second from the same address is not.
		{"Browser", `{"referee":"r5"}`, client, "attributed", ""},
		{"BrowserAgain", `{"referee":"r6"}`, client, "flagged", "repeated_ip"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := a.doKey("POST", signups, tt.body, tt.key)
			got := res.Body["status"]
			if res.Status >= 400 {
				got = fmt.Sprint(res.Status)
			}
			reasons, _ := res.Body["reasons"].([]any)
			if got != tt.status || tt.reasons != "" && (len(reasons) != 1 || reasons[0] != tt.reasons) {
				t.Fatalf("= %d %s, want %s %s", res.Status, res.Raw, tt.status, tt.reasons)
			}
		})
	}
	t.Run("SignupEvents", func(t *testing.T) {
		// A signup event carrying the code: the backend gives the address
		// as referee_ip, a client key may not.
		code := strings.TrimPrefix(strings.TrimSuffix(signups, "/signups"), "/v1/referrals/")
		for _, tt := range []struct {
			name, user, ip, key string
			status              int
			attribution         string
		}{
			{"FromTheBackend", "e1", "192.0.2.50", secret, 202, "attributed"},
			{"FromTheBackendWithoutAddress", "e2", "", secret, 202, "flagged"},
			{"ClientKeyCannotClaimAnAddress", "e3", "192.0.2.51", client, 403, ""},
		} {
			body := fmt.Sprintf(`{"id":"%s","type":"signup","user":%q,"referral_code":%q`, "00000000-0000-4000-8000-0000000000"+tt.user[1:]+"0", tt.user, code)
			if tt.ip != "" {
				body += `,"referee_ip":"` + tt.ip + `"`
			}
			res := a.doKey("POST", "/v1/events", body+"}", tt.key)
			attribution, _ := res.Body["attribution"].(map[string]any)
			if res.Status != tt.status || tt.attribution != "" && attribution["status"] != tt.attribution {
				t.Fatalf("%s: %d %s, want %d with attribution %s", tt.name, res.Status, res.Raw, tt.status, tt.attribution)
			}
		}
	})
	t.Run("RotatedHashKey", func(t *testing.T) {
		srv.HashKey, srv.PreviousHashKey = []byte("the-new-hash-key"), srv.HashKey
		res := a.doKey("POST", signups, `{"referee":"r7","ip":"203.0.113.7","device":"fp-1"}`, secret)
		if reasons, _ := res.Body["reasons"].([]any); res.Body["status"] != "flagged" || len(reasons) != 2 {
			t.Fatalf("after rotation = %s, want flagged repeated_ip and repeated_device", res.Raw)
		}
		srv.PreviousHashKey = nil
		if res := a.doKey("POST", signups, `{"referee":"r8","ip":"203.0.113.7"}`, secret); res.Body["status"] != "flagged" {
			// r7's marker was written with the new key.
			t.Fatalf("new-key marker not found: %s", res.Raw)
		}
		if res := a.doKey("POST", signups, `{"referee":"r9","ip":"198.51.100.1"}`, secret); res.Body["status"] != "attributed" {
			t.Fatalf("a new address = %s", res.Raw)
		}
	})
}

// TestAbuseMetrics: refused keys and rate limits are counted as EMF lines,
// which the stack's abuse dashboard and alarms read.
func TestAbuseMetrics(t *testing.T) {
	t.Parallel()
	var out lockedBuffer
	a := MustAPIWith(t, func(s *httpapi.Server) { s.Metrics, s.RatePerIP = &out, 1 })
	for range 3 { // a burst of 2, then the address's limit
		a.doKey("POST", "/v1/assign", assignBody, "")
	}
	if refused, limited := out.sum(t, httpapi.MetricKeyRefused), out.sum(t, httpapi.MetricRateLimited); refused != 2 || limited != 1 {
		t.Fatalf("KeyRefused %d, RateLimited %d; want 2 and 1", refused, limited)
	}
}

func TestCreateKeyBadInput(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	for _, tt := range []struct{ name, body, field string }{
		{"NoKind", `{"name":"x"}`, "kind"},
		{"UnknownKind", `{"name":"x","kind":"root"}`, "kind"},
		{"AdminWithoutRole", `{"name":"x","kind":"admin"}`, "role"},
		{"SecretWithRole", `{"name":"x","kind":"secret","role":"viewer"}`, "role"},
		{"NoName", `{"kind":"secret"}`, "name"},
		{"ControlCharInName", `{"name":"a\u0007","kind":"secret"}`, "name"},
		{"ClientWithoutOrigins", `{"name":"x","kind":"client"}`, "origins"},
		{"SecretWithOrigins", `{"name":"x","kind":"secret","origins":["https://a.example"]}`, "origins"},
		{"OriginWithPath", `{"name":"x","kind":"client","origins":["https://a.example/page"]}`, "origins"},
		{"OriginNotHTTP", `{"name":"x","kind":"client","origins":["ftp://a.example"]}`, "origins"},
		{"UnknownField", `{"name":"x","kind":"secret","scopes":[]}`, "scopes"},
		{"BadEnvironment", `{"name":"x","kind":"secret","environment":"Prod uction"}`, "environment"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := a.do("POST", "/v1/keys", tt.body, true)
			if res.Status != http.StatusBadRequest || res.errorCode() != "invalid_argument" || res.errorField() != tt.field {
				t.Fatalf("= %d %s, want 400 invalid_argument field %q", res.Status, res.Raw, tt.field)
			}
		})
	}
	if res := a.do("DELETE", "/v1/keys/NOT-AN-ID", "", true); res.Status != http.StatusBadRequest {
		t.Fatalf("revoke of a malformed id = %d %s", res.Status, res.Raw)
	}
}
