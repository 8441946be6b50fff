package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/headless"
	"github.com/refx-dev/refx/pkg/httpapi"
)

// hostileName is an experiment name with markup: the log, review,
// conclusion and history pages show it as text.
const hostileName = `Banner <img src=x onerror="window.pwned = 1"><b>bold</b>`

// person is an admin key issued to someone, with its role.
type person struct {
	name, role, token, id string
}

// mustPerson issues an admin key of role to name through the API.
func mustPerson(c client, name, role string) person {
	c.tb.Helper()
	var k struct{ ID, Key string }
	c.must("POST", "/v1/keys", map[string]any{"kind": "admin", "name": name, "role": role}, true, http.StatusCreated, &k)
	return person{name: name, role: role, token: k.Key, id: k.ID}
}

// as sends an admin request with p's key and returns the status and body.
func (c client) as(p person, method, path string, body any) (int, []byte) {
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
	req.Header.Set("Authorization", "Bearer "+p.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.tb.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

func (c client) mustAs(p person, method, path string, body any, status int) []byte {
	c.tb.Helper()
	got, raw := c.as(p, method, path, body)
	if got != status {
		c.tb.Fatalf("%s %s as %s = %d %s, want %d", method, path, p.name, got, raw, status)
	}
	return raw
}

// requireRoute skips the test until the API routes method path: the parts
// of the governance API land one by one.
func requireRoute(t *testing.T, c client, method, path, part string) {
	t.Helper()
	if code, raw := c.do(method, path, map[string]any{}, true); code == http.StatusNotFound && strings.Contains(string(raw), `"no route `) {
		t.Skipf("waits for part %s: %s %s is not routed yet", part, method, path)
	}
}

// signIn opens the dashboard with token as the admin key, as the login
// form leaves it.
func (p page) signIn(token string) {
	p.tb.Helper()
	if err := p.Navigate(p.ctx, p.base+"/dashboard"); err != nil {
		p.tb.Fatal(err)
	}
	p.eval(fmt.Sprintf(`sessionStorage.setItem('refx.adminKey', %s)`, js(token)), nil)
	if err := p.Reload(p.ctx); err != nil {
		p.tb.Fatal(err)
	}
	p.wait(`document.querySelector('#experiments tbody tr') && !document.querySelector('#whoami').hidden`)
}

// newPage opens an isolated page (its own sessionStorage) of browser b.
func newPage(t *testing.T, ctx context.Context, b *headless.Browser, base string) page {
	t.Helper()
	hp, err := b.NewIsolatedPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return page{Page: hp, tb: t, ctx: ctx, dir: artifactDir(t), base: base}
}

// strings reads expr, an array of strings, from the page.
func (p page) strings(expr string) []string {
	p.tb.Helper()
	var out []string
	p.eval(expr, &out)
	return out
}

// noMarkup fails when user text became elements or ran.
func noMarkup(t *testing.T, p page) {
	t.Helper()
	var injected struct {
		Elements int
		Pwned    any
	}
	p.eval(`({Elements: document.querySelectorAll('main img, main b, main script').length, Pwned: window.pwned ?? null})`, &injected)
	if injected.Elements != 0 || injected.Pwned != nil {
		t.Errorf("user text became markup: %d elements, window.pwned = %v", injected.Elements, injected.Pwned)
	}
}

// noOverflow fails when the page is wider than its screen.
func noOverflow(t *testing.T, p page, what string) {
	t.Helper()
	var overflow bool
	p.eval(`document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow)
	if overflow {
		t.Errorf("%s is wider than a phone's screen", what)
	}
}

type listed struct {
	ID, Owner, Status string
}

// allExperiments reads every page of GET /v1/experiments?<query>.
func allExperiments(c client, query string) []listed {
	c.tb.Helper()
	var out []listed
	cursor := ""
	for {
		var page struct {
			Experiments []listed
			NextCursor  string `json:"next_cursor"`
		}
		c.must("GET", "/v1/experiments?limit=100&"+query+"&cursor="+cursor, nil, true, http.StatusOK, &page)
		out = append(out, page.Experiments...)
		if cursor = page.NextCursor; cursor == "" {
			return out
		}
	}
}

func ids(xs []listed, keep func(listed) bool) []string {
	var out []string
	for _, x := range xs {
		if keep(x) {
			out = append(out, x.ID)
		}
	}
	return out
}

// TestExperimentLog drives the global experiment log (#/log) against
// GET /v1/experiments: 30 experiments in every status, listed in the API's
// order a page at a time, each with its status, owner, primary metric,
// planned and actual dates and decision; the status filter (the API's) and
// the owner filter kept in the URL; markup in names and owners shown as
// text; a phone's width.
func TestExperimentLog(t *testing.T) {
	stack := MustStack(t)
	c := client{t, stack.URL, stack.SecretKey()}
	requireRoute(t, c, "POST", "/v1/experiments/none/conclude", "LIFECYCLE")
	owners := []string{"growth", "web", "<b>ops</b>"}
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range 30 {
		id := fmt.Sprintf("log-%02d", i)
		body := map[string]any{
			"id": id, "name": fmt.Sprintf("Log experiment %d", i), "owner": owners[i%3],
			"variants": []map[string]any{{"key": "a", "weight": 1}, {"key": "b", "weight": 1}},
			"goals": []map[string]any{{"key": "signup", "kind": "binomial", "role": "secondary"},
				{"key": "purchase", "kind": "value", "role": "primary"}},
			"planned_start": start.AddDate(0, 0, i).Format(time.RFC3339),
			"planned_end":   start.AddDate(0, 0, i+14).Format(time.RFC3339),
		}
		if i == 7 {
			body["name"] = hostileName
		}
		c.must("POST", "/v1/experiments", body, true, http.StatusCreated, nil)
		switch {
		case i < 3: // running
			c.must("POST", "/v1/experiments/"+id+"/start", nil, true, http.StatusOK, nil)
		case i < 6: // stopped
			c.must("POST", "/v1/experiments/"+id+"/start", nil, true, http.StatusOK, nil)
			c.must("POST", "/v1/experiments/"+id+"/stop", nil, true, http.StatusOK, nil)
		case i < 8: // concluded
			c.must("POST", "/v1/experiments/"+id+"/start", nil, true, http.StatusOK, nil)
			c.must("POST", "/v1/experiments/"+id+"/conclude", map[string]any{"decision": "ship:b", "learnings": "b sells more"}, true, http.StatusOK, nil)
		case i < 10:
			c.must("POST", "/v1/experiments/"+id+"/submit", nil, true, http.StatusOK, nil)
		}
	}
	all := allExperiments(c, "")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := newPage(t, ctx, headless.MustStart(t, headless.Options{Width: 1280, Height: 900}), stack.URL)
	p.login()
	rows := func() []string {
		return p.strings(`[...document.querySelectorAll('#log tr[data-experiment]')].map(tr => tr.dataset.experiment)`)
	}

	t.Run("Pages", func(t *testing.T) {
		p := p
		p.tb = t
		p.click(`nav a[href="#/log"]`)
		p.wait(`document.querySelectorAll('#log tr[data-experiment]').length === 25 && !document.querySelector('#log-more').hidden`)
		first := ids(all, func(listed) bool { return true })
		if got := rows(); !slices.Equal(got, first[:25]) {
			t.Errorf("the first page lists %q, want the API's %q", got, first[:25])
		}
		p.click(`#log-more`)
		p.wait(fmt.Sprintf(`document.querySelectorAll('#log tr[data-experiment]').length === %d`, len(all)))
		if got := rows(); !slices.Equal(got, first) {
			t.Errorf("the log lists %q, want the API's %q", got, first)
		}
		var hidden bool
		p.eval(`document.querySelector('#log-more').hidden`, &hidden)
		if !hidden {
			t.Error("Load more is shown after the last page")
		}
		type row struct{ Status, Owner, Primary, Planned, Actual, Decision, DecisionText string }
		var got map[string]row
		p.eval(`Object.fromEntries([...document.querySelectorAll('#log tr[data-experiment]')].map(tr => [tr.dataset.experiment, {
			Status: tr.dataset.status, Owner: tr.querySelector('[data-k=owner]').textContent,
			Primary: tr.querySelector('[data-k=primary]').textContent, Planned: tr.querySelector('[data-k=planned]').textContent,
			Actual: tr.querySelector('[data-k=actual]').textContent, Decision: tr.querySelector('[data-k=decision]').dataset.value,
			DecisionText: tr.querySelector('[data-k=decision]').textContent}]))`, &got)
		today := time.Now().UTC().Format("2006-01-02")
		for id, want := range map[string]row{
			"log-00": {"running", "growth", "purchase", "2026-12-01 → 2026-12-15", today + " → now", "", "—"},
			"log-04": {"stopped", "web", "purchase", "2026-12-05 → 2026-12-19", today + " → " + today, "", "—"},
			"log-07": {"concluded", "web", "purchase", "2026-12-08 → 2026-12-22", today + " → " + today, "ship:b", "ship b"},
			"log-08": {"in_review", "<b>ops</b>", "purchase", "2026-12-09 → 2026-12-23", "—", "", "—"},
			"log-20": {"draft", "<b>ops</b>", "purchase", "2026-12-21 → 2027-01-04", "—", "", "—"},
		} {
			if got[id] != want {
				t.Errorf("%s: row %+v, want %+v", id, got[id], want)
			}
		}
		if got := p.text(`#log tr[data-experiment=log-07] a`); got != hostileName {
			t.Errorf("log-07 is named %q, want %q", got, hostileName)
		}
		noMarkup(t, p)
		p.shot("", "log")
	})

	t.Run("Filters", func(t *testing.T) {
		for _, tc := range []struct {
			name, status, owner, hash string
		}{
			{"Running", "running", "", "#/log?status=running"},
			{"InReview", "in_review", "", "#/log?status=in_review"},
			{"Concluded", "concluded", "", "#/log?status=concluded"},
			{"Owner", "", "web", "#/log?owner=web"},
			{"StatusAndOwner", "stopped", "<b>ops</b>", "#/log?status=stopped&owner=%3Cb%3Eops%3C%2Fb%3E"},
			{"None", "archived", "", "#/log?status=archived"},
			{"All", "", "", "#/log"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := p
				p.tb = t
				p.set("#log-owner", tc.owner)
				p.set("#log-status", tc.status)
				p.wait(fmt.Sprintf(`document.querySelector('#log[data-ready]')?.dataset.hash === %s`, js(tc.hash)))
				want := ids(allExperiments(c, "status="+tc.status), func(x listed) bool { return tc.owner == "" || x.Owner == tc.owner })
				if len(want) > 25 {
					want = want[:25]
				}
				if got := rows(); !slices.Equal(got, want) {
					t.Errorf("%s lists %q, want %q", tc.hash, got, want)
				}
				if len(want) == 0 && !strings.Contains(p.text("#log td.empty"), "No archived experiments") {
					t.Errorf("an empty log says %q", p.text("#log td.empty"))
				}
			})
		}
		// The filters are in the URL: a reload keeps them.
		p.set("#log-status", "stopped")
		p.wait(`document.querySelector('#log[data-ready]')?.dataset.hash === '#/log?status=stopped'`)
		if err := p.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		p.wait(`document.querySelector('#log[data-ready]')`)
		var status string
		p.eval(`document.querySelector('#log-status').value`, &status)
		want := ids(allExperiments(c, "status=stopped"), func(listed) bool { return true })
		if got := rows(); status != "stopped" || len(want) != 3 || !slices.Equal(got, want) {
			t.Errorf("after a reload: status %q, rows %q, want %q", status, got, want)
		}
	})

	t.Run("Phone", func(t *testing.T) {
		phone := newPage(t, ctx, headless.MustStart(t, headless.Options{Width: 390, Height: 844}), stack.URL)
		phone.login()
		phone.open("#/log", `document.querySelectorAll('#log tr[data-experiment]').length === 25`)
		noOverflow(t, phone, "the log")
		phone.shot("", "phone-log")
		checkLogs(t, phone)
	})
	checkLogs(t, p)
}

// reviewBody is a complete brief: metrics of each role with directions, an
// audience, planned dates, a minimum detectable effect, a priority and
// links, one of them not http(s).
func reviewBody(id string) map[string]any {
	return map[string]any{
		"id": id, "name": hostileName, "owner": "growth",
		"hypothesis": "A banner about the referral reward gets more visitors to invite a friend.",
		"variants":   []map[string]any{{"key": "control", "weight": 1}, {"key": "banner", "weight": 1}},
		"goals": []map[string]any{
			{"key": "invite", "kind": "binomial", "role": "primary"},
			{"key": "purchase", "kind": "value", "role": "secondary"},
			{"key": "unsubscribe", "kind": "binomial", "role": "guardrail", "direction": "decrease", "margin": 0.02},
		},
		"audience":      map[string]any{"country": map[string]any{"$in": []string{"NZ", "AU"}}},
		"planned_start": "2027-01-04T00:00:00Z", "planned_end": "2027-01-25T00:00:00Z",
		"mde":      0.1,
		"priority": map[string]any{"impact": 8, "confidence": 5, "ease": 3},
		"links":    []map[string]any{{"title": "Design doc <b>v2</b>", "url": "https://docs.example/banner"}},
	}
}

// TestReview drives an experiment's review page (#/experiments/{id}/review)
// with named admin keys: the brief as the API holds it, the health checks
// as GET …/health answers them, an approver who last edited the experiment
// refused with the API's words, a second approver approving with a note,
// and a viewer who sees no action.
func TestReview(t *testing.T) {
	stack := MustStack(t)
	c := client{t, stack.URL, stack.SecretKey()}
	requireRoute(t, c, "POST", "/v1/experiments/none/submit", "LIFECYCLE")
	requireRoute(t, c, "GET", "/v1/experiments/none/health", "AA")
	ann := mustPerson(c, "ann", "approver")
	bob := mustPerson(c, "bob", "approver")
	vera := mustPerson(c, "vera", "viewer")
	c.mustAs(ann, "POST", "/v1/experiments", reviewBody("review-banner"), http.StatusCreated)
	c.mustAs(ann, "POST", "/v1/experiments/review-banner/submit", map[string]any{"note": "ready for review"}, http.StatusOK)
	var exp struct {
		LastEditor        string `json:"last_editor"`
		PlannedSampleSize *int64 `json:"planned_sample_size"`
		Status            string
	}
	c.must("GET", "/v1/experiments/review-banner", nil, true, http.StatusOK, &exp)
	if exp.Status != "in_review" || exp.LastEditor != "admin:"+ann.id {
		t.Fatalf("after ann's submit: %+v", exp)
	}
	// The API's own refusal of ann's approval, which the page must show.
	code, raw := c.as(ann, "POST", "/v1/experiments/review-banner/approve", map[string]any{})
	var refusal struct {
		Error struct{ Code, Message string }
	}
	json.Unmarshal(raw, &refusal)
	if code != http.StatusForbidden || refusal.Error.Code != "forbidden" {
		t.Fatalf("approval by the last editor = %d %s, want 403 forbidden", code, raw)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b := headless.MustStart(t, headless.Options{Width: 1280, Height: 900})
	review := "#/experiments/review-banner/review"
	ready := `document.querySelector('#health-checks, #health .error') && document.querySelector('#brief')`

	t.Run("Brief", func(t *testing.T) {
		p := newPage(t, ctx, b, stack.URL)
		p.signIn(ann.token)
		if got := p.text("#whoami"); got != "ann (approver)" {
			t.Errorf("the top bar says %q, want ann (approver)", got)
		}
		var offered bool
		p.eval(`!document.querySelector('#nav-new').hidden && !document.querySelector('#new-experiment').hidden`, &offered)
		if !offered {
			t.Error("an approver is not offered to create an experiment")
		}
		p.open(review, ready)
		var brief map[string]string
		p.eval(`Object.fromEntries([...document.querySelectorAll('#brief dd[data-k]')].map(dd => [dd.dataset.k, dd.textContent]))`, &brief)
		for k, want := range map[string]string{
			"owner":             "growth",
			"metrics-primary":   "invite (binomial, higher is better)",
			"metrics-secondary": "purchase (value, higher is better)",
			"metrics-guardrail": "unsubscribe (binomial, lower is better) non-inferiority margin 2%",
			"planned":           "2027-01-04 → 2027-01-25",
			"mde":               "10%",
			"priority":          "score 120 (impact 8, confidence 5, ease 3)",
			"links":             "Design doc <b>v2</b>",
			"last_editor":       "admin:" + ann.id,
			"submitted_by":      "ann (approver)",
			"approval":          "not approved",
		} {
			if brief[k] != want {
				t.Errorf("brief %s = %q, want %q", k, brief[k], want)
			}
		}
		if !strings.Contains(brief["audience"], `"$in"`) || !strings.Contains(brief["audience"], `"NZ"`) {
			t.Errorf("the audience is shown as %q", brief["audience"])
		}
		// Submitted with an MDE, it has its planned sample size.
		if exp.PlannedSampleSize == nil || brief["planned_sample_size"] != thousands(*exp.PlannedSampleSize) {
			t.Errorf("planned sample size %q, API %v", brief["planned_sample_size"], exp.PlannedSampleSize)
		}
		var href string
		p.eval(`document.querySelector('#brief [data-k=links] a').href`, &href)
		if href != "https://docs.example/banner" {
			t.Errorf("the link goes to %q", href)
		}

		// The health checks, as the API answers them.
		var health struct {
			Checks []struct{ Name, Status string }
		}
		c.must("GET", "/v1/experiments/review-banner/health", nil, true, http.StatusOK, &health)
		var want []string
		for _, ch := range health.Checks {
			want = append(want, ch.Name+":"+ch.Status)
		}
		got := p.strings(`[...document.querySelectorAll('#health-checks li')].map(li => li.dataset.check + ':' + li.dataset.status)`)
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("health checks shown %q, API %q", got, want)
		}
		noMarkup(t, p)
		p.shot("", "review")

		// ann last edited it: her approval is refused, in the API's words.
		p.click("#approve")
		p.wait(`document.querySelector('#confirm').open`)
		p.set("#confirm-note", "my own change")
		p.click("#confirm-ok")
		p.wait(`document.querySelector('#action-errors .error')`)
		var shown struct{ Code, Text string }
		p.eval(`({Code: document.querySelector('#action-errors .error').dataset.code, Text: document.querySelector('#action-errors .error').textContent})`, &shown)
		if shown.Code != "forbidden" || !strings.Contains(shown.Text, refusal.Error.Message) || !strings.HasPrefix(shown.Text, "Not allowed: ") {
			t.Errorf("the refusal is shown as %+v, want the API's %q", shown, refusal.Error.Message)
		}
		p.shot("", "review-refused")
		c.must("GET", "/v1/experiments/review-banner", nil, true, http.StatusOK, &exp)
		if exp.Status != "in_review" {
			t.Fatalf("after the refused approval the experiment is %s", exp.Status)
		}
		checkLogs(t, p)
	})

	t.Run("Viewer", func(t *testing.T) {
		p := newPage(t, ctx, b, stack.URL)
		p.signIn(vera.token)
		if got := p.text("#whoami"); got != "vera (viewer)" {
			t.Errorf("the top bar says %q, want vera (viewer)", got)
		}
		var offered bool
		p.eval(`!document.querySelector('#nav-new').hidden || !document.querySelector('#new-experiment').hidden`, &offered)
		if offered {
			t.Error("a viewer is offered to create an experiment")
		}
		p.open(review, ready)
		p.wait(`document.querySelector('#review-state')`)
		var actions int
		p.eval(`document.querySelectorAll('main [data-action], #review-actions, #edit, #delete').length`, &actions)
		if actions != 0 {
			t.Errorf("a viewer sees %d actions on the review page", actions)
		}
		p.open("#/experiments/review-banner", `document.querySelector('#stepper') && document.querySelector('#results table, #results .error, #headline')`)
		p.eval(`document.querySelectorAll('main [data-action], #edit, #delete').length`, &actions)
		if actions != 0 {
			t.Errorf("a viewer sees %d actions on the experiment's page", actions)
		}
		if got := p.strings(`[...document.querySelectorAll('#stepper li')].map(li => li.dataset.step + ':' + li.className)`); !slices.Equal(got,
			[]string{"draft:done", "in_review:current", "approved:todo", "running:todo", "stopped:todo", "concluded:todo"}) {
			t.Errorf("the stepper shows %q", got)
		}
		checkLogs(t, p)
	})

	t.Run("Approve", func(t *testing.T) {
		p := newPage(t, ctx, b, stack.URL)
		p.signIn(bob.token)
		p.open(review, ready)
		p.click("#approve")
		p.wait(`document.querySelector('#confirm').open`)
		p.set("#confirm-note", "Brief <i>and</i> checks look right.")
		p.click("#confirm-ok")
		p.wait(`document.querySelector('h1 .status-approved') && document.querySelector('#brief')`)
		var approved struct {
			Status   string
			Approval struct{ By struct{ ID, Name string } }
		}
		c.must("GET", "/v1/experiments/review-banner", nil, true, http.StatusOK, &approved)
		if approved.Status != "approved" || approved.Approval.By.Name != "bob" {
			t.Fatalf("after bob's approval: %+v", approved)
		}
		if got := p.text(`#brief [data-k=approval]`); !strings.HasPrefix(got, "bob (approver) at ") {
			t.Errorf("the brief says the approval is %q", got)
		}
		// Approved, it may start: the editor's Start is offered, the
		// review's actions are not.
		if got := p.strings(`[...document.querySelectorAll('main [data-action]')].map(b => b.dataset.action)`); !slices.Equal(got, []string{"start"}) {
			t.Errorf("an approved experiment offers %q to an approver, want start", got)
		}
		p.shot("", "review-approved")
		checkLogs(t, p)
	})

	t.Run("Phone", func(t *testing.T) {
		phone := newPage(t, ctx, headless.MustStart(t, headless.Options{Width: 390, Height: 844}), stack.URL)
		phone.signIn(ann.token)
		phone.open(review, ready)
		noOverflow(t, phone, "the review page")
		phone.shot("", "phone-review")
		checkLogs(t, phone)
	})
}

// thousands formats n as the page does (en-US): 12,345.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// frozenRecord is GET /v1/experiments/{id}/conclusion.
type frozenRecord struct {
	Decision, Learnings string
	By                  struct{ Name string }
	At                  time.Time
	Results             httpapi.ResultsResponse
}

func participants(r httpapi.ResultsResponse) int64 {
	var n int64
	for _, v := range r.Variants {
		n += v.Participants
	}
	return n
}

// TestConclusion concludes a running experiment from its conclusion page
// while users still arrive: the page shows the decision, the learnings,
// who and when, and the results the API froze, which do not move when the
// counts applied afterwards (accepted before the stop) change the live
// results, nor after a reload.
func TestConclusion(t *testing.T) {
	stack := MustStack(t)
	c := client{t, stack.URL, stack.SecretKey()}
	requireRoute(t, c, "GET", "/v1/experiments/none/conclusion", "LIFECYCLE")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	p := newPage(t, ctx, headless.MustStart(t, headless.Options{Width: 1280, Height: 900}), stack.URL)
	p.login()

	enrol := func(id string, from, n int) {
		parallel(n, func(i int) {
			user := fmt.Sprintf("%s-user-%d", id, from+i)
			code, raw := c.do("POST", "/v1/assign", map[string]any{"experiment": id, "user": user}, false)
			var a struct{ Variant string }
			json.Unmarshal(raw, &a)
			// Once it is concluded, assignment answers the control
			// without enrolling, or refuses; both are fine here.
			if code == http.StatusOK && (a.Variant == "bold" && i%3 == 0 || i%7 == 0) {
				c.do("POST", "/v1/events", map[string]any{"id": uuid(), "type": "signup", "user": user}, false)
			}
		})
	}
	// The frozen results differ from the live ones only when counts
	// accepted before the conclusion are applied after it: a burst of
	// users runs while the form is sent. The aggregator may be quick enough
	// to count them all first; then a new experiment tries again.
	var id string
	var record frozenRecord
	var live httpapi.ResultsResponse
	for try := range 4 {
		id = fmt.Sprintf("conclude-cta-%d", try)
		c.must("POST", "/v1/experiments", map[string]any{
			"id": id, "name": hostileName, "owner": "growth",
			"variants": []map[string]any{{"key": "control", "weight": 1}, {"key": "bold", "weight": 1}},
			"goals":    []map[string]any{{"key": "signup", "kind": "binomial", "role": "primary"}},
		}, true, http.StatusCreated, nil)
		c.must("POST", "/v1/experiments/"+id+"/start", nil, true, http.StatusOK, nil)
		enrol(id, 0, 200)
		p.open("#/experiments/"+id+"/conclusion", `document.querySelector('#conclusion-form')`)
		p.set("#conclusion-decision", "ship:bold")
		p.set("#conclusion-learnings", "Bold <b>wins</b>.\nShip it.")
		burst := make(chan struct{})
		go func() {
			defer close(burst)
			enrol(id, 200, 400)
		}()
		time.Sleep(300 * time.Millisecond)
		p.click("#conclusion-submit")
		p.wait(`document.querySelector('#frozen table.metric')`)
		<-burst
		sent := time.Now()
		c.must("GET", "/v1/experiments/"+id+"/conclusion", nil, true, http.StatusOK, &record)
		// Every count accepted before the stop is applied.
		for {
			c.must("GET", "/v1/experiments/"+id+"/results", nil, true, http.StatusOK, &live)
			if live.CountedThrough != nil && live.CountedThrough.After(sent) {
				break
			}
			if ctx.Err() != nil {
				t.Fatal("the live results never counted the burst")
			}
			time.Sleep(200 * time.Millisecond)
		}
		if participants(live) != participants(record.Results) {
			break
		}
		t.Logf("%s: the burst was counted before the conclusion (%d participants both); trying again", id, participants(live))
	}
	if participants(live) == participants(record.Results) {
		t.Fatalf("the live results never differed from the frozen ones: the test proves nothing")
	}
	t.Logf("%s: frozen with %d participants, %d counted in the end", id, participants(record.Results), participants(live))

	check := func(t *testing.T) {
		t.Helper()
		checkResults(t, p.cells(), record.Results)
		if got := p.text("#frozen-participants"); !strings.Contains(got, "bold: ") {
			t.Errorf("the frozen participants say %q", got)
		}
		var shown string
		p.eval(`document.querySelector('#frozen-participants').dataset.value`, &shown)
		if shown != fmt.Sprint(participants(record.Results)) {
			t.Errorf("the page shows %s participants, the frozen results %d (live %d)", shown, participants(record.Results), participants(live))
		}
		var con map[string]string
		p.eval(`Object.fromEntries([...document.querySelectorAll('#conclusion dd[data-k]')].map(dd => [dd.dataset.k, dd.textContent]))`, &con)
		want := map[string]string{"decision": "ship bold", "learnings": "Bold <b>wins</b>.\nShip it.", "by": "bootstrap admin key (owner)",
			"at": record.At.UTC().Format("2006-01-02 15:04:05") + " UTC"}
		for k, v := range want {
			if con[k] != v {
				t.Errorf("conclusion %s = %q, want %q", k, con[k], v)
			}
		}
		if record.Decision != "ship:bold" || record.Learnings != want["learnings"] {
			t.Errorf("the API's conclusion: %+v", record)
		}
		if !strings.Contains(p.text("#frozen h2"), "frozen") || !strings.Contains(p.text("#frozen-note"), "never change") {
			t.Errorf("the results are not marked as frozen: %q", p.text("#frozen-note"))
		}
		var href string
		p.eval(`document.querySelector('#live-results').getAttribute('href')`, &href)
		if href != "#/experiments/"+id {
			t.Errorf("the live results link goes to %q", href)
		}
		noMarkup(t, p)
	}
	t.Run("Frozen", func(t *testing.T) {
		p := p
		p.tb = t
		check(t)
		p.shot("", "conclusion")
	})
	t.Run("Reload", func(t *testing.T) {
		p := p
		p.tb = t
		// More events of enrolled users, after the conclusion.
		enrol(id, 0, 100)
		if err := p.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		p.wait(`document.querySelector('#frozen table.metric')`)
		check(t)
		// The live page shows the live numbers.
		p.click("#live-results")
		p.wait(`document.querySelector('#participants')`)
		var shown string
		p.eval(`document.querySelector('#participants').dataset.value`, &shown)
		if shown != fmt.Sprint(participants(live)) {
			t.Errorf("the live page shows %s participants, the API %d", shown, participants(live))
		}
	})
	t.Run("NotConcluded", func(t *testing.T) {
		p := p
		p.tb = t
		c.must("POST", "/v1/experiments", map[string]any{"id": "conclude-draft",
			"variants": []map[string]any{{"key": "a", "weight": 1}, {"key": "b", "weight": 1}},
			"goals":    []map[string]any{{"key": "signup", "kind": "binomial"}}}, true, http.StatusCreated, nil)
		p.open("#/experiments/conclude-draft/conclusion", `document.querySelector('#conclusion-state')`)
		if got := p.text("#conclusion-state"); !strings.Contains(got, "it is draft") {
			t.Errorf("a draft's conclusion page says %q", got)
		}
	})
	t.Run("Phone", func(t *testing.T) {
		phone := newPage(t, ctx, headless.MustStart(t, headless.Options{Width: 390, Height: 844}), stack.URL)
		phone.login()
		phone.open("#/experiments/"+id+"/conclusion", `document.querySelector('#frozen table.metric')`)
		noOverflow(t, phone, "the conclusion page")
		phone.shot("", "phone-conclusion")
		checkLogs(t, phone)
	})
	checkLogs(t, p)
}

type auditEntry struct {
	ID, Action, Note string
}

// allAudit reads every page of an experiment's audit entries.
func allAudit(c client, id string) []auditEntry {
	c.tb.Helper()
	var out []auditEntry
	cursor := ""
	for {
		var page struct {
			Entries []auditEntry
			Next    string
		}
		c.must("GET", "/v1/audit?resource=experiment:"+id+"&limit=100&cursor="+cursor, nil, true, http.StatusOK, &page)
		out = append(out, page.Entries...)
		if cursor = page.Next; cursor == "" {
			return out
		}
	}
}

// TestHistory drives an experiment's history (#/experiments/{id}/history)
// against GET /v1/audit: 25 changes by two people listed newest first a
// page at a time, each with who, when and what, the field-level diff of a
// change (the fields every change moves left out), a creation folded, a
// note, markup shown as text, a phone's width.
func TestHistory(t *testing.T) {
	stack := MustStack(t)
	c := client{t, stack.URL, stack.SecretKey()}
	requireRoute(t, c, "GET", "/v1/audit?resource=experiment:none", "AUDIT")
	requireRoute(t, c, "POST", "/v1/experiments/none/submit", "LIFECYCLE")
	eve := mustPerson(c, "eve", "editor")
	id := "history-cta"
	var e struct{ Version int }
	json.Unmarshal(c.mustAs(eve, "POST", "/v1/experiments", map[string]any{"id": id, "name": "v0",
		"variants": []map[string]any{{"key": "a", "weight": 1}, {"key": "b", "weight": 1}},
		"goals":    []map[string]any{{"key": "signup", "kind": "binomial"}}}, http.StatusCreated), &e)
	for i := 1; i <= 22; i++ {
		json.Unmarshal(c.mustAs(eve, "PATCH", "/v1/experiments/"+id, map[string]any{"version": e.Version, "name": fmt.Sprint("v", i)}, http.StatusOK), &e)
	}
	c.must("PATCH", "/v1/experiments/"+id, map[string]any{"version": e.Version, "name": hostileName, "hypothesis": "Shorter <i>names</i> read better.",
		"variants": []map[string]any{{"key": "a", "weight": 3}, {"key": "b", "weight": 1}}}, true, http.StatusOK, nil)
	c.mustAs(eve, "POST", "/v1/experiments/"+id+"/submit", map[string]any{"note": "ready <b>now</b>"}, http.StatusOK)
	entries := allAudit(c, id)
	if len(entries) != 25 {
		t.Fatalf("the API lists %d entries, want 25", len(entries))
	}
	var want []string
	for _, x := range entries {
		want = append(want, x.ID)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := newPage(t, ctx, headless.MustStart(t, headless.Options{Width: 1280, Height: 900}), stack.URL)
	p.login()
	p.open("#/experiments/"+id, `document.querySelector('nav.tabs a[data-tab=history]')`)
	p.click(`nav.tabs a[data-tab=history]`)
	p.wait(`document.querySelectorAll('#history li.entry').length === 20 && !document.querySelector('#history-more').hidden`)
	shown := func() []string {
		return p.strings(`[...document.querySelectorAll('#history li.entry')].map(li => li.dataset.id)`)
	}
	if got := shown(); !slices.Equal(got, want[:20]) {
		t.Errorf("the first page lists %q, want the API's %q", got, want[:20])
	}
	p.click("#history-more")
	p.wait(`document.querySelectorAll('#history li.entry').length === 25`)
	if got := shown(); !slices.Equal(got, want) {
		t.Errorf("the history lists %q, want the API's %q", got, want)
	}
	actions := p.strings(`[...document.querySelectorAll('#history li.entry')].map(li => li.dataset.action)`)
	if actions[0] != "submit" || actions[24] != "create" {
		t.Errorf("actions %q, want submit first and create last", actions)
	}
	entry := func(i int) string { return fmt.Sprintf(`#history li.entry:nth-child(%d) `, i+1) }
	if got := p.text(entry(0) + "[data-k=actor]"); got != "eve (editor)" {
		t.Errorf("the submit is by %q", got)
	}
	if got := p.text(entry(0) + "[data-k=note]"); got != "ready <b>now</b>" {
		t.Errorf("the submit's note is %q", got)
	}
	diff := func(i int) map[string][2]string {
		var out map[string][2]string
		p.eval(fmt.Sprintf(`Object.fromEntries([...document.querySelectorAll('%str[data-field]')].map(tr => [tr.dataset.field, [tr.querySelector('.before').textContent, tr.querySelector('.after').textContent]]))`, entry(i)), &out)
		return out
	}
	// The owner's edit: name, hypothesis, a weight and the last editor;
	// not the version or the time.
	if got, want := diff(1), map[string][2]string{
		"name": {"v22", hostileName}, "hypothesis": {"—", "Shorter <i>names</i> read better."}, "variants[0].weight": {"1", "3"},
		"last_editor": {"admin:" + eve.id, "bootstrap"},
	}; !maps.Equal(got, want) {
		t.Errorf("the owner's edit shows %v, want %v", got, want)
	}
	if got := p.text(entry(1) + "[data-k=actor]"); got != "bootstrap admin key (owner)" {
		t.Errorf("the owner's edit is by %q", got)
	}
	// Entry k > 1 is eve's edit 24 − k.
	if got, want := diff(10), map[string][2]string{"name": {"v13", "v14"}}; !maps.Equal(got, want) {
		t.Errorf("eve's 14th edit shows %v, want %v", got, want)
	}
	var folded struct {
		Open    bool
		Summary string
	}
	p.eval(`(d => ({Open: d.open, Summary: d.querySelector('summary').textContent}))(document.querySelector('#history li.entry:last-child details'))`, &folded)
	if folded.Open || !strings.HasSuffix(folded.Summary, "fields set") {
		t.Errorf("the creation is shown %+v, want folded", folded)
	}
	noMarkup(t, p)
	p.shot("", "history")

	phone := newPage(t, ctx, headless.MustStart(t, headless.Options{Width: 390, Height: 844}), stack.URL)
	phone.login()
	phone.open("#/experiments/"+id+"/history", `document.querySelectorAll('#history li.entry').length === 20`)
	noOverflow(t, phone, "the history")
	phone.shot("", "phone-history")
	checkLogs(t, phone)
	checkLogs(t, p)
}
