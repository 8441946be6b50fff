// Package installtest gives tests what the repository's install scripts
// install (scripts/install-*: npm packages of real SDKs), and the node they
// run under, failing the test with the reason when they cannot.
package installtest

import (
	"context"
	"os"
	"os/exec"
	"testing"

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

// Node returns the path of node, which runs the JavaScript SDKs under test.
func Node(tb testing.TB) string {
	tb.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		tb.Fatal("node is required to run the JavaScript SDKs: install Node.js 20 or newer")
	}
	return node
}
