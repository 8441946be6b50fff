package webclient_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/ddblocal"
	"github.com/refx-dev/refx/pkg/headless"
	"github.com/refx-dev/refx/pkg/webclient"
)

// batchRecorder is a stand-in for POST /v1/events:batch that records what
// browsers send and answers every event as recorded.
type batchRecorder struct {
	mu     sync.Mutex
	events []map[string]any
	types  []string
}

func (b *batchRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Events []map[string]any `json:"events"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var results []map[string]any
	b.mu.Lock()
	b.types = append(b.types, r.Header.Get("Content-Type"))
	for _, e := range req.Events {
		b.events = append(b.events, e)
		results = append(results, map[string]any{"id": e["id"], "status": "recorded"})
	}
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"results": results})
}

func testServer(t *testing.T) (*httptest.Server, *batchRecorder) {
	t.Helper()
	rec := &batchRecorder{}
	mux := http.NewServeMux()
	mux.Handle("GET /v1/refx.js", webclient.Script)
	mux.Handle("GET /v1/refx.mjs", webclient.Module)
	mux.Handle("POST /v1/events:batch", rec)
	mux.Handle("GET /", http.FileServer(http.Dir("testdata")))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, rec
}

// artifact returns the path of a test artifact, creating artifacts/ at the
// repository root.
func artifact(t *testing.T, name string) string {
	t.Helper()
	root, err := ddblocal.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, name)
}

// TestInBrowser runs refx.js's unit tests (testdata/unit.html) in headless
// Chromium: idempotency keys kept across resends and reloads, the bounded
// queue, the memory fallback when localStorage throws, identify, referral
// codes, beacons.
func TestInBrowser(t *testing.T) {
	t.Parallel()
	srv, _ := testServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	p, err := headless.MustStart(t, headless.Options{}).NewIsolatedPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Navigate(ctx, srv.URL+"/unit.html"); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(ctx, "window.results"); err != nil {
		t.Fatal(err)
	}
	var results []struct {
		Name  string `json:"name"`
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := p.Eval(ctx, "window.results", &results); err != nil {
		t.Fatal(err)
	}
	if len(results) < 15 {
		t.Errorf("only %d results", len(results))
	}
	for _, r := range results {
		if !r.OK {
			t.Errorf("%s:\n%s", r.Name, r.Error)
		}
	}
	if err := p.Screenshot(ctx, artifact(t, "refxjs-unit.png")); err != nil {
		t.Fatal(err)
	}
	if t.Failed() {
		t.Logf("page logs: %q", p.Logs())
	}
}

// TestClassicScript loads refx.js with a plain <script> tag: it sets
// window.refx and sends to the API it was loaded from, as text/plain (no
// preflight).
func TestClassicScript(t *testing.T) {
	t.Parallel()
	srv, rec := testServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := headless.MustStart(t, headless.Options{}).NewIsolatedPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Navigate(ctx, srv.URL+"/classic.html"); err != nil {
		t.Fatal(err)
	}
	var version string
	if err := p.Eval(ctx, "refx.version", &version); err != nil || version != webclient.Version {
		t.Fatalf("refx.version = %q, %v; want %s", version, err, webclient.Version)
	}
	if err := p.WaitFor(ctx, "refx.pending().length === 0"); err != nil {
		t.Fatal(err)
	}
	var id string
	p.Eval(ctx, "window.sent", &id)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.events) != 1 || rec.events[0]["id"] != id || rec.events[0]["type"] != "signup" {
		t.Fatalf("the server got %v, want the signup %s", rec.events, id)
	}
	if !strings.HasPrefix(rec.types[0], "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain (a simple request)", rec.types[0])
	}
}
