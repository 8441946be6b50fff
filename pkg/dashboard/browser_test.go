package dashboard_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/ddblocal"
	"github.com/refx-dev/refx/pkg/devserver"
	"github.com/refx-dev/refx/pkg/devserver/devservertest"
	"github.com/refx-dev/refx/pkg/headless"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
)

const testAdminKey = "dashboard-admin-key-0123456789"

// MustStack starts the local stack as ./scripts/dev does, in memory, with a
// snapshot every second so that the charts over time have points.
func MustStack(tb testing.TB) *devservertest.Stack {
	tb.Helper()
	logs := &devservertest.Buffer{}
	// Registered first, so run last: after the stack stopped, with all its logs.
	tb.Cleanup(func() {
		if tb.Failed() {
			l := logs.String()
			tb.Logf("the stack's last logs:\n%s", l[max(0, len(l)-8000):])
		}
	})
	stack := devservertest.Start(tb, devserver.Options{
		InMemory: true, DataDir: tb.TempDir(), AdminKey: testAdminKey,
		Logger: slog.New(slog.NewJSONHandler(logs, nil)), SnapshotEvery: time.Second,
	})
	if !strings.Contains(stack.Out(), stack.URL+"/dashboard") {
		tb.Errorf("the banner does not show the dashboard URL:\n%s", stack.Out())
	}
	return stack
}

// client calls the local API, as a backend (with the stack's secret key)
// or as an admin.
type client struct {
	tb     testing.TB
	base   string
	secret string
}

func (c client) do(method, path string, body any, admin bool) (int, []byte) {
	c.tb.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.tb.Fatal(err)
	}
	if admin {
		req.Header.Set("Authorization", "Bearer "+testAdminKey)
	} else {
		req.Header.Set(httpapi.KeyHeader, c.secret)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Do(req)
	if err != nil {
		c.tb.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

// must sends a request, fails unless it answers status, and decodes the
// answer into out (when not nil).
func (c client) must(method, path string, body any, admin bool, status int, out any) {
	c.tb.Helper()
	got, raw := c.do(method, path, body, admin)
	if got != status {
		c.tb.Fatalf("%s %s = %d %s, want %d", method, path, got, raw, status)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.tb.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
}

func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// parallel runs f(i) for i in [0, n) on 16 goroutines.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// Known experiments of the test.
const (
	ctaExperiment      = "dash-cta"
	referralExperiment = "dash-referral"
	srmExperiment      = "dash-srm"
)

// seed creates and feeds a known A/B experiment (in three waves a second
// and a half apart, so that the snapshots see its counts grow), a referral
// experiment with a funnel, and an Alephbet experiment.
func seed(c client) {
	c.tb.Helper()
	c.must("POST", "/v1/experiments", map[string]any{
		"id": ctaExperiment, "name": "Checkout call to action", "owner": "growth",
		"hypothesis": "A bolder call to action gets more visitors to sign up and buy.",
		"variants": []map[string]any{
			{"key": "control", "weight": 50, "payload": map[string]any{"cta": "Sign up"}},
			{"key": "bold", "weight": 50, "payload": map[string]any{"cta": "Claim your $20 reward"}},
		},
		// Purchases of 20 to 26, capped at 25: the page says the cap.
		"goals": []map[string]any{{"key": "signup", "kind": "binomial"}, {"key": "purchase", "kind": "value", "cap": 25}},
	}, true, http.StatusCreated, nil)
	c.must("POST", "/v1/experiments/"+ctaExperiment+"/start", nil, true, http.StatusOK, nil)
	for wave := range 3 {
		parallel(200, func(i int) {
			user := fmt.Sprintf("user-%d-%d", wave, i)
			var a struct{ Variant string }
			c.must("POST", "/v1/assign", map[string]any{"experiment": ctaExperiment, "user": user}, false, http.StatusOK, &a)
			converts := (a.Variant == "bold" && i%4 == 0) || (a.Variant == "control" && i%10 == 0)
			if !converts {
				return
			}
			c.must("POST", "/v1/events", map[string]any{"id": uuid(), "type": "signup", "user": user}, false, http.StatusAccepted, nil)
			if i%8 == 0 {
				c.must("POST", "/v1/events", map[string]any{"id": uuid(), "type": "purchase", "user": user, "value": 20 + i%7}, false, http.StatusAccepted, nil)
			}
		})
		time.Sleep(1500 * time.Millisecond)
	}

	c.must("POST", "/v1/experiments", map[string]any{
		"id": referralExperiment, "name": "Give/get offer", "owner": "growth",
		"hypothesis": "A percentage reward gets referrers more converting friends than a fixed one.",
		"variants": []map[string]any{
			{"key": "usd10", "weight": 50, "payload": map[string]any{"offer": "Give $10, get $10"}},
			{"key": "pct20", "weight": 50, "payload": map[string]any{"offer": "Give 20%, get 20%"}},
		},
		"goals":    []map[string]any{{"key": "share", "kind": "binomial"}},
		"referral": map[string]any{"landing_url": "https://shop.example/welcome", "conversion_goal": "purchase"},
	}, true, http.StatusCreated, nil)
	c.must("POST", "/v1/experiments/"+referralExperiment+"/start", nil, true, http.StatusOK, nil)
	parallel(60, func(i int) {
		referrer := fmt.Sprintf("referrer-%d", i)
		var link struct{ Code, Variant string }
		c.must("POST", "/v1/referrals", map[string]any{"experiment": referralExperiment, "referrer": referrer}, false, http.StatusOK, &link)
		clicks, signups := 0, 0
		switch {
		case link.Variant == "pct20" && i%2 == 0:
			clicks, signups = 3, 1+i%3
		case link.Variant == "usd10" && i%3 == 0:
			clicks, signups = 2, i%2
		}
		if clicks > 0 {
			c.must("POST", "/v1/events", map[string]any{"id": uuid(), "type": "share", "user": referrer}, false, http.StatusAccepted, nil)
		}
		for range clicks {
			c.must("GET", "/r/"+link.Code, nil, false, http.StatusFound, nil)
		}
		for k := range signups {
			referee := fmt.Sprintf("friend-%d-%d", i, k)
			c.must("POST", "/v1/referrals/"+link.Code+"/signups", map[string]any{"referee": referee, "ip": fmt.Sprintf("10.0.%d.%d", i, k)}, false, http.StatusOK, nil)
			if k == 0 {
				c.must("POST", "/v1/events", map[string]any{"id": uuid(), "type": "purchase", "user": referee, "value": 40 + i%5}, false, http.StatusAccepted, nil)
			}
		}
	})

	// A sample ratio mismatch: a 50/50 test whose client loses most of the
	// "list" arm's users before it enrols them (a broken redirect, a
	// classic mistake): 180 enrolled in grid, 20 in list.
	c.must("POST", "/v1/experiments", map[string]any{
		"id": srmExperiment, "name": "Pricing page layout", "owner": "web",
		"variants": []map[string]any{{"key": "grid", "weight": 50}, {"key": "list", "weight": 50}},
		"goals":    []map[string]any{{"key": "signup", "kind": "binomial"}},
	}, true, http.StatusCreated, nil)
	srm, err := refx.NewExperiment{ID: srmExperiment, Variants: []refx.Variant{{Key: "grid", Weight: 50}, {Key: "list", Weight: 50}},
		Goals: []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial}}}.Build(time.Now())
	if err != nil {
		c.tb.Fatal(err)
	}
	c.must("POST", "/v1/experiments/"+srmExperiment+"/start", nil, true, http.StatusOK, nil)
	want := map[string]int{"grid": 180, "list": 20}
	var srmUsers []string
	for i := 0; want["grid"]+want["list"] > 0; i++ {
		user := fmt.Sprint("srm-", i)
		if v, _ := srm.Bucket(user); want[v.Key] > 0 {
			want[v.Key]--
			srmUsers = append(srmUsers, user)
		}
	}
	parallel(len(srmUsers), func(i int) {
		c.must("POST", "/v1/assign", map[string]any{"experiment": srmExperiment, "user": srmUsers[i]}, false, http.StatusOK, nil)
	})

	for i := range 12 {
		q := url.Values{"experiment": {"Hero image"}, "variant": {[]string{"photo", "illustration"}[i%2]}, "event": {"participate"}, "uuid": {fmt.Sprint("visitor-", i)}}
		c.must("GET", "/lamed/track?"+q.Encode(), nil, false, http.StatusOK, nil)
	}
	time.Sleep(1500 * time.Millisecond) // a snapshot of the final counts
}

// page wraps a headless page with the test's helpers.
type page struct {
	*headless.Page
	tb   testing.TB
	ctx  context.Context
	dir  string
	base string
}

func (p page) eval(expr string, out any) {
	p.tb.Helper()
	if err := p.Eval(p.ctx, expr, out); err != nil {
		p.tb.Fatalf("eval %s: %v\nlogs: %q", expr, err, p.Logs())
	}
}

func (p page) wait(expr string) {
	p.tb.Helper()
	if err := p.WaitFor(p.ctx, expr); err != nil {
		p.tb.Fatal(err)
	}
}

func (p page) click(selector string) {
	p.tb.Helper()
	if err := p.Click(p.ctx, selector); err != nil {
		p.tb.Fatal(err)
	}
}

func (p page) set(selector, value string) {
	p.tb.Helper()
	p.eval(fmt.Sprintf(`(() => { const el = document.querySelector(%s); el.value = %s; el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); })()`, js(selector), js(value)), nil)
}

func (p page) text(selector string) string {
	p.tb.Helper()
	var s string
	p.eval(fmt.Sprintf(`(document.querySelector(%s) || {}).textContent || ""`, js(selector)), &s)
	return s
}

// go opens a dashboard route (a hash) and waits for expr.
func (p page) open(hash, expr string) {
	p.tb.Helper()
	p.eval(fmt.Sprintf(`location.hash = %s`, js(hash)), nil)
	p.wait(expr)
}

// shot scrolls selector to the top (the page's top for "") and saves a
// screenshot as name.png.
func (p page) shot(selector, name string) {
	p.tb.Helper()
	if selector == "" {
		p.eval(`window.scrollTo(0, 0)`, nil)
	} else {
		p.eval(fmt.Sprintf(`document.querySelector(%s).scrollIntoView({block: "start"})`, js(selector)), nil)
	}
	time.Sleep(150 * time.Millisecond)
	if err := p.Screenshot(p.ctx, filepath.Join(p.dir, name+".png")); err != nil {
		p.tb.Fatal(err)
	}
}

// login opens the dashboard and signs in: a wrong key first, refused.
func (p page) login() {
	p.tb.Helper()
	if err := p.Navigate(p.ctx, p.base+"/dashboard"); err != nil {
		p.tb.Fatal(err)
	}
	p.wait(`document.querySelector('#admin-key')`)
	p.set("#admin-key", "not-the-key-0123456789")
	p.click("form button[type=submit]")
	p.wait(`(document.querySelector('.error') || {}).textContent?.includes('refused')`)
	p.set("#admin-key", testAdminKey)
	p.click("form button[type=submit]")
	p.wait(`document.querySelector('#experiments tbody tr')`)
	var stored string
	p.eval(`sessionStorage.getItem('refx.adminKey')`, &stored)
	var href string
	p.eval(`location.href`, &href)
	if stored != testAdminKey || strings.Contains(href, testAdminKey) {
		p.tb.Fatalf("key in sessionStorage = %q, URL %s", stored, href)
	}
}

func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func artifactDir(tb testing.TB) string {
	tb.Helper()
	root, err := ddblocal.RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(root, "artifacts", "dashboard")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// cells reads the data-value of every results cell: metric|variant|k → value.
func (p page) cells() map[string]string {
	p.tb.Helper()
	var out map[string]string
	p.eval(`Object.fromEntries([...document.querySelectorAll('td[data-metric][data-k]')].map(td => [td.dataset.metric + '|' + td.dataset.variant + '|' + td.dataset.k, td.dataset.value]))`, &out)
	return out
}

// sameNumber compares a number the page holds as text with the API's.
func sameNumber(got string, want *float64) bool {
	if want == nil {
		return got == ""
	}
	f, err := strconv.ParseFloat(got, 64)
	return err == nil && (f == *want || math.Abs(f-*want) <= 1e-12*math.Max(1, math.Abs(*want)))
}

// checkResults holds the page's results tables to the results API's
// analysis with the same engine: every arm's units, sum and mean, every
// comparison's lift, p-value or chance to win, and verdict.
func checkResults(tb testing.TB, got map[string]string, res httpapi.ResultsResponse) {
	tb.Helper()
	bayes := res.Analysis.Engine == "bayesian"
	checked := 0
	for _, ga := range res.Analysis.Goals {
		ms := []analysisMetric{wrap(ga.ConversionRate)}
		if ga.ValuePerParticipant != nil {
			ms = append(ms, wrap(*ga.ValuePerParticipant))
		}
		for _, m := range ms {
			for _, arm := range m.arms {
				key := m.key + "|" + arm.variant + "|"
				units := float64(arm.units)
				if !sameNumber(got[key+"units"], &units) || !sameNumber(got[key+"sum"], &arm.sum) || !sameNumber(got[key+"mean"], arm.mean) {
					tb.Errorf("%s: page units/sum/mean = %s/%s/%s, API %d/%v/%v", key, got[key+"units"], got[key+"sum"], got[key+"mean"], arm.units, arm.sum, deref(arm.mean))
				}
				checked++
			}
			for _, c := range m.comparisons {
				key := m.key + "|" + c.variant + "|"
				decision, name := c.pValue, "p_value"
				if bayes {
					decision, name = c.chanceToWin, "chance_to_win"
				}
				if !sameNumber(got[key+"lift"], c.lift) || !sameNumber(got[key+name], decision) || got[key+"verdict"] != c.verdict {
					tb.Errorf("%s: page lift/%s/verdict = %s/%s/%s, API %v/%v/%s", key, name, got[key+"lift"], got[key+name], got[key+"verdict"], deref(c.lift), deref(decision), c.verdict)
				}
				checked++
			}
		}
	}
	if checked == 0 {
		tb.Fatal("no results compared")
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// analysisMetric is the part of an analysis.Metric the page shows.
type analysisMetric struct {
	key  string
	arms []struct {
		variant string
		units   int64
		sum     float64
		mean    *float64
	}
	comparisons []struct {
		variant                   string
		lift, pValue, chanceToWin *float64
		verdict                   string
	}
}

func wrap(m any) analysisMetric {
	// Through JSON, so that the test reads what the page reads.
	b, _ := json.Marshal(m)
	var raw struct {
		Key      string `json:"key"`
		Variants []struct {
			Variant string   `json:"variant"`
			Units   int64    `json:"units"`
			Sum     float64  `json:"sum"`
			Mean    *float64 `json:"mean"`
		} `json:"variants"`
		Comparisons []struct {
			Variant  string `json:"variant"`
			Relative struct {
				Estimate *float64 `json:"estimate"`
			} `json:"relative"`
			PValue      *float64 `json:"p_value"`
			ChanceToWin *float64 `json:"chance_to_win"`
			Verdict     struct {
				Code string `json:"code"`
			} `json:"verdict"`
		} `json:"comparisons"`
	}
	json.Unmarshal(b, &raw)
	out := analysisMetric{key: raw.Key}
	for _, v := range raw.Variants {
		out.arms = append(out.arms, struct {
			variant string
			units   int64
			sum     float64
			mean    *float64
		}{v.Variant, v.Units, v.Sum, v.Mean})
	}
	for _, c := range raw.Comparisons {
		out.comparisons = append(out.comparisons, struct {
			variant                   string
			lift, pValue, chanceToWin *float64
			verdict                   string
		}{c.Variant, c.Relative.Estimate, c.PValue, c.ChanceToWin, c.Verdict.Code})
	}
	return out
}

// TestDashboard drives the dashboard in headless Chromium against the local
// stack seeded with known experiments: the key prompt, the list, an
// experiment page against the results API with each engine, the referral
// funnel, creating (with bad input first), starting, stopping and deleting,
// an action's API error, and a phone-sized screen. Screenshots go to
// artifacts/dashboard.
func TestDashboard(t *testing.T) {
	stack := MustStack(t)
	base := stack.URL
	c := client{t, base, stack.SecretKey()}
	seed(c)
	dir := artifactDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	b := headless.MustStart(t, headless.Options{Width: 1280, Height: 900})
	hp, err := b.NewIsolatedPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := page{Page: hp, tb: t, ctx: ctx, dir: dir, base: base}
	p.login()

	t.Run("List", func(t *testing.T) {
		p := p
		p.tb = t
		row := fmt.Sprintf(`#experiments tr[data-experiment=%q]`, ctaExperiment)
		p.wait(fmt.Sprintf(`document.querySelector('%s td[data-k=participants]')?.dataset.value && document.querySelector('%s [data-verdict]')`, row, row))
		var res httpapi.ResultsResponse
		c.must("GET", "/v1/experiments/"+ctaExperiment+"/results", nil, true, http.StatusOK, &res)
		var participants int64
		for _, v := range res.Variants {
			participants += v.Participants
		}
		if got := p.text(row + " td[data-k=participants]"); got != strconv.FormatInt(participants, 10) {
			t.Errorf("list shows %s participants, the API %d", got, participants)
		}
		var verdict string
		p.eval(fmt.Sprintf(`document.querySelector('%s [data-verdict]').dataset.verdict`, row), &verdict)
		if want := res.Analysis.Goals["signup"].ConversionRate.Comparisons[0].Verdict.Code; verdict != string(want) {
			t.Errorf("list verdict %s, API %s", verdict, want)
		}
		for _, want := range []string{referralExperiment, devserver.DemoExperiment, "Alephbet · alephbet"} {
			if !strings.Contains(p.text("#experiments"), want) {
				t.Errorf("the list lacks %q", want)
			}
		}
		p.wait(`[...document.querySelectorAll('#experiments td[data-k=participants]')].filter(td => td.dataset.value).length >= 5`)
		p.wait(fmt.Sprintf(`document.querySelector('#experiments tr[data-experiment=%q] [data-srm=mismatch]')`, srmExperiment))
		if got := p.text(row + " [data-srm]"); got != "ratio OK" {
			t.Errorf("%s's ratio check shows %q", ctaExperiment, got)
		}
		p.shot("", "list")

		// The status filter.
		p.set("#status-filter", "stopped")
		p.wait(`location.hash === '#/?status=stopped' && document.querySelector('#experiments td.empty')`)
		p.set("#status-filter", "")
		p.wait(`location.hash === '#/' && document.querySelector('#experiments tr[data-experiment]')`)
	})

	t.Run("Experiment", func(t *testing.T) {
		p := p
		p.tb = t
		p.open("#/experiments/"+ctaExperiment, `document.querySelectorAll('table.metric').length === 3 && document.querySelectorAll('figure.chart svg').length === 4`)
		for _, engine := range []string{"frequentist", "bayesian", "sequential"} {
			if engine != "frequentist" {
				p.click(fmt.Sprintf(`#engine input[value=%s]`, engine))
				p.wait(fmt.Sprintf(`location.hash.endsWith('engine=%s') && document.querySelector('#results').dataset.engine === '%s' && document.querySelectorAll('table.metric').length === 3 && document.querySelectorAll('figure.chart svg').length === 4`, engine, engine))
			}
			var res httpapi.ResultsResponse
			c.must("GET", "/v1/experiments/"+ctaExperiment+"/results?engine="+engine, nil, true, http.StatusOK, &res)
			checkResults(t, p.cells(), res)
			// The page says how fresh the counts are: the results'
			// counted_through, read before the test's own read.
			var shown string
			p.eval(`document.querySelector('#counted-through').dataset.countedThrough`, &shown)
			if at, err := time.Parse(time.RFC3339Nano, shown); err != nil || res.CountedThrough == nil || at.After(*res.CountedThrough) {
				t.Errorf("%s: the page shows counted through %q, the API %v", engine, shown, res.CountedThrough)
			}
			heading := "p-value"
			if engine == "bayesian" {
				heading = "Chance to win"
			}
			if !strings.Contains(p.text("table.metric thead"), heading) {
				t.Errorf("%s: the results tables have no %q column", engine, heading)
			}
			switch engine {
			case "frequentist":
				p.shot("", "experiment")
				p.shot(`section.goal[data-goal=signup]`, "experiment-results")
			case "bayesian":
				p.shot("#results", "experiment-bayesian")
			}
		}
		for _, want := range []string{"A bolder call to action", "Claim your $20 reward", "Owner"} {
			if !strings.Contains(p.text("main"), want) {
				t.Errorf("the page lacks %q", want)
			}
		}
		// Each goal's rules are shown next to it, as the analysis says them.
		if got := p.text(`section.goal[data-goal=purchase] h4`); !strings.Contains(got, "values capped at ±25") {
			t.Errorf("the purchase heading %q does not say its cap", got)
		}
		if got := p.text(`section.goal[data-goal=signup] h4`); strings.Contains(got, "capped") || strings.Contains(got, "server-only") {
			t.Errorf("the signup heading %q says rules it does not have", got)
		}
		// The rate chart has the snapshots' points and the live one.
		var markers int
		p.eval(`document.querySelectorAll('section.goal[data-goal=signup] figure.chart:nth-child(2) svg circle').length`, &markers)
		if markers < 3 {
			t.Errorf("the conversion-over-time chart has %d markers of the control, want snapshots and the live point", markers)
		}
	})

	t.Run("SRMWarning", func(t *testing.T) {
		p := p
		p.tb = t
		p.open("#/experiments/"+srmExperiment, `document.querySelector('#srm-warning') && document.querySelector('table.metric')`)
		if got := p.text("#srm-warning"); !strings.Contains(got, "do not trust these results") {
			t.Errorf("SRM warning = %q", got)
		}
		var verdict string
		p.eval(`document.querySelector('td[data-k=verdict]').dataset.value`, &verdict)
		if verdict != "srm" {
			t.Errorf("verdict with a sample ratio mismatch = %q, want srm", verdict)
		}
		// The headline says it first.
		var check string
		p.eval(`document.querySelector('#headline [data-check=srm]').dataset.value`, &check)
		if got := p.text("#headline ul.decisions"); check != "mismatch" || !strings.Contains(got, "Do not decide") {
			t.Errorf("headline with a sample ratio mismatch: check %q, decision %q", check, got)
		}
		p.shot("#results", "srm-warning")
	})

	t.Run("ReferralFunnel", func(t *testing.T) {
		p := p
		p.tb = t
		p.open("#/experiments/"+referralExperiment, `document.querySelector('#funnel') && document.querySelectorAll('#referral figure.chart svg').length === 2`)
		var res httpapi.ResultsResponse
		c.must("GET", "/v1/experiments/"+referralExperiment+"/results", nil, true, http.StatusOK, &res)
		var funnel map[string]string
		p.eval(`Object.fromEntries([...document.querySelectorAll('#funnel td[data-funnel]')].map(td => [td.dataset.variant + '|' + td.dataset.funnel, td.dataset.value]))`, &funnel)
		kArms := map[string]*float64{}
		for _, arm := range res.Analysis.Referral.KFactor.Variants {
			kArms[arm.Variant] = arm.Mean
		}
		for _, v := range res.Variants {
			r := v.Referral
			want := map[string]int64{"referrers": r.Referrers, "sharing_referrers": r.SharingReferrers, "clicks": r.Clicks, "signups": r.Signups, "conversions": r.Conversions}
			for field, n := range want {
				if got := funnel[v.Key+"|"+field]; got != strconv.FormatInt(n, 10) {
					t.Errorf("%s %s: page %s, API %d", v.Key, field, got, n)
				}
			}
			if !sameNumber(funnel[v.Key+"|k_factor"], kArms[v.Key]) {
				t.Errorf("%s K: page %s, API %v", v.Key, funnel[v.Key+"|k_factor"], deref(kArms[v.Key]))
			}
			if r.Clicks == 0 || r.Signups == 0 {
				t.Errorf("%s: the seed made no clicks or signups: %+v", v.Key, r)
			}
		}
		checkResults(t, p.cells(), res)
		p.shot("#referral", "referral-funnel")
	})

	t.Run("CreateStartStopDelete", func(t *testing.T) {
		p := p
		p.tb = t
		p.open("#/new", `document.querySelector('#experiment-form')`)
		// Bad input is refused before it is sent.
		p.set("#f-id", "Bad ID!")
		p.set("#f-coverage", "1.5")
		p.click("#submit")
		p.wait(`document.querySelector('#f-id-error').textContent && document.querySelector('#f-coverage-error').textContent`)
		if p.text("#form-errors") == "" {
			t.Error("no error summary for bad input")
		}
		p.shot("", "form-invalid")
		// The API's refusal is shown with its code and field.
		p.set("#f-id", ctaExperiment)
		p.set("#f-coverage", "1")
		p.set("#f-name", "Duplicate")
		p.click("#submit")
		p.wait(`(document.querySelector('#form-errors .error') || {}).textContent?.includes('already exists')`)
		if got := p.text("#form-errors"); !strings.Contains(got, "conflict") || !strings.Contains(got, "request") {
			t.Errorf("the API error lacks its code or request id: %q", got)
		}
		p.shot("", "form-api-error")

		p.set("#f-id", "dash-new")
		p.set("#f-name", "Banner colour")
		p.set("#f-hypothesis", "An orange banner is seen by more visitors.")
		p.click("#submit")
		p.wait(`location.hash === '#/experiments/dash-new' && document.querySelector('h1 .status-draft')`)

		// An action refused by the API shows the API's message: the draft
		// is started behind the page's back, then deleted from the page.
		c.must("POST", "/v1/experiments/dash-new/start", nil, true, http.StatusOK, nil)
		p.click("#delete")
		p.wait(`document.querySelector('#confirm').open`)
		p.click("#confirm-ok")
		p.wait(`(document.querySelector('main .error') || {}).textContent?.includes('stop it before deleting')`)
		p.shot("", "action-error")

		if err := p.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		p.wait(`document.querySelector('h1 .status-running') && document.querySelector('#stop')`)
		var disabled bool
		p.eval(`document.querySelector('#delete').disabled`, &disabled)
		if !disabled {
			t.Error("Delete is enabled on a running experiment")
		}
		p.click("#stop")
		p.wait(`document.querySelector('#confirm').open`)
		p.click("#confirm-ok")
		p.wait(`document.querySelector('h1 .status-stopped')`)
		var exp struct{ Status string }
		c.must("GET", "/v1/experiments/dash-new", nil, true, http.StatusOK, &exp)
		if exp.Status != "stopped" {
			t.Fatalf("status after Stop = %s", exp.Status)
		}

		// Start from the page, on a second draft.
		c.must("POST", "/v1/experiments", map[string]any{"id": "dash-draft", "variants": []map[string]any{{"key": "a", "weight": 1}, {"key": "b", "weight": 1}},
			"goals": []map[string]any{{"key": "signup", "kind": "binomial", "min_sample": 100, "one_sided": true},
				{"key": "refund", "kind": "binomial", "role": "guardrail", "direction": "decrease", "margin": 0.02, "min_sample": 50}}}, true, http.StatusCreated, nil)
		// Edit it while it is a draft: everything may change.
		p.open("#/experiments/dash-draft/edit", `document.querySelector('#experiment-form') && !document.querySelector('.v-key').disabled`)
		p.set("#f-name", "Renamed draft")
		p.set(".v-weight", "3")
		p.click("#submit")
		p.wait(`location.hash === '#/experiments/dash-draft' && document.querySelector('h1')?.textContent.includes('Renamed draft')`)
		var edited struct {
			Name     string
			Version  int
			Variants []struct{ Weight float64 }
			Goals    []struct {
				Key, Role, Direction string
				Margin               float64
				MinSample            int64 `json:"min_sample"`
				OneSided             bool  `json:"one_sided"`
			}
		}
		c.must("GET", "/v1/experiments/dash-draft", nil, true, http.StatusOK, &edited)
		if edited.Name != "Renamed draft" || edited.Variants[0].Weight != 3 || edited.Version != 2 {
			t.Fatalf("after the edit: %+v", edited)
		}
		// The form keeps each goal's decision, those it does not show included.
		if g := edited.Goals; len(g) != 2 || g[0].Role != "primary" || g[0].MinSample != 100 || !g[0].OneSided ||
			g[1].Role != "guardrail" || g[1].Direction != "decrease" || g[1].Margin != 0.02 || g[1].MinSample != 50 {
			t.Fatalf("goals after the edit: %+v", g)
		}
		p.click("#start")
		p.wait(`document.querySelector('#confirm').open`)
		p.click("#confirm-ok")
		p.wait(`document.querySelector('h1 .status-running')`)
		// Running, only the brief, coverage, weights and referral settings
		// may change: the form says so and disables the rest.
		p.open("#/experiments/dash-draft/edit", `document.querySelector('#experiment-form .notice')`)
		var frozen struct{ Key, Weight, Goal bool }
		p.eval(`({Key: document.querySelector('.v-key').disabled, Weight: document.querySelector('.v-weight').disabled, Goal: document.querySelector('.g-key').disabled})`, &frozen)
		if !frozen.Key || frozen.Weight || !frozen.Goal {
			t.Errorf("running experiment's form: disabled %+v, want keys and goals only", frozen)
		}

		p.open("#/experiments/dash-new", `document.querySelector('h1 .status-stopped')`)
		p.click("#delete")
		p.wait(`document.querySelector('#confirm').open`)
		p.click("#confirm-ok")
		p.wait(`location.hash === '#/' && document.querySelector('#experiments tr[data-experiment]')`)
		if code, _ := c.do("GET", "/v1/experiments/dash-new", nil, true); code != http.StatusNotFound {
			t.Fatalf("GET a deleted experiment = %d, want 404", code)
		}
		if strings.Contains(p.text("#experiments"), "dash-new") {
			t.Error("the deleted experiment is still listed")
		}
	})

	t.Run("Phone", func(t *testing.T) {
		pb := headless.MustStart(t, headless.Options{Width: 390, Height: 844})
		pp, err := pb.NewIsolatedPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		phone := page{Page: pp, tb: t, ctx: ctx, dir: dir, base: base}
		phone.login()
		phone.wait(`[...document.querySelectorAll('#experiments td[data-k=participants]')].filter(td => td.dataset.value).length >= 4`)
		var overflow bool
		phone.eval(`document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow)
		if overflow {
			t.Error("the list is wider than a phone's screen")
		}
		phone.shot("", "phone-list")
		phone.open("#/experiments/"+ctaExperiment, `document.querySelectorAll('figure.chart svg').length === 4`)
		phone.shot("section.goal[data-goal=signup]", "phone-experiment")
		phone.open("#/experiments/"+referralExperiment, `document.querySelectorAll('#referral figure.chart svg').length === 2`)
		phone.shot("#referral figure.chart", "phone-referral-funnel")
		var svgWidth float64
		phone.eval(`document.querySelector('#referral figure.chart svg').getBoundingClientRect().width`, &svgWidth)
		if svgWidth > 390 {
			t.Errorf("a chart is %v px wide on a 390 px screen", svgWidth)
		}
		checkLogs(t, phone)
	})
	checkLogs(t, p)
}

// checkLogs fails on uncaught exceptions in the page.
func checkLogs(tb testing.TB, p page) {
	tb.Helper()
	for _, l := range p.Logs() {
		if strings.HasPrefix(l, "exception") {
			tb.Errorf("page exception: %s", l)
		}
	}
}
