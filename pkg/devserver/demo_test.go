package devserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/ddblocal"
	"github.com/refx-dev/refx/pkg/devserver"
	"github.com/refx-dev/refx/pkg/devserver/devservertest"
	"github.com/refx-dev/refx/pkg/headless"
	"github.com/refx-dev/refx/pkg/refx"
)

const demoAdminKey = "demo-admin-key-0123456789"

// MustStack starts the local stack as ./scripts/dev does, in memory, and
// returns it; its URL is http://localhost:<port>.
func MustStack(tb testing.TB) *devservertest.Stack {
	tb.Helper()
	stack := devservertest.Start(tb, devserver.Options{
		InMemory: true, DataDir: tb.TempDir(), AdminKey: demoAdminKey, Logger: slog.New(slog.DiscardHandler),
	})
	if !strings.Contains(stack.Out(), stack.URL+devserver.DemoPath) {
		tb.Errorf("the banner does not show the demo URL:\n%s", stack.Out())
	}
	return stack
}

// adminGet reads an admin route into out.
func adminGet(tb testing.TB, base, path string, out any) {
	tb.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+demoAdminKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s = %d %s", path, res.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		tb.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

// totals are an experiment's counts summed over its variants.
type totals struct {
	participants                                    int64
	clicks, visitors, signups, conversions, referee int64
	value                                           string
	goals                                           map[string]refx.GoalCounts
	byVariant                                       map[string]refx.VariantResults
}

func results(tb testing.TB, base, experiment string) totals {
	tb.Helper()
	var res refx.Results
	adminGet(tb, base, "/v1/experiments/"+experiment+"/results", &res)
	t := totals{goals: map[string]refx.GoalCounts{}, byVariant: map[string]refx.VariantResults{}}
	value := 0.0
	for _, v := range res.Variants {
		t.byVariant[v.Key] = v
		t.participants += v.Participants
		for g, c := range v.Goals {
			sum := t.goals[g]
			sum.Users += c.Users
			sum.Events += c.Events
			a, _ := sum.ValueSum.Float64()
			b, _ := c.ValueSum.Float64()
			sum.ValueSum = json.Number(fmt.Sprint(a + b))
			t.goals[g] = sum
		}
		if r := v.Referral; r != nil {
			t.clicks += r.Clicks
			t.visitors += r.UniqueVisitors
			t.signups += r.Signups
			t.conversions += r.Conversions
			t.referee += r.ConvertingReferees
			f, _ := r.ConversionValue.Float64()
			value += f
		}
	}
	t.value = fmt.Sprint(value)
	return t
}

// eventually polls check until it passes or the deadline.
func eventually(tb testing.TB, what string, check func() error) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// screenshots saves PNGs of the demo into artifacts/demo at the repository
// root.
type screenshots struct {
	tb  testing.TB
	dir string
}

func newScreenshots(tb testing.TB) *screenshots {
	root, err := ddblocal.RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(root, "artifacts", "demo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return &screenshots{tb, dir}
}

func (s *screenshots) take(ctx context.Context, p *headless.Page, name string) {
	s.tb.Helper()
	if err := p.Screenshot(ctx, filepath.Join(s.dir, name+".png")); err != nil {
		s.tb.Fatal(err)
	}
}

func text(tb testing.TB, ctx context.Context, p *headless.Page, selector string) string {
	tb.Helper()
	var s string
	if err := p.Eval(ctx, `document.querySelector(`+jsString(selector)+`).textContent`, &s); err != nil {
		tb.Fatal(err)
	}
	return s
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func setValue(tb testing.TB, ctx context.Context, p *headless.Page, selector, value string) {
	tb.Helper()
	if err := p.Eval(ctx, `document.querySelector(`+jsString(selector)+`).value = `+jsString(value), nil); err != nil {
		tb.Fatal(err)
	}
}

// waitFor waits up to 20s for a JavaScript condition on the page.
func waitFor(tb testing.TB, p *headless.Page, expr string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.WaitFor(ctx, expr); err != nil {
		tb.Fatal(err)
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// TestDemo is the end-to-end test of refx.js and the demo: headless
// Chromium walks referrer → link → landing → signup → purchase against the
// local stack, the counts and the attribution are checked through the admin
// API, then a second friend does the same through a network that loses the
// answer to every event's first sending and reloads the page in between:
// the counts stay exact. Screenshots go to artifacts/demo.
func TestDemo(t *testing.T) {
	stack := MustStack(t)
	base := stack.URL
	b := headless.MustStart(t, headless.Options{Width: 900, Height: 720})
	shots := newScreenshots(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	var aliceVariant, aliceCode, carolVariant string
	t.Run("Walk", func(t *testing.T) {
		// The referrer, in a browser of their own.
		referrer, err := b.NewIsolatedPage(ctx)
		must(t, err)
		defer referrer.Close(ctx)
		must(t, referrer.Navigate(ctx, base+devserver.DemoPath))
		shots.take(ctx, referrer, "01-referrer")
		must(t, referrer.Click(ctx, "#get-link"))
		waitFor(t, referrer, `document.body.dataset.state === "link"`)
		link := text(t, ctx, referrer, "#link")
		aliceVariant = text(t, ctx, referrer, "#variant")
		if !strings.HasPrefix(link, base+"/r/") || text(t, ctx, referrer, "#offer") == "" {
			t.Fatalf("link %q, offer %q", link, text(t, ctx, referrer, "#offer"))
		}
		aliceCode = strings.TrimPrefix(link, base+"/r/")
		must(t, referrer.Click(ctx, "#copy")) // tracks a share
		shots.take(ctx, referrer, "02-referral-link")

		// The friend opens the link in another browser: 302 to the landing
		// page with ?ref=, which shows the referrer's offer.
		friend, err := b.NewIsolatedPage(ctx)
		must(t, err)
		defer friend.Close(ctx)
		must(t, friend.Navigate(ctx, link))
		waitFor(t, friend, `document.body.dataset.state === "ready"`)
		var loc string
		must(t, friend.Eval(ctx, "location.pathname + location.search", &loc))
		if loc != devserver.DemoLandingPath+"?ref="+aliceCode {
			t.Fatalf("landed on %s", loc)
		}
		wantOffer := map[string]string{"usd10": "$10 off", "pct20": "20% off"}[aliceVariant]
		if invite := text(t, ctx, friend, "#invite"); wantOffer == "" || !strings.Contains(invite, wantOffer) {
			t.Fatalf("the landing page shows %q for alice's variant %s", invite, aliceVariant)
		}
		carolVariant = text(t, ctx, friend, "#variant")
		if carolVariant != "control" && carolVariant != "bold" {
			t.Fatalf("welcome-offer variant %q", carolVariant)
		}
		shots.take(ctx, friend, "03-landing")

		must(t, friend.Click(ctx, "#signup"))
		waitFor(t, friend, `document.body.dataset.state === "signed-up" && refx.pending().length === 0`)
		shots.take(ctx, friend, "04-signed-up")
		must(t, friend.Click(ctx, "#purchase"))
		waitFor(t, friend, `document.body.dataset.state === "purchased" && refx.pending().length === 0`)
		shots.take(ctx, friend, "05-purchased")

		// The referral funnel, credited to alice's variant.
		eventually(t, "referral counts", func() error {
			r := results(t, base, devserver.DemoReferralExperiment)
			got := fmt.Sprintf("%d %d %d %d %d %s", r.clicks, r.visitors, r.signups, r.conversions, r.referee, r.value)
			if want := "1 1 1 1 1 49.9"; got != want {
				return fmt.Errorf("clicks visitors signups conversions converting value = %s, want %s", got, want)
			}
			if v := r.byVariant[aliceVariant].Referral; v == nil || v.Signups != 1 || v.Conversions != 1 || v.Referrers != 1 || v.SharingReferrers != 1 {
				return fmt.Errorf("alice's variant %s: %+v", aliceVariant, v)
			}
			if g := r.goals["share"]; g.Users != 1 {
				return fmt.Errorf("share = %+v, want alice's", g)
			}
			return nil
		})
		var page refx.AttributionPage
		adminGet(t, base, "/v1/referrers/alice/referrals", &page)
		if len(page.Referrals) != 1 {
			t.Fatalf("alice's referrals = %+v", page.Referrals)
		}
		a := page.Referrals[0]
		if a.Referee != "carol@example.com" || a.Code != aliceCode || a.Variant != aliceVariant || a.Status != refx.AttributionAttributed || a.ConvertedAt == nil {
			t.Fatalf("attribution = %+v", a)
		}
		// The welcome offer: carol was counted once, as the anonymous
		// visitor; identify gave her that variant, so her signup and
		// purchase count there.
		w := results(t, base, devserver.DemoExperiment)
		v := w.byVariant[carolVariant]
		if w.participants != 1 || v.Participants != 1 || v.Goals["signup"].Users != 1 || v.Goals["purchase"].Events != 1 || v.Goals["purchase"].ValueSum.String() != "49.9" {
			t.Fatalf("welcome-offer: %d participants, %s = %+v", w.participants, carolVariant, v)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("FlakyNetwork", func(t *testing.T) {
		proxy := newFlakyProxy(t, base)
		var link refx.ReferralLink
		res, err := stack.Post("/v1/referrals", `{"experiment":"demo-referral","referrer":"bob"}`)
		must(t, err)
		json.NewDecoder(res.Body).Decode(&link)
		res.Body.Close()

		friend, err := b.NewIsolatedPage(ctx)
		must(t, err)
		defer friend.Close(ctx)
		must(t, friend.Navigate(ctx, link.URL)) // the click, and the visitor's cookie
		waitFor(t, friend, `document.body.dataset.state === "ready"`)
		// The same landing page, its API calls through the flaky proxy
		// (another origin: CORS with credentials).
		must(t, friend.Navigate(ctx, base+devserver.DemoLandingPath+"?ref="+link.Code+"&api="+proxy.URL))
		waitFor(t, friend, `document.body.dataset.state === "ready"`)
		daveVariant := text(t, ctx, friend, "#variant")
		setValue(t, ctx, friend, "#email", "dave@example.com")
		must(t, friend.Click(ctx, "#signup"))
		// The server recorded the signup, its answer was lost: reload at
		// once, before the client's own retry.
		proxy.waitFailures(t, 1)
		must(t, friend.Reload(ctx))
		waitFor(t, friend, `document.body.dataset.state === "signed-up" && refx.pending().length === 0`)
		if v := text(t, ctx, friend, "#variant"); v != daveVariant {
			t.Fatalf("variant after reload %s, before %s", v, daveVariant)
		}
		shots.take(ctx, friend, "06-flaky-reloaded")
		must(t, friend.Click(ctx, "#purchase"))
		proxy.waitFailures(t, 2)
		waitFor(t, friend, `document.body.dataset.state === "purchased" && refx.pending().length === 0`)
		shots.take(ctx, friend, "07-flaky-purchased")

		sends := proxy.sends()
		if len(sends) != 2 {
			t.Fatalf("event ids through the proxy: %v, want a signup and a purchase", sends)
		}
		for id, n := range sends {
			if n < 2 {
				t.Errorf("event %s was sent %d times: its first answer was lost, so it must have been sent again", id, n)
			}
		}
		// Exact counts: each event once, whatever the resending.
		eventually(t, "counts after the flaky walk", func() error {
			r := results(t, base, devserver.DemoReferralExperiment)
			got := fmt.Sprintf("%d %d %d %d %s", r.clicks, r.signups, r.conversions, r.referee, r.value)
			if want := "2 2 2 2 99.8"; got != want {
				return fmt.Errorf("clicks signups conversions converting value = %s, want %s", got, want)
			}
			return nil
		})
		w := results(t, base, devserver.DemoExperiment)
		if w.participants != 2 || w.goals["signup"].Users != 2 || w.goals["signup"].Events != 2 || w.goals["purchase"].Events != 2 || w.goals["purchase"].ValueSum.String() != "99.8" {
			t.Fatalf("welcome-offer after the flaky walk: %d participants, goals %+v", w.participants, w.goals)
		}
		var page refx.AttributionPage
		adminGet(t, base, "/v1/referrers/bob/referrals", &page)
		if len(page.Referrals) != 1 || page.Referrals[0].Referee != "dave@example.com" || page.Referrals[0].ConvertedAt == nil {
			t.Fatalf("bob's referrals = %+v", page.Referrals)
		}
	})
}

// flakyProxy forwards to the API and loses the answer to the first batch
// carrying a new event id, after the API processed it: the first such loss
// drops the connection, later ones answer 503.
type flakyProxy struct {
	*httptest.Server
	base string

	mu       sync.Mutex
	seen     map[string]int
	failures int
	failed   chan struct{}
}

func newFlakyProxy(tb testing.TB, base string) *flakyProxy {
	p := &flakyProxy{base: base, seen: map[string]int{}, failed: make(chan struct{}, 16)}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	tb.Cleanup(p.Close)
	return p
}

func (p *flakyProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	fail := false
	if r.Method == http.MethodPost && r.URL.Path == "/v1/events:batch" {
		var batch struct {
			Events []struct {
				ID string `json:"id"`
			} `json:"events"`
		}
		json.Unmarshal(body, &batch)
		p.mu.Lock()
		for _, e := range batch.Events {
			if p.seen[e.ID] == 0 {
				fail = true
			}
			p.seen[e.ID]++
		}
		p.mu.Unlock()
	}
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, p.base+r.URL.RequestURI(), bytes.NewReader(body))
	req.Header = r.Header.Clone()
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(res.Body) // the API has processed the request
	if fail {
		p.mu.Lock()
		p.failures++
		first := p.failures == 1
		p.mu.Unlock()
		p.failed <- struct{}{}
		if first {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
				return
			}
		}
		for k, v := range res.Header {
			if strings.HasPrefix(k, "Access-Control-") {
				w.Header()[k] = v
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":{"code":"unavailable","message":"the proxy lost the answer"}}`)
		return
	}
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	w.Write(answer)
}

// waitFailures waits until n answers have been lost.
func (p *flakyProxy) waitFailures(tb testing.TB, n int) {
	tb.Helper()
	for {
		p.mu.Lock()
		done := p.failures >= n
		p.mu.Unlock()
		if done {
			return
		}
		select {
		case <-p.failed:
		case <-time.After(15 * time.Second):
			tb.Fatalf("the proxy lost %d answers, want %d", p.failures, n)
		}
	}
}

// sends returns how often each event id went through the proxy.
func (p *flakyProxy) sends() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.seen))
	for k, v := range p.seen {
		out[k] = v
	}
	return out
}
