package openfeature_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/openfeature"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

const adminKey = "test-admin-key-0123456789"

// colorExperiment has 3 arms of unequal weights and 80% coverage, so that
// the seed, the ranges and the coverage gap all matter.
const colorExperiment = `{"id":"color-test","name":"Button color","seed":"color-seed-3",
"variants":[{"key":"control","weight":50,"payload":"blue"},{"key":"green","weight":30,"payload":"green"},{"key":"red","weight":20,"payload":"red"}],
"control":"control","coverage":0.8,"goals":[{"key":"signup","kind":"binomial"}]}`

// testFlags are created in production: a flag without rules, force rules
// (named and unnamed), a rollout, a linked experiment, numbers, JSON, and a
// flag disabled in production.
var testFlags = []string{
	`{"key":"banner","kind":"release","value_type":"string","default_value":"hello",
	  "environments":{"production":{"enabled":true}}}`,
	`{"key":"new-checkout","kind":"release","value_type":"boolean","default_value":false,
	  "environments":{"production":{"enabled":true,"rules":[
	    {"id":"beta","force":true,"condition":{"beta":true}},
	    {"id":"ramp","force":true,"coverage":0.5}]}}}`,
	`{"key":"staff","kind":"permission","value_type":"boolean","default_value":false,
	  "environments":{"production":{"enabled":true,"rules":[{"id":"staff","force":true,"condition":{"id":"u-staff"}}]}}}`,
	`{"key":"adult","kind":"permission","value_type":"boolean","default_value":false,
	  "environments":{"production":{"enabled":true,"rules":[{"id":"age","force":true,"condition":{"age":{"$gte":18}}}]}}}`,
	`{"key":"max-items","kind":"operational","value_type":"number","default_value":3,
	  "environments":{"production":{"enabled":true,"rules":[{"force":10,"condition":{"plan":"pro"}}]}}}`,
	`{"key":"ratio","kind":"operational","value_type":"number","default_value":2.5,
	  "environments":{"production":{"enabled":true}}}`,
	`{"key":"layout","kind":"release","value_type":"json","default_value":{"cols":2,"tags":["a"]},
	  "environments":{"production":{"enabled":true}}}`,
	`{"key":"button-color","kind":"experiment","value_type":"string","default_value":"blue",
	  "environments":{"production":{"enabled":true,"rules":[
	    {"id":"vip","force":"gold","condition":{"plan":"vip"}},
	    {"id":"exp","experiment":"color-test"}]}}}`,
	`{"key":"old-banner","kind":"release","value_type":"boolean","default_value":true,
	  "environments":{"production":{"enabled":false},"dev":{"enabled":true}}}`,
}

// refxStack is a refx API over loopback on DynamoDB Local, with its clock,
// a switch that makes the payload route fail, and a count of the payload
// route's answers by status.
type refxStack struct {
	URL    string
	Client string // a client key of production
	clock  *clock
	fail   atomic.Bool

	mu       sync.Mutex
	payloads map[int]int
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// MustRefx starts refx with testFlags, colorExperiment running and a
// client key of production.
func MustRefx(tb testing.TB) *refxStack {
	tb.Helper()
	return mustRefxAudience(tb, "")
}

// mustRefxAudience is MustRefx with colorExperiment given audience, when
// not empty, before it starts: a running experiment's audience is fixed.
func mustRefxAudience(tb testing.TB, audience string) *refxStack {
	tb.Helper()
	client, table := dynamotest.NewTable(tb)
	store := dynamo.New(client, table, dynamo.Options{})
	s := &refxStack{clock: &clock{t: time.Now()}, payloads: map[int]int{}}
	srv := &httpapi.Server{
		Experiments: store, Assignments: store, Events: store, Results: store, Referrals: store, Lamed: store,
		Ping: store.Ping, AdminKey: adminKey, HashKey: []byte("test-hash-key"), Keys: store, Flags: store,
		Now: s.clock.now, Logger: slog.New(slog.DiscardHandler),
	}
	h := srv.Handler(httpapi.AllRoutes)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/features/") {
			h.ServeHTTP(w, r)
			return
		}
		if s.fail.Load() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		s.mu.Lock()
		s.payloads[rec.status]++
		s.mu.Unlock()
	}))
	tb.Cleanup(ts.Close)
	s.URL = ts.URL
	s.mustDo(tb, "POST", "/v1/experiments", colorExperiment, http.StatusCreated)
	if audience != "" {
		s.mustDo(tb, "PATCH", "/v1/experiments/color-test", `{"version":1,"audience":`+audience+`}`, http.StatusOK)
	}
	s.mustDo(tb, "POST", "/v1/experiments/color-test/start", "", http.StatusOK)
	for _, f := range testFlags {
		s.mustDo(tb, "POST", "/v1/flags", f, http.StatusCreated)
	}
	var key struct {
		Key string `json:"key"`
	}
	s.mustDo(tb, "POST", "/v1/keys", `{"name":"go provider","kind":"client","origins":["https://shop.example"]}`, http.StatusCreated, &key)
	s.Client = key.Key
	return s
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// payloadAnswers returns how many times the payload route answered status.
func (s *refxStack) payloadAnswers(status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.payloads[status]
}

// mustDo sends an admin request and decodes the answer into out, if given.
func (s *refxStack) mustDo(tb testing.TB, method, path, body string, status int, out ...any) {
	tb.Helper()
	res, raw := s.send(tb, method, path, body, "Authorization", "Bearer "+adminKey)
	if res.StatusCode != status {
		tb.Fatalf("%s %s = %d %s, want %d", method, path, res.StatusCode, raw, status)
	}
	for _, o := range out {
		if err := json.Unmarshal(raw, o); err != nil {
			tb.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// send sends a JSON request with headers (pairs of name, value).
func (s *refxStack) send(tb testing.TB, method, path, body string, headers ...string) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res, raw
}

// assign is POST /v1/assign's answer.
type assign struct {
	Variant      string `json:"variant"`
	InExperiment bool   `json:"in_experiment"`
	Enrolled     bool   `json:"enrolled"`
}

func (s *refxStack) assign(tb testing.TB, experiment, user string) assign {
	tb.Helper()
	body, _ := json.Marshal(map[string]string{"experiment": experiment, "user": user})
	res, raw := s.send(tb, "POST", "/v1/assign", string(body), httpapi.KeyHeader, s.Client)
	if res.StatusCode != http.StatusOK {
		tb.Fatalf("POST /v1/assign = %d %s", res.StatusCode, raw)
	}
	var a assign
	if err := json.Unmarshal(raw, &a); err != nil {
		tb.Fatal(err)
	}
	return a
}

// MustClient registers p with the OpenFeature SDK under the test's own
// domain (tests run in parallel, sharing the SDK's global API) and returns
// a client of that domain. The provider is shut down with the test.
func MustClient(tb testing.TB, p *openfeature.Provider) *of.Client {
	tb.Helper()
	domain := tb.Name()
	tb.Cleanup(p.Shutdown)
	if err := of.SetNamedProviderAndWait(domain, p); err != nil {
		tb.Fatal(err)
	}
	return of.NewClient(domain)
}

// result is what a test compares of an evaluation.
type result struct {
	Value     any
	Reason    of.Reason
	Variant   string
	ErrorCode of.ErrorCode
}

// evaluate evaluates flag as typ ("bool", "string", "float", "int",
// "object") through the SDK client.
func evaluate(tb testing.TB, c *of.Client, typ, flag string, def any, ec of.EvaluationContext) result {
	tb.Helper()
	ctx := context.Background()
	var v any
	var d of.EvaluationDetails
	switch typ {
	case "bool":
		r, _ := c.BooleanValueDetails(ctx, flag, def.(bool), ec)
		v, d = r.Value, r.EvaluationDetails
	case "string":
		r, _ := c.StringValueDetails(ctx, flag, def.(string), ec)
		v, d = r.Value, r.EvaluationDetails
	case "float":
		r, _ := c.FloatValueDetails(ctx, flag, def.(float64), ec)
		v, d = r.Value, r.EvaluationDetails
	case "int":
		r, _ := c.IntValueDetails(ctx, flag, def.(int64), ec)
		v, d = r.Value, r.EvaluationDetails
	case "object":
		r, _ := c.ObjectValueDetails(ctx, flag, def, ec)
		v, d = r.Value, r.EvaluationDetails
	default:
		tb.Fatalf("type %q", typ)
	}
	return result{Value: v, Reason: d.Reason, Variant: d.Variant, ErrorCode: d.ErrorCode}
}
