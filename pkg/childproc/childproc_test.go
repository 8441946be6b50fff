package childproc_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/childproc"
)

func TestRunScript(t *testing.T) {
	root := t.TempDir()
	scripts := map[string]string{
		"ok":    "echo progress >&2\necho first\necho '  /the/last/line  '\n",
		"fails": "echo doing it >&2\necho broken >&2\nexit 3\n",
		"hangs": "sleep 30 &\nsleep 30\n",
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("OK", func(t *testing.T) {
		var progress bytes.Buffer
		got, err := childproc.RunScript(context.Background(), root, "ok", &progress)
		if err != nil || got != "/the/last/line" || progress.String() != "progress\n" {
			t.Fatalf("RunScript = %q, %v (stderr %q)", got, err, progress.String())
		}
	})
	t.Run("ErrExit", func(t *testing.T) {
		_, err := childproc.RunScript(context.Background(), root, "fails", nil)
		if err == nil || !strings.Contains(err.Error(), "broken") {
			t.Fatalf("error %v does not quote the script's stderr", err)
		}
	})
	t.Run("ErrCancelled", func(t *testing.T) {
		// The backgrounded child keeps the pipes open: cancelling must still
		// return promptly, killing the whole group.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		done := make(chan error, 1)
		go func() { _, err := childproc.RunScript(ctx, root, "hangs", nil); done <- err }()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("a cancelled script reported success")
			}
		case <-time.After(15 * time.Second):
			t.Fatal("RunScript did not return after cancellation")
		}
	})
}

func TestTail(t *testing.T) {
	if got := childproc.Tail([]byte("one\ntwo\nthree\n"), 9); got != "three" {
		t.Fatalf("Tail = %q", got)
	}
	if got := childproc.Tail([]byte("short\n"), 100); got != "short" {
		t.Fatalf("Tail = %q", got)
	}
}
