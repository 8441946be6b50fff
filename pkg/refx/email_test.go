package refx_test

import (
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/refx"
)

func TestValidEmail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{" Alice@Example.COM ", true}, // normalized first
		{"a+tag@shop.example", true},
		{"ülkü@bücher.example", true},
		{"alice", false},
		{"@example.com", false},
		{"alice@", false},
		{"alice@localhost", false},
		{"alice@.example", false},
		{"alice@example.", false},
		{"a@b@example.com", false},
		{"ali ce@example.com", false},
		{"alice@exa\u202emple.com", false}, // a bidi override
		{"alice@exa\x00mple.com", false},
		{strings.Repeat("a", 243) + "@example.com", false}, // 255 bytes
		{strings.Repeat("a", 242) + "@example.com", true},  // 254
	} {
		if got := refx.ValidEmail(refx.NormalizeEmail(tc.in)); got != tc.want {
			t.Errorf("ValidEmail(NormalizeEmail(%q)) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if refx.ValidEmail("\xff@example.com") {
		t.Error("ValidEmail accepts invalid UTF-8")
	}
	if got := refx.NormalizeEmail(" Alice@Example.COM\t"); got != "alice@example.com" {
		t.Errorf("NormalizeEmail = %q", got)
	}
}
