package devserver_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/devserver"
	"github.com/refx-dev/refx/pkg/devserver/devservertest"
)

// TestRunExports starts the local stack, sends an event as a new user
// would, and waits for the Parquet file the exporter writes through the
// local S3 under the data directory, with the deployed prefix export/; the
// banner says where.
func TestRunExports(t *testing.T) {
	dataDir := t.TempDir()
	stack := devservertest.Start(t, devserver.Options{DataDir: dataDir, AdminKey: "test-admin-key-0123456789"})
	bucketDir := filepath.Join(dataDir, "s3", "buckets", "refx-analytics", "export")
	if banner := stack.Out(); !strings.Contains(banner, bucketDir) || !strings.Contains(banner, "S3           http://127.0.0.1:") {
		t.Fatalf("banner lacks the S3 endpoint or the data directory:\n%s", banner)
	}
	for _, body := range []string{
		`{"experiment":"` + devserver.DemoExperiment + `","user":"bob"}`,
	} {
		res, err := stack.Post("/v1/assign", body)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	res, err := stack.Post("/v1/events", `{"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"signup","user":"bob"}`)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		events, _ := filepath.Glob(filepath.Join(bucketDir, "events", "dt=*", "hour=*", "*.parquet"))
		credits, _ := filepath.Glob(filepath.Join(bucketDir, "event_credits", "dt=*", "hour=*", "*.parquet"))
		if len(events) > 0 && len(credits) > 0 {
			break
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(bucketDir)
			t.Fatalf("no Parquet files for the event after 30s; bucket holds %v", entries)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "export", "checkpoints.json")); err != nil {
		t.Errorf("no stream checkpoint: %v", err)
	}
	if err := stack.Stop(); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
}
