package refx_test

import (
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
)

func TestIssueKey(t *testing.T) {
	for _, kind := range []refx.KeyKind{refx.KeyClient, refx.KeySecret} {
		n := refx.NewKey{Name: "site", Kind: kind}
		if kind == refx.KeyClient {
			n.Origins = []string{"HTTPS://Shop.Example/", "*"}
		}
		issued, err := n.Issue(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		gotKind, id, ok := refx.ParseKeyToken(issued.Key)
		if !ok || gotKind != kind || id != issued.ID || issued.Digest != refx.KeyDigest(issued.Key) ||
			!strings.HasSuffix(issued.Key, issued.Hint) || strings.Contains(issued.Digest, issued.Key) {
			t.Fatalf("%s key %q parses as %v %q %v; issued %+v", kind, issued.Key, gotKind, id, ok, issued.APIKey)
		}
		if issued.Environment != refx.DefaultKeyEnvironment {
			t.Fatalf("environment %q, want the default", issued.Environment)
		}
		if kind == refx.KeyClient && (issued.Origins[0] != "https://shop.example" || !issued.AllowsOrigin("https://anything.example")) {
			t.Fatalf("origins %v", issued.Origins)
		}
	}
	if (&refx.APIKey{Origins: []string{"*"}}).AllowsOrigin("null") {
		t.Error(`a key for any origin allows "null"`)
	}
	bound := &refx.APIKey{Origins: []string{"https://shop.example"}}
	for origin, want := range map[string]bool{
		"https://shop.example": true, "https://SHOP.example": true, "http://shop.example": false,
		"https://shop.example.evil.example": false, "null": false, "": false,
	} {
		if got := bound.AllowsOrigin(origin); got != want {
			t.Errorf("AllowsOrigin(%q) = %v, want %v", origin, got, want)
		}
	}
}

// FuzzParseKeyToken: whatever a client presents, parsing never panics, and
// what it accepts is shaped like an issued key.
func FuzzParseKeyToken(f *testing.F) {
	issued, _ := refx.NewKey{Name: "x", Kind: refx.KeySecret}.Issue(time.Now())
	f.Add(issued.Key)
	f.Add("rfx_pub_0123456789abcdef_")
	f.Add("rfx_sec_" + strings.Repeat("z", 16) + "_" + strings.Repeat("0", 64))
	f.Fuzz(func(t *testing.T, token string) {
		kind, id, ok := refx.ParseKeyToken(token)
		if !ok {
			return
		}
		if !refx.ValidKeyID(id) || !strings.HasPrefix(token, map[refx.KeyKind]string{refx.KeyClient: "rfx_pub_", refx.KeySecret: "rfx_sec_"}[kind]+id+"_") {
			t.Fatalf("ParseKeyToken(%q) = %v %q", token, kind, id)
		}
	})
}
