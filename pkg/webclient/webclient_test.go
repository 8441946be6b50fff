package webclient_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/webclient"
)

// MaxGzipBytes is the size budget of refx.js on the wire.
const MaxGzipBytes = 4096

func TestSize(t *testing.T) {
	for _, a := range []*webclient.Asset{webclient.Script, webclient.Module} {
		t.Logf("%s: %d bytes, %d gzipped", a.Name, len(a.Body), len(a.Gzip))
		if len(a.Gzip) > MaxGzipBytes {
			t.Errorf("%s is %d bytes gzipped, over the budget of %d", a.Name, len(a.Gzip), MaxGzipBytes)
		}
		zr, err := gzip.NewReader(bytes.NewReader(a.Gzip))
		if err != nil {
			t.Fatal(err)
		}
		if plain, _ := io.ReadAll(zr); !bytes.Equal(plain, a.Body) {
			t.Errorf("%s: the gzipped body is not the body", a.Name)
		}
	}
}

func TestBuild(t *testing.T) {
	if !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(webclient.Version) {
		t.Fatalf("Version = %q", webclient.Version)
	}
	script, module := string(webclient.Script.Body), string(webclient.Module.Body)
	for _, want := range []string{`"use strict"`, `var VERSION = "` + webclient.Version + `"`, "window.refx = refx;", "document.currentScript"} {
		if !strings.Contains(script, want) {
			t.Errorf("the classic script lacks %q", want)
		}
	}
	for _, want := range []string{`const VERSION = "` + webclient.Version + `"`, "import.meta.url", "export default refx;",
		"export const { version, init, assign, track, identify,"} {
		if !strings.Contains(module, want) {
			t.Errorf("the module lacks %q", want)
		}
	}
	if strings.Contains(script, "export ") || strings.Contains(script, "import.meta") {
		t.Error("the classic script holds module syntax")
	}
	// The build strips comment lines and indentation line by line, which
	// would break template literals and multi-line strings.
	if strings.Contains(script, "`") {
		t.Error("refx.js uses a template literal: the line-based stripping in build() is not safe for it")
	}
}

func get(h http.Handler, url string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestServe(t *testing.T) {
	a := webclient.Script
	t.Run("OK", func(t *testing.T) {
		rec := get(a, "/v1/refx.js")
		if rec.Code != 200 || rec.Body.String() != string(a.Body) {
			t.Fatalf("= %d, %d bytes", rec.Code, rec.Body.Len())
		}
		h := rec.Header()
		if h.Get("Content-Type") != "text/javascript; charset=utf-8" || h.Get("Cache-Control") != "public, max-age=300" ||
			h.Get("ETag") != `"`+webclient.Version+`-js"` || h.Get("Content-Encoding") != "" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("headers = %v", h)
		}
	})
	t.Run("Versioned", func(t *testing.T) {
		rec := get(a, "/v1/refx.js?v="+webclient.Version)
		if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Fatalf("Cache-Control = %q", cc)
		}
		if cc := get(a, "/v1/refx.js?v=000000000000").Header().Get("Cache-Control"); cc != "public, max-age=300" {
			t.Fatalf("a stale version is cached as %q", cc)
		}
	})
	t.Run("NotModified", func(t *testing.T) {
		rec := get(a, "/v1/refx.js", "If-None-Match", `"`+webclient.Version+`-js"`)
		if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Fatalf("= %d with %d bytes", rec.Code, rec.Body.Len())
		}
		if rec := get(a, "/v1/refx.js", "If-None-Match", `"0000-js"`); rec.Code != 200 {
			t.Fatalf("a stale ETag = %d", rec.Code)
		}
	})
	t.Run("Gzip", func(t *testing.T) {
		rec := get(a, "/v1/refx.js", "Accept-Encoding", "br, gzip;q=0.8")
		h := rec.Header()
		if rec.Code != 200 || h.Get("Content-Encoding") != "gzip" || !bytes.Equal(rec.Body.Bytes(), a.Gzip) ||
			h.Get("ETag") != `"`+webclient.Version+`-js-gz"` || !strings.Contains(strings.Join(h.Values("Vary"), ","), "Accept-Encoding") {
			t.Fatalf("= %d %v", rec.Code, h)
		}
		if rec := get(a, "/v1/refx.js", "Accept-Encoding", "gzip;q=0"); rec.Header().Get("Content-Encoding") != "" {
			t.Fatal("gzip;q=0 got gzip")
		}
	})
	t.Run("Module", func(t *testing.T) {
		rec := get(webclient.Module, "/v1/refx.mjs")
		if rec.Code != 200 || rec.Body.String() != string(webclient.Module.Body) || rec.Header().Get("ETag") != `"`+webclient.Version+`-mjs"` {
			t.Fatalf("= %d %v", rec.Code, rec.Header())
		}
	})
}
