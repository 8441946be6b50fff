package main

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// modulePath is the module whose root holds cdk.json, functions/ and schema/.
const modulePath = "github.com/refx-dev/refx"

// repoRoot finds the module root from the working directory upwards: `cdk`
// and `go run ./infra` run from the root, `go test ./infra` from infra/.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("module "+modulePath+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s above the working directory: run from the repository", modulePath)
		}
		dir = parent
	}
}

// buildFlags build a Lambda bootstrap for provided.al2023 on arm64: static
// (no cgo), without the RPC mode that only the retired go1.x runtime used,
// with no file paths or VCS stamps (the same source gives the same bytes,
// so an unchanged function keeps its asset hash and is not redeployed), and
// without symbol tables.
var buildFlags = []string{"build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w"}

var buildEnv = []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"}

// builder builds each function at most once per process: the CDK app builds
// what it deploys, and a test binary synthesizing many stacks reuses the
// binaries of the first.
type builder struct {
	root  string
	mu    sync.Mutex
	built map[string]string // name → asset directory
}

var (
	buildersMu sync.Mutex
	builders   = map[string]*builder{}
)

// builderFor returns the process's builder for the repository at root.
func builderFor(root string) *builder {
	buildersMu.Lock()
	defer buildersMu.Unlock()
	b, ok := builders[root]
	if !ok {
		b = &builder{root: root, built: map[string]string{}}
		builders[root] = b
	}
	return b
}

// Build builds the named functions and returns, per name, the directory
// holding only its "bootstrap": <root>/.cache/lambda/<name>. Those not built
// yet by this process are built by one go build, which compiles the
// packages they share once (a cold build of five functions takes about a
// third of the time of five builds).
func (b *builder) Build(names ...string) (map[string]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var todo []string
	for _, name := range names {
		if _, ok := b.built[name]; !ok && !slices.Contains(todo, name) {
			todo = append(todo, name)
		}
	}
	if len(todo) > 0 {
		dirs, err := buildFunctions(b.root, todo)
		if err != nil {
			return nil, err
		}
		maps.Copy(b.built, dirs)
	}
	dirs := make(map[string]string, len(names))
	for _, name := range names {
		dirs[name] = b.built[name]
	}
	return dirs, nil
}

// buildFunctions builds functions/<name> for each name into
// <root>/.cache/lambda/<name>/bootstrap. The binaries are written to a
// private directory and renamed into place, so that a concurrent synthesis
// (a second test binary, a watch) never sees half a file, and an asset
// directory never holds anything but its bootstrap.
func buildFunctions(root string, names []string) (map[string]string, error) {
	cache := filepath.Join(root, ".cache", "lambda")
	if err := os.MkdirAll(filepath.Join(cache, ".tmp"), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Join(cache, ".tmp"), "build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	args := append(slices.Clone(buildFlags), "-o", tmp+string(filepath.Separator))
	for _, name := range names {
		args = append(args, "./functions/"+name)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), buildEnv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the functions (%s go %s): %v\n%s",
			strings.Join(buildEnv, " "), strings.Join(args, " "), err, out)
	}
	dirs := map[string]string{}
	for _, name := range names {
		dir := filepath.Join(cache, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(dir, "bootstrap")); err != nil {
			return nil, err
		}
		dirs[name] = dir
	}
	return dirs, nil
}
