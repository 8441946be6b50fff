package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/headless"
	"github.com/refx-dev/refx/pkg/installtest"
)

// mustSite serves the pages of testdata/openfeature from a loopback origin
// of its own (cross-origin to refx, as a customer's site is), and each
// directory of dirs (the SDKs' node_modules) under its prefix.
func mustSite(t *testing.T, dirs map[string]string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	for prefix, dir := range dirs {
		mux.Handle("GET "+prefix, http.StripPrefix(strings.TrimSuffix(prefix, "/"), http.FileServer(http.Dir(dir))))
	}
	mux.Handle("GET /", http.FileServer(http.Dir(filepath.Join("testdata", "openfeature"))))
	site := httptest.NewServer(mux)
	t.Cleanup(site.Close)
	return site
}

// mustPage opens path of site in a fresh headless Chromium page and waits
// for its module script to have run.
func mustPage(t *testing.T, ctx context.Context, site *httptest.Server, path string) *headless.Page {
	t.Helper()
	return headless.MustStart(t, headless.Options{}).MustOpen(t, ctx, site.URL+path, "window.ready")
}

// statusCounter is a reverse proxy to refx counting its answers by
// "METHOD path status", to see what a browser SDK's requests got.
type statusCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func mustCountingProxy(t *testing.T, target string) (*httptest.Server, *statusCounter) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	c := &statusCounter{n: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(res *http.Response) error {
		c.mu.Lock()
		c.n[fmt.Sprintf("%s %s %d", res.Request.Method, res.Request.URL.Path, res.StatusCode)]++
		c.mu.Unlock()
		return nil
	}
	proxy := httptest.NewServer(rp)
	t.Cleanup(proxy.Close)
	return proxy, c
}

func (c *statusCounter) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// TestOpenFeatureWebSDK runs the real OpenFeature web SDK, npm
// @openfeature/web-sdk@1.10.0 with @openfeature/ofrep-web-provider@0.4.3,
// in headless Chromium on a page of another origin, with a client key bound
// to it: the provider evaluates every flag per context (bulk OFREP, CORS
// with Authorization), the page reads each value type, reason and error
// through context changes, then 50 users whose linked experiment's arm must
// be /v1/assign's (bulk evaluations enrol no one: /v1/assign does, once);
// polling revalidates with If-None-Match and gets 304s
// (refx's ETag exposed to the page).
func TestOpenFeatureWebSDK(t *testing.T) {
	t.Parallel()
	sdks := openFeatureSDKs(t)
	site := mustSite(t, map[string]string{"/of/": filepath.Join(sdks, "web", "node_modules")})
	a, _, client := MustOpenFeatureAPI(t, site.URL)
	proxy, counts := mustCountingProxy(t, a.URL)

	// A few seconds; the bound is for a loaded machine (-race, the other
	// browser tests beside) and only ends a hang.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := mustPage(t, ctx, site, "/web.html")

	var cases []ofCase
	var steps []ofStep
	for _, c := range ofCases() {
		if !c.serverOnly {
			cases = append(cases, c)
			steps = append(steps, ofStep{Context: c.context, Reads: []ofRead{c.read}})
		}
	}
	ids := make([]string, 50)
	for i := range ids {
		ids[i] = fmt.Sprintf("web-user-%02d", i)
	}
	steps = append(steps, linkedSteps(ids)...)
	in, _ := json.Marshal(steps)
	const pollMillis = 200
	var got [][]ofDetails
	start := time.Now()
	if err := p.Eval(ctx, fmt.Sprintf("run(%q, %q, %s, %d)", proxy.URL, client, in, pollMillis), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(steps) {
		t.Fatalf("the page returned %d steps, want %d", len(got), len(steps))
	}
	t.Logf("%d contexts evaluated in %v", len(steps), time.Since(start).Round(time.Millisecond))
	for i, c := range cases {
		checkDetails(t, c.name, got[i][0], c.want)
	}
	linked, banner := make([]ofDetails, len(ids)), make([]ofDetails, len(ids))
	for i := range ids {
		d := got[len(cases)+i]
		linked[i], banner[i] = d[0], d[1]
	}
	mustMatchLinked(t, a, client, ids, linked, banner, false)

	// The provider revalidates the last context every pollMillis: it can
	// only send If-None-Match if CORS let it read the ETag, and only get a
	// 304 if CORS let it send If-None-Match.
	const bulk = "POST /ofrep/v1/evaluate/flags"
	for counts.get(bulk+" 304") == 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("no 304 to the provider's polls within the test's time: %d answered 200, preflights %d", counts.get(bulk+" 200"), counts.get("OPTIONS /ofrep/v1/evaluate/flags 204"))
		case <-time.After(pollMillis * time.Millisecond):
		}
	}
	t.Logf("bulk evaluations: %d answered 200, %d 304", counts.get(bulk+" 200"), counts.get(bulk+" 304"))
}

// TestGrowthBookSDKInChromium runs the unmodified GrowthBook SDK, npm
// @growthbook/growthbook@1.8.0 (its script-tag browser bundle, set up as
// GrowthBook documents it), in headless Chromium on a page of another
// origin: it loads the features from refx with a
// client key bound to that origin, evaluates the flag linking gbExperiment
// for 1,000 users, and must pick /v1/assign's arm for each; its tracking
// callback posts each exposure to /v1/assign, which must enrol exactly the
// users the SDK put in the experiment, in the SDK's arm, and no one again.
func TestGrowthBookSDKInChromium(t *testing.T) {
	t.Parallel()
	sdk := installtest.Script(t, "scripts/install-growthbook")
	site := mustSite(t, map[string]string{"/gb/": filepath.Dir(filepath.Dir(sdk))})
	a, _, client := MustOpenFeatureAPI(t, site.URL)
	proxy, counts := mustCountingProxy(t, a.URL)

	// About 10 s: the exposures are 800 assignments on DynamoDB Local,
	// six at a time (the browser's connections); twice that under -race
	// beside the other browser tests, and over a minute on a machine
	// loaded by other work (it took 69 s once): the bound only ends a hang.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	p := mustPage(t, ctx, site, "/growthbook.html?apiHost="+url.QueryEscape(proxy.URL)+"&clientKey="+url.QueryEscape(client))

	ids := gbUsers(1000)
	in, _ := json.Marshal(ids)
	var res struct {
		Features       []string        `json:"features"`
		EvalMillis     float64         `json:"evalMillis"`
		ExposureMillis float64         `json:"exposureMillis"`
		Arms           map[string]*int `json:"arms"`
		Exposures      []struct {
			User   string `json:"user"`
			Arm    int    `json:"arm"`
			Status int    `json:"status"`
			Answer struct {
				Variant      string `json:"variant"`
				InExperiment bool   `json:"in_experiment"`
				Enrolled     bool   `json:"enrolled"`
			} `json:"answer"`
		} `json:"exposures"`
	}
	start := time.Now()
	if err := p.Eval(ctx, fmt.Sprintf("run(%q, %s)", "button-color", in), &res); err != nil {
		t.Fatal(err)
	}
	// The page gives the SDK no payload, and its profile is fresh: the
	// features can only come from refx.
	if !slices.Contains(res.Features, "button-color") || len(res.Arms) != len(ids) {
		t.Fatalf("the SDK loaded the features %q and evaluated %d users, want button-color's and %d", res.Features, len(res.Arms), len(ids))
	}
	inExperiment := 0
	for _, arm := range res.Arms {
		if arm != nil {
			inExperiment++
		}
	}
	enrolled := map[string]bool{}
	for _, e := range res.Exposures {
		if e.Status != http.StatusOK || !e.Answer.InExperiment || e.Answer.Variant != gbVariants[e.Arm] || !e.Answer.Enrolled || enrolled[e.User] {
			t.Errorf("exposure of %s in arm %d: %d %+v, want 200, in the experiment, variant %s, enrolled once", e.User, e.Arm, e.Status, e.Answer, gbVariants[e.Arm])
		}
		enrolled[e.User] = true
	}
	t.Logf("in Chromium in %v: %d users evaluated in %.0f ms, %d in the experiment, %d exposures posted (done %.0f ms later), %d enrolled",
		time.Since(start).Round(time.Millisecond), len(res.Arms), res.EvalMillis, inExperiment, len(res.Exposures), res.ExposureMillis, len(enrolled))
	t.Logf("at the proxy: GET /api/features/… %d, POST /v1/assign %d, its preflights %d",
		counts.get("GET /api/features/"+client+" 200"), counts.get("POST /v1/assign 200"), counts.get("OPTIONS /v1/assign 204"))
	if len(enrolled) != inExperiment {
		t.Errorf("%d users enrolled by the tracking callback, want the %d the SDK put in the experiment", len(enrolled), inExperiment)
	}
	if again := mustMatchAssign(t, a, client, ids, res.Arms); again != 0 {
		t.Errorf("/v1/assign enrolled %d users again after their exposures", again)
	}
}
