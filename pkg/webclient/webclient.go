package webclient

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

//go:embed refx.js
var source string

// Asset is one served build of the client.
type Asset struct {
	// Name is the file name: refx.js or refx.mjs.
	Name string
	// Body is the script; Gzip is the same, gzip-compressed.
	Body, Gzip []byte
	// etag and gzipETag are the ETags of Body and Gzip.
	etag, gzipETag string
}

// Version identifies the client's build: a hash of its source and of the
// wrappers, so that it changes whenever a served byte does. Script is the
// classic script (<script src=".../v1/refx.js">), which sets window.refx;
// Module is the ES module (import refx from ".../v1/refx.mjs").
var Version, Script, Module = build()

// Cache lifetimes: a URL carrying the current version (?v=Version) never
// changes; a plain one is revalidated every few minutes (cheaply, with the
// ETag), so a new release reaches pages quickly.
const (
	VersionedMaxAge = 365 * 24 * time.Hour
	PlainMaxAge     = 5 * time.Minute
)

// The Cache-Control values of a versioned and a plain URL.
var (
	versionedCacheControl = fmt.Sprintf("public, max-age=%d, immutable", int(VersionedMaxAge.Seconds()))
	plainCacheControl     = fmt.Sprintf("public, max-age=%d", int(PlainMaxAge.Seconds()))
)

const (
	classicHead = "/*! refx.js %s */\n(function () {\n\"use strict\";\nvar VERSION = %q, BASE = (document.currentScript || {}).src || \"\";\n"
	classicTail = "window.refx = refx;\n})();\n"
	moduleHead  = "/*! refx.mjs %s */\nconst VERSION = %q, BASE = import.meta.url;\n"
	moduleTail  = "export default refx;\nexport const { %s } = refx;\n"
)

// apiRE finds the object the source returns, whose keys the module exports
// by name too.
var apiRE = regexp.MustCompile(`const api = \{([^}]*)\};`)

func build() (string, *Asset, *Asset) {
	src := strip(source)
	m := apiRE.FindStringSubmatch(src)
	if m == nil {
		panic("webclient: refx.js has no `const api = {…};` line")
	}
	var names []string
	for _, field := range strings.Split(m[1], ",") {
		name, _, _ := strings.Cut(field, ":")
		names = append(names, strings.TrimSpace(name))
	}
	sum := sha256.Sum256([]byte(classicHead + classicTail + moduleHead + moduleTail + src))
	version := hex.EncodeToString(sum[:6])
	return version,
		newAsset("refx.js", version, fmt.Sprintf(classicHead, version, version)+src+classicTail),
		newAsset("refx.mjs", version, fmt.Sprintf(moduleHead, version, version)+src+fmt.Sprintf(moduleTail, strings.Join(names, ", ")))
}

// strip drops whole-line comments and indentation: the source is written to
// be read, the served file to be small. Safe because the source has no
// template literals or multi-line strings, which a test keeps true.
func strip(src string) string {
	var b strings.Builder
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

func newAsset(name, version, body string) *Asset {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write([]byte(body))
	zw.Close()
	tag := version + "-" + strings.TrimPrefix(name, "refx.")
	return &Asset{Name: name, Body: []byte(body), Gzip: gz.Bytes(), etag: `"` + tag + `"`, gzipETag: `"` + tag + `-gz"`}
}

// ServeHTTP serves the asset: gzip-compressed when the client accepts it,
// with an ETag (304 on a match) and a Cache-Control that depends on whether
// the URL names the current version.
func (a *Asset) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Accept-Encoding")
	cache := plainCacheControl
	if r.URL.Query().Get("v") == Version {
		cache = versionedCacheControl
	}
	h.Set("Cache-Control", cache)
	body, etag := a.Body, a.etag
	if acceptsGzip(r) {
		body, etag = a.Gzip, a.gzipETag
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, a.Name, time.Time{}, bytes.NewReader(body))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
