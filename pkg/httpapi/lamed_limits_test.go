package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/refx-dev/refx/pkg/apigateway"
	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
)

// lamedServer is the API over a fresh table whose store has the Lamed
// limits given, taking keyless Alephbet calls; every GET through counted
// first counts what the calls before it wrote.
func lamedServer(tb testing.TB, limits refx.LamedLimits) (h, counted http.Handler) {
	tb.Helper()
	client, table := dynamotest.NewTable(tb)
	store := dynamo.New(client, table, dynamo.Options{Lamed: limits})
	srv := &httpapi.Server{
		Experiments: store, Results: store, Lamed: store, Keys: store, Keyless: true,
		Ping: store.Ping, AdminKey: adminKey,
	}
	h = srv.Handler(httpapi.AllRoutes)
	return h, dynamotest.Counting(tb, store, h)
}

// lambdaCall serves one request as the Lambda does, through the API
// Gateway adapter, and returns the status, the body and the size of the
// Lambda's answer, which must stay under Lambda's 6 MB. Admin routes get
// the admin key, in Lamed's header and in refx's.
func lambdaCall(tb testing.TB, h http.Handler, method, path string, q url.Values) (int, string, int) {
	tb.Helper()
	headers := map[string]string{}
	if !strings.HasSuffix(path, "/track") {
		headers = map[string]string{"x-api-key": adminKey, "authorization": "Bearer " + adminKey}
	}
	res, err := apigateway.Handler(h)(context.Background(), events.APIGatewayV2HTTPRequest{
		RawPath: path, RawQueryString: q.Encode(), Headers: headers,
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	answer, err := json.Marshal(res)
	if err != nil {
		tb.Fatal(err)
	}
	return res.StatusCode, res.Body, len(answer)
}

func TestLamedLimitsHTTP(t *testing.T) {
	t.Parallel()
	h, _ := lamedServer(t, refx.LamedLimits{Namespaces: []string{"demo"}, MaxExperiments: 2, MaxVariants: 2, MaxGoals: 1})
	track := func(ns, exp, variant, event string) (int, string) {
		t.Helper()
		status, body, _ := lambdaCall(t, h, "GET", "/lamed/track", url.Values{
			"namespace": {ns}, "experiment": {exp}, "variant": {variant}, "event": {event}, "uuid": {"u1"}})
		var e struct{ Error struct{ Code string } }
		json.Unmarshal([]byte(body), &e)
		return status, e.Error.Code
	}
	for _, tt := range []struct {
		name, ns, exp, variant, event string
		status                        int
		code                          string
	}{
		{"OK", "demo", "one", "red", "participate", http.StatusOK, ""},
		{"ErrNamespace", "other", "one", "red", "participate", http.StatusForbidden, refx.EFORBIDDEN},
		{"SecondExperiment", "demo", "two", "red", "participate", http.StatusOK, ""},
		{"ErrThirdExperiment", "demo", "three", "red", "participate", http.StatusForbidden, refx.ELIMIT},
		{"SecondVariant", "demo", "one", "blue", "participate", http.StatusOK, ""},
		{"ErrThirdVariant", "demo", "one", "green", "participate", http.StatusForbidden, refx.ELIMIT},
		{"FirstGoal", "demo", "one", "red", "signup", http.StatusOK, ""},
		{"ErrSecondGoal", "demo", "one", "red", "purchase", http.StatusForbidden, refx.ELIMIT},
		{"KnownVariantAndGoal", "demo", "one", "blue", "signup", http.StatusOK, ""},
		{"ErrLongName", "demo", strings.Repeat("x", 129), "red", "participate", http.StatusBadRequest, refx.EINVALID},
	} {
		if status, code := track(tt.ns, tt.exp, tt.variant, tt.event); status != tt.status || code != tt.code {
			t.Errorf("%s: track = %d %q, want %d %q", tt.name, status, code, tt.status, tt.code)
		}
	}
	if status, _, _ := lambdaCall(t, h, "DELETE", "/lamed/delete", url.Values{"namespace": {"demo"}, "experiment": {"two"}}); status != http.StatusOK {
		t.Fatalf("delete = %d", status)
	}
	if status, code := track("demo", "three", "red", "participate"); status != http.StatusOK {
		t.Fatalf("after a delete, a new experiment = %d %s", status, code)
	}
}

// TestLamedLargestAnswers fills a namespace with experiments at the largest
// limits (16 variants, 32 goals), every name 128 bytes of '<', which JSON
// writes as six bytes: /lamed/experiments comes in pages that each fit a
// Lambda answer, and so does one experiment's results.
//
// The worst case, per experiment, of Lamed's listing: a result is
// {"label":<128×6+2>,"successes":<19 digits>,"trials":<19 digits>} ≈ 850
// bytes; a goal is its name (770) and 16 results ≈ 14.4 KB; an experiment
// 32 goals ≈ 460 KB. refx.FitPage ends a page before 2 MiB, and the Lambda
// answer, which escapes the body's quotes and backslashes, at most doubles
// it: 4 MiB < 6 MB. The results route: 16 × 32 goal counts and their
// analysis, which repeats the variants' labels; measured here, 3.07 MB of
// body of which 2.65 MB are the labels' escapes, 3.56 MB of Lambda answer:
// the numbers would have to grow sevenfold to reach 6 MB.
func TestLamedLargestAnswers(t *testing.T) {
	t.Parallel()
	h, counted := lamedServer(t, refx.LamedLimits{MaxExperiments: 10, MaxVariants: refx.MaxVariants, MaxGoals: refx.MaxGoals})
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	long := func(i int) string { return fmt.Sprintf("%s%03d", strings.Repeat("<", 125), i) }
	const experiments = 5
	for e := range experiments {
		for v := range refx.MaxVariants {
			for _, event := range []string{"participate", long(100 + v%refx.MaxGoals), long(100 + (v+refx.MaxVariants)%refx.MaxGoals)} {
				q := url.Values{"namespace": {"big"}, "experiment": {long(e)}, "variant": {long(v)}, "event": {event}, "uuid": {fmt.Sprintf("u%02d", v)}}
				res, err := http.Get(ts.URL + "/lamed/track?" + q.Encode())
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Fatalf("track: %d", res.StatusCode)
				}
			}
		}
	}
	// Uneven counts in the first experiment, so that its analysis holds
	// full-length floats rather than 0, 0.5 and 1.
	for v := range refx.MaxVariants {
		for k := range v + 2 {
			for _, event := range []string{"participate", long(100 + (v+k)%refx.MaxGoals)} {
				q := url.Values{"namespace": {"big"}, "experiment": {long(0)}, "variant": {long(v)}, "event": {event}, "uuid": {fmt.Sprintf("p%02d-%d", v, k)}}
				res, err := http.Get(ts.URL + "/lamed/track?" + q.Encode())
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
			}
		}
	}
	const lambdaMax = 6 << 20
	seen, pages := 0, 0
	q := url.Values{"namespace": {"big"}}
	for {
		status, body, size := lambdaCall(t, counted, "GET", "/lamed/experiments", q)
		var page []map[string]any
		if err := json.Unmarshal([]byte(body), &page); err != nil || status != http.StatusOK {
			t.Fatalf("experiments = %d %.200s", status, body)
		}
		t.Logf("page %d: %d experiments, body %d bytes, Lambda answer %d bytes", pages, len(page)-1, len(body), size)
		if size > lambdaMax*2/3 {
			t.Fatalf("page %d: the Lambda answer is %d bytes, want well under %d", pages, size, lambdaMax)
		}
		for _, e := range page[1:] {
			if goals := e["goals"].([]any); len(goals) != refx.MaxGoals {
				t.Fatalf("%d goals, want %d", len(goals), refx.MaxGoals)
			}
		}
		seen, pages = seen+len(page)-1, pages+1
		next, _ := page[0]["meta"].(map[string]any)["next_cursor"].(string)
		if next == "" {
			break
		}
		q.Set("cursor", next)
	}
	if seen != experiments || pages < 2 {
		t.Fatalf("%d experiments in %d pages, want %d in several", seen, pages, experiments)
	}
	id := refx.LamedExperimentID("big", long(0))
	status, body, size := lambdaCall(t, counted, "GET", "/v1/experiments/"+id+"/results", nil)
	t.Logf("results of the largest experiment: body %d bytes (%d of them escaped '<'), Lambda answer %d bytes", len(body), 6*strings.Count(body, `\u003c`), size)
	if status != http.StatusOK || size > lambdaMax*3/4 {
		t.Fatalf("results = %d, Lambda answer %d bytes, want 200 and under %d", status, size, lambdaMax*3/4)
	}
}
