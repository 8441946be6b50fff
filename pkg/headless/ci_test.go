package headless_test

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/refx-dev/refx/pkg/headless"
)

// TestInCI: any value a CI runner sets counts as CI, so that no runner can
// skip the browser tests by spelling CI differently; only unset, empty and
// explicit negatives mean a developer's machine.
func TestInCI(t *testing.T) {
	for _, tt := range []struct {
		value string
		want  bool
	}{
		{"true", true}, {"TRUE", true}, {"1", true}, {"yes", true}, {"woodpecker", true}, {" true ", true},
		{"", false}, {"false", false}, {"False", false}, {"0", false}, {"no", false}, {"off", false}, {"  ", false},
	} {
		t.Run(tt.value, func(t *testing.T) {
			t.Setenv("CI", tt.value)
			if got := headless.InCI(); got != tt.want {
				t.Errorf("CI=%q: InCI() = %v, want %v", tt.value, got, tt.want)
			}
		})
	}
}

// outcomeTB records whether MustStart failed or skipped the test; both end
// the goroutine, as they do a test.
type outcomeTB struct {
	testing.TB
	failed, skipped bool
}

func (o *outcomeTB) Helper()               {}
func (o *outcomeTB) Fatalf(string, ...any) { o.failed = true; runtime.Goexit() }
func (o *outcomeTB) Skipf(string, ...any)  { o.skipped = true; runtime.Goexit() }
func (o *outcomeTB) Cleanup(f func())      { o.TB.Cleanup(f) }

// TestMustStartWithoutChromium: with no Chromium to start, the browser
// tests fail under any CI value and are skipped only off CI.
func TestMustStartWithoutChromium(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-chromium")
	for _, tt := range []struct {
		ci                 string
		wantFail, wantSkip bool
	}{{"true", true, false}, {"1", true, false}, {"", false, true}, {"false", false, true}} {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			o := &outcomeTB{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				headless.MustStart(o, headless.Options{Path: missing})
			}()
			<-done
			if o.failed != tt.wantFail || o.skipped != tt.wantSkip {
				t.Errorf("failed %v, skipped %v; want failed %v, skipped %v", o.failed, o.skipped, tt.wantFail, tt.wantSkip)
			}
		})
	}
}
