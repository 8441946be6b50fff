package main

import (
	"os"
	"path/filepath"
	"testing"
)

// maxBinarySize is the largest bootstrap a deployed function may have
// (12 MB). A Lambda's cold start fetches and unpacks its whole package, and a
// function that links another route group's handlers (the track function
// linking the dashboard, charts and statistics) grows past this long before
// it fails anything else.
const maxBinarySize = 12_000_000

// maxAdminBinarySize is the admin function's own limit: it serves every
// admin route and the dashboard, and so grows with each feature (12.0 MB
// before issue 16, 12.4 MB with its rewards, reviews, blocks, webhooks,
// programs and codes routes), while the other functions stay near 10-11 MB,
// where linking the admin code would still cross maxBinarySize.
const maxAdminBinarySize = 13_000_000

// maxCompactBinarySize is the compaction's own limit: it reads Parquet with
// parquet-go, which the exporter does without (14.8 MB as built here). It
// is an hourly batch job, never on a request path: one cold start an hour
// costs nothing anyone waits for.
const maxCompactBinarySize = 16_000_000

// TestBinarySizes builds every deployed function as `cdk synth` does
// (builderFor: linux/arm64, static, stripped) and holds each bootstrap to
// maxBinarySize: a function links only its own routes' code.
func TestBinarySizes(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(functions))
	for i, f := range functions {
		names[i] = f.Name
	}
	dirs, err := builderFor(root).Build(names...)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			st, err := os.Stat(filepath.Join(dirs[name], "bootstrap"))
			if err != nil {
				t.Fatal(err)
			}
			limit := maxBinarySize
			switch name {
			case "admin":
				limit = maxAdminBinarySize
			case "compact":
				limit = maxCompactBinarySize
			}
			if st.Size() > int64(limit) {
				t.Errorf("bootstrap is %d bytes (%.1f MB), over the %.1f MB limit: a function links only its own routes' code. "+
					"Find what it links with `go tool nm -size -sort size` on an unstripped build, and what keeps every "+
					"exported method (a reflect Method/MethodByName call: text/template, protobuf) with `go build -ldflags=-dumpdep`",
					st.Size(), float64(st.Size())/1e6, float64(limit)/1e6)
			}
			t.Logf("%s: %d bytes (%.1f MB)", name, st.Size(), float64(st.Size())/1e6)
		})
	}
}
