package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// groups returns each route group of AllRoutes on its own.
func groups() []Routes {
	var gs []Routes
	for g := Routes(1); g != 0 && g <= AllRoutes; g <<= 1 {
		if AllRoutes&g != 0 {
			gs = append(gs, g)
		}
	}
	return gs
}

// TestRouteTableMatchesHandler checks RouteTable, which the CDK stack deploys,
// against Handler: the same set of "METHOD /path" patterns as the package
// registers, and each route served by its own group's handler and by no
// other group's.
func TestRouteTableMatchesHandler(t *testing.T) {
	table := RouteTable()
	t.Run("SamePatterns", func(t *testing.T) {
		registered := routePatterns(t)
		var listed []string
		for _, r := range table {
			listed = append(listed, r.String())
		}
		for _, p := range registered {
			if !slices.Contains(listed, p) {
				t.Errorf("the package registers %q but RouteTable does not list it: add it with its group, or the deployed API will not route it", p)
			}
		}
		for _, p := range listed {
			if !slices.Contains(registered, p) {
				t.Errorf("RouteTable lists %q but no route pattern of the package registers it", p)
			}
		}
	})
	t.Run("EachRouteInItsGroupOnly", func(t *testing.T) {
		srv := &Server{Logger: slog.New(slog.DiscardHandler), Keyless: true}
		for _, g := range groups() {
			h := srv.Handler(g)
			for _, r := range table {
				if r.Group&(r.Group-1) != 0 || AllRoutes&r.Group == 0 {
					t.Errorf("%s: group %b is not exactly one group of AllRoutes", r, r.Group)
					continue
				}
				if served, status := routed(h, r); served != (r.Group == g) {
					t.Errorf("%s: the handler of group %b serves it = %v, want %v (status %d)", r, g, served, r.Group == g, status)
				}
			}
		}
	})
}

// routed sends r through h, each path parameter filled in and {$} dropped,
// and reports whether a route answered rather than the catch-all (a 404
// whose error message starts with "no route"). Unlike probeRoute it accepts
// answers that are not JSON, such as the redirects of /r/{code}.
func routed(h http.Handler, r Route) (bool, int) {
	path := regexp.MustCompile(`\{[^}/$]+\}`).ReplaceAllString(strings.ReplaceAll(r.Path, "{$}", ""), "x")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(r.Method, path, strings.NewReader("")))
	var body ErrorBody
	catchAll := rec.Code == http.StatusNotFound &&
		json.Unmarshal(rec.Body.Bytes(), &body) == nil && strings.HasPrefix(body.Error.Message, "no route")
	return !catchAll, rec.Code
}

func TestValidateTrackPath(t *testing.T) {
	for _, p := range []string{"/t", "/t/e", "/collect/v2", "/a.b_c~d-e"} {
		if err := ValidateTrackPath(p); err != nil {
			t.Errorf("ValidateTrackPath(%q) = %v, want nil", p, err)
		}
	}
	bad := []string{
		"", "t", "/", "/t/", "//t", "/t?x=1", "/t/{id}", "/t e", "/t:batch", "/" + strings.Repeat("a", 128),
		"/v1/events", "/v1/assign", "/healthz", "/v1/experiments", "/v1/experiments/x", "/v1/experiments/x/start",
		"/v1/events:batch", "/r/abc", "/v1/referrals", "/v1/referrers/u/referrals",
	}
	for _, p := range bad {
		if err := ValidateTrackPath(p); err == nil {
			t.Errorf("ValidateTrackPath(%q) = nil, want an error", p)
		}
	}
}

func TestTrackPathRoutes(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		got, err := TrackPathRoutes([]string{"/t/e", "/c"})
		if err != nil {
			t.Fatal(err)
		}
		want := []Route{
			{"POST", "/t/e", TrackRoutes}, {"POST", "/t/e:batch", TrackRoutes},
			{"POST", "/c", TrackRoutes}, {"POST", "/c:batch", TrackRoutes},
		}
		if !slices.Equal(got, want) {
			t.Fatalf("TrackPathRoutes = %v, want %v", got, want)
		}
	})
	t.Run("ErrDuplicate", func(t *testing.T) {
		if _, err := TrackPathRoutes([]string{"/t", "/t"}); err == nil {
			t.Fatal("a path listed twice was accepted")
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		if _, err := TrackPathRoutes([]string{"/t", "/v1/assign"}); err == nil {
			t.Fatal("a path shadowing a route was accepted")
		}
	})
}

// TestWithTrackPaths sends events to the aliases of a track-only handler: they
// reach the event routes (which refuse the empty body with 400, before any
// service), while other methods and paths still fall through to the
// catch-all.
func TestWithTrackPaths(t *testing.T) {
	srv := &Server{Logger: slog.New(slog.DiscardHandler), Keyless: true}
	h, err := WithTrackPaths(srv.Handler(TrackRoutes), []string{"/t/e"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, method, path string
		status             int
		catchAll           bool
	}{
		{"Alias", "POST", "/t/e", http.StatusBadRequest, false},
		{"BatchAlias", "POST", "/t/e:batch", http.StatusBadRequest, false},
		{"Original", "POST", "/v1/events", http.StatusBadRequest, false},
		{"OtherMethod", "GET", "/t/e", http.StatusNotFound, true},
		{"OtherPath", "POST", "/t/e/x", http.StatusNotFound, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := probeRoute(t, h, operation{tt.method, tt.path})
			if res.status != tt.status || res.catchAll() != tt.catchAll {
				t.Fatalf("%s %s = %d %s, want %d (catch-all %v)", tt.method, tt.path, res.status, res.raw, tt.status, tt.catchAll)
			}
		})
	}
	t.Run("ErrInvalid", func(t *testing.T) {
		if _, err := WithTrackPaths(srv.Handler(TrackRoutes), []string{"/v1/events"}); err == nil {
			t.Fatal("an alias of an existing route was accepted")
		}
	})
	t.Run("NoPaths", func(t *testing.T) {
		inner := http.NotFoundHandler()
		got, err := WithTrackPaths(inner, nil)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		got.ServeHTTP(rec, httptest.NewRequest("POST", "/t/e", nil))
		if rec.Code != http.StatusNotFound {
			t.Fatalf("status = %d, want the inner handler's 404", rec.Code)
		}
	})
}

func TestTemplateMatches(t *testing.T) {
	for _, tt := range []struct {
		template, path string
		want           bool
	}{
		{"/v1/assign", "/v1/assign", true},
		{"/v1/assign", "/v1/assign/x", false},
		{"/v1/experiments/{id}", "/v1/experiments/x", true},
		{"/v1/experiments/{id}", "/v1/experiments/", false},
		{"/v1/experiments/{id}", "/v1/experiments", false},
		{"/r/{$}", "/r/", true},
		{"/r/{$}", "/r/x", false},
		{"/r/{$}", "/r", false},
		{"/files/{p...}", "/files/a/b", true},
		{"/files/{p...}", "/files", false},
	} {
		if got := templateMatches(tt.template, tt.path); got != tt.want {
			t.Errorf("templateMatches(%q, %q) = %v, want %v", tt.template, tt.path, got, tt.want)
		}
	}
}
