package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/httpapi"
)

// authServer is the whole API with the admin key key, on a fresh table.
func authServer(tb testing.TB, key string) http.Handler {
	tb.Helper()
	client, table := dynamotest.NewTable(tb)
	store := dynamo.New(client, table, dynamo.Options{})
	srv := &httpapi.Server{
		Experiments: store, Assignments: store, Events: store, Results: store, Referrals: store, Lamed: store,
		Ping: store.Ping, AdminKey: key, HashKey: []byte("test-hash-key"), Keys: store, Keyless: true,
	}
	return srv.Handler(httpapi.AllRoutes)
}

// authCase is one request to an admin route and the answer it must get.
type authCase struct {
	name   string
	path   string            // default /v1/experiments
	header map[string]string // request headers
	status int
	code   string // the JSON error code; "" for a success
}

// TestAdminAuth: the admin routes take the admin key only as a bearer token
// in the Authorization header. Decisions (also in schema/api.yaml):
//   - The scheme is case-insensitive ("bearer", "BEARER"): RFC 9110 §11.1
//     says so, and OAuth-style clients send the token_type "bearer" as is.
//     One or more spaces may separate it from the key (RFC 6750 §2.1).
//   - The key itself is compared exactly: another case, a prefix, or the key
//     with something appended is refused.
//   - A key in the URL (?access_token=, ?key=, ...) is never read, even when
//     right: URLs are logged. RFC 6750 §2.3 allows it; refx does not.
//   - A server without an admin key, or with a blank one, refuses every
//     admin request, whatever is presented (an empty bearer token included).
//
// Each refusal is 401 with the JSON error code "unauthorized" and a
// WWW-Authenticate challenge; Lamed's x-api-key routes answer 403 as Lamed
// did.
func TestAdminAuth(t *testing.T) {
	const key = "auth-test-admin-key-0123456789"
	bearer := func(v string) map[string]string { return map[string]string{"Authorization": v} }
	t.Run("Key", func(t *testing.T) {
		h := authServer(t, key)
		runAuthCases(t, h, []authCase{
			{name: "OK", header: bearer("Bearer " + key), status: http.StatusOK},
			{name: "OKLowerCaseScheme", header: bearer("bearer " + key), status: http.StatusOK},
			{name: "OKUpperCaseScheme", header: bearer("BEARER " + key), status: http.StatusOK},
			{name: "OKSpaces", header: bearer("Bearer   " + key), status: http.StatusOK},
			{name: "OKTrailingSpace", header: bearer("Bearer " + key + "  "), status: http.StatusOK},
			{name: "ErrNoHeader", status: 401, code: "unauthorized"},
			{name: "ErrEmptyHeader", header: bearer(""), status: 401, code: "unauthorized"},
			{name: "ErrSchemeOnly", header: bearer("Bearer"), status: 401, code: "unauthorized"},
			{name: "ErrEmptyToken", header: bearer("Bearer "), status: 401, code: "unauthorized"},
			{name: "ErrWhitespaceToken", header: bearer("Bearer \t  "), status: 401, code: "unauthorized"},
			{name: "ErrNoScheme", header: bearer(key), status: 401, code: "unauthorized"},
			{name: "ErrNoSpace", header: bearer("Bearer" + key), status: 401, code: "unauthorized"},
			{name: "ErrBasicScheme", header: bearer("Basic " + key), status: 401, code: "unauthorized"},
			{name: "ErrTokenScheme", header: bearer("Token " + key), status: 401, code: "unauthorized"},
			{name: "ErrKeyCase", header: bearer("Bearer " + strings.ToUpper(key)), status: 401, code: "unauthorized"},
			{name: "ErrKeyPrefix", header: bearer("Bearer " + key[:len(key)-1]), status: 401, code: "unauthorized"},
			{name: "ErrKeyAppended", header: bearer("Bearer " + key + "x"), status: 401, code: "unauthorized"},
			{name: "ErrKeyInOtherHeader", header: map[string]string{"X-Api-Key": key}, status: 401, code: "unauthorized"},
			{name: "ErrQueryAccessToken", path: "/v1/experiments?access_token=" + url.QueryEscape(key), status: 401, code: "unauthorized"},
			{name: "ErrQueryKey", path: "/v1/experiments?key=" + url.QueryEscape(key), status: 401, code: "unauthorized"},
			{name: "ErrQueryAdminKey", path: "/v1/experiments?admin_key=" + url.QueryEscape(key), status: 401, code: "unauthorized"},
			{name: "ErrQueryAuthorization", path: "/v1/experiments?authorization=" + url.QueryEscape("Bearer "+key), status: 401, code: "unauthorized"},
			{name: "ErrResultsRoute", path: "/v1/experiments/x/results?access_token=" + url.QueryEscape(key), status: 401, code: "unauthorized"},
			{name: "ErrReferrersRoute", path: "/v1/referrers/u1/referrals", header: bearer("Bearer wrong-key-0123456789"), status: 401, code: "unauthorized"},
			{name: "LamedOK", path: "/lamed/experiments", header: map[string]string{"x-api-key": key}, status: http.StatusOK},
			{name: "LamedErrBearer", path: "/lamed/experiments", header: bearer("Bearer " + key), status: http.StatusForbidden},
			{name: "LamedErrQuery", path: "/lamed/experiments?x-api-key=" + url.QueryEscape(key), status: http.StatusForbidden},
		})
	})
	for _, c := range []struct{ name, key string }{{"EmptyKey", ""}, {"BlankKey", "                    "}, {"TabKey", "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t"}} {
		// A server without a usable key refuses everything, including the
		// empty or blank token that "matches" it byte for byte (sent past
		// HTTP's whitespace trimming by calling the handler directly, as
		// the API Gateway adapter does).
		t.Run(c.name, func(t *testing.T) {
			h := authServer(t, c.key)
			runAuthCases(t, h, []authCase{
				{name: "ErrNoHeader", status: 401, code: "unauthorized"},
				{name: "ErrEmptyToken", header: bearer("Bearer "), status: 401, code: "unauthorized"},
				{name: "ErrSameToken", header: bearer("Bearer " + c.key), status: 401, code: "unauthorized"},
				{name: "ErrSomeToken", header: bearer("Bearer " + key), status: 401, code: "unauthorized"},
				{name: "ErrQuery", path: "/v1/experiments?access_token=", status: 401, code: "unauthorized"},
				{name: "LamedErrEmpty", path: "/lamed/experiments", header: map[string]string{"x-api-key": ""}, status: http.StatusForbidden},
				{name: "LamedErrSame", path: "/lamed/experiments", header: map[string]string{"x-api-key": c.key}, status: http.StatusForbidden},
			})
			// Over real HTTP too: the public routes still work.
			ts := httptest.NewServer(h)
			t.Cleanup(ts.Close)
			res, err := ts.Client().Get(ts.URL + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Errorf("/healthz: %d", res.StatusCode)
			}
		})
	}
}

// runAuthCases sends each case through h twice: straight to the handler
// (headers exactly as written) and over loopback HTTP (as a client sends
// them; the transport may trim whitespace, never add a key).
func runAuthCases(t *testing.T, h http.Handler, cases []authCase) {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := c.path
			if path == "" {
				path = "/v1/experiments"
			}
			check := func(how string, status int, header http.Header, body []byte) {
				t.Helper()
				if status != c.status {
					t.Fatalf("%s: status %d, want %d: %s", how, status, c.status, body)
				}
				if status == http.StatusUnauthorized {
					if got := header.Get("WWW-Authenticate"); got != `Bearer realm="refx"` {
						t.Errorf("%s: WWW-Authenticate %q", how, got)
					}
				}
				if c.code == "" {
					return
				}
				var e httpapi.ErrorBody
				if err := json.Unmarshal(body, &e); err != nil {
					t.Fatalf("%s: not a JSON error: %v: %s", how, err, body)
				}
				if e.Error.Code != c.code || e.Error.Message == "" {
					t.Errorf("%s: error %+v, want code %q", how, e.Error, c.code)
				}
			}

			req := httptest.NewRequest(http.MethodGet, path, nil)
			for k, v := range c.header {
				req.Header[http.CanonicalHeaderKey(k)] = []string{v}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			check("handler", rec.Code, rec.Header(), rec.Body.Bytes())

			hreq, err := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.URL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range c.header {
				hreq.Header.Set(k, v)
			}
			res, err := ts.Client().Do(hreq)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			check("http", res.StatusCode, res.Header, body)
		})
	}
}
