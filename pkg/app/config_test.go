package app_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/app"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigFromEnv(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		cfg, err := app.ConfigFromEnv(envOf(nil))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Table != "refx" || cfg.CounterShards != 0 || cfg.TrackPaths != nil || cfg.AdminKeySecretARN != "" || cfg.UserTTL != 400*24*time.Hour || cfg.RequireApproval ||
			cfg.Trust != (app.TrustConfig{RatePerKey: app.DefaultRatePerKey, RatePerIP: app.DefaultRatePerIP}) {
			t.Fatalf("defaults = %+v", cfg)
		}
	})
	t.Run("DeploySettings", func(t *testing.T) {
		cfg, err := app.ConfigFromEnv(envOf(map[string]string{
			"REFX_COUNTER_SHARDS":       "16",
			"REFX_TRACK_PATHS":          "/t/e, /c,",
			"REFX_USER_TTL":             "2160h",
			"REFX_KEYLESS":              "true",
			"REFX_REQUIRE_APPROVAL":     "true",
			"REFX_RATE_PER_KEY":         "0",
			"REFX_RATE_PER_IP":          "2.5",
			"REFX_HASH_KEY_PREVIOUS":    "the-previous-hash-key",
			"REFX_ADMIN_KEY_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:refx-admin-AbCdEf",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.CounterShards != 16 || !slices.Equal(cfg.TrackPaths, []string{"/t/e", "/c"}) || cfg.UserTTL != 90*24*time.Hour || !cfg.RequireApproval ||
			cfg.AdminKeySecretARN != "arn:aws:secretsmanager:eu-west-1:123456789012:secret:refx-admin-AbCdEf" ||
			cfg.Trust != (app.TrustConfig{Keyless: true, RatePerKey: 0, RatePerIP: 2.5}) || cfg.Referral.PreviousHashKey != "the-previous-hash-key" {
			t.Fatalf("config = %+v", cfg)
		}
	})
	for _, tt := range []struct{ name, key, value, want string }{
		{"ErrShardsNotANumber", "REFX_COUNTER_SHARDS", "eight", "REFX_COUNTER_SHARDS"},
		{"ErrShardsZero", "REFX_COUNTER_SHARDS", "0", "REFX_COUNTER_SHARDS"},
		{"ErrShardsTooMany", "REFX_COUNTER_SHARDS", "65", "REFX_COUNTER_SHARDS"},
		{"ErrTrackPathShadowsRoute", "REFX_TRACK_PATHS", "/v1/assign", "REFX_TRACK_PATHS"},
		{"ErrTrackPathRelative", "REFX_TRACK_PATHS", "t/e", "REFX_TRACK_PATHS"},
		{"ErrTrackPathTwice", "REFX_TRACK_PATHS", "/t,/t", "REFX_TRACK_PATHS"},
		{"ErrUserTTLDays", "REFX_USER_TTL", "400d", "REFX_USER_TTL"},
		{"ErrUserTTLTooShort", "REFX_USER_TTL", "1h", "REFX_USER_TTL"},
		{"ErrKeylessNotABool", "REFX_KEYLESS", "yes please", "REFX_KEYLESS"},
		{"ErrRequireApprovalNotABool", "REFX_REQUIRE_APPROVAL", "on review", "REFX_REQUIRE_APPROVAL"},
		{"ErrRateNegative", "REFX_RATE_PER_KEY", "-1", "REFX_RATE_PER_KEY"},
		{"ErrRateNotANumber", "REFX_RATE_PER_IP", "fast", "REFX_RATE_PER_IP"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := app.ConfigFromEnv(envOf(map[string]string{tt.key: tt.value}))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ConfigFromEnv(%s=%q) = %v, want an error naming %s", tt.key, tt.value, err, tt.want)
			}
		})
	}
}
