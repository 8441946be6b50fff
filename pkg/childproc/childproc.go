package childproc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// RunScript runs the bash script at repoRoot/script (a path with slashes)
// and returns the last line it printed on stdout: the install scripts print
// what they installed there. Their progress on stderr is copied to stderr as
// it happens, and its end is quoted in the error when the script fails. On
// cancellation the script's whole process group (npm, apt-get, ...) is
// killed, and stray children holding the pipes are not waited for.
func RunScript(ctx context.Context, repoRoot, script string, stderr io.Writer) (string, error) {
	path := filepath.Join(repoRoot, filepath.FromSlash(script))
	cmd := exec.CommandContext(ctx, "bash", path)
	cmd.Dir = repoRoot
	var stdout, errOut bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &errOut
	if stderr != nil {
		cmd.Stderr = io.MultiWriter(&errOut, stderr)
	}
	cmd.SysProcAttr = SysProcAttr()
	cmd.Cancel = func() error { return Kill(cmd.Process) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w\n%s", script, err, Tail(errOut.Bytes(), 4096))
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	return strings.TrimSpace(lines[len(lines)-1]), nil
}

// Tail returns at most the last n bytes of b as a string, cut at a line
// start when possible.
func Tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 && i < len(b)-1 {
			b = b[i+1:]
		}
	}
	return strings.TrimRight(string(b), "\n")
}
