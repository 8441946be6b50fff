package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/s3local"
)

// TestLambdaStreamBatch builds the handler from the environment, as the
// main does, and feeds it a recorded DynamoDB stream event: the Parquet
// objects land in the (local) bucket under the prefix.
func TestLambdaStreamBatch(t *testing.T) {
	srv, err := s3local.Start(t.Context(), s3local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	env := map[string]string{"REFX_EXPORT_BUCKET": srv.Bucket(), "REFX_EXPORT_PREFIX": "refx/", "REFX_S3_ENDPOINT": srv.Endpoint(), "REFX_LOG_LEVEL": "error"}
	x, err := export.LambdaHandler(t.Context(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "stream-batch.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	resp, err := x.Handle(t.Context(), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle = %+v, %v", resp, err)
	}
	c, err := srv.Client(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(srv.Bucket())})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	if len(keys) != 3 || !strings.HasPrefix(keys[0], "refx/assignments/dt=2026-01-01/hour=01/") {
		t.Fatalf("objects %v", keys)
	}
}

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		ok   bool
		// prefix is the prefix an accepted configuration has.
		prefix string
	}{
		{"OK", map[string]string{"REFX_EXPORT_BUCKET": "analytics"}, true, export.DefaultPrefix},
		{"OKPrefix", map[string]string{"REFX_EXPORT_BUCKET": "analytics", "REFX_EXPORT_PREFIX": "refx/"}, true, "refx/"},
		{"ErrNoBucket", map[string]string{}, false, ""},
		{"ErrPrefix", map[string]string{"REFX_EXPORT_BUCKET": "analytics", "REFX_EXPORT_PREFIX": "refx"}, false, ""},
		{"ErrLogLevel", map[string]string{"REFX_EXPORT_BUCKET": "analytics", "REFX_LOG_LEVEL": "loud"}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := export.LambdaConfigFromEnv(func(k string) string { return tt.env[k] })
			if (err == nil) != tt.ok {
				t.Fatalf("LambdaConfigFromEnv = %v, want ok %t", err, tt.ok)
			}
			if cfg.Prefix != tt.prefix {
				t.Errorf("prefix %q, want %q", cfg.Prefix, tt.prefix)
			}
		})
	}
}
