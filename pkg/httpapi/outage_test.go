package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/httpapi"
)

// TestDynamoDBOutage cuts the API off DynamoDB: a route of every group,
// /healthz and Lamed's routes answer 503 unavailable with Retry-After, never
// 500, and once DynamoDB is back the same requests, sent again, count
// exactly once.
func TestDynamoDBOutage(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	direct := dynamo.New(client, table, dynamo.Options{})
	upstream, err := url.Parse(dynamotest.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	var down atomic.Bool
	forward := httputil.NewSingleHostReverseProxy(upstream)
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			// An outage as the SDK meets it: the connection drops.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(gate.Close)
	gated, err := dynamo.NewClient(context.Background(), dynamo.ClientConfig{Endpoint: gate.URL})
	if err != nil {
		t.Fatal(err)
	}
	store := dynamo.New(gated, table, dynamo.Options{})
	srv := &httpapi.Server{
		Experiments: store, Assignments: store, Events: store, Results: store, Referrals: store, Lamed: store,
		Ping: store.Ping, AdminKey: adminKey, HashKey: []byte("test-hash-key"),
		Keys: store, Keyless: true,
	}
	ts := httptest.NewServer(dynamotest.Counting(t, direct, srv.Handler(httpapi.AllRoutes)))
	t.Cleanup(ts.Close)
	a := &api{Server: ts, tb: t}
	a.mustDo("POST", "/v1/experiments", experimentBody, true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments/cta-test/start", "", true, http.StatusOK)

	const assign = `{"experiment":"cta-test","user":"olga"}`
	const event = `{"id":"1b4e28ba-2fa1-41d2-883f-0016d3cca427","type":"signup","user":"olga"}`
	down.Store(true)
	admin := []string{"Authorization", "Bearer " + adminKey}
	// A route of each group, and Lamed's: each reads or writes the store.
	for _, tt := range []struct {
		name, method, path, body string
		headers                  []string
	}{
		{"Health", "GET", "/healthz", "", nil},
		{"Assign", "POST", "/v1/assign", assign, nil},
		{"Event", "POST", "/v1/events", event, nil},
		{"Referral", "POST", "/v1/referrals", `{"experiment":"cta-test","referrer":"olga"}`, nil},
		{"LamedTrack", "GET", "/lamed/track?experiment=hero&variant=a&event=participate&uuid=u1", "", nil},
		{"ListExperiments", "GET", "/v1/experiments", "", admin},
		{"Results", "GET", "/v1/experiments/cta-test/results", "", admin},
		{"Stop", "POST", "/v1/experiments/cta-test/stop", "", admin},
		{"LamedExperiments", "GET", "/lamed/experiments", "", []string{"x-api-key", adminKey}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := a.doKey(tt.method, tt.path, tt.body, "", tt.headers...)
			if res.Status != http.StatusServiceUnavailable || res.errorCode() != "unavailable" || res.Header.Get("Retry-After") == "" {
				t.Fatalf("%s %s during the outage = %d %s (Retry-After %q), want 503 unavailable with Retry-After",
					tt.method, tt.path, res.Status, res.Raw, res.Header.Get("Retry-After"))
			}
		})
	}
	down.Store(false)
	a.mustDo("GET", "/healthz", "", false, http.StatusOK)
	a.mustDo("POST", "/v1/assign", assign, false, http.StatusOK)
	a.mustDo("POST", "/v1/events", event, false, http.StatusAccepted)
	a.mustDo("POST", "/v1/events", event, false, http.StatusOK)
	dynamotest.MustCount(t, direct)
	res, err := direct.Results(context.Background(), "cta-test")
	if err != nil {
		t.Fatal(err)
	}
	var participants, signups int64
	for _, v := range res.Variants {
		participants += v.Participants
		signups += v.Goals["signup"].Events
	}
	if participants != 1 || signups != 1 {
		t.Fatalf("after the outage: %d participants, %d signups; want 1 and 1", participants, signups)
	}
}
