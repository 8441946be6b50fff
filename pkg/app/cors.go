package app

import (
	"fmt"
	"net/url"
	"strings"
)

// readCORSConfig reads REFX_ALLOWED_ORIGINS.
func readCORSConfig(getenv func(string) string, cfg *Config) error {
	origins, err := ParseAllowedOrigins(getenv("REFX_ALLOWED_ORIGINS"))
	if err != nil {
		return fmt.Errorf("REFX_ALLOWED_ORIGINS: %w", err)
	}
	cfg.AllowedOrigins = origins
	return nil
}

// ParseAllowedOrigins parses a comma-separated list of origins browsers may
// call the API from: each scheme://host[:port], as browsers send them in
// the Origin header (no path, no trailing slash), or "*" for every origin,
// which must then be the only entry, so that it is never allowed by
// accident next to real ones. Empty allows none (same-origin pages only).
// Origins are returned lower-cased.
func ParseAllowedOrigins(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	for _, o := range strings.Split(s, ",") {
		o = strings.TrimSpace(o)
		if o == "*" {
			out = append(out, o)
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("%q is not an origin: want scheme://host[:port], like https://shop.example, or *", o)
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	if len(out) > 1 {
		for _, o := range out {
			if o == "*" {
				return nil, fmt.Errorf("* allows every origin: list it alone, or list origins")
			}
		}
	}
	return out, nil
}
