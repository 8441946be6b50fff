package headless

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// InCI reports whether the tests run in CI: CI is set to anything but
// "false" or "0" (runners set CI=true, CI=1, CI=yes, ...; .ci/run sets
// CI=true itself). An unset or empty CI is a developer's machine.
func InCI() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv("CI"))) {
	case "", "false", "0", "no", "off":
		return false
	}
	return true
}

// MustStart starts Chromium for a test and closes it when the test ends.
// When no Chromium can be found or installed, the test fails in CI (see
// InCI: CI must run the browser tests) and is skipped otherwise.
func MustStart(tb testing.TB, opts Options) *Browser {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b, err := Start(ctx, opts)
	if err != nil {
		if InCI() {
			tb.Fatalf("CI=%s needs Chromium for the browser tests: %v", os.Getenv("CI"), err)
		}
		tb.Skipf("no Chromium (%v); CI installs it with %s", err, InstallScript)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}

// MustOpen opens url in a new isolated page of b and waits for the
// JavaScript expression ready (like "window.ready") to hold. When the test
// fails, the page's console and exceptions are logged.
func (b *Browser) MustOpen(tb testing.TB, ctx context.Context, url, ready string) *Page {
	tb.Helper()
	p, err := b.NewIsolatedPage(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("page logs: %q", p.Logs())
		}
	})
	if err := p.Navigate(ctx, url); err != nil {
		tb.Fatal(err)
	}
	if err := p.WaitFor(ctx, ready); err != nil {
		tb.Fatal(err)
	}
	return p
}
