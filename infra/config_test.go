package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestConfigFromContext(t *testing.T) {
	get := func(m map[string]any) func(string) any { return func(k string) any { return m[k] } }
	t.Run("Defaults", func(t *testing.T) {
		c, err := ConfigFromContext(get(nil))
		if err != nil {
			t.Fatal(err)
		}
		want := DefaultConfig()
		if c.Stage != "dev" || c.RetainData || c.CounterShards != 8 || c.IdempotencyTTL != 168*time.Hour ||
			c.ThrottleRate != want.ThrottleRate || c.LogRetentionDays != 30 || c.AllowedOrigins != nil {
			t.Fatalf("defaults = %+v", c)
		}
	})
	t.Run("JSONValues", func(t *testing.T) {
		c, err := ConfigFromContext(get(prodContext))
		if err != nil {
			t.Fatal(err)
		}
		if c.Stage != "prod" || !c.RetainData || c.CounterShards != 16 || c.IdempotencyTTL != 336*time.Hour ||
			!slices.Equal(c.AllowedOrigins, []string{"https://app.example.com", "https://www.example.com"}) ||
			!slices.Equal(c.TrackPaths, []string{"/t/e", "/collect"}) || c.AlarmEmail != "oncall@example.com" ||
			c.ThrottleRate != 2000 || c.ThrottleBurst != 4000 || c.LogRetentionDays != 90 || c.LogLevel != "warn" {
			t.Fatalf("config = %+v", c)
		}
	})
	t.Run("CommandLineStrings", func(t *testing.T) {
		// cdk deploy -c key=value passes every value as a string.
		c, err := ConfigFromContext(get(map[string]any{
			"stage": "staging", "retainData": "false", "allowedOrigins": "https://a.example.com, https://b.example.com",
			"counterShards": "4", "trackPaths": "/t", "throttleRate": "50",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if c.Stage != "staging" || c.RetainData || c.CounterShards != 4 || c.ThrottleRate != 50 ||
			!slices.Equal(c.AllowedOrigins, []string{"https://a.example.com", "https://b.example.com"}) ||
			!slices.Equal(c.TrackPaths, []string{"/t"}) {
			t.Fatalf("config = %+v", c)
		}
	})
	t.Run("RetainByDefaultOutsideDev", func(t *testing.T) {
		c, err := ConfigFromContext(get(map[string]any{"stage": "prod"}))
		if err != nil || !c.RetainData {
			t.Fatalf("prod: retain %v, %v", c.RetainData, err)
		}
	})
	for _, tt := range []struct {
		name, key string
		value     any
	}{
		{"ErrStage", "stage", "Prod_1"},
		{"ErrRetain", "retainData", "maybe"},
		{"ErrOriginPath", "allowedOrigins", []any{"https://a.example.com/app"}},
		{"ErrOriginScheme", "allowedOrigins", "ftp://a.example.com"},
		{"ErrShards", "counterShards", 65.0},
		{"ErrShardsFraction", "counterShards", 2.5},
		{"ErrTTL", "idempotencyTTL", "30m"},
		{"ErrEmail", "alarmEmail", "oncall"},
		{"ErrTrackPath", "trackPaths", []any{"/v1/events"}},
		{"ErrThrottle", "throttleRate", 0.0},
		{"ErrRetention", "logRetentionDays", 45.0},
		{"ErrLogLevel", "logLevel", "verbose"},
		{"ErrPublicURL", "publicURL", "go.example.com"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ConfigFromContext(get(map[string]any{tt.key: tt.value}))
			if err == nil || !strings.Contains(err.Error(), "context "+tt.key) {
				t.Fatalf("%s=%v: err = %v, want one naming the key", tt.key, tt.value, err)
			}
		})
	}
}

// TestCdkJSON checks that cdk.json runs this app and that its context is a
// valid configuration.
func TestCdkJSON(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := cdkJSONContext(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ConfigFromContext(func(k string) any { return ctx[k] }); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(root, "cdk.json"))
	if !strings.Contains(string(b), `"app": "go run ./infra"`) {
		t.Errorf("cdk.json does not run go run ./infra:\n%s", b)
	}
}

// TestReadmeDocumentsContext checks that the README's deploy section names
// every context key.
func TestReadmeDocumentsContext(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i := strings.Index(readme, "## Deploy to AWS")
	if i < 0 {
		t.Fatal(`README.md has no "## Deploy to AWS" section`)
	}
	for _, key := range contextKeys {
		if !strings.Contains(readme[i:], "`"+key+"`") {
			t.Errorf("README's Deploy to AWS does not document the context key `%s`", key)
		}
	}
}
