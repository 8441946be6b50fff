package webclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/devserver"
	"github.com/refx-dev/refx/pkg/devserver/devservertest"
	"github.com/refx-dev/refx/pkg/headless"
	"github.com/refx-dev/refx/pkg/installtest"
	"github.com/refx-dev/refx/pkg/webclient"
)

const flagsAdminKey = "webclient-admin-key-0123456789"

// flagsExperiment covers every user, so that GrowthBook reports each one's
// exposure.
const flagsExperiment = `{"id":"gb-flag-exp","name":"Button colour","seed":"gb-seed-3",
"variants":[{"key":"control","weight":50,"payload":"blue"},{"key":"green","weight":50,"payload":"green"}],
"control":"control","coverage":1,"goals":[{"key":"signup","kind":"binomial"}]}`

var testFlags = []string{
	`{"key":"dark-mode","kind":"release","value_type":"boolean","default_value":false,
	  "environments":{"production":{"enabled":true,"rules":[{"id":"pro","force":true,"condition":{"plan":"pro"}}]}}}`,
	`{"key":"banner","kind":"operational","value_type":"string","default_value":"hello","environments":{"production":{"enabled":true}}}`,
	`{"key":"max-items","kind":"permission","value_type":"number","default_value":10,"environments":{"production":{"enabled":true}}}`,
	// In dev only, which GrowthBook's key reads, so that its enrolments are
	// GrowthBook's alone.
	`{"key":"button-color","kind":"experiment","value_type":"string","default_value":"blue",
	  "environments":{"dev":{"enabled":true,"rules":[{"id":"exp","experiment":"gb-flag-exp"}]}}}`,
	`{"key":"promo-color","kind":"experiment","value_type":"string","default_value":"blue",
	  "environments":{"production":{"enabled":true,"rules":[{"id":"exp","experiment":"promo-exp"}]}}}`,
}

// promoExperiment is linked by promo-color, in production.
var promoExperiment = strings.NewReplacer(`"gb-flag-exp"`, `"promo-exp"`, `"gb-seed-3"`, `"promo-seed"`).Replace(flagsExperiment)

// seen is one request a browser sent through apiLog's proxy.
type seen struct {
	Method, Path, IfNoneMatch string
	Status                    int
	// Assign is the answer of a POST /v1/assign.
	Assign struct {
		Variant  string `json:"variant"`
		Payload  any    `json:"payload"`
		Enrolled bool   `json:"enrolled"`
	}
}

// apiLog is a reverse proxy in front of the local stack that records what
// browsers send and what they are answered, so that the test counts
// requests where the server sees them.
type apiLog struct {
	mu   sync.Mutex
	seen []seen
}

func newAPILog(t *testing.T, target string) (*apiLog, *httptest.Server) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	l := &apiLog{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ModifyResponse = func(res *http.Response) error {
		s := seen{Method: res.Request.Method, Path: res.Request.URL.Path, IfNoneMatch: res.Request.Header.Get("If-None-Match"), Status: res.StatusCode}
		if s.Method == http.MethodPost && s.Path == "/v1/assign" {
			body, err := io.ReadAll(res.Body)
			if err != nil {
				return err
			}
			res.Body = io.NopCloser(bytes.NewReader(body))
			json.Unmarshal(body, &s.Assign)
		}
		l.mu.Lock()
		l.seen = append(l.seen, s)
		l.mu.Unlock()
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return l, srv
}

// requests returns the requests of method to path so far.
func (l *apiLog) requests(method, path string) []seen {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []seen
	for _, s := range l.seen {
		if s.Method == method && s.Path == path {
			out = append(out, s)
		}
	}
	return out
}

// adminDo calls the stack's admin API directly (not through the log).
func adminDo(t *testing.T, base, method, path, body string, want int) []byte {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+flagsAdminKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, res.StatusCode, out, want)
	}
	return out
}

// growthbookBundle returns the browser bundle of the real GrowthBook SDK,
// npm @growthbook/growthbook@1.8.0 (scripts/install-growthbook).
func growthbookBundle(t *testing.T) string {
	t.Helper()
	sdk := installtest.Script(t, "scripts/install-growthbook")
	return filepath.Join(sdk, "dist", "bundles", "index.min.js")
}

// TestFlagsInBrowser runs refx.flag and refx.growthbookTracking in headless
// Chromium against the local stack, from a page on another origin (CORS),
// counting at a proxy what reaches the API: one OFREP bulk request for
// every flag of a context, sent without a preflight; the values, and the
// defaults for a type mismatch and an unknown flag; answers from memory and
// from storage after a reload; a new context for new attributes; a 304 on
// revalidation after 30 s. Then the real GrowthBook SDK, reading refx's
// payload with the helper as its trackingCallback, enrols the visitor in
// the linked experiment exactly once, in the arm it chose.
func TestFlagsInBrowser(t *testing.T) {
	t.Parallel()
	bundle := growthbookBundle(t)
	mux := http.NewServeMux()
	mux.Handle("GET /v1/refx.mjs", webclient.Module)
	mux.HandleFunc("GET /growthbook.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		http.ServeFile(w, r, bundle)
	})
	mux.Handle("GET /", http.FileServer(http.Dir("testdata")))
	page := httptest.NewServer(mux)
	t.Cleanup(page.Close)

	logs := &devservertest.Buffer{}
	stack := devservertest.Start(t, devserver.Options{
		InMemory: true, DataDir: t.TempDir(), AdminKey: flagsAdminKey, AllowedOrigins: []string{page.URL},
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
	})
	t.Cleanup(func() {
		if t.Failed() {
			l := logs.String()
			t.Logf("the stack's last logs:\n%s", l[max(0, len(l)-6000):])
		}
	})
	adminDo(t, stack.URL, "POST", "/v1/experiments", flagsExperiment, http.StatusCreated)
	adminDo(t, stack.URL, "POST", "/v1/experiments/gb-flag-exp/start", "", http.StatusOK)
	adminDo(t, stack.URL, "POST", "/v1/experiments", promoExperiment, http.StatusCreated)
	adminDo(t, stack.URL, "POST", "/v1/experiments/promo-exp/start", "", http.StatusOK)
	for _, f := range testFlags {
		adminDo(t, stack.URL, "POST", "/v1/flags", f, http.StatusCreated)
	}
	clientKey := func(env string) string {
		var key struct {
			Key string `json:"key"`
		}
		json.Unmarshal(adminDo(t, stack.URL, "POST", "/v1/keys", `{"name":"shop","kind":"client","environment":"`+env+`","origins":["`+page.URL+`"]}`, http.StatusCreated), &key)
		return key.Key
	}
	apiLog, api := newAPILog(t, stack.URL)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b := headless.MustStart(t, headless.Options{})
	open := func(key string) *headless.Page {
		t.Helper()
		return b.MustOpen(t, ctx, page.URL+"/flags.html?api="+url.QueryEscape(api.URL)+"&key="+url.QueryEscape(key), "window.ready")
	}
	eval := func(p *headless.Page, expr string, want any) {
		t.Helper()
		var got any
		if err := p.Eval(ctx, expr, &got); err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		wantJSON, _ := json.Marshal(want)
		var w any
		json.Unmarshal(wantJSON, &w)
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s = %v, want %v", expr, got, w)
		}
	}
	const bulk = "/ofrep/v1/evaluate/flags"
	evaluations := func(want int) []seen {
		t.Helper()
		got := apiLog.requests("POST", bulk)
		if len(got) != want {
			t.Fatalf("%d bulk evaluations reached the API, want %d: %+v", len(got), want, got)
		}
		return got
	}

	p := open(clientKey("production"))
	t.Run("Values", func(t *testing.T) {
		eval(p, `Promise.all([refx.flag("dark-mode", true), refx.flag("banner", "x"), refx.flag("max-items", 0),
			refx.flag("banner", 0), refx.flag("max-items", false), refx.flag("no-such-flag", "fallback")])`,
			[]any{false, "hello", 10, 0, false, "fallback"})
		if got := evaluations(1); got[0].Status != http.StatusOK || got[0].IfNoneMatch != "" {
			t.Errorf("the first evaluation: %+v", got[0])
		}
		// The key in the URL and a text/plain body make it a simple request.
		if pre := apiLog.requests("OPTIONS", bulk); len(pre) != 0 {
			t.Errorf("%d preflights before the first evaluation, want none", len(pre))
		}
	})
	t.Run("FromMemory", func(t *testing.T) {
		eval(p, `Promise.all([refx.flag("banner", "x"), refx.flags().then(f => f["max-items"])])`, []any{"hello", 10})
		evaluations(1)
	})
	t.Run("FromStorageAfterReload", func(t *testing.T) {
		if err := p.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.WaitFor(ctx, "window.ready"); err != nil {
			t.Fatal(err)
		}
		eval(p, `refx.flag("banner", "x")`, "hello")
		evaluations(1)
	})
	t.Run("Attributes", func(t *testing.T) {
		eval(p, `(refx.flagContext({ plan: "pro" }), refx.flag("dark-mode", false))`, true)
		evaluations(2)
	})
	t.Run("NotModified", func(t *testing.T) {
		// 31 s later, as far as the page can tell.
		eval(p, `(n => (Date.now = () => n() + 31000, true))(Date.now)`, true)
		eval(p, `refx.flag("dark-mode", false)`, true)
		got := evaluations(3)[2]
		if got.Status != http.StatusNotModified || got.IfNoneMatch == "" {
			t.Errorf("the revalidation: %+v, want a 304 to If-None-Match", got)
		}
		// If-None-Match is not a simple header: the lead's CORS allows it.
		if pre := apiLog.requests("OPTIONS", bulk); len(pre) != 1 || pre[0].Status != http.StatusNoContent {
			t.Errorf("preflights: %+v, want one 204", pre)
		}
		eval(p, `refx.flag("dark-mode", false)`, true)
		evaluations(3)
	})

	t.Run("GrowthBookTracking", func(t *testing.T) {
		// A new visitor, with a key of the environment the linked flag is
		// in: the helper's assignment is the only way in.
		p := open(clientKey("dev"))
		var gb struct {
			User   string `json:"user"`
			Values []any  `json:"values"`
		}
		// Two SDK instances, each with its own callback, each evaluating
		// twice: one exposure reaches refx.
		err := p.Eval(ctx, `(async () => {
			const q = new URLSearchParams(location.search), values = [];
			for (let i = 0; i < 2; i++) {
				const gb = new growthbook.GrowthBook({ apiHost: q.get("api"), clientKey: q.get("key"), attributes: { id: refx.user() }, trackingCallback: refx.growthbookTracking() });
				const status = await gb.init({ timeout: 5000 });
				if (!status.success) throw new Error(JSON.stringify(status));
				values.push(gb.getFeatureValue("button-color", "none"), gb.getFeatureValue("button-color", "none"));
			}
			return { user: refx.user(), values };
		})()`, &gb)
		if err != nil {
			t.Fatal(err)
		}
		v := gb.Values[0]
		if v != "blue" && v != "green" || !reflect.DeepEqual(gb.Values, []any{v, v, v, v}) {
			t.Fatalf("GrowthBook's values: %v", gb.Values)
		}
		deadline := time.Now().Add(10 * time.Second)
		for len(apiLog.requests("POST", "/v1/assign")) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond) // room for a duplicate to show
		assigns := apiLog.requests("POST", "/v1/assign")
		if len(assigns) != 1 {
			t.Fatalf("%d assignments reached the API, want 1: %+v", len(assigns), assigns)
		}
		a := assigns[0]
		if a.Status != http.StatusOK || !a.Assign.Enrolled || a.Assign.Payload != v {
			t.Errorf("the assignment: %+v; want enrolled, with GrowthBook's value %v as the payload", a, v)
		}

		// The enrolment is counted, once, in the arm GrowthBook chose.
		var total int64
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			var res struct {
				Variants []struct {
					Key          string `json:"key"`
					Participants int64  `json:"participants"`
				} `json:"variants"`
			}
			json.Unmarshal(adminDo(t, stack.URL, "GET", "/v1/experiments/gb-flag-exp/results", "", http.StatusOK), &res)
			total = 0
			for _, vr := range res.Variants {
				total += vr.Participants
				if vr.Participants > 0 && vr.Key != a.Assign.Variant {
					t.Fatalf("participants in %s, the assignment was %s", vr.Key, a.Assign.Variant)
				}
			}
			if total > 0 {
				break
			}
		}
		if total != 1 {
			t.Errorf("%d participants, want 1", total)
		}
	})
	t.Run("LinkedFlagEnrolsWhenShown", func(t *testing.T) {
		// The bulk evaluation answers promo-color's arm without enrolling
		// (the visitor of the subtests above read other flags only, and
		// was never assigned); reading the flag enrols, once.
		before := len(apiLog.requests("POST", "/v1/assign"))
		p := open(clientKey("production"))
		eval(p, `refx.flags().then(f => typeof f["promo-color"])`, "string")
		time.Sleep(300 * time.Millisecond)
		if n := len(apiLog.requests("POST", "/v1/assign")) - before; n != 0 {
			t.Fatalf("%d assignments after a prefetch, want none", n)
		}
		var v any
		if err := p.Eval(ctx, `Promise.all([refx.flag("promo-color", "none"), refx.flag("promo-color", "none")]).then(v => v[0])`, &v); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for len(apiLog.requests("POST", "/v1/assign")) == before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond) // room for a duplicate to show
		assigns := apiLog.requests("POST", "/v1/assign")[before:]
		if len(assigns) != 1 || !assigns[0].Assign.Enrolled || assigns[0].Assign.Payload != v {
			t.Fatalf("assignments after reading promo-color (%v) twice: %+v, want one, enrolled, of that payload", v, assigns)
		}
	})
	if err := p.Screenshot(ctx, artifact(t, "refxjs-flags.png")); err != nil {
		t.Fatal(err)
	}
}
