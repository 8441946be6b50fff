package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync"
)

//go:embed assets
var files embed.FS

// PagePath is where the page is served. Asset URLs are relative to it, so
// the dashboard also works under a path prefix (an API Gateway custom domain
// mapping).
const PagePath = "/dashboard"

// AssetPrefix is the path under which the assets are served.
const AssetPrefix = PagePath + "/"

// ContentSecurityPolicy is the page's policy: its own script, stylesheet and
// API only; no inline script or style, no framing.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

type asset struct {
	body        []byte
	contentType string
	etag        string
}

type site struct {
	page   asset
	assets map[string]asset // by hashed name
}

// load builds the site once: the assets under their hashed names, and the
// page referring to them.
var load = sync.OnceValues(func() (*site, error) {
	s := &site{assets: map[string]asset{}}
	names := map[string]string{}
	for _, name := range []string{"app.js", "app.css"} {
		body, err := files.ReadFile("assets/" + name)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:6])
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hash + ext
		names[name] = hashed
		s.assets[hashed] = asset{body: body, contentType: contentTypes[ext], etag: `"` + hash + `"`}
	}
	page, err := files.ReadFile("assets/index.html")
	if err != nil {
		return nil, err
	}
	// Two fixed placeholders, filled by hand: executing a text/template or
	// html/template makes the linker keep every exported method of every
	// type (reflect's MethodByName), which added 5 MB to each Lambda.
	// Relative to the page (/dashboard), an asset is dashboard/<name>; the
	// hashed names are letters, digits and dots, nothing to escape.
	page = []byte(strings.NewReplacer(
		"{{.Script}}", strings.TrimPrefix(AssetPrefix, "/")+names["app.js"],
		"{{.Stylesheet}}", strings.TrimPrefix(AssetPrefix, "/")+names["app.css"],
	).Replace(string(page)))
	if bytes.Contains(page, []byte("{{")) {
		return nil, fmt.Errorf("dashboard: index.html has a placeholder other than {{.Script}} and {{.Stylesheet}}")
	}
	sum := sha256.Sum256(page)
	s.page = asset{body: page, contentType: "text/html; charset=utf-8", etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	return s, nil
})

var contentTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
}

// AssetNames returns the hashed names the page refers to.
func AssetNames() ([]string, error) {
	s, err := load()
	if err != nil {
		return nil, err
	}
	var out []string
	for name := range s.assets {
		out = append(out, name)
	}
	return out, nil
}

// ServePage writes the page, revalidated on every load.
func ServePage(w http.ResponseWriter, r *http.Request) error {
	s, err := load()
	if err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	serve(w, r, s.page, "no-cache")
	return nil
}

// ServeAsset writes the asset of the hashed name and reports whether there
// is one. Assets never change under a name, so they are cached for a year.
func ServeAsset(w http.ResponseWriter, r *http.Request, name string) (bool, error) {
	s, err := load()
	if err != nil {
		return false, fmt.Errorf("dashboard: %w", err)
	}
	a, ok := s.assets[name]
	if !ok {
		return false, nil
	}
	serve(w, r, a, "public, max-age=31536000, immutable")
	return true, nil
}

func serve(w http.ResponseWriter, r *http.Request, a asset, cacheControl string) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", cacheControl)
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(a.body)
}
