package webhook

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
)

// blockedPrefixes are the ranges a webhook may not reach beyond what
// netip's predicates name: carrier-grade NAT, and the IPv4 range reserved
// for benchmarks and the unspecified "this network".
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("0.0.0.0/8"),
}

// Private reports whether a webhook must not reach addr: loopback,
// private, link-local (which holds the cloud metadata address
// 169.254.169.254; fd00:ec2::254 is private), multicast, unspecified or
// another non-public range. IPv4-mapped IPv6 addresses are judged as IPv4.
func Private(addr netip.Addr) bool {
	addr = addr.Unmap()
	if addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() ||
		addr.IsInterfaceLocalMulticast() || addr.IsMulticast() || addr.IsUnspecified() || !addr.IsValid() {
		return true
	}
	for _, p := range blockedPrefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Policy is what a deployment lets subscriptions target.
type Policy struct {
	// AllowPrivate lets subscriptions target private and loopback hosts
	// over plain http (REFX_WEBHOOK_ALLOW_PRIVATE=true): for ./scripts/dev
	// and tests, whose receivers listen on loopback. Off, a URL must be
	// https to a public address.
	AllowPrivate bool
	// Resolver looks hosts up (default net.DefaultResolver).
	Resolver *net.Resolver
}

// PolicyFromEnv reads REFX_WEBHOOK_ALLOW_PRIVATE (true or false, default
// false) through getenv.
func PolicyFromEnv(getenv func(string) string) (Policy, error) {
	s := getenv("REFX_WEBHOOK_ALLOW_PRIVATE")
	if s == "" {
		return Policy{}, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return Policy{}, fmt.Errorf("REFX_WEBHOOK_ALLOW_PRIVATE=%q: want true or false", s)
	}
	return Policy{AllowPrivate: b}, nil
}

// CheckTarget checks a subscription URL against the policy when it is
// created or changed: its shape, https, and every address its host
// resolves to. EINVALID with field url. The check is made again at every
// connection (Client), since a host may resolve elsewhere later.
func (p Policy) CheckTarget(ctx context.Context, raw string) error {
	if err := refx.ValidateWebhookURL(raw); err != nil {
		return err
	}
	if p.AllowPrivate {
		return nil
	}
	u, _ := url.Parse(raw) // ValidateWebhookURL parsed it
	if u.Scheme != "https" {
		return refx.FieldErrorf("url", "must be an https URL")
	}
	host := u.Hostname()
	if addr, err := netip.ParseAddr(host); err == nil {
		if Private(addr) {
			return refx.FieldErrorf("url", "must not target a private, loopback or link-local address (%s)", addr)
		}
		return nil
	}
	r := p.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return refx.FieldErrorf("url", "host %s does not resolve", host)
	}
	for _, a := range addrs {
		if Private(a) {
			return refx.FieldErrorf("url", "host %s resolves to a private, loopback or link-local address (%s)", host, a.Unmap())
		}
	}
	return nil
}

// Client returns the HTTP client deliveries go through: timeout per
// attempt, no redirects followed (a 3xx is a failed attempt: a redirect
// could lead anywhere), no proxy from the environment, and unless the
// policy allows private targets, a dialer that refuses private addresses
// at connection time, after DNS resolution, so that a host re-pointed at
// an internal address after its check (DNS rebinding) is still refused.
func (p Policy) Client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout}
	if !p.AllowPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("webhook: unexpected address %q", address)
			}
			if Private(ap.Addr()) {
				return fmt.Errorf("webhook: refusing to connect to private address %s", ap.Addr())
			}
			return nil
		}
	}
	transport := &http.Transport{
		DialContext:         dialer.DialContext,
		TLSHandshakeTimeout: timeout,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{
		Timeout:   timeout,
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
