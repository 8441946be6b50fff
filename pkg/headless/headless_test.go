package headless_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/headless"
)

func MustBrowser(tb testing.TB) *headless.Browser { return headless.MustStart(tb, headless.Options{}) }

func TestPage(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/next":
			fmt.Fprint(w, `<!doctype html><title>next</title><p id=p>arrived</p>`)
		default:
			fmt.Fprint(w, `<!doctype html><title>start</title>
<button id=b style="margin:300px 0 0 40px" onclick="this.textContent='clicked'; console.log('click', 42)">press</button>
<a id=a href="/next">next</a>`)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := MustBrowser(t).NewPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Navigate(ctx, srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	var title string
	if err := p.Eval(ctx, "document.title", &title); err != nil || title != "start" {
		t.Fatalf("title = %q, %v", title, err)
	}
	if err := p.Click(ctx, "#b"); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(ctx, `document.querySelector("#b").textContent === "clicked"`); err != nil {
		t.Fatal(err)
	}
	if logs := p.Logs(); len(logs) != 1 || logs[0] != "console.log: click 42" {
		t.Fatalf("logs = %q", logs)
	}
	if err := p.Click(ctx, "#a"); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(ctx, `location.pathname === "/next" && document.readyState === "complete"`); err != nil {
		t.Fatal(err)
	}
	var v struct{ A int }
	if err := p.Eval(ctx, `new Promise(r => setTimeout(() => r({A: 7}), 10))`, &v); err != nil || v.A != 7 {
		t.Fatalf("awaited value = %+v, %v", v, err)
	}
	if err := p.Eval(ctx, `(() => { throw new Error("boom") })()`, nil); err == nil {
		t.Fatal("an exception is not an error")
	}
	shot := filepath.Join(t.TempDir(), "p.png")
	if err := p.Screenshot(ctx, shot); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(shot); len(b) < 100 || string(b[1:4]) != "PNG" {
		t.Fatalf("screenshot is not a PNG (%d bytes)", len(b))
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestIsolatedPages checks that isolated pages share no storage, while
// ordinary pages share the default profile's.
func TestIsolatedPages(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<!doctype html>") }))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := MustBrowser(t)
	open := func(isolated bool) *headless.Page {
		t.Helper()
		var p *headless.Page
		var err error
		if isolated {
			p, err = b.NewIsolatedPage(ctx)
		} else {
			p, err = b.NewPage(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Navigate(ctx, srv.URL); err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := open(false)
	if err := first.Eval(ctx, `localStorage.setItem("k", "shared")`, nil); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		isolated bool
		want     string
	}{{false, "shared"}, {true, ""}} {
		p := open(tt.isolated)
		var got string
		if err := p.Eval(ctx, `localStorage.getItem("k") || ""`, &got); err != nil || got != tt.want {
			t.Errorf("isolated=%v: storage holds %q, %v; want %q", tt.isolated, got, err, tt.want)
		}
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
