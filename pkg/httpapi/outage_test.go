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

// TestDynamoDBOutage cuts the API off DynamoDB: every write answers 503
// unavailable with Retry-After, never 500, and once DynamoDB is back the
// same requests, sent again, count exactly once.
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
		Experiments: store, Assignments: store, Events: store, Results: store, Referrals: store,
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
	for _, tt := range []struct{ name, path, body string }{
		{"Assign", "/v1/assign", assign},
		{"Event", "/v1/events", event},
		{"Referral", "/v1/referrals", `{"experiment":"cta-test","referrer":"olga"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := a.do("POST", tt.path, tt.body, false)
			if res.Status != http.StatusServiceUnavailable || res.errorCode() != "unavailable" || res.Header.Get("Retry-After") == "" {
				t.Fatalf("POST %s during the outage = %d %s (Retry-After %q), want 503 unavailable with Retry-After",
					tt.path, res.Status, res.Raw, res.Header.Get("Retry-After"))
			}
		})
	}
	down.Store(false)
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
