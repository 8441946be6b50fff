package dashboard_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/headless"
)

// TestSignInWithAdminKey: the login form takes a person's admin key of any
// role, as it takes the bootstrap key, and the top bar then names the
// person and the role; a revoked key is refused at the form.
func TestSignInWithAdminKey(t *testing.T) {
	stack := MustStack(t)
	c := client{t, stack.URL, stack.SecretKey()}
	var viewer, gone struct{ ID, Key string }
	c.must("POST", "/v1/keys", map[string]any{"kind": "admin", "name": "Vera", "role": "viewer"}, true, http.StatusCreated, &viewer)
	c.must("POST", "/v1/keys", map[string]any{"kind": "admin", "name": "Gus", "role": "owner"}, true, http.StatusCreated, &gone)
	c.must("DELETE", "/v1/keys/"+gone.ID, nil, true, http.StatusOK, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := headless.MustStart(t, headless.Options{Width: 1280, Height: 900})
	hp, err := b.NewIsolatedPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := page{Page: hp, tb: t, ctx: ctx, dir: artifactDir(t), base: stack.URL}
	if err := p.Navigate(ctx, stack.URL+"/dashboard"); err != nil {
		t.Fatal(err)
	}
	p.wait(`document.querySelector('#admin-key')`)
	if got := p.text("form"); !strings.Contains(got, "rfx_adm_") {
		t.Errorf("the login form does not mention admin keys: %q", got)
	}
	p.set("#admin-key", gone.Key)
	p.click("form button[type=submit]")
	p.wait(`(document.querySelector('.error') || {}).textContent?.includes('refused')`)

	p.set("#admin-key", viewer.Key)
	p.click("form button[type=submit]")
	p.wait(`document.querySelector('#experiments') && !document.querySelector('#whoami').hidden`)
	if got := p.text("#whoami"); got != "Vera (viewer)" {
		t.Errorf("the top bar shows %q, want Vera (viewer)", got)
	}
	p.shot("", "signed-in-viewer")
}
