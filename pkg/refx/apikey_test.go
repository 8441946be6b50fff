package refx_test

import (
	"errors"
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

// TestIssueAdminKey: an admin key is a person's, with a role and nothing
// of a public key (origins, environment); its actor names the person.
func TestIssueAdminKey(t *testing.T) {
	for _, role := range refx.AdminRoles {
		t.Run(string(role), func(t *testing.T) {
			issued, err := refx.NewKey{Name: "Alice Example", Kind: refx.KeyAdmin, Role: role}.Issue(time.Now())
			if err != nil {
				t.Fatal(err)
			}
			kind, id, ok := refx.ParseKeyToken(issued.Key)
			if !ok || kind != refx.KeyAdmin || id != issued.ID || !strings.HasPrefix(issued.Key, "rfx_adm_") ||
				issued.Role != role || issued.Environment != "" || len(issued.Origins) != 0 {
				t.Fatalf("admin key %q parses as %v %q %v; issued %+v", issued.Key, kind, id, ok, issued.APIKey)
			}
			want := refx.Actor{ID: "admin:" + issued.ID, Name: "Alice Example", Role: role}
			if got := issued.Actor(); got != want {
				t.Fatalf("Actor() = %+v, want %+v", got, want)
			}
		})
	}
	secret, _ := refx.NewKey{Name: "backend", Kind: refx.KeySecret}.Issue(time.Now())
	if got := secret.Actor(); got != (refx.Actor{ID: "secret:" + secret.ID, Name: "backend"}) {
		t.Errorf("secret key's Actor() = %+v", got)
	}
	if !refx.BootstrapActor.Role.Allows(refx.RoleOwner) || refx.BootstrapActor.ID != "bootstrap" {
		t.Errorf("BootstrapActor = %+v, want the owner bootstrap", refx.BootstrapActor)
	}
}

func TestIssueKeyRoleErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		key   refx.NewKey
		field string
	}{
		{"AdminWithoutRole", refx.NewKey{Name: "a", Kind: refx.KeyAdmin}, "role"},
		{"AdminUnknownRole", refx.NewKey{Name: "a", Kind: refx.KeyAdmin, Role: "root"}, "role"},
		{"AdminRoleCase", refx.NewKey{Name: "a", Kind: refx.KeyAdmin, Role: "Owner"}, "role"},
		{"AdminWithOrigins", refx.NewKey{Name: "a", Kind: refx.KeyAdmin, Role: refx.RoleViewer, Origins: []string{"*"}}, "origins"},
		{"AdminWithEnvironment", refx.NewKey{Name: "a", Kind: refx.KeyAdmin, Role: refx.RoleViewer, Environment: "staging"}, "environment"},
		{"AdminWithoutName", refx.NewKey{Kind: refx.KeyAdmin, Role: refx.RoleViewer}, "name"},
		{"SecretWithRole", refx.NewKey{Name: "a", Kind: refx.KeySecret, Role: refx.RoleOwner}, "role"},
		{"ClientWithRole", refx.NewKey{Name: "a", Kind: refx.KeyClient, Origins: []string{"*"}, Role: refx.RoleViewer}, "role"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.key.Issue(time.Now())
			var e *refx.Error
			if !errors.As(err, &e) || e.Code != refx.EINVALID || e.Field != tt.field {
				t.Fatalf("Issue(%+v) = %v, want invalid %s", tt.key, err, tt.field)
			}
		})
	}
	if err := refx.ValidateAdminRole(""); refx.ErrorCode(err) != refx.EINVALID || !strings.Contains(err.Error(), "viewer, editor, approver, owner") {
		t.Errorf("ValidateAdminRole(\"\") = %v", err)
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
		if !refx.ValidKeyID(id) || !strings.HasPrefix(token, map[refx.KeyKind]string{refx.KeyClient: "rfx_pub_", refx.KeySecret: "rfx_sec_", refx.KeyAdmin: "rfx_adm_"}[kind]+id+"_") {
			t.Fatalf("ParseKeyToken(%q) = %v %q", token, kind, id)
		}
	})
}
