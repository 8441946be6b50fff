package httpapi

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func corsRequest(h http.Handler, method, path, origin string, preflight string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(""))
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if preflight != "" {
		req.Header.Set("Access-Control-Request-Method", preflight)
		req.Header.Set("Access-Control-Request-Headers", "content-type")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestCORS(t *testing.T) {
	t.Parallel()
	const shop = "https://shop.example"
	srv := func(origins ...string) http.Handler {
		return (&Server{Logger: slog.New(slog.DiscardHandler), Keyless: true, AllowedOrigins: origins}).Handler(AllRoutes)
	}
	configured := srv(shop, "http://localhost:3000")
	tests := []struct {
		name                    string
		h                       http.Handler
		method, path, origin    string
		preflight               string
		status                  int
		allowOrigin, allowCreds string
	}{
		{"Allowed", configured, "POST", "/v1/assign", shop, "", 400, shop, "true"},
		{"AllowedSecondOrigin", configured, "POST", "/v1/events", "http://localhost:3000", "", 400, "http://localhost:3000", "true"},
		{"Script", configured, "GET", "/v1/refx.mjs", shop, "", 200, shop, "true"},
		// A cross-origin POST runs even when CORS hides its answer: the
		// server refuses origins it does not allow (keyless here; a key's
		// own origins otherwise, see keys_test.go).
		{"OtherOrigin", configured, "POST", "/v1/assign", "https://evil.example", "", 403, "", ""},
		{"OriginWithPathIsNotTheOrigin", configured, "POST", "/v1/assign", shop + "/x", "", 403, "", ""},
		{"NoOrigin", configured, "POST", "/v1/assign", "", "", 400, "", ""},
		{"NoneConfigured", srv(), "POST", "/v1/assign", shop, "", 403, "", ""},
		{"Any", srv("*"), "POST", "/v1/identify", "https://anyone.example", "", 400, "https://anyone.example", "true"},
		{"AnyButNull", srv("*"), "POST", "/v1/assign", "null", "", 403, "", ""},
		{"AdminNever", srv("*"), "GET", "/v1/experiments", shop, "", 401, "", ""},
		{"LinksNot", srv("*"), "GET", "/r/x", shop, "", 302, "", ""},
		{"Preflight", configured, "OPTIONS", "/v1/events:batch", shop, "POST", 204, shop, "true"},
		{"PreflightTemplate", configured, "OPTIONS", "/v1/referrals/7KQ2MZ4P/signups", shop, "POST", 204, shop, "true"},
		{"PreflightHead", configured, "OPTIONS", "/v1/refx.js", shop, "HEAD", 204, shop, "true"},
		{"PreflightWrongMethod", configured, "OPTIONS", "/v1/assign", shop, "PUT", 204, "", ""},
		{"PreflightOtherOrigin", configured, "OPTIONS", "/v1/assign", "https://evil.example", "POST", 204, "", ""},
		{"PreflightAdmin", srv("*"), "OPTIONS", "/v1/experiments", shop, "POST", 404, "", ""},
		{"OptionsWithoutPreflight", configured, "OPTIONS", "/v1/assign", shop, "", 404, shop, "true"},
		// OpenFeature's web provider sends its key as Authorization and
		// revalidates with If-None-Match, so its preflight asks for both.
		{"PreflightOFREP", configured, "OPTIONS", "/ofrep/v1/evaluate/flags", shop, "POST", 204, shop, "true"},
		{"PreflightOFREPFlag", configured, "OPTIONS", "/ofrep/v1/evaluate/flags/new-checkout", shop, "POST", 204, shop, "true"},
		{"OFREPWithoutKey", configured, "POST", "/ofrep/v1/evaluate/flags", shop, "", 401, shop, "true"},
		{"GrowthBookPayload", configured, "GET", "/api/features/rfx_pub_x", shop, "", 401, shop, "true"},
		{"GroupNotServed", (&Server{Logger: slog.New(slog.DiscardHandler), Keyless: true, AllowedOrigins: []string{"*"}}).Handler(AdminRoutes), "OPTIONS", "/v1/assign", shop, "POST", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := corsRequest(tt.h, tt.method, tt.path, tt.origin, tt.preflight)
			h := rec.Header()
			if rec.Code != tt.status || h.Get("Access-Control-Allow-Origin") != tt.allowOrigin || h.Get("Access-Control-Allow-Credentials") != tt.allowCreds {
				t.Fatalf("%s %s from %q = %d, allow origin %q credentials %q; want %d, %q, %q",
					tt.method, tt.path, tt.origin, rec.Code, h.Get("Access-Control-Allow-Origin"), h.Get("Access-Control-Allow-Credentials"),
					tt.status, tt.allowOrigin, tt.allowCreds)
			}
			if tt.allowOrigin != "" && tt.preflight == "" && h.Get("Access-Control-Expose-Headers") != RequestIDHeader+", ETag" {
				t.Errorf("Access-Control-Expose-Headers = %q", h.Get("Access-Control-Expose-Headers"))
			}
			if tt.allowOrigin != "" && !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary = %q, want Origin (answers differ by origin)", h.Values("Vary"))
			}
			if tt.preflight != "" && tt.allowOrigin != "" {
				allowed := h.Get("Access-Control-Allow-Headers")
				if h.Get("Access-Control-Allow-Methods") == "" || h.Get("Access-Control-Max-Age") == "" ||
					!strings.Contains(allowed, "Content-Type") || !strings.Contains(allowed, "Authorization") || !strings.Contains(allowed, "If-None-Match") {
					t.Errorf("preflight headers = %v", h)
				}
			}
			if rec.Header().Get(RequestIDHeader) == "" {
				t.Error("no request id")
			}
		})
	}
}

// TestCORSRoutes checks the OPTIONS routes API Gateway needs: each path
// answers CORS, a preflight to it is answered by its group's handler, and no
// other CORS path exists.
func TestCORSRoutes(t *testing.T) {
	t.Parallel()
	srv := &Server{Logger: slog.New(slog.DiscardHandler), Keyless: true, AllowedOrigins: []string{"https://shop.example"}}
	routes := CORSRoutes()
	if len(routes) == 0 {
		t.Fatal("no CORS routes")
	}
	paths := map[string]bool{}
	for _, r := range routes {
		paths[r.Path] = true
		path := regexp.MustCompile(`\{[^}/]+\}`).ReplaceAllString(r.Path, "7KQ2MZ4P")
		for _, g := range groups() {
			rec := corsRequest(srv.Handler(g), "OPTIONS", path, "https://shop.example", "POST")
			answered := rec.Code == http.StatusNoContent
			if answered != (g == r.Group) {
				t.Errorf("%s: handler of group %b answers the preflight = %v (%d), want %v", r, g, answered, rec.Code, g == r.Group)
			}
		}
	}
	for _, r := range RouteTable() {
		if r.Group&corsGroups != 0 && strings.HasPrefix(r.Path, "/v1/") && !paths[r.Path] {
			t.Errorf("%s answers CORS but has no OPTIONS route", r)
		}
	}
	for _, want := range []string{"/v1/assign", "/v1/identify", "/v1/events", "/v1/events:batch", "/v1/refx.js", "/ofrep/v1/evaluate/flags", "/ofrep/v1/evaluate/flags/{key}", "/api/features/{clientKey}"} {
		if !paths[want] {
			t.Errorf("no OPTIONS route for %s", want)
		}
	}
}

func TestCORSTrackPathPreflight(t *testing.T) {
	t.Parallel()
	srv := &Server{Logger: slog.New(slog.DiscardHandler), Keyless: true, AllowedOrigins: []string{"https://shop.example"}}
	h, err := WithTrackPaths(srv.Handler(TrackRoutes), []string{"/t/e"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/t/e", "/t/e:batch"} {
		rec := corsRequest(h, "OPTIONS", p, "https://shop.example", "POST")
		if rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Origin") != "https://shop.example" {
			t.Errorf("preflight of the alias %s = %d %v", p, rec.Code, rec.Header())
		}
	}
}
