package devserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/devserver"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRun starts the local stack the way ./scripts/dev does, checks health
// and that the example the banner prints works, restarts it on the same data
// directory and finds the data again, and checks that cancelling stops it.
func TestRun(t *testing.T) {
	dataDir := t.TempDir()
	var assigned string
	for run := range 2 {
		out := &syncBuffer{}
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan string, 1)
		done := make(chan error, 1)
		go func() {
			done <- devserver.Run(ctx, devserver.Options{
				Addr: "127.0.0.1:0", DataDir: dataDir, AdminKey: "test-admin-key-0123456789", Out: out,
				Ready: func(u string) { ready <- u },
			})
		}()
		var base string
		select {
		case base = <-ready:
		case err := <-done:
			t.Fatalf("Run: %v\n%s", err, out)
		case <-time.After(2 * time.Minute):
			t.Fatal("local stack did not start")
		}
		res, err := http.Get(base + "/healthz")
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("healthz: %v %v", res, err)
		}
		banner := out.String()
		if !strings.Contains(banner, strings.Replace(base, "127.0.0.1", "localhost", 1)) || !strings.Contains(banner, "test-admin-key-0123456789") {
			t.Fatalf("banner lacks the URL or the key:\n%s", banner)
		}
		// The printed example, sent as printed.
		body := `{"experiment":"` + devserver.DemoExperiment + `","user":"alice"}`
		if !strings.Contains(banner, "-d '"+body+"'") {
			t.Fatalf("banner lacks the assign example:\n%s", banner)
		}
		res, err = http.Post(base+"/v1/assign", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var a struct {
			Variant      string `json:"variant"`
			InExperiment bool   `json:"in_experiment"`
			Enrolled     bool   `json:"enrolled"`
		}
		json.NewDecoder(res.Body).Decode(&a)
		res.Body.Close()
		if !a.InExperiment {
			t.Fatalf("run %d: demo experiment not running: %+v", run, a)
		}
		// Persistence: the second run finds alice already enrolled.
		if run == 1 && (a.Enrolled || a.Variant != assigned) {
			t.Fatalf("after restart: %+v, want %s without a new enrolment", a, assigned)
		}
		assigned = a.Variant
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run after cancel: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("local stack did not stop")
		}
		if _, err := http.Get(base + "/healthz"); err == nil {
			t.Fatal("API still answers after stop")
		}
	}
}
