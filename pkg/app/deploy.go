package app

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
)

// readDeployConfig reads the settings the CDK stack passes from its context:
// the default counter shards, the extra tracking paths and whether launches
// need an approval.
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
	if s := getenv("REFX_REQUIRE_APPROVAL"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("REFX_REQUIRE_APPROVAL=%q: want true or false", s)
		}
		cfg.RequireApproval = b
	}
	return nil
}
