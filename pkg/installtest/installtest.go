// Package installtest gives tests what the repository's install scripts
// install (scripts/install-*: npm packages of real SDKs) and runs node
// scripts against them, failing the test with the reason when it cannot.
package installtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/childproc"
	"github.com/refx-dev/refx/pkg/ddblocal"
)

// Script runs script (a path from the repository root, like
// "scripts/install-growthbook"), its progress on stderr, and returns the
// last line it printed: what it installed. The scripts are idempotent and
// safe to run concurrently, so every test asks for what it needs.
func Script(tb testing.TB, script string) string {
	tb.Helper()
	root, err := ddblocal.RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := childproc.RunScript(context.Background(), root, script, os.Stderr)
	if err != nil {
		tb.Fatalf("%s: %v", script, err)
	}
	return out
}

// node returns the path of node, which runs the JavaScript SDKs under test.
func node(tb testing.TB) string {
	tb.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		tb.Fatal("node is required to run the JavaScript SDKs: install Node.js 20 or newer")
	}
	return node
}

// RunNode runs the script under node with args, stdin on its standard
// input, and returns its standard output; it fails the test with the end of
// the script's standard error when the script fails or runs past two
// minutes.
func RunNode(tb testing.TB, stdin []byte, script string, args ...string) []byte {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node(tb), append([]string{script}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("node %s: %v\n%s", script, err, childproc.Tail(stderr.Bytes(), 4096))
	}
	return out
}
