package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	root string
	mu   sync.Mutex
	dirs map[string]*buildResult
}

type buildResult struct {
	once sync.Once
	dir  string
	err  error
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
		b = &builder{root: root, dirs: map[string]*buildResult{}}
		builders[root] = b
	}
	return b
}

// Build builds the named functions concurrently and returns, per name, the
// directory holding only its "bootstrap": <root>/.cache/lambda/<name>.
func (b *builder) Build(names ...string) (map[string]string, error) {
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { _, errs[i] = b.build(name) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	dirs := make(map[string]string, len(names))
	for _, name := range names {
		dirs[name] = b.result(name).dir
	}
	return dirs, nil
}

func (b *builder) result(name string) *buildResult {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.dirs[name]
	if !ok {
		r = &buildResult{}
		b.dirs[name] = r
	}
	return r
}

func (b *builder) build(name string) (string, error) {
	r := b.result(name)
	r.once.Do(func() { r.dir, r.err = buildFunction(b.root, name) })
	return r.dir, r.err
}

// buildFunction builds functions/<name> into <root>/.cache/lambda/<name>/bootstrap.
// The binary is written beside the directory and renamed into it, so that a
// concurrent synthesis (a second test binary, a watch) never sees half a
// file, and the asset directory never holds anything but the bootstrap.
func buildFunction(root, name string) (string, error) {
	dir := filepath.Join(root, ".cache", "lambda", name)
	tmpDir := filepath.Join(root, ".cache", "lambda", ".tmp")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(tmpDir, name+"-*")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	args := append(append([]string{}, buildFlags...), "-o", tmp.Name(), "./functions/"+name)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), buildEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build functions/%s (%s go %s): %v\n%s",
			name, strings.Join(buildEnv, " "), strings.Join(args, " "), err, out)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, "bootstrap")); err != nil {
		return "", err
	}
	return dir, nil
}
