package headless

import (
	"context"
	"os"
	"testing"
	"time"
)

// MustStart starts Chromium for a test and closes it when the test ends.
// When no Chromium can be found or installed, the test fails under CI=true
// (CI must run the browser tests) and is skipped otherwise.
func MustStart(tb testing.TB, opts Options) *Browser {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b, err := Start(ctx, opts)
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("CI=true needs Chromium for the browser tests: %v", err)
		}
		tb.Skipf("no Chromium (%v); CI installs it with %s", err, InstallScript)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}
