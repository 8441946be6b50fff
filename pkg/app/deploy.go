package app

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
)

// readDeployConfig reads the settings the CDK stack passes from its context:
// the default counter shards and the extra tracking paths.
func readDeployConfig(getenv func(string) string, cfg *Config) error {
	if s := getenv("REFX_COUNTER_SHARDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > refx.MaxShards {
			return fmt.Errorf("REFX_COUNTER_SHARDS=%q: want a whole number from 1 to %d", s, refx.MaxShards)
		}
		cfg.CounterShards = n
	}
	if s := getenv("REFX_TRACK_PATHS"); s != "" {
		for p := range strings.SplitSeq(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				cfg.TrackPaths = append(cfg.TrackPaths, p)
			}
		}
		if _, err := httpapi.TrackPathRoutes(cfg.TrackPaths); err != nil {
			return fmt.Errorf("REFX_TRACK_PATHS: %w", err)
		}
	}
	return nil
}
