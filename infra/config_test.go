package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/app"
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
		if c.Production || c.Keyless || c.RatePerKey != app.DefaultRatePerKey || c.RatePerIP != app.DefaultRatePerIP || c.ReservedConcurrency != 0 ||
			c.Lamed.Namespaces != nil || c.Lamed.MaxExperiments != 100 || c.Lamed.MaxVariants != 8 || c.Lamed.MaxGoals != 16 ||
			c.UserTTL != 9600*time.Hour || c.ExportRetentionDays != 0 || c.AlarmEmailOptOut || !c.RequireApproval {
			t.Fatalf("trust defaults = %+v", c)
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
		if !c.Production || !c.Keyless || c.RatePerKey != 100 || c.RatePerIP != 0 || c.ReservedConcurrency != 50 ||
			!slices.Equal(c.Lamed.Namespaces, []string{"alephbet", "shop"}) || c.Lamed.MaxExperiments != 200 ||
			c.Lamed.MaxVariants != 4 || c.Lamed.MaxGoals != 8 || c.UserTTL != 4800*time.Hour || c.ExportRetentionDays != 400 {
			t.Fatalf("trust config = %+v", c)
		}
	})
	t.Run("CommandLineStrings", func(t *testing.T) {
		// cdk deploy -c key=value passes every value as a string.
		c, err := ConfigFromContext(get(map[string]any{
			"stage": "staging", "retainData": "false", "allowedOrigins": "https://a.example.com, https://b.example.com",
			"counterShards": "4", "trackPaths": "/t", "throttleRate": "50",
			"alarmEmailOptOut": "true", "keyless": "true", "ratePerKey": "0", "ratePerIp": "5", "reservedConcurrency": "10",
			"lamedNamespaces": "alephbet, shop", "lamedMaxGoals": "32", "userTtl": "720h", "exportRetentionDays": "0",
			"requireApproval": "false",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if c.Stage != "staging" || c.RetainData || c.CounterShards != 4 || c.ThrottleRate != 50 ||
			!slices.Equal(c.AllowedOrigins, []string{"https://a.example.com", "https://b.example.com"}) ||
			!slices.Equal(c.TrackPaths, []string{"/t"}) {
			t.Fatalf("config = %+v", c)
		}
		// exportRetentionDays=0 set explicitly keeps a production stage's
		// export forever.
		if !c.Production || !c.AlarmEmailOptOut || !c.Keyless || c.RatePerKey != 0 || c.RatePerIP != 5 || c.ReservedConcurrency != 10 ||
			!slices.Equal(c.Lamed.Namespaces, []string{"alephbet", "shop"}) || c.Lamed.MaxGoals != 32 || c.UserTTL != 720*time.Hour ||
			c.ExportRetentionDays != 0 || c.RequireApproval {
			t.Fatalf("trust config = %+v", c)
		}
	})
	t.Run("ProductionOutsideDev", func(t *testing.T) {
		c, err := ConfigFromContext(get(map[string]any{"stage": "live", "alarmEmail": "oncall@example.com"}))
		if err != nil || !c.Production || !c.RetainData || c.ExportRetentionDays != productionExportRetentionDays {
			t.Fatalf("live: production %v, retain %v, export retention %d, %v", c.Production, c.RetainData, c.ExportRetentionDays, err)
		}
	})
	t.Run("NotProduction", func(t *testing.T) {
		// A stage declared not production needs no alarm e-mail and
		// keeps dev's defaults, unless set one by one.
		c, err := ConfigFromContext(get(map[string]any{"stage": "demo", "production": false}))
		if err != nil || c.Production || c.RetainData || c.ExportRetentionDays != 0 {
			t.Fatalf("demo: production %v, retain %v, export retention %d, %v", c.Production, c.RetainData, c.ExportRetentionDays, err)
		}
	})
	for _, tt := range []struct {
		name string
		ctx  map[string]any
	}{
		{"ErrProductionWithoutAlarmEmail", map[string]any{"stage": "prod"}},
		{"ErrProductionWithEmptyAlarmEmail", map[string]any{"stage": "prod", "alarmEmail": ""}},
		{"ErrDevDeclaredProduction", map[string]any{"production": "true"}},
		{"ErrOptOutFalse", map[string]any{"stage": "prod", "alarmEmailOptOut": false}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ConfigFromContext(get(tt.ctx))
			if err == nil || !strings.Contains(err.Error(), "alarmEmail=") || !strings.Contains(err.Error(), "alarmEmailOptOut=true") {
				t.Fatalf("%v: err = %v, want one naming alarmEmail and alarmEmailOptOut", tt.ctx, err)
			}
		})
	}
	t.Run("ProductionOptOut", func(t *testing.T) {
		if _, err := ConfigFromContext(get(map[string]any{"stage": "prod", "alarmEmailOptOut": true})); err != nil {
			t.Fatal(err)
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
		{"ErrEmailNumber", "alarmEmail", 5.0},
		{"ErrProduction", "production", "maybe"},
		{"ErrOptOut", "alarmEmailOptOut", "yes"},
		{"ErrKeyless", "keyless", 1.5},
		{"ErrRequireApproval", "requireApproval", "sometimes"},
		{"ErrRatePerKey", "ratePerKey", -1.0},
		{"ErrRatePerIP", "ratePerIp", "fast"},
		{"ErrReservedZero", "reservedConcurrency", 0.0},
		{"ErrReservedFraction", "reservedConcurrency", "2.5"},
		{"ErrLamedNamespace", "lamedNamespaces", []any{"shop", "a#b"}},
		{"ErrLamedNamespaceComma", "lamedNamespaces", []any{"a,b"}},
		{"ErrLamedNamespaceType", "lamedNamespaces", 3.0},
		{"ErrLamedMaxExperiments", "lamedMaxExperiments", 0.0},
		{"ErrLamedMaxExperimentsAbove", "lamedMaxExperiments", 10001.0},
		{"ErrLamedMaxGoalsText", "lamedMaxGoals", "many"},
		{"ErrLamedMaxVariantsOne", "lamedMaxVariants", 1.0},
		{"ErrLamedMaxVariantsAboveExperiments", "lamedMaxVariants", 17.0},
		{"ErrLamedMaxGoals", "lamedMaxGoals", 33.0},
		{"ErrUserTTLShort", "userTtl", "1h"},
		{"ErrUserTTLDays", "userTtl", "400d"},
		{"ErrUserTTLNumber", "userTtl", 400.0},
		{"ErrExportRetention", "exportRetentionDays", -1.0},
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
