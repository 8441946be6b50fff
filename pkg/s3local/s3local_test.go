package s3local_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/refx-dev/refx/pkg/s3local"
)

// TestPersistent writes through the S3 API, finds the object as a plain
// file, and reads it back after a restart on the same directory.
func TestPersistent(t *testing.T) {
	dir := t.TempDir()
	key := "events/dt=2026-01-01/hour=00/a.parquet"
	for run := range 2 {
		srv, err := s3local.Start(t.Context(), s3local.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		c, err := srv.Client(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if run == 0 {
			_, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(srv.Bucket()), Key: aws.String(key), Body: strings.NewReader("PAR1")})
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(srv.BucketDir(), filepath.FromSlash(key)))
			if err != nil || string(b) != "PAR1" {
				t.Fatalf("file %q, %v", b, err)
			}
		} else {
			out, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(srv.Bucket()), Key: aws.String(key)})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(out.Body)
			out.Body.Close()
			if string(b) != "PAR1" {
				t.Fatalf("after restart: %q", b)
			}
		}
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestInMemory keeps nothing on disk.
func TestInMemory(t *testing.T) {
	srv, err := s3local.Start(t.Context(), s3local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if srv.BucketDir() != "" || !strings.HasPrefix(srv.Endpoint(), "http://127.0.0.1:") {
		t.Fatalf("dir %q endpoint %q", srv.BucketDir(), srv.Endpoint())
	}
}
