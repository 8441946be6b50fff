package refx_test

import (
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
)

func TestValidateVanityCode(t *testing.T) {
	for _, tc := range []struct {
		code string
		ok   bool
	}{
		{"JANE10", true},
		{"SPRING-SALE-2026", true},
		{"ABCD", true},
		{"23456789", true}, // a random code's shape
		{"ABC", false},
		{"ABCDEFGHIJKLMNOPQRSTUVWXY", false}, // 25
		{"-JANE", false},
		{"JANE-", false},
		{"JANE_10", false},
		{"jane10", false}, // not normalized
		{"ADMIN", false},
		{"A-D-M-I-N", false},
		{"REFX", false},
		{"LEADERBOARD", false},
		{"FUCK10", false},
		{"SH1T", false},
		{"ASSASSIN", true}, // go-away's false positives are allowed
		{"SCUNTHORPE", true},
	} {
		err := refx.ValidateVanityCode(tc.code)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateVanityCode(%q) = %v, want ok %v", tc.code, err, tc.ok)
		}
		if err != nil && (refx.ErrorCode(err) != refx.EINVALID || err.(*refx.Error).Field != "code") {
			t.Errorf("ValidateVanityCode(%q) = %#v, want invalid_argument on field code", tc.code, err)
		}
	}
}

func TestValidCodeAcceptsRandomAndVanity(t *testing.T) {
	for range 100 {
		if c := refx.NewCode(); !refx.ValidCode(c) {
			t.Fatalf("random code %q not valid", c)
		}
	}
	if !refx.ValidCode("JANE-10") || refx.ValidCode("JA") || refx.ValidCode("JANE 10") {
		t.Fatal("ValidCode disagrees with the vanity shape")
	}
}

func TestNormalizeChannel(t *testing.T) {
	for _, tc := range []struct{ channel, source, want string }{
		{"", "", refx.ChannelDirect},
		{"Email", "", "email"},
		{"", "newsletter", "email"},
		{"whatsapp", "facebook", "whatsapp"},
		{"Twitter", "", "x"},
		{"carrier-pigeon", "", refx.ChannelOther},
		{"unknown", "", refx.ChannelOther}, // reserved for signups without a click
		{"<script>", "", refx.ChannelOther},
	} {
		if got := refx.NormalizeChannel(tc.channel, tc.source); got != tc.want {
			t.Errorf("NormalizeChannel(%q, %q) = %q, want %q", tc.channel, tc.source, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"spring_sale", "spring_sale"},
		{"héllo wörld", "héllo wörld"},
		{"bad\x00byte", ""},
		{"tab\there", ""},
		{string(make([]byte, 65)), ""},
		{"\xff", ""},
	} {
		if got := refx.CleanUTM(tc.in); got != tc.want {
			t.Errorf("CleanUTM(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCodeRequestValidate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	past, far := now.Add(-time.Hour), now.AddDate(11, 0, 0)
	for name, tc := range map[string]struct {
		req   refx.CodeRequest
		field string
	}{
		"OK":            {refx.CodeRequest{Experiment: "ref", Referrer: "u1", Code: " jane10 "}, ""},
		"Random":        {refx.CodeRequest{Experiment: "ref", Referrer: "u1"}, ""},
		"BadExperiment": {refx.CodeRequest{Experiment: "Bad Id", Referrer: "u1"}, "experiment"},
		"Reserved":      {refx.CodeRequest{Experiment: "ref", Referrer: "u1", Code: "admin"}, "code"},
		"Past":          {refx.CodeRequest{Experiment: "ref", Referrer: "u1", ExpiresAt: &past}, "expires_at"},
		"Far":           {refx.CodeRequest{Experiment: "ref", Referrer: "u1", ExpiresAt: &far}, "expires_at"},
	} {
		t.Run(name, func(t *testing.T) {
			tc.req.Normalize()
			err := tc.req.Validate(now)
			var field string
			if e, ok := err.(*refx.Error); ok {
				field = e.Field
			}
			if field != tc.field || (tc.field == "") != (err == nil) {
				t.Fatalf("Validate = %v, want an error on %q", err, tc.field)
			}
		})
	}
}

func TestCodeExpiry(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	own := created.Add(time.Hour)
	if got := refx.CodeExpiry(created, nil, &refx.ReferralConfig{}); got != nil {
		t.Errorf("no ttl: %v, want never", got)
	}
	if got := refx.CodeExpiry(created, nil, &refx.ReferralConfig{CodeTTLDays: 7}); got == nil || !got.Equal(created.AddDate(0, 0, 7)) {
		t.Errorf("ttl 7 days: %v", got)
	}
	if got := refx.CodeExpiry(created, &own, &refx.ReferralConfig{CodeTTLDays: 7}); got == nil || !got.Equal(own) {
		t.Errorf("own expiry: %v, want %v", got, own)
	}
}
