package app_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/app"
	"github.com/refx-dev/refx/pkg/refx"
)

func TestConfigLamedLimits(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		cfg, err := app.ConfigFromEnv(envOf(nil))
		if err != nil {
			t.Fatal(err)
		}
		want := refx.LamedLimits{MaxExperiments: 100, MaxVariants: 8, MaxGoals: 16}
		if l := cfg.Lamed; l.Namespaces != nil || l.MaxExperiments != want.MaxExperiments || l.MaxVariants != want.MaxVariants || l.MaxGoals != want.MaxGoals {
			t.Fatalf("Lamed = %+v, want %+v", l, want)
		}
	})
	t.Run("Set", func(t *testing.T) {
		cfg, err := app.ConfigFromEnv(envOf(map[string]string{
			"REFX_LAMED_NAMESPACES":      " shop, blog ,",
			"REFX_LAMED_MAX_EXPERIMENTS": "20",
			"REFX_LAMED_MAX_VARIANTS":    "16",
			"REFX_LAMED_MAX_GOALS":       "32",
		}))
		if err != nil {
			t.Fatal(err)
		}
		l := cfg.Lamed
		if !slices.Equal(l.Namespaces, []string{"shop", "blog"}) || l.MaxExperiments != 20 || l.MaxVariants != 16 || l.MaxGoals != 32 {
			t.Fatalf("Lamed = %+v", l)
		}
	})
	for _, tt := range []struct{ env, value, want string }{
		{"REFX_LAMED_MAX_EXPERIMENTS", "0", "REFX_LAMED_MAX_EXPERIMENTS=\"0\": want a whole number"},
		{"REFX_LAMED_MAX_EXPERIMENTS", "ten", "REFX_LAMED_MAX_EXPERIMENTS=\"ten\""},
		{"REFX_LAMED_MAX_EXPERIMENTS", "10001", "REFX_LAMED_MAX_EXPERIMENTS: 10001: want 1 to 10000"},
		{"REFX_LAMED_MAX_VARIANTS", "1", "REFX_LAMED_MAX_VARIANTS: 1: want 2 to 16"},
		{"REFX_LAMED_MAX_VARIANTS", "17", "REFX_LAMED_MAX_VARIANTS: 17: want 2 to 16"},
		{"REFX_LAMED_MAX_GOALS", "33", "REFX_LAMED_MAX_GOALS: 33: want 1 to 32"},
		{"REFX_LAMED_NAMESPACES", "shop,a#b", `REFX_LAMED_NAMESPACES: "a#b" is not a namespace`},
	} {
		t.Run("Err"+tt.env+"="+tt.value, func(t *testing.T) {
			_, err := app.ConfigFromEnv(envOf(map[string]string{tt.env: tt.value}))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
