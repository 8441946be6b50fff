package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPreflightWithoutCredentials runs scripts/preflight as a new user
// without AWS credentials would: it must say that synthesizing works,
// that deploying does not, and why.
func TestPreflightWithoutCredentials(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cmd := exec.Command(filepath.Join(root, "scripts", "preflight"))
	cmd.Dir = t.TempDir() // the script finds the repository itself
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"GOCACHE=" + goEnv(t, "GOCACHE"), "GOMODCACHE=" + goEnv(t, "GOMODCACHE"), "GOPATH=" + goEnv(t, "GOPATH"),
		// No instance metadata either: a CI runner on EC2 would otherwise
		// find its instance role.
		"AWS_EC2_METADATA_DISABLED=true",
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("preflight without credentials: %v, want exit status 1\n%s", err, out)
	}
	for _, want := range []string{
		"ok       Go ", "ok       Node.js ", "MISSING  credentials: none",
		"synth:  ready", "deploy: NOT ready",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
}

func goEnv(t *testing.T, key string) string {
	t.Helper()
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
