package main

import (
	"os"
	"path/filepath"
	"testing"
)

// maxBinarySize is the largest bootstrap a deployed function may have
// (12 MB). A Lambda's cold start reads and maps its whole binary, and a
// function that links another route group's handlers (the track function
// linking the dashboard, charts and statistics) grows past this long before
// it fails anything else.
const maxBinarySize = 12_000_000

// binarySizeExceptions are functions allowed past maxBinarySize, each with
// its own ceiling, which still fails the test when the function grows.
var binarySizeExceptions = map[string]struct {
	max    int64
	reason string
}{
	// parquet-go imports google.golang.org/protobuf, whose descfmt calls
	// reflect.Value.MethodByName("Methods"); since Go 1.26 that reaches
	// reflect's Methods iterators, which call Method(i), so the linker
	// keeps every exported method of every reachable type (golang/go#77222)
	// — the S3 client's 100-odd operations included. parquet-go alone
	// links to 11.9 MB. Lowering this needs the toolchain fix, or an
	// exporter without parquet-go and the S3 SDK client.
	"export": {max: 23_500_000, reason: "parquet-go → protobuf disables method dead-code elimination (golang/go#77222)"},
}

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
	for name := range binarySizeExceptions {
		if _, ok := functionByName(name); !ok {
			t.Errorf("binarySizeExceptions names %s, which is not a function", name)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			st, err := os.Stat(filepath.Join(dirs[name], "bootstrap"))
			if err != nil {
				t.Fatal(err)
			}
			limit, why := int64(maxBinarySize), "a function links only its own routes' code"
			if x, ok := binarySizeExceptions[name]; ok {
				limit, why = x.max, x.reason
			}
			if st.Size() > limit {
				t.Errorf("bootstrap is %d bytes (%.1f MB), over the %.1f MB limit (%s); find what it links with "+
					"`go tool nm -size -sort size` on an unstripped build and `go build -ldflags=-dumpdep`",
					st.Size(), float64(st.Size())/1e6, float64(limit)/1e6, why)
			}
			t.Logf("%s: %d bytes (%.1f MB)", name, st.Size(), float64(st.Size())/1e6)
		})
	}
}
