package app

import (
	"slices"
	"testing"
)

func TestParseAllowedOrigins(t *testing.T) {
	t.Parallel()
	ok := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  ", nil},
		{"*", []string{"*"}},
		{"https://shop.example", []string{"https://shop.example"}},
		{"https://Shop.Example/, http://localhost:3000", []string{"https://shop.example", "http://localhost:3000"}},
	}
	for _, tt := range ok {
		got, err := ParseAllowedOrigins(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseAllowedOrigins(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"shop.example", "ftp://shop.example", "https://shop.example/path", "https://shop.example?x=1",
		"https://user@shop.example", "*, https://shop.example", "https://a.example,,https://b.example", "null"} {
		if got, err := ParseAllowedOrigins(bad); err == nil {
			t.Errorf("ParseAllowedOrigins(%q) = %q, want an error", bad, got)
		}
	}
}

func TestConfigAllowedOrigins(t *testing.T) {
	t.Parallel()
	env := map[string]string{"REFX_ALLOWED_ORIGINS": "https://shop.example"}
	cfg, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || !slices.Equal(cfg.AllowedOrigins, []string{"https://shop.example"}) {
		t.Fatalf("AllowedOrigins = %q, %v", cfg.AllowedOrigins, err)
	}
	env["REFX_ALLOWED_ORIGINS"] = "shop.example"
	if _, err := ConfigFromEnv(func(k string) string { return env[k] }); err == nil {
		t.Fatal("a bad origin is accepted")
	}
}
