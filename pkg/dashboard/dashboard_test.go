package dashboard_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/dashboard"
)

func TestPageAndAssets(t *testing.T) {
	rec := httptest.NewRecorder()
	if err := dashboard.ServePage(rec, httptest.NewRequest("GET", "/dashboard", nil)); err != nil {
		t.Fatal(err)
	}
	page := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %s", rec.Code, rec.Header())
	}
	if rec.Header().Get("Content-Security-Policy") != dashboard.ContentSecurityPolicy || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("page headers: %v", rec.Header())
	}
	// Asset URLs are relative to the page and carry a content hash.
	refs := regexp.MustCompile(`(?:src|href)="dashboard/(app\.[0-9a-f]{12}\.(?:js|css))"`).FindAllStringSubmatch(page, -1)
	if len(refs) != 2 {
		t.Fatalf("page refers to %v, want the hashed script and stylesheet:\n%s", refs, page)
	}
	names, err := dashboard.AssetNames()
	if err != nil || len(names) != 2 {
		t.Fatalf("AssetNames = %v, %v", names, err)
	}
	for _, ref := range refs {
		t.Run(ref[1], func(t *testing.T) {
			rec := httptest.NewRecorder()
			ok, err := dashboard.ServeAsset(rec, httptest.NewRequest("GET", "/dashboard/"+ref[1], nil), ref[1])
			if err != nil || !ok || rec.Code != http.StatusOK || rec.Body.Len() == 0 {
				t.Fatalf("asset: %v %v %d", ok, err, rec.Code)
			}
			if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
				t.Fatalf("Cache-Control = %q", cc)
			}
			again := httptest.NewRequest("GET", "/dashboard/"+ref[1], nil)
			again.Header.Set("If-None-Match", rec.Header().Get("ETag"))
			rec2 := httptest.NewRecorder()
			dashboard.ServeAsset(rec2, again, ref[1])
			if rec2.Code != http.StatusNotModified {
				t.Fatalf("revalidation: %d, want 304", rec2.Code)
			}
		})
	}
	t.Run("ErrUnknownAsset", func(t *testing.T) {
		for _, name := range []string{"app.js", "app.000000000000.js", "../assets/app.js", "index.html"} {
			if ok, err := dashboard.ServeAsset(httptest.NewRecorder(), httptest.NewRequest("GET", "/dashboard/x", nil), name); ok || err != nil {
				t.Errorf("%s: served = %v, %v", name, ok, err)
			}
		}
	})
}

// TestScriptParsesNoMarkup keeps the page's script from turning strings
// into HTML: flag, segment and experiment text is user input, shown only as
// text nodes (h and append). The one parser it uses, DOMParser, reads the
// API's own SVG charts as image/svg+xml.
func TestScriptParsesNoMarkup(t *testing.T) {
	script, err := os.ReadFile("assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "createContextualFragment", "srcdoc", "eval(", "new Function", "text/html"} {
		if strings.Contains(string(script), sink) {
			t.Errorf("app.js uses %s: build elements with h() and text nodes instead", sink)
		}
	}
}
