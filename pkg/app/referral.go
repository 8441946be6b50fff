package app

import (
	"fmt"
	"net/url"
)

// ReferralConfig configures referral links.
type ReferralConfig struct {
	// PublicURL is the base URL of referral links (REFX_PUBLIC_URL, e.g. a
	// custom domain); empty means the URL requests come to.
	PublicURL string
	// FallbackURL is where unknown or expired links lead
	// (REFX_FALLBACK_URL); empty means a built-in page.
	FallbackURL string
	// HashKey keys the hashes of IP addresses and device fingerprints
	// (REFX_HASH_KEY); empty means the admin key, so that a deployment
	// always has a secret key without another setting.
	HashKey string
	// PreviousHashKey is the hash key before the last rotation
	// (REFX_HASH_KEY_PREVIOUS, or the secret's AWSPREVIOUS version when
	// the key comes from Secrets Manager): the guards still compare the
	// markers it hashed, so a rotation opens no gap in the repeated-IP and
	// device guards.
	PreviousHashKey string
}

func readReferralConfig(getenv func(string) string, cfg *ReferralConfig) error {
	cfg.PublicURL = getenv("REFX_PUBLIC_URL")
	cfg.FallbackURL = getenv("REFX_FALLBACK_URL")
	cfg.HashKey = getenv("REFX_HASH_KEY")
	cfg.PreviousHashKey = getenv("REFX_HASH_KEY_PREVIOUS")
	for name, v := range map[string]string{"REFX_PUBLIC_URL": cfg.PublicURL, "REFX_FALLBACK_URL": cfg.FallbackURL} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return fmt.Errorf("%s=%q: want an absolute http(s) URL", name, v)
		}
	}
	for name, key := range map[string]string{"REFX_HASH_KEY": cfg.HashKey, "REFX_HASH_KEY_PREVIOUS": cfg.PreviousHashKey} {
		if key != "" && len(key) < 16 {
			return fmt.Errorf("%s is too short: use at least 16 characters", name)
		}
	}
	return nil
}

func (c ReferralConfig) hashKey(adminKey string) []byte {
	if c.HashKey != "" {
		return []byte(c.HashKey)
	}
	return []byte("refx-hash:" + adminKey)
}
