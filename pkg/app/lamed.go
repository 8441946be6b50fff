package app

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/refx-dev/refx/pkg/refx"
)

// readLamedConfig reads the limits of Alephbet/Lamed clients:
// REFX_LAMED_NAMESPACES (comma-separated; empty allows any namespace),
// REFX_LAMED_MAX_EXPERIMENTS per namespace, REFX_LAMED_MAX_VARIANTS and
// REFX_LAMED_MAX_GOALS per experiment (defaults refx.DefaultLamedMax*).
func readLamedConfig(getenv func(string) string, l *refx.LamedLimits) error {
	for ns := range strings.SplitSeq(getenv("REFX_LAMED_NAMESPACES"), ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			l.Namespaces = append(l.Namespaces, ns)
		}
	}
	numbers := []struct {
		env, field string
		to         *int
	}{
		{"REFX_LAMED_MAX_EXPERIMENTS", "max_experiments", &l.MaxExperiments},
		{"REFX_LAMED_MAX_VARIANTS", "max_variants", &l.MaxVariants},
		{"REFX_LAMED_MAX_GOALS", "max_goals", &l.MaxGoals},
	}
	for _, n := range numbers {
		s := getenv(n.env)
		if s == "" {
			continue
		}
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			return fmt.Errorf("%s=%q: want a whole number of at least 1", n.env, s)
		}
		*n.to = v
	}
	*l = l.WithDefaults()
	err := l.Validate()
	var invalid *refx.Error
	if !errors.As(err, &invalid) {
		return err
	}
	env := "REFX_LAMED_NAMESPACES"
	for _, n := range numbers {
		if n.field == invalid.Field {
			env = n.env
		}
	}
	return fmt.Errorf("%s: %s", env, invalid.Message)
}
