package app

import (
	"fmt"
	"strconv"
)

// Default rate limits of a deployed stage, per function instance (see
// httpapi's ratelimit.go): a busy site's pages share one client key, so
// the key's limit is generous; one address sending more than 20 requests a
// second to one instance is a script, not a visitor.
const (
	DefaultRatePerKey = 500
	DefaultRatePerIP  = 20
)

// TrustConfig is how public callers are admitted.
type TrustConfig struct {
	// Keyless lets requests without a key through, untrusted
	// (REFX_KEYLESS=true): Lamed/Alephbet's behaviour before keys. Off
	// unless set.
	Keyless bool
	// RatePerKey and RatePerIP are requests a second per key and per
	// address, per instance (REFX_RATE_PER_KEY, REFX_RATE_PER_IP; 0 turns
	// one off).
	RatePerKey, RatePerIP float64
}

func readTrustConfig(getenv func(string) string, cfg *TrustConfig) error {
	cfg.RatePerKey, cfg.RatePerIP = DefaultRatePerKey, DefaultRatePerIP
	if s := getenv("REFX_KEYLESS"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("REFX_KEYLESS=%q: want true or false", s)
		}
		cfg.Keyless = b
	}
	for _, r := range []struct {
		name string
		rate *float64
	}{{"REFX_RATE_PER_KEY", &cfg.RatePerKey}, {"REFX_RATE_PER_IP", &cfg.RatePerIP}} {
		s := getenv(r.name)
		if s == "" {
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < 0 || v > 1e6 {
			return fmt.Errorf("%s=%q: want requests a second, 0 for no limit", r.name, s)
		}
		*r.rate = v
	}
	return nil
}
