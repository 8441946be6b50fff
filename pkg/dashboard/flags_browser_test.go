package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/headless"
)

// Flag text is user input: the description, owner, rule descriptions and
// segment descriptions below carry markup that must be shown as text.
const (
	hostileDescription = `Redesigned checkout <script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">`
	hostileOwner       = `<b>payments</b>`
	hostileRule        = `testers first <iframe src="javascript:window.pwned=3"></iframe>`
	hostileSegment     = `staff <svg onload="window.pwned=4">`
)

// seedFlags creates, through the admin API, a segment, a running and a
// draft experiment with string payloads and four flags: one of each kind, with
// force rules, a rollout, a GrowthBook experiment rule, a refx experiment
// rule, a third environment and a disabled one.
func seedFlags(c client) {
	c.tb.Helper()
	c.must("POST", "/v1/segments", map[string]any{
		"key": "staff", "description": hostileSegment,
		"condition": map[string]any{"email": map[string]any{"$regex": `@example\.com$`}},
	}, true, http.StatusCreated, nil)
	c.must("POST", "/v1/experiments", map[string]any{
		"id": "flag-colours", "name": "Button colours",
		"variants": []map[string]any{{"key": "blue", "weight": 3, "payload": "blue"}, {"key": "green", "weight": 1, "payload": "green"}},
		"goals":    []map[string]any{{"key": "signup", "kind": "binomial"}},
	}, true, http.StatusCreated, nil)
	c.must("POST", "/v1/experiments/flag-colours/start", nil, true, http.StatusOK, nil)
	c.must("POST", "/v1/experiments", map[string]any{
		"id": "flag-colours-next", "name": "Next colours",
		"variants": []map[string]any{{"key": "teal", "weight": 1, "payload": "teal"}, {"key": "pink", "weight": 1, "payload": "pink"}},
		"goals":    []map[string]any{{"key": "signup", "kind": "binomial"}},
	}, true, http.StatusCreated, nil)

	flags := []map[string]any{{
		"key": "checkout-redesign", "description": hostileDescription, "owner": hostileOwner,
		"kind": "release", "value_type": "boolean", "default_value": false, "tags": []string{"checkout", "q3"},
		"environments": map[string]any{
			"dev": map[string]any{"enabled": true, "rules": []map[string]any{{"force": true}}},
			"production": map[string]any{"enabled": true, "rules": []map[string]any{
				{"id": "testers", "description": hostileRule, "force": true,
					"condition": map[string]any{"country": map[string]any{"$in": []string{"NZ", "AU"}}, "plan": "pro"},
					"segments":  []string{"staff"}},
				{"id": "rollout", "force": true, "coverage": 0.25, "hashAttribute": "company"},
			}},
			"staging": map[string]any{"enabled": false, "rules": []map[string]any{{"force": true}}},
		},
	}, {
		"key": "button-colour", "kind": "experiment", "value_type": "string", "default_value": "grey", "owner": "growth",
		"environments": map[string]any{
			"dev": map[string]any{"enabled": true, "rules": []map[string]any{{"experiment": "flag-colours-next", "hashAttribute": "device"}}},
			"production": map[string]any{"enabled": true, "rules": []map[string]any{
				{"variations": []string{"red", "orange", "yellow"}, "weights": []float64{0.5, 0.3, 0.2}, "key": "warm-colours", "coverage": 0.8, "hashAttribute": "device"},
				{"experiment": "flag-colours"},
				{"variations": []string{"black", "white"}, "seed": "bw-2026", "namespace": []any{"colours", 0, 0.5}, "hashVersion": 2},
			}},
		},
	}, {
		"key": "kill-search", "kind": "operational", "value_type": "boolean", "default_value": true, "owner": "search",
		"environments": map[string]any{"production": map[string]any{"enabled": true}},
	}, {
		"key": "pro-limits", "kind": "permission", "value_type": "json", "default_value": map[string]any{"seats": 5, "export": false},
		"tags": []string{"billing"},
	}}
	for _, f := range flags {
		c.must("POST", "/v1/flags", f, true, http.StatusCreated, nil)
	}
}

// TestFlags drives the dashboard's flag views in headless Chromium against
// the local stack, with flags created through the admin API: the list
// against GET /v1/flags, its text and kind filters, a flag's rules per
// environment in order (condition, segment, forced value, rollout,
// GrowthBook and refx experiments, the link to the experiment's page and
// back), a missing flag, markup in flag text shown as text and never run,
// and a phone-sized screen.
func TestFlags(t *testing.T) {
	stack := MustStack(t)
	c := client{t, stack.URL, stack.SecretKey()}
	seedFlags(c)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b := headless.MustStart(t, headless.Options{Width: 1280, Height: 900})
	hp, err := b.NewIsolatedPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := page{Page: hp, tb: t, ctx: ctx, dir: artifactDir(t), base: stack.URL}
	p.login()

	var api struct {
		Flags []struct {
			Key, Kind, Owner string
			ValueType        string `json:"value_type"`
			Tags             []string
			Environments     map[string]struct{ Enabled bool }
		}
	}
	c.must("GET", "/v1/flags", nil, true, http.StatusOK, &api)
	if len(api.Flags) != 4 {
		t.Fatalf("GET /v1/flags holds %d flags, want the 4 seeded", len(api.Flags))
	}

	t.Run("List", func(t *testing.T) {
		p := p
		p.tb = t
		p.click(`nav a[href="#/flags"]`)
		p.wait(fmt.Sprintf(`document.querySelectorAll('#flags tr[data-flag]').length === %d`, len(api.Flags)))
		type row struct {
			Kind, ValueType, Owner, Tags string
			Envs                         map[string]string
		}
		var rows map[string]row
		p.eval(`Object.fromEntries([...document.querySelectorAll('#flags tr[data-flag]')].map(tr => [tr.dataset.flag, {
			Kind: tr.querySelector('[data-kind]').dataset.kind,
			ValueType: tr.querySelector('[data-k=value_type]').textContent,
			Owner: tr.querySelector('[data-k=owner]').textContent,
			Tags: [...tr.querySelectorAll('[data-k=tags] li')].map(li => li.textContent).join(','),
			Envs: Object.fromEntries([...tr.querySelectorAll('td[data-env]')].map(td => [td.dataset.env, td.dataset.value])),
		}]))`, &rows)
		var heads []string
		p.eval(`[...document.querySelectorAll('#flags thead th')].map(th => th.textContent)`, &heads)
		if want := []string{"Flag", "Kind", "Value", "Owner", "Tags", "dev", "production", "staging", "Updated"}; !slices.Equal(heads, want) {
			t.Errorf("columns %q, want %q", heads, want)
		}
		for _, f := range api.Flags {
			got, ok := rows[f.Key]
			if !ok {
				t.Errorf("%s is not listed", f.Key)
				continue
			}
			owner := f.Owner
			if owner == "" {
				owner = "—"
			}
			if got.Kind != f.Kind || got.ValueType != f.ValueType || got.Owner != owner || got.Tags != strings.Join(f.Tags, ",") {
				t.Errorf("%s: row %+v, API %+v", f.Key, got, f)
			}
			for _, name := range []string{"dev", "production", "staging"} {
				want := ""
				if env, ok := f.Environments[name]; ok {
					want = map[bool]string{true: "on", false: "off"}[env.Enabled]
				}
				if got.Envs[name] != want {
					t.Errorf("%s in %s: page %q, API %q", f.Key, name, got.Envs[name], want)
				}
			}
		}
		if got := rows["checkout-redesign"].Envs; got["staging"] != "off" || got["production"] != "on" {
			t.Errorf("checkout-redesign environments %v, want production on and staging off", got)
		}
		p.shot("", "flags")

		visible := func() []string {
			var keys []string
			p.eval(`[...document.querySelectorAll('#flags tr[data-flag]')].filter(tr => !tr.hidden).map(tr => tr.dataset.flag)`, &keys)
			return keys
		}
		for _, tc := range []struct {
			name, text, kind, hash string
			want                   []string
		}{
			{"Key", "checkout", "", "#/flags?q=checkout", []string{"checkout-redesign"}},
			{"Tag", "BILLING", "", "#/flags?q=BILLING", []string{"pro-limits"}},
			{"Owner", "growth", "", "#/flags?q=growth", []string{"button-colour"}},
			{"Kind", "", "operational", "#/flags?kind=operational", []string{"kill-search"}},
			{"TextAndKind", "c", "experiment", "#/flags?q=c&kind=experiment", []string{"button-colour"}},
			{"None", "no-such-flag", "", "#/flags?q=no-such-flag", nil},
			{"All", "", "", "#/flags", []string{"button-colour", "checkout-redesign", "kill-search", "pro-limits"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := p
				p.tb = t
				p.set("#flag-filter", tc.text)
				p.set("#flag-kind", tc.kind)
				var hash string
				p.eval(`location.hash`, &hash)
				if got := visible(); !slices.Equal(got, tc.want) || hash != tc.hash {
					t.Errorf("shown %q at %s, want %q at %s", got, hash, tc.want, tc.hash)
				}
				var empty bool
				p.eval(`!document.querySelector('#flags td.empty').closest('tr').hidden`, &empty)
				if empty != (len(tc.want) == 0) {
					t.Errorf("'no flag matches' shown = %v with %d flags shown", empty, len(tc.want))
				}
			})
		}
		// The filter is in the URL: a reload keeps it.
		p.set("#flag-filter", "kill")
		if err := p.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		p.wait(`document.querySelector('#flags tr[data-flag]')`)
		if got := visible(); !slices.Equal(got, []string{"kill-search"}) || p.text("#flag-count") != "1 of 4 flags" {
			t.Errorf("after a reload: shown %q, count %q", got, p.text("#flag-count"))
		}
		p.click(`#flags tr[data-flag=kill-search] a`)
		p.wait(`location.hash === '#/flags/kill-search' && document.querySelector('section.flag-env')`)
	})

	t.Run("Flag", func(t *testing.T) {
		p := p
		p.tb = t
		p.open("#/flags/checkout-redesign", `document.querySelectorAll('section.flag-env').length === 3`)
		var envs []string
		p.eval(`[...document.querySelectorAll('section.flag-env')].map(s => s.dataset.env + ':' + s.querySelector('h2 [data-enabled]').dataset.enabled)`, &envs)
		if want := []string{"dev:true", "production:true", "staging:false"}; !slices.Equal(envs, want) {
			t.Errorf("environments %q, want %q", envs, want)
		}
		if got := p.text(`section[data-env=staging] .notice`); !strings.Contains(got, "Off in staging") {
			t.Errorf("the disabled environment says %q", got)
		}
		prod := `section[data-env=production] `
		var ids []string
		p.eval(`[...document.querySelectorAll('section[data-env=production] li.rule')].map(li => li.dataset.rule + ' ' + li.querySelector('.rule-title .mono').textContent)`, &ids)
		if want := []string{"0 testers", "1 rollout"}; !slices.Equal(ids, want) {
			t.Errorf("production rules %q, want %q in order", ids, want)
		}
		// The condition as the API has it, pretty-printed.
		var f struct {
			Environments map[string]struct {
				Rules []struct{ Condition json.RawMessage }
			}
		}
		c.must("GET", "/v1/flags/checkout-redesign", nil, true, http.StatusOK, &f)
		var cond any
		json.Unmarshal(f.Environments["production"].Rules[0].Condition, &cond)
		pretty, _ := json.MarshalIndent(cond, "", "  ")
		if got := p.text(prod + `li[data-rule="0"] [data-k=condition] pre`); got != string(pretty) {
			t.Errorf("condition shown as\n%s\nwant\n%s", got, pretty)
		}
		seg := p.text(prod + `li[data-rule="0"] li[data-segment=staff]`)
		if !strings.Contains(seg, "staff (segment)") || !strings.Contains(seg, hostileSegment) || !strings.Contains(seg, `"$regex": "@example\\.com$"`) {
			t.Errorf("the segment is shown as %q", seg)
		}
		for sel, want := range map[string]string{
			prod + `li[data-rule="0"] [data-k=action]`:    "force true",
			prod + `li[data-rule="1"] [data-k=action]`:    "force true to 25% by company",
			prod + `li[data-rule="1"] [data-k=condition]`: "every user",
			prod + `[data-k=otherwise]`:                   "Otherwise, the default value false.",
			`section[data-env=dev] [data-k=otherwise]`:    "Otherwise, the default value false.",
			`#flag-description`:                           hostileDescription,
			prod + `li[data-rule="0"] .rule-description`:  hostileRule,
			`dl.meta`: hostileOwner,
		} {
			if got := p.text(sel); !strings.Contains(got, want) {
				t.Errorf("%s shows %q, want %q", sel, got, want)
			}
		}
		p.shot("", "flag")

		// Markup in flag text is text: no element made of it, nothing run.
		var injected struct {
			Elements int
			Pwned    any
		}
		p.eval(`({Elements: document.querySelectorAll('main script, main img, main iframe, main svg, main b').length, Pwned: window.pwned ?? null})`, &injected)
		if injected.Elements != 0 || injected.Pwned != nil {
			t.Errorf("flag text became markup: %d elements, window.pwned = %v", injected.Elements, injected.Pwned)
		}

		p.open("#/flags/pro-limits", `document.querySelector('#flag-default pre')`)
		if got := p.text(`#flag-default`); !strings.Contains(got, `"seats": 5`) {
			t.Errorf("the JSON default value is shown as %q", got)
		}
		if got := p.text(`section[data-env=production] [data-k=otherwise]`); got != `Every user gets the default value {
  "export": false,
  "seats": 5
}.` {
			t.Errorf("a flag without rules says %q", got)
		}
	})

	t.Run("Experiments", func(t *testing.T) {
		p := p
		p.tb = t
		p.open("#/flags/button-colour", `document.querySelector('section[data-env=production] li[data-rule="1"] .linked table')`)
		rule := `section[data-env=production] li[data-rule="0"] `
		if got := p.text(rule + `[data-k=action] .sentence`); got != "experiment warm-colours (by device, 80% of matching users)" {
			t.Errorf("the GrowthBook experiment rule says %q", got)
		}
		// Without key, weights or coverage: the flag's key, equal weights.
		if got := p.text(`section[data-env=production] li[data-rule="2"] [data-k=action] .sentence`); got != "experiment button-colour (by id, seed bw-2026, namespace colours [0, 0.5), hash v2)" {
			t.Errorf("the GrowthBook experiment rule with a namespace says %q", got)
		}
		var equal []string
		p.eval(`[...document.querySelectorAll('section[data-env=production] li[data-rule="2"] td[data-k=weight]')].map(td => td.textContent)`, &equal)
		if !slices.Equal(equal, []string{"50%", "50%"}) {
			t.Errorf("a rule without weights shows %q, want equal weights", equal)
		}
		var weights []string
		p.eval(`[...document.querySelectorAll('section[data-env=production] li[data-rule="0"] td[data-k=weight]')].map(td => td.dataset.value + ' ' + td.textContent + ' ' + td.nextElementSibling.textContent)`, &weights)
		if want := []string{`0.5 50% "red"`, `0.3 30% "orange"`, `0.2 20% "yellow"`}; !slices.Equal(weights, want) {
			t.Errorf("variations %q, want %q", weights, want)
		}
		linked := `section[data-env=production] li[data-rule="1"] `
		p.eval(`[...document.querySelectorAll('section[data-env=production] li[data-rule="1"] td[data-k=weight]')].map(td => td.dataset.value + ' ' + td.textContent + ' ' + td.nextElementSibling.textContent)`, &weights)
		if want := []string{`0.75 75% "blue"`, `0.25 25% "green"`}; !slices.Equal(weights, want) {
			t.Errorf("linked experiment's variants %q, want %q", weights, want)
		}
		if got := p.text(linked + `.linked`); !strings.Contains(got, "Button colours") || !strings.Contains(got, "running") || strings.Contains(got, "null") {
			t.Errorf("the linked experiment is shown as %q", got)
		}
		// A draft experiment's rule is skipped by the SDKs: the page says so.
		p.wait(`document.querySelector('section[data-env=dev] li[data-rule="0"] .linked table')`)
		if got := p.text(`section[data-env=dev] li[data-rule="0"] [data-k=skipped]`); !strings.Contains(got, "Not running (draft)") {
			t.Errorf("the draft experiment's rule says %q", got)
		}
		if got := p.text(`section[data-env=dev] li[data-rule="0"] [data-k=action] .sentence`); !strings.Contains(got, "flag-colours-next by device") {
			t.Errorf("the linked rule says %q", got)
		}
		var skipped int
		p.eval(`document.querySelectorAll('section[data-env=production] [data-k=skipped]').length`, &skipped)
		if skipped != 0 {
			t.Errorf("the running experiment's rule is shown as skipped")
		}
		p.shot(`section[data-env=production]`, "flag-experiments")
		p.click(linked + `a[data-k=experiment]`)
		p.wait(`location.hash === '#/experiments/flag-colours' && document.querySelector('h1')?.textContent.includes('Button colours')`)
		// The experiment's page links back to the flags using it, per environment.
		p.wait(`document.querySelector('#experiment-flags li[data-flag]')`)
		if got := p.text(`#experiment-flags ul`); got != "button-colour in production" {
			t.Errorf("flag-colours's page lists the flags %q", got)
		}
		p.open("#/experiments/flag-colours-next", `document.querySelector('#experiment-flags li[data-flag]')`)
		if got := p.text(`#experiment-flags ul`); got != "button-colour in dev" {
			t.Errorf("flag-colours-next's page lists the flags %q", got)
		}
		p.click(`#experiment-flags a`)
		p.wait(`location.hash === '#/flags/button-colour' && document.querySelector('section.flag-env')`)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		p := p
		p.tb = t
		p.open("#/flags/no-such-flag", `document.querySelector('main .error')`)
		if got := p.text("main .error"); !strings.Contains(got, "not_found") {
			t.Errorf("a missing flag shows %q", got)
		}
	})

	t.Run("Phone", func(t *testing.T) {
		pb := headless.MustStart(t, headless.Options{Width: 390, Height: 844})
		pp, err := pb.NewIsolatedPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		phone := page{Page: pp, tb: t, ctx: ctx, dir: p.dir, base: p.base}
		phone.login()
		for _, tc := range []struct{ hash, ready, shot string }{
			{"#/flags", `document.querySelector('#flags tr[data-flag]')`, "phone-flags"},
			{"#/flags/checkout-redesign", `document.querySelector('section.flag-env li.rule')`, "phone-flag"},
			{"#/flags/button-colour", `document.querySelectorAll('.linked table').length === 2`, ""},
		} {
			phone.open(tc.hash, tc.ready)
			var overflow bool
			phone.eval(`document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow)
			if overflow {
				t.Errorf("%s is wider than a phone's screen", tc.hash)
			}
			if tc.shot != "" {
				phone.shot("", tc.shot)
			}
		}
		checkLogs(t, phone)
	})
	checkLogs(t, p)
}
