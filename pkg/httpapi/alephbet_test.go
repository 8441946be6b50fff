package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/headless"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/installtest"
)

// alephbetBundle returns the real Alephbet browser bundle, installed from
// npm by scripts/install-alephbet.
func alephbetBundle(t *testing.T) []byte {
	t.Helper()
	path := installtest.Script(t, "scripts/install-alephbet")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// alephbetPage is a landing page using Alephbet with its LamedAdapter
// pointed at refx: an experiment with a unique goal and a non-unique one.
const alephbetPage = `<!doctype html><title>alephbet</title>
<script src="/alephbet.min.js"></script>
<button id="signup">Sign up</button>
<script>
const adapter = new AlephBet.LamedAdapter(%q, "browser-test");
const experiment = new AlephBet.Experiment({
  name: "button color",
  variants: {red: {activate() { document.body.dataset.variant = "red"; }},
             blue: {activate() { document.body.dataset.variant = "blue"; }}},
  tracking_adapter: adapter,
});
const signedUp = new AlephBet.Goal("signed up");
const pageView = new AlephBet.Goal("page view", {unique: false});
experiment.add_goal(signedUp);
experiment.add_goal(pageView);
pageView.complete();
document.getElementById("signup").onclick = () => signedUp.complete();
</script>`

// TestAlephbetInChromium runs the real Alephbet client, npm alephbet@0.27.0,
// in headless Chromium against refx's Lamed-compatible routes: a visitor
// enters the experiment, signs up twice (a unique goal), views the page three
// times (a non-unique goal) across reloads, and the counts are read back
// through /lamed/experiments.
func TestAlephbetInChromium(t *testing.T) {
	t.Parallel()
	// A deployment that requires keys: Alephbet's tracking URL carries the
	// client key, and Alephbet appends its own "?…" to it.
	a := MustAPIWith(t, func(*httpapi.Server) {})
	bundle := alephbetBundle(t)
	var site *httptest.Server
	var trackURL string
	site = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/alephbet.min.js" {
			w.Header().Set("Content-Type", "text/javascript")
			w.Write(bundle)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, alephbetPage, trackURL)
	}))
	defer site.Close()
	trackURL = a.URL + "/lamed/track?key=" + a.mustKey("client", site.URL)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	page, err := headless.MustStart(t, headless.Options{}).NewIsolatedPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := page.Navigate(ctx, site.URL+"/landing"); err != nil {
		t.Fatal(err)
	}
	var variant string
	if err := page.Eval(ctx, "document.body.dataset.variant", &variant); err != nil || (variant != "red" && variant != "blue") {
		t.Fatalf("variant = %q, %v (logs %q)", variant, err, page.Logs())
	}
	for range 2 {
		if err := page.Click(ctx, "#signup"); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := page.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Alephbet clears an event from its queue only on 200: an empty queue
	// means every event was answered.
	if err := page.WaitFor(ctx, `JSON.parse(localStorage.getItem("_lamed_queue") || "[]").length === 0`); err != nil {
		t.Fatalf("the queue never emptied: %v (logs %q)", err, page.Logs())
	}
	// One participant (Alephbet tracks participation once per visitor),
	// three page views, one signup however often it was clicked; the other
	// variant was never seen, so it has no counters.
	want := fmt.Sprintf(`[{"meta":{"scope":null}},{"experiment":"button color","goals":[`+
		`{"goal":"page view","results":[{"label":%[1]q,"successes":3,"trials":1}]},`+
		`{"goal":"signed up","results":[{"label":%[1]q,"successes":1,"trials":1}]}]}]`, variant)
	var got string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		req, _ := http.NewRequest("GET", a.URL+"/lamed/experiments?namespace=browser-test", nil)
		req.Header.Set("x-api-key", adminKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		res.Body.Close()
		if got = strings.TrimSpace(b.String()); got == want {
			return
		}
	}
	t.Fatalf("experiments = %s\nwant %s", got, want)
}
