package httpapi

import (
	"bufio"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// apiDescription is the OpenAPI description of the routes, relative to this
// package's directory (where go test runs).
const apiDescription = "../../schema/api.yaml"

// serverRoutes mirrors the routes Handler registers in server.go, with the
// status each answers to the probe of probeRoute: an empty body, no admin key,
// and a Server whose services are all nil. None of these reaches a service:
// admin routes stop at 401 because AdminKey is empty, /healthz answers 200
// because Ping is nil, and the public POST routes refuse the empty body with
// 400 before using a service. TestAPIDescriptionCoversRoutes checks this list
// against server.go's route patterns too, so a route added there without
// being added here (and to schema/api.yaml) fails the test.
var serverRoutes = []struct {
	method, pattern string
	status          int
}{
	{"GET", "/healthz", http.StatusOK},
	{"POST", "/v1/assign", http.StatusBadRequest},
	{"POST", "/v1/events", http.StatusBadRequest},
	{"POST", "/v1/events:batch", http.StatusBadRequest},
	{"POST", "/v1/experiments", http.StatusUnauthorized},
	{"GET", "/v1/experiments", http.StatusUnauthorized},
	{"GET", "/v1/experiments/{id}", http.StatusUnauthorized},
	{"PATCH", "/v1/experiments/{id}", http.StatusUnauthorized},
	{"POST", "/v1/experiments/{id}/phases", http.StatusUnauthorized},
	{"POST", "/v1/experiments/{id}/submit", http.StatusUnauthorized},
	{"POST", "/v1/experiments/{id}/request-changes", http.StatusUnauthorized},
	{"POST", "/v1/experiments/{id}/approve", http.StatusUnauthorized},
	{"POST", "/v1/experiments/{id}/start", http.StatusUnauthorized},
	{"POST", "/v1/experiments/{id}/stop", http.StatusUnauthorized},
	{"POST", "/v1/experiments/{id}/conclude", http.StatusUnauthorized},
	{"POST", "/v1/experiments/{id}/archive", http.StatusUnauthorized},
	{"GET", "/v1/experiments/{id}/conclusion", http.StatusUnauthorized},
	{"GET", "/v1/experiments/{id}/results", http.StatusUnauthorized},
	{"GET", "/v1/experiments/{id}/power", http.StatusUnauthorized},
	{"GET", "/v1/experiments/{id}/health", http.StatusUnauthorized},
	{"POST", "/v1/experiments/{id}/aa-simulation", http.StatusUnauthorized},
	{"DELETE", "/v1/experiments/{id}", http.StatusUnauthorized},
	{"GET", "/v1/experiments/{id}/timeseries", http.StatusUnauthorized},
	{"GET", "/v1/experiments/{id}/charts/{chart}", http.StatusUnauthorized},
	{"GET", "/dashboard", http.StatusOK},
	{"GET", "/dashboard/{asset...}", http.StatusNotFound},
	{"POST", "/v1/referrals", http.StatusBadRequest},
	{"GET", "/v1/referrals/{code}", http.StatusOK},
	{"GET", "/v1/referrals/{code}/stats", http.StatusBadRequest},
	{"POST", "/v1/identify", http.StatusBadRequest},
	{"GET", "/v1/refx.js", http.StatusOK},
	{"GET", "/v1/refx.mjs", http.StatusOK},
	{"POST", "/v1/referrals/{code}/signups", http.StatusBadRequest},
	{"GET", "/r/{code}", http.StatusFound},
	{"GET", "/r", http.StatusOK},
	{"POST", "/ofrep/v1/evaluate/flags/{key}", http.StatusUnauthorized},
	{"POST", "/ofrep/v1/evaluate/flags", http.StatusUnauthorized},
	{"GET", "/api/features/{clientKey}", http.StatusUnauthorized},
	{"GET", "/lamed/track", http.StatusBadRequest},
	{"GET", "/lamed/experiments", http.StatusForbidden},
	{"DELETE", "/lamed/delete", http.StatusForbidden},
	{"GET", "/v1/referrers/{user}/referrals", http.StatusUnauthorized},
	{"POST", "/v1/codes", http.StatusUnauthorized},
	{"GET", "/v1/experiments/{id}/leaderboard", http.StatusUnauthorized},
	{"POST", "/v1/keys", http.StatusUnauthorized},
	{"GET", "/v1/keys", http.StatusUnauthorized},
	{"PATCH", "/v1/keys/{id}", http.StatusUnauthorized},
	{"DELETE", "/v1/keys/{id}", http.StatusUnauthorized},
	{"GET", "/v1/me", http.StatusUnauthorized},
	{"GET", "/v1/audit", http.StatusUnauthorized},
	{"POST", "/v1/flags", http.StatusUnauthorized},
	{"POST", "/v1/flags:import", http.StatusUnauthorized},
	{"GET", "/v1/flags", http.StatusUnauthorized},
	{"GET", "/v1/flags/{key}", http.StatusUnauthorized},
	{"PATCH", "/v1/flags/{key}", http.StatusUnauthorized},
	{"DELETE", "/v1/flags/{key}", http.StatusUnauthorized},
	{"POST", "/v1/segments", http.StatusUnauthorized},
	{"GET", "/v1/segments", http.StatusUnauthorized},
	{"GET", "/v1/segments/{key}", http.StatusUnauthorized},
	{"PATCH", "/v1/segments/{key}", http.StatusUnauthorized},
	{"DELETE", "/v1/segments/{key}", http.StatusUnauthorized},
	{"POST", "/v1/layers", http.StatusUnauthorized},
	{"GET", "/v1/layers", http.StatusUnauthorized},
	{"GET", "/v1/layers/{id}", http.StatusUnauthorized},
	{"PATCH", "/v1/layers/{id}", http.StatusUnauthorized},
	{"DELETE", "/v1/layers/{id}", http.StatusUnauthorized},
	{"POST", "/v1/holdouts", http.StatusUnauthorized},
	{"GET", "/v1/holdouts", http.StatusUnauthorized},
	{"GET", "/v1/holdouts/{id}", http.StatusUnauthorized},
	{"GET", "/v1/reviews", http.StatusUnauthorized},
	{"POST", "/v1/reviews/{referee}/approve", http.StatusUnauthorized},
	{"POST", "/v1/reviews/{referee}/reject", http.StatusUnauthorized},
	{"POST", "/v1/blocks", http.StatusUnauthorized},
	{"GET", "/v1/blocks", http.StatusUnauthorized},
	{"DELETE", "/v1/blocks/{kind}/{id}", http.StatusUnauthorized},
	{"POST", "/v1/programs", http.StatusUnauthorized},
	{"GET", "/v1/programs", http.StatusUnauthorized},
	{"GET", "/v1/programs/{id}", http.StatusUnauthorized},
	{"PATCH", "/v1/programs/{id}", http.StatusUnauthorized},
	{"GET", "/v1/programs/{id}/results", http.StatusUnauthorized},
	{"GET", "/v1/rewards", http.StatusUnauthorized},
	{"GET", "/v1/rewards/{id}", http.StatusUnauthorized},
	{"POST", "/v1/rewards/{id}/approve", http.StatusUnauthorized},
	{"POST", "/v1/rewards/{id}/reject", http.StatusUnauthorized},
	{"POST", "/v1/rewards/{id}/issue", http.StatusUnauthorized},
	{"POST", "/v1/rewards/{id}/reverse", http.StatusUnauthorized},
	{"POST", "/v1/webhooks", http.StatusUnauthorized},
	{"GET", "/v1/webhooks", http.StatusUnauthorized},
	{"GET", "/v1/webhooks/{id}", http.StatusUnauthorized},
	{"PATCH", "/v1/webhooks/{id}", http.StatusUnauthorized},
	{"DELETE", "/v1/webhooks/{id}", http.StatusUnauthorized},
	{"POST", "/v1/webhooks/{id}/rotate-secret", http.StatusUnauthorized},
	{"GET", "/v1/webhooks/{id}/deliveries", http.StatusUnauthorized},
	{"DELETE", "/v1/users/{user}", http.StatusUnauthorized},
}

// TestAPIDescriptionCoversRoutes checks schema/api.yaml against the handler in
// both directions: every documented operation is routed (it does not fall
// through to the catch-all "no route" 404), and every route the server
// registers is documented.
func TestAPIDescriptionCoversRoutes(t *testing.T) {
	ops := apiOperations(t, apiDescription)
	// Keyless, so that the probes of public routes reach their handlers.
	h := (&Server{Logger: slog.New(slog.DiscardHandler), Keyless: true}).Handler(AllRoutes)

	// The catch-all detection itself must work, or every check below would
	// pass vacuously.
	t.Run("CatchAllIsDetected", func(t *testing.T) {
		for _, op := range []operation{{"GET", "/v1/nothing"}, {"DELETE", "/v1/assign"}, {"POST", "/healthz"}} {
			if res := probeRoute(t, h, op); !res.catchAll() {
				t.Errorf("%s: got %d %s, want the catch-all 404", op, res.status, res.raw)
			}
		}
	})

	t.Run("DocumentedOperationsAreRouted", func(t *testing.T) {
		for _, op := range ops {
			t.Run(op.String(), func(t *testing.T) {
				res := probeRoute(t, h, op)
				switch {
				case res.catchAll():
					t.Fatalf("documented in %s but not routed: %d %s", apiDescription, res.status, res.raw)
				case res.status >= 500:
					t.Fatalf("the probe reached a handler's service (status %d %s); it must stop before", res.status, res.raw)
				}
			})
		}
	})

	t.Run("RoutesAreDocumented", func(t *testing.T) {
		for _, r := range serverRoutes {
			op := operation{r.method, r.pattern}
			t.Run(op.String(), func(t *testing.T) {
				if !slices.Contains(ops, op) {
					t.Errorf("routed by Handler but not documented under paths: in %s", apiDescription)
				}
				// The mirrored route really is routed, as the mirror says.
				if res := probeRoute(t, h, op); res.status != r.status || res.catchAll() {
					t.Errorf("probe = %d %s, want %d from the route's own handler", res.status, res.raw, r.status)
				}
			})
		}
	})

	t.Run("RouteListMatchesServer", func(t *testing.T) {
		registered := routePatterns(t)
		var mirrored []string
		for _, r := range serverRoutes {
			mirrored = append(mirrored, r.method+" "+r.pattern)
		}
		for _, p := range registered {
			if !slices.Contains(mirrored, p) {
				t.Errorf("the package registers %q but serverRoutes does not list it: add it there and to %s", p, apiDescription)
			}
		}
		for _, p := range mirrored {
			if !slices.Contains(registered, p) {
				t.Errorf("serverRoutes lists %q but no route pattern of the package registers it", p)
			}
		}
	})
}

// operation is a method and a path template ("/v1/experiments/{id}").
type operation struct{ method, path string }

func (op operation) String() string { return op.method + " " + op.path }

// probeResult is a handler's answer to a probe.
type probeResult struct {
	status int
	body   ErrorBody
	raw    string
}

// catchAll reports whether the answer is the catch-all's: a 404 whose message
// starts with "no route". A route's own 404 (an experiment not found) has
// another message.
func (r probeResult) catchAll() bool {
	return r.status == http.StatusNotFound && strings.HasPrefix(r.body.Error.Message, "no route")
}

// probeRoute sends op through h with an empty body and no credentials, each
// path parameter ({id}) replaced by "x".
func probeRoute(t *testing.T, h http.Handler, op operation) probeResult {
	t.Helper()
	path := regexp.MustCompile(`\{[^}/]+\}`).ReplaceAllString(op.path, "x")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(op.method, path, strings.NewReader("")))
	if rec.Header().Get(RequestIDHeader) == "" {
		t.Errorf("%s %s: the response has no %s header", op.method, path, RequestIDHeader)
	}
	res := probeResult{status: rec.Code, raw: strings.TrimSpace(rec.Body.String())}
	// Referral links answer redirects and HTML pages, refx.js JavaScript,
	// not JSON.
	ct := rec.Header().Get("Content-Type")
	html := strings.HasPrefix(ct, "text/html") || strings.HasPrefix(ct, "text/javascript")
	if err := json.Unmarshal(rec.Body.Bytes(), &res.body); err != nil && !html {
		t.Fatalf("%s %s: the body is not JSON: %v: %q", op.method, path, err, res.raw)
	}
	return res
}

// httpMethods are the operation keys of an OpenAPI path item.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// apiOperations returns the (method, path) pairs under `paths:` of the OpenAPI
// YAML file at name.
//
// The module has no YAML parser and this test does not add one, so the file is
// read with a line-based scan that relies on the layout schema/api.yaml keeps
// (and documents in its header):
//
//   - `paths:` alone at column 0 opens the section; the next non-blank,
//     non-comment line at column 0 closes it;
//   - each path key is indented by exactly two spaces, starts with '/' and may
//     be quoted ("/v1/events:batch": is quoted because of its colon);
//   - each operation is an HTTP method key (get:, post:, ...) indented by
//     exactly four spaces, under its path. Other keys at that depth
//     (parameters:, summary:, ...) are not operations;
//   - everything indented deeper (descriptions, schemas, block scalars) is
//     skipped, so a block scalar's text cannot be mistaken for a key.
//
// Anything the scan cannot read with certainty (tabs in the indentation, a
// flow-style mapping, a path-item $ref, a key at path depth that is not a path)
// fails the test rather than being skipped.
func apiOperations(t *testing.T, name string) []operation {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatalf("read the API description: %v", err)
	}
	defer f.Close()
	var (
		ops         []operation
		inPaths     bool
		sawPaths    bool
		currentPath string
	)
	sc := bufio.NewScanner(f)
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d", name, lineNo)
		indent := len(line) - len(strings.TrimLeft(line, " "))
		if !inPaths {
			if indent == 0 && strings.HasPrefix(line, "paths:") {
				if rest := stripComment(strings.TrimPrefix(line, "paths:")); rest != "" {
					t.Fatalf("%s: paths: must be a block mapping, not %q", where, rest)
				}
				inPaths, sawPaths = true, true
			}
			continue
		}
		if strings.HasPrefix(strings.TrimLeft(line, " "), "\t") {
			t.Fatalf("%s: tab in the indentation", where)
		}
		switch indent {
		case 0: // the next top-level key closes paths:
			inPaths = false
		case 2:
			key, ok := mappingKey(stripComment(trimmed))
			switch {
			case ok && strings.HasPrefix(key, "x-"):
				currentPath = "" // a specification extension
			case !ok || !strings.HasPrefix(key, "/"):
				t.Fatalf("%s: expected a path key (\"/...\":) at two spaces of indentation, got %q", where, trimmed)
			default:
				currentPath = key
			}
		case 4:
			key, ok := mappingKey(stripComment(trimmed))
			switch {
			case !ok:
				t.Fatalf("%s: expected a key at four spaces of indentation, got %q", where, trimmed)
			case key == "$ref":
				t.Fatalf("%s: path-item $ref is not supported by this scan: write the operations out", where)
			case !slices.Contains(httpMethods, key):
				// parameters:, summary:, description:, servers:, x-...
			case currentPath == "":
				t.Fatalf("%s: operation %q outside a path", where, key)
			default:
				op := operation{strings.ToUpper(key), currentPath}
				if slices.Contains(ops, op) {
					t.Fatalf("%s: %s documented twice", where, op)
				}
				ops = append(ops, op)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	if !sawPaths || len(ops) == 0 {
		t.Fatalf("%s: no operations found under paths:", name)
	}
	return ops
}

// mappingKey returns the key of a block-mapping line "key:" whose value
// follows on the next lines ("key: value" is not one), unquoting a quoted key.
func mappingKey(s string) (string, bool) {
	key, ok := strings.CutSuffix(s, ":")
	if !ok || key == "" {
		return "", false
	}
	switch key[0] {
	case '"':
		k, err := strconv.Unquote(key)
		return k, err == nil
	case '\'':
		if len(key) < 2 || key[len(key)-1] != '\'' {
			return "", false
		}
		return strings.ReplaceAll(key[1:len(key)-1], "''", "'"), true
	}
	return key, true
}

// stripComment removes a trailing YAML comment (" #...") and spaces. The
// lines it is used on hold no quoted " #".
func stripComment(s string) string {
	if i := strings.Index(s, " #"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// routePatterns returns the route patterns ("METHOD /path") written as string
// literals in the package's non-test Go files, which is how Handler registers
// them (mux.Handle, mux.HandleFunc and its admin helper).
func routePatterns(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	pattern := regexp.MustCompile(`^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE) /`)
	fset := token.NewFileSet()
	var found []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			if s, err := strconv.Unquote(lit.Value); err == nil && pattern.MatchString(s) {
				found = append(found, s)
			}
			return true
		})
	}
	if len(found) == 0 {
		t.Fatal("found no route pattern literal in the package; has routing moved?")
	}
	return found
}
