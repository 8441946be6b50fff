package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/headless"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/stats"
)

const decideExperiment = "dash-decide"

// seedDecide creates a three-arm experiment whose goals have roles (signup
// primary, purchase secondary, refund a guardrail that should go down) and
// enrols users [from, to) into it, some converting, and waits until the
// results count them all.
func seedDecide(c client, from, to int) {
	c.tb.Helper()
	if from == 0 {
		c.must("POST", "/v1/experiments", map[string]any{
			"id": decideExperiment, "name": "Onboarding checklist", "owner": "activation",
			"variants": []map[string]any{{"key": "control", "weight": 1}, {"key": "bold", "weight": 1}, {"key": "calm", "weight": 1}},
			"goals": []map[string]any{
				{"key": "signup", "kind": "binomial", "role": "primary"},
				{"key": "purchase", "kind": "value", "role": "secondary"},
				{"key": "refund", "kind": "binomial", "role": "guardrail", "direction": "decrease", "margin": 0.05},
			},
		}, true, http.StatusCreated, nil)
		c.must("POST", "/v1/experiments/"+decideExperiment+"/start", nil, true, http.StatusOK, nil)
	}
	parallel(to-from, func(j int) {
		i := from + j
		user := fmt.Sprint("decide-", i)
		var a struct{ Variant string }
		// A pre-experiment purchase value that predicts the purchases
		// below: the CUPED reading has something to remove.
		covariate := 5
		if i%3 == 0 {
			covariate = 30
		}
		c.must("POST", "/v1/assign", map[string]any{"experiment": decideExperiment, "user": user, "covariates": map[string]any{"purchase": covariate}}, false, http.StatusOK, &a)
		event := func(typ string, value any) {
			body := map[string]any{"id": uuid(), "type": typ, "user": user}
			if value != nil {
				body["value"] = value
			}
			c.must("POST", "/v1/events", body, false, http.StatusAccepted, nil)
		}
		if (a.Variant == "bold" && i%4 == 0) || i%9 == 0 {
			event("signup", nil)
			if i%3 == 0 {
				event("purchase", 30)
			}
		}
		if i%20 == 0 {
			event("refund", nil)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		var res httpapi.ResultsResponse
		c.must("GET", "/v1/experiments/"+decideExperiment+"/results", nil, true, http.StatusOK, &res)
		var n int64
		for _, v := range res.Variants {
			n += v.Participants
		}
		if n == int64(to) {
			return
		}
		if time.Now().After(deadline) {
			c.tb.Fatalf("the results count %d participants, want %d", n, to)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// levelText is an interval level as the page writes it (0.975 → "97.5%").
func levelText(level float64) string {
	return strings.TrimSuffix(strconv.FormatFloat(level*100, 'f', 1, 64), ".0") + "%"
}

// TestDashboardHeadline drives an experiment's page in headless Chromium at
// desktop and phone sizes: the headline's decision sentences, guardrail
// status and sample ratio check against the results API; the metrics
// grouped by role; on a phone, nothing wider than the screen and the
// decision first in each row; and the auto-refresh, which picks up new
// counts without losing the scroll position or an open details, and asks
// nothing while the tab is hidden. Screenshots go to artifacts/dashboard.
func TestDashboardHeadline(t *testing.T) {
	stack := MustStack(t)
	c := client{t, stack.URL, stack.SecretKey()}
	started := time.Now()
	seedDecide(c, 0, 450)
	dir := artifactDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	hash := "#/experiments/" + decideExperiment + "?refresh=2"
	ready := `document.querySelector('#headline li.decision') && document.querySelectorAll('figure.chart svg').length === 6`

	var res httpapi.ResultsResponse
	c.must("GET", "/v1/experiments/"+decideExperiment+"/results", nil, true, http.StatusOK, &res)
	a := res.Analysis

	desktop := headless.MustStart(t, headless.Options{Width: 1280, Height: 900})
	hp, err := desktop.NewIsolatedPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := page{Page: hp, tb: t, ctx: ctx, dir: dir, base: stack.URL}
	p.login()
	p.open(hash, ready)

	t.Run("Headline", func(t *testing.T) {
		p := p
		p.tb = t
		primary := a.Goals["signup"].ConversionRate
		if len(primary.Comparisons) != 2 {
			t.Fatalf("signup has %d comparisons, want 2", len(primary.Comparisons))
		}
		for _, cmp := range primary.Comparisons {
			sel := fmt.Sprintf(`#headline li.decision[data-metric=%q][data-variant=%q]`, primary.Key, cmp.Variant)
			var verdict string
			p.eval(fmt.Sprintf(`(document.querySelector(%s) || {dataset: {}}).dataset.verdict || ""`, js(sel)), &verdict)
			if verdict != string(cmp.Verdict.Code) {
				t.Errorf("%s: headline verdict %q, API %q", cmp.Variant, verdict, cmp.Verdict.Code)
			}
			text := p.text(sel)
			for _, want := range []string{cmp.Variant, "signup conversion rate"} {
				if !strings.Contains(text, want) {
					t.Errorf("%s: headline %q lacks %q", cmp.Variant, text, want)
				}
			}
			if cmp.Relative.CI == nil {
				continue
			}
			// The interval is labelled with its level, and with the
			// correction when it widened it.
			label := levelText(cmp.IntervalLevel) + " CI"
			if cmp.IntervalLevel < 1-a.Alpha-1e-9 || cmp.IntervalLevel > 1-a.Alpha+1e-9 {
				label += ", Holm-adjusted"
			} else if strings.Contains(text, "adjusted)") {
				t.Errorf("%s: an unadjusted interval is labelled adjusted: %q", cmp.Variant, text)
			}
			if !strings.Contains(text, label) {
				t.Errorf("%s: headline %q lacks the interval label %q", cmp.Variant, text, label)
			}
		}
		// Guardrails, as the API's verdicts on the refund metrics say.
		want, pending := "hold", false
		for _, cmp := range a.Goals["refund"].ConversionRate.Comparisons {
			// By name: the guardrail verdicts are newer than this test.
			switch cmp.Verdict.Code {
			case "guardrail_violated", stats.VerdictLoser:
				want = "violated"
			case "guardrail_ok":
			default:
				pending = true
			}
		}
		if want != "violated" && pending {
			want = "pending"
		}
		var checks map[string]string
		p.eval(`Object.fromEntries([...document.querySelectorAll('#headline [data-check]')].map(d => [d.dataset.check, d.dataset.value]))`, &checks)
		if checks["guardrails"] != want {
			t.Errorf("guardrails %q, want %q from the API's verdicts", checks["guardrails"], want)
		}
		if srm := map[bool]string{true: "mismatch", false: "ok"}[a.SRM.Mismatch]; checks["srm"] != srm {
			t.Errorf("sample ratio %q, API %q", checks["srm"], srm)
		}
		if p.text("#roles-defaulted") != "" {
			t.Error("the page says roles were defaulted on an experiment that sets them")
		}
		progress := p.text(`#headline [data-check=progress]`)
		if !strings.Contains(progress, "per arm") {
			t.Errorf("progress %q says no sample per arm", progress)
		}
		p.shot("", "headline")
	})

	t.Run("Grouping", func(t *testing.T) {
		p := p
		p.tb = t
		var roles []string
		p.eval(`[...document.querySelectorAll('#results section.role')].map(s => s.dataset.role)`, &roles)
		if strings.Join(roles, ",") != "primary,secondary,guardrail" {
			t.Errorf("role groups %v, want primary, secondary, guardrail", roles)
		}
		for goal, role := range map[string]string{"signup": "primary", "purchase": "secondary", "refund": "guardrail"} {
			var in bool
			p.eval(fmt.Sprintf(`!!document.querySelector('section.role[data-role=%s] section.goal[data-goal=%s]')`, role, goal), &in)
			if !in {
				t.Errorf("%s is not in the %s group", goal, role)
			}
		}
		// The covariate's regression adjustment is read beside the verdict.
		if got := p.text(`section.goal[data-goal=purchase] ul.cuped`); !strings.Contains(got, "CUPED-adjusted bold \u2212 control") || !strings.Contains(got, "of the variance") {
			t.Errorf("purchase's CUPED reading = %q", got)
		}
		if got := p.text(`section.goal[data-goal=refund] h4`); !strings.Contains(got, "lower is better") || !strings.Contains(got, "non-inferiority margin 5%") {
			t.Errorf("the refund heading %q does not say its direction and margin", got)
		}
		// Each table labels its intervals with their level.
		head := p.text(`table.metric[data-metric="signup:conversion_rate"] thead`)
		if want := "Interval (" + levelText(a.Goals["signup"].ConversionRate.Comparisons[0].IntervalLevel) + " CI"; !strings.Contains(head, want) {
			t.Errorf("the signup table's header %q lacks %q", head, want)
		}
		checkResults(t, p.cells(), res)
		p.shot("section.role[data-role=guardrail]", "grouped-metrics")
	})

	t.Run("Phone", func(t *testing.T) {
		pb := headless.MustStart(t, headless.Options{Width: 390, Height: 844})
		pp, err := pb.NewIsolatedPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		phone := page{Page: pp, tb: t, ctx: ctx, dir: dir, base: stack.URL}
		phone.login()
		phone.open("#/experiments/"+decideExperiment+"?refresh=0", ready)
		// Nothing is wider than the screen: not the page, not an element
		// of the headline or the results (a table that scrolls sideways
		// inside its own box would be, so the metric tables must not). The
		// column heads are off-screen on purpose: a phone's cards label
		// their cells, and screen readers still read the heads.
		var wide []string
		phone.eval(`[...document.querySelectorAll('#headline *, #results table.metric *')]
			.filter(el => { const r = el.getBoundingClientRect(); return !el.closest('thead') && r.width > 0 && (r.right > innerWidth + 0.5 || r.left < -0.5); })
			.map(el => el.tagName + '.' + el.className + ' ' + (el.dataset.k || '') + ' ' + Math.round(el.getBoundingClientRect().right))
			.concat(document.documentElement.scrollWidth > innerWidth + 1 ? ['page ' + document.documentElement.scrollWidth] : [])`, &wide)
		if len(wide) > 0 {
			t.Errorf("wider than a 390 px screen: %v", wide[:min(len(wide), 8)])
		}
		// Each variant's card shows the decision before the counts.
		var order []string
		phone.eval(`(() => {
			const row = document.querySelector('table.metric[data-metric="signup:conversion_rate"] td[data-k=lift]').parentElement;
			return [...row.querySelectorAll('td[data-k]')].sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top).map(td => td.dataset.k);
		})()`, &order)
		if strings.Join(order, ",") != "lift,interval,p_value,verdict,units,sum,mean,power" {
			t.Errorf("a phone card shows %v, want the decision (lift, interval, p-value, verdict) first", order)
		}
		phone.shot("", "phone-headline")
		phone.shot("section.role[data-role=primary]", "phone-metrics")
		checkLogs(t, phone)
	})

	t.Run("AutoRefresh", func(t *testing.T) {
		p := p
		p.tb = t
		var before struct {
			Participants string
			Refreshes    string
		}
		state := `({Participants: document.querySelector('#participants').dataset.value, Refreshes: document.querySelector('#refresh-status').dataset.refreshes})`
		p.eval(state, &before)
		if before.Participants != "450" {
			t.Fatalf("the page shows %s participants, want 450", before.Participants)
		}
		// Open details and a scroll position survive the refreshes.
		p.eval(`document.querySelector('details[data-key=headline-how]').open = true`, nil)
		p.eval(`document.querySelector('section.role[data-role=guardrail]').scrollIntoView({block: 'start'})`, nil)
		var y float64
		p.eval(`window.scrollY`, &y)
		if y < 100 {
			t.Fatalf("the page did not scroll (scrollY %v)", y)
		}
		// A hidden tab asks nothing.
		p.eval(`Object.defineProperty(document, 'hidden', {configurable: true, get: () => true}); document.dispatchEvent(new Event('visibilitychange'))`, nil)
		time.Sleep(300 * time.Millisecond) // a refresh under way ends
		var hidden string
		p.eval(`document.querySelector('#refresh-status').dataset.refreshes`, &hidden)
		seedDecide(c, 450, 480)
		time.Sleep(4500 * time.Millisecond) // two periods
		var after string
		p.eval(`document.querySelector('#refresh-status').dataset.refreshes`, &after)
		if after != hidden {
			t.Errorf("refreshed while hidden: %s refreshes, then %s", hidden, after)
		}
		// Shown again, the ETA has an enrolment rate to go by.
		if wait := 30*time.Second - time.Since(started); wait > 0 {
			time.Sleep(wait)
		}
		p.eval(`delete document.hidden; document.dispatchEvent(new Event('visibilitychange'))`, nil)
		p.wait(`document.querySelector('#participants').dataset.value === '480'`)
		var kept struct {
			Open bool
			Y    float64
		}
		p.eval(`({Open: document.querySelector('details[data-key=headline-how]').open, Y: window.scrollY})`, &kept)
		if !kept.Open || kept.Y < y-2 || kept.Y > y+2 {
			t.Errorf("after a refresh: details open %v, scrollY %v (was %v)", kept.Open, kept.Y, y)
		}
		var res2 httpapi.ResultsResponse
		c.must("GET", "/v1/experiments/"+decideExperiment+"/results", nil, true, http.StatusOK, &res2)
		p.wait(`document.querySelectorAll('figure.chart svg').length === 6`)
		checkResults(t, p.cells(), res2)
		// The rate needs 30 s since the start as the page's clock sees it; on
		// a loaded machine the start may land late, so later refreshes get
		// up to 30 s more to show it.
		noETA := func(progress string) bool {
			return strings.Contains(progress, "more participants in all") && !strings.Contains(progress, "participants a day")
		}
		progress := p.text(`#headline [data-check=progress]`)
		for deadline := time.Now().Add(30 * time.Second); noETA(progress) && time.Now().Before(deadline); {
			time.Sleep(time.Second)
			progress = p.text(`#headline [data-check=progress]`)
		}
		if noETA(progress) {
			t.Errorf("progress %q has no ETA after 30 s of enrolment", progress)
		}
		p.shot("#headline", "headline-refreshed")
	})
	checkLogs(t, p)
}
