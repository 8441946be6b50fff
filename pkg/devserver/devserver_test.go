package devserver_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/devserver"
	"github.com/refx-dev/refx/pkg/devserver/devservertest"
)

// TestRun starts the local stack the way ./scripts/dev does, checks health
// and that the example the banner prints works, restarts it on the same data
// directory and finds the data again, and checks that cancelling stops it.
func TestRun(t *testing.T) {
	dataDir := t.TempDir()
	var assigned string
	for run := range 2 {
		stack := devservertest.Start(t, devserver.Options{DataDir: dataDir, AdminKey: "test-admin-key-0123456789"})
		base := stack.URL
		res, err := http.Get(base + "/healthz")
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("healthz: %v %v", res, err)
		}
		banner := stack.Out()
		if !strings.Contains(banner, strings.Replace(base, "127.0.0.1", "localhost", 1)) || !strings.Contains(banner, "test-admin-key-0123456789") {
			t.Fatalf("banner lacks the URL or the key:\n%s", banner)
		}
		// The printed example, sent as printed.
		body := `{"experiment":"` + devserver.DemoExperiment + `","user":"alice"}`
		if !strings.Contains(banner, "-d '"+body+"'") {
			t.Fatalf("banner lacks the assign example:\n%s", banner)
		}
		res, err = stack.Post("/v1/assign", body)
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
		if err := stack.Stop(); err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
		if _, err := http.Get(base + "/healthz"); err == nil {
			t.Fatal("API still answers after stop")
		}
	}
}
