package webhook_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/webhook"
)

func TestVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"evt_1","type":"referral.attributed"}`)
	const secret = "whsec_test"
	good := webhook.Sign(secret, now, body)
	for _, tc := range []struct {
		name, secret, header string
		body                 []byte
		at                   time.Time
		want                 error
	}{
		{"OK", secret, good, body, now, nil},
		{"OKWithinWindow", secret, good, body, now.Add(4 * time.Minute), nil},
		{"OKRotation", secret, "t=1800000000,v1=" + strings.Repeat("0", 64) + "," + strings.SplitN(good, ",", 2)[1], body, now, nil},
		{"ErrTamperedBody", secret, good, []byte(`{"id":"evt_1","type":"reward.approved"}`), now, webhook.ErrSignature},
		{"ErrStale", secret, good, body, now.Add(6 * time.Minute), webhook.ErrStale},
		{"ErrFuture", secret, good, body, now.Add(-6 * time.Minute), webhook.ErrStale},
		{"ErrWrongSecret", "whsec_other", good, body, now, webhook.ErrSignature},
		{"ErrNoHeader", secret, "", body, now, webhook.ErrNoSignature},
		{"ErrNoV1", secret, "t=1800000000", body, now, webhook.ErrNoSignature},
		{"ErrTimestampSwapped", secret, strings.Replace(good, "t=1800000000", "t=1800000001", 1), body, now, webhook.ErrSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := webhook.Verify(tc.secret, tc.header, tc.body, webhook.DefaultTolerance, tc.at)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	base, max := 30*time.Second, time.Hour
	for attempt, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 5: 8 * time.Minute, 7: 32 * time.Minute, 8: time.Hour, 40: time.Hour} {
		for range 50 {
			if d := webhook.Backoff(attempt, base, max); d < want/2 || d > want {
				t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
}

func TestCheckTarget(t *testing.T) {
	t.Parallel()
	strict, dev := webhook.Policy{}, webhook.Policy{AllowPrivate: true}
	for _, tc := range []struct {
		name   string
		policy webhook.Policy
		url    string
		ok     bool
	}{
		{"OKPublicIP", strict, "https://93.184.215.14/hooks/refx", true},
		{"ErrHTTP", strict, "http://93.184.215.14/hooks", false},
		{"ErrLoopback", strict, "https://127.0.0.1/hooks", false},
		{"ErrLocalhostName", strict, "https://localhost:8443/hooks", false},
		{"ErrPrivate", strict, "https://10.1.2.3/hooks", false},
		{"ErrMetadata", strict, "https://169.254.169.254/latest/meta-data", false},
		{"ErrIPv6Loopback", strict, "https://[::1]/hooks", false},
		{"ErrIPv4Mapped", strict, "https://[::ffff:127.0.0.1]/hooks", false},
		{"ErrCGNAT", strict, "https://100.64.0.1/hooks", false},
		{"ErrUnspecified", strict, "https://0.0.0.0/hooks", false},
		{"ErrCredentials", strict, "https://user:pw@93.184.215.14/hooks", false},
		{"ErrRelative", strict, "/hooks", false},
		{"ErrScheme", dev, "ftp://127.0.0.1/hooks", false},
		{"OKDevLoopback", dev, "http://127.0.0.1:9000/hooks", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.CheckTarget(context.Background(), tc.url)
			if tc.ok != (err == nil) {
				t.Fatalf("CheckTarget(%q) = %v", tc.url, err)
			}
			if err != nil && (refx.ErrorCode(err) != refx.EINVALID || refx.ErrorField(err) != "url") {
				t.Fatalf("CheckTarget(%q) = %v, want EINVALID on field url", tc.url, err)
			}
		})
	}
	if webhook.Private(netip.MustParseAddr("8.8.8.8")) || !webhook.Private(netip.MustParseAddr("fd00:ec2::254")) {
		t.Fatal("Private misjudges a public or the IPv6 metadata address")
	}
}
