package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/devserver"
	"github.com/refx-dev/refx/pkg/headless"
)

// rewardsExperiment is the referral experiment of TestReferralPages: both
// variants pay the referrer 10.00 USD held 14 days and the referee 5.00 USD
// at once, on signup; a code's second signup within an hour is flagged.
const rewardsExperiment = "ui-rewards"

type reward struct {
	ID, Status, Role, Beneficiary, Reason string
	IssuedRef                             string `json:"issued_ref"`
}

// rewardsOf reads GET /v1/rewards?<query> (one page of 200 is all a test has).
func rewardsOf(c client, query string) []reward {
	c.tb.Helper()
	var page struct{ Rewards []reward }
	c.must("GET", "/v1/rewards?limit=200&"+query, nil, true, http.StatusOK, &page)
	return page.Rewards
}

// waitRewards polls GET /v1/rewards?<query> until it lists n rewards: the
// stream's aggregator creates them a moment after the signup.
func waitRewards(t *testing.T, c client, query string, n int) []reward {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := rewardsOf(c, query)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /v1/rewards?%s lists %d rewards after 30 s, want %d: %+v", query, len(got), n, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func rewardFor(t *testing.T, rs []reward, beneficiary string) reward {
	t.Helper()
	for _, r := range rs {
		if r.Beneficiary == beneficiary {
			return r
		}
	}
	t.Fatalf("no reward for %s in %+v", beneficiary, rs)
	return reward{}
}

func rewardPlan() map[string]any {
	return map[string]any{
		"referrer": map[string]any{"amount": "10.00", "currency": "USD", "on": "signup", "hold_days": 14},
		"referee":  map[string]any{"amount": "5.00", "currency": "USD", "on": "signup"},
	}
}

// TestReferralPages drives the pages of referral programs on one stack:
// the rewards ledger (a signup's rewards as the stream created them,
// approved then marked issued from their row, the status filter), the
// review queue (a flagged signup approved; a block added and lifted), the
// webhooks (a subscription created with its secret shown once, its events
// edited, deleted), a referral experiment's referrers (leaderboard and
// channels), a program's offer, and the demo's referrer page showing a reward's state.
func TestReferralPages(t *testing.T) {
	stack := MustStack(t)
	c := client{t, stack.URL, stack.SecretKey()}
	requireRoute(t, c, "GET", "/v1/rewards", "REWARDS")
	c.must("POST", "/v1/experiments", map[string]any{
		"id": rewardsExperiment, "name": "Give $10, get $5", "owner": "growth",
		"variants": []map[string]any{
			{"key": "give10", "weight": 50, "payload": map[string]any{"offer": "Give $10, get $5"}, "rewards": rewardPlan()},
			{"key": "give10b", "weight": 50, "payload": map[string]any{"offer": "Invite a friend: $10 for you"}, "rewards": rewardPlan()},
		},
		"goals":    []map[string]any{{"key": "share", "kind": "binomial"}},
		"referral": map[string]any{"landing_url": "https://shop.example/welcome", "conversion_goal": "purchase", "max_signups_per_hour": 1, "max_signups_per_day": 10},
	}, true, http.StatusCreated, nil)
	c.must("POST", "/v1/experiments/"+rewardsExperiment+"/start", nil, true, http.StatusOK, nil)
	var link struct{ Code string }
	c.must("POST", "/v1/referrals", map[string]any{"experiment": rewardsExperiment, "referrer": "rita"}, false, http.StatusOK, &link)
	c.must("GET", "/r/"+link.Code+"?channel=email", nil, false, http.StatusFound, nil)
	var signup struct{ Status string }
	c.must("POST", "/v1/referrals/"+link.Code+"/signups", map[string]any{"referee": "rex", "ip": "10.9.0.1"}, false, http.StatusOK, &signup)
	if signup.Status != "attributed" {
		t.Fatalf("rex's signup is %q, want attributed", signup.Status)
	}
	c.must("POST", "/v1/referrals/"+link.Code+"/signups", map[string]any{"referee": "rhea", "ip": "10.9.0.2"}, false, http.StatusOK, &signup)
	if signup.Status != "flagged" {
		t.Fatalf("rhea's signup is %q, want flagged (second of the hour)", signup.Status)
	}
	rs := waitRewards(t, c, "experiment="+rewardsExperiment, 2)
	rita, rex := rewardFor(t, rs, "rita"), rewardFor(t, rs, "rex")
	if rita.Status != "pending" || rex.Status != "approved" {
		t.Fatalf("rita's reward is %s, rex's %s; want pending (held 14 days) and approved (no hold)", rita.Status, rex.Status)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	b := headless.MustStart(t, headless.Options{Width: 1280, Height: 900})
	p := newPage(t, ctx, b, stack.URL)
	p.login()
	row := func(id string) string { return fmt.Sprintf(`#rewards tr[data-reward=%s]`, js(id)) }
	// confirm answers the open dialog with text in its field (if any).
	confirm := func(p page, text string) {
		p.tb.Helper()
		p.wait(`document.querySelector('#confirm').open`)
		if text != "" {
			p.set("#confirm-note", text)
		}
		p.click("#confirm-ok")
	}

	t.Run("Rewards", func(t *testing.T) {
		p := p
		p.tb = t
		p.click(`nav a[href="#/rewards"]`)
		p.wait(`document.querySelector('#rewards[data-ready]') && document.querySelectorAll('#rewards tr[data-reward]').length === 2`)
		if got := p.text(row(rita.ID) + " [data-k=state]"); !strings.HasPrefix(got, "pending until 20") {
			t.Errorf("rita's reward says %q, want pending until its hold's end", got)
		}
		if got := p.text(row(rita.ID) + " [data-k=amount]"); got != "$10.00" {
			t.Errorf("rita's reward is %q, want $10.00", got)
		}
		// A pending reward offers approve, reject and reverse; not issue.
		actions := p.strings(fmt.Sprintf(`[...document.querySelectorAll('%s button[data-action]')].map(b => b.dataset.action)`, row(rita.ID)))
		if strings.Join(actions, ",") != "approve,reject,reverse" {
			t.Errorf("a pending reward offers %q", actions)
		}
		p.click(row(rita.ID) + " button[data-action=approve]")
		confirm(p, "")
		p.wait(fmt.Sprintf(`document.querySelector('%s')?.dataset.status === 'approved'`, row(rita.ID)))
		if got := rewardFor(t, rewardsOf(c, "beneficiary=rita"), "rita"); got.Status != "approved" {
			t.Errorf("after approving: the API says %s", got.Status)
		}
		p.click(row(rita.ID) + " button[data-action=issue]")
		confirm(p, "coupon-8812")
		p.wait(fmt.Sprintf(`document.querySelector('%s')?.dataset.status === 'issued'`, row(rita.ID)))
		if got := p.text(row(rita.ID) + " [data-k=state]"); got != "issued (coupon-8812)" {
			t.Errorf("the issued reward says %q", got)
		}
		if got := rewardFor(t, rewardsOf(c, "beneficiary=rita"), "rita"); got.Status != "issued" || got.IssuedRef != "coupon-8812" {
			t.Errorf("after issuing: the API says %+v", got)
		}
		p.set("#reward-status", "issued")
		p.wait(`document.querySelector('#rewards[data-ready]')?.dataset.hash === '#/rewards?status=issued'`)
		if got := p.strings(`[...document.querySelectorAll('#rewards tr[data-reward]')].map(tr => tr.dataset.reward)`); len(got) != 1 || got[0] != rita.ID {
			t.Errorf("status issued lists %q, want rita's %s", got, rita.ID)
		}
		p.shot("", "rewards")
		checkLogs(t, p)

		// A viewer reads the ledger and is offered no move.
		vera := mustPerson(c, "vera", "viewer")
		pv := newPage(t, ctx, b, stack.URL)
		pv.signIn(vera.token)
		pv.open("#/rewards", `document.querySelectorAll('#rewards[data-ready] tr[data-reward]').length === 2`)
		var buttons int
		pv.eval(`document.querySelectorAll('#rewards button').length`, &buttons)
		if buttons != 0 {
			t.Errorf("a viewer is offered %d reward actions", buttons)
		}
	})

	t.Run("Reviews", func(t *testing.T) {
		requireRoute(t, c, "GET", "/v1/reviews", "REVIEW")
		p := p
		p.tb = t
		p.open("#/reviews?experiment="+rewardsExperiment, `document.querySelector('#reviews[data-ready]') && document.querySelector('#blocks[data-ready]')`)
		if got := p.text(`#reviews tr[data-referee=rhea] [data-k=reasons]`); got == "" || got == "—" {
			t.Errorf("rhea's flagged signup shows no reason: %q", got)
		}
		p.click(`#reviews tr[data-referee=rhea] button[data-action=approve]`)
		confirm(p, "same household, checked")
		p.wait(`document.querySelector('#reviews tr[data-referee=rhea]')?.dataset.decision === 'approve'`)
		var queue struct{ Referrals []struct{ Referee string } }
		c.must("GET", "/v1/reviews?experiment="+rewardsExperiment, nil, true, http.StatusOK, &queue)
		for _, a := range queue.Referrals {
			if a.Referee == "rhea" {
				t.Error("rhea is still in the queue after the approval")
			}
		}
		// The approval lets rhea's rewards proceed: the referee's own, and
		// the referrer's second.
		waitRewards(t, c, "beneficiary=rhea", 1)

		p.set("#block-kind", "code")
		p.set("#block-id", "SPAM-1234")
		p.set("#block-reason", "posted on a coupon site")
		p.click(`#block-form button[type=submit]`)
		p.wait(`document.querySelector('#blocks tr[data-block="code/SPAM-1234"]')`)
		var blocks struct {
			Blocks []struct{ Kind, ID, Reason string }
		}
		c.must("GET", "/v1/blocks", nil, true, http.StatusOK, &blocks)
		if len(blocks.Blocks) != 1 || blocks.Blocks[0].ID != "SPAM-1234" || blocks.Blocks[0].Reason != "posted on a coupon site" {
			t.Errorf("after blocking: GET /v1/blocks = %+v", blocks.Blocks)
		}
		p.click(`#blocks tr[data-block="code/SPAM-1234"] button[data-action=unblock]`)
		confirm(p, "")
		p.wait(`!document.querySelector('#blocks tr[data-block="code/SPAM-1234"]')`)
		c.must("GET", "/v1/blocks", nil, true, http.StatusOK, &blocks)
		if len(blocks.Blocks) != 0 {
			t.Errorf("after lifting: GET /v1/blocks = %+v", blocks.Blocks)
		}
		p.shot("", "reviews")
		checkLogs(t, p)
	})

	t.Run("Webhooks", func(t *testing.T) {
		p := p
		p.tb = t
		p.click(`nav a[href="#/webhooks"]`)
		p.wait(`document.querySelector('#webhooks[data-ready]') && !document.querySelector('#webhook-form').hidden`)
		// An address literal: public, so that no DNS is needed.
		p.set("#webhook-url", "https://93.184.216.34/hooks/refx")
		p.set("#webhook-description", "Payouts")
		p.click("#webhook-create")
		p.wait(`document.querySelector('#webhook-secret')`)
		var shown struct{ ID, Secret string }
		p.eval(`({ID: document.querySelector('#webhook-secret').dataset.webhook, Secret: document.querySelector('#webhook-secret code').textContent})`, &shown)
		if !strings.HasPrefix(shown.Secret, "whsec_") {
			t.Errorf("the secret shown is %q, want whsec_…", shown.Secret)
		}
		code, raw := c.do("GET", "/v1/webhooks/"+url.PathEscape(shown.ID), nil, true)
		if code != http.StatusOK || strings.Contains(string(raw), shown.Secret) {
			t.Fatalf("GET the new subscription = %d %s", code, raw)
		}
		// Shown once: a reload of the page does not show it again.
		if err := p.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		p.wait(fmt.Sprintf(`document.querySelector('#webhooks[data-ready] tr[data-webhook=%s]')`, js(shown.ID)))
		var again bool
		p.eval(`!!document.querySelector('#webhook-secret') || document.body.textContent.includes(`+js(shown.Secret)+`)`, &again)
		if again {
			t.Error("the secret is shown again after a reload")
		}

		p.click(fmt.Sprintf(`#webhooks tr[data-webhook=%s] a`, js(shown.ID)))
		p.wait(`document.querySelector('#deliveries[data-ready]')`)
		p.eval(`document.querySelector('input[name=edit-events][value="referral.flagged"]').click()`, nil)
		p.click("#webhook-save")
		p.wait(`document.querySelector('#webhook-version').textContent === '2'`)
		var w struct {
			Events  []string
			Version int
		}
		c.must("GET", "/v1/webhooks/"+url.PathEscape(shown.ID), nil, true, http.StatusOK, &w)
		if w.Version != 2 || len(w.Events) != 4 || strings.Contains(strings.Join(w.Events, ","), "referral.flagged") {
			t.Errorf("after saving: %+v, want four events without referral.flagged", w)
		}
		p.click("#webhook-delete")
		confirm(p, "")
		p.wait(`location.hash === '#/webhooks' && document.querySelector('#webhooks[data-ready]')`)
		if code, _ := c.do("GET", "/v1/webhooks/"+url.PathEscape(shown.ID), nil, true); code != http.StatusNotFound {
			t.Errorf("after deleting: GET = %d, want 404", code)
		}
		checkLogs(t, p)
	})

	t.Run("Referrers", func(t *testing.T) {
		requireRoute(t, c, "GET", "/v1/experiments/none/leaderboard", "CODES")
		p := p
		p.tb = t
		p.open("#/experiments/"+rewardsExperiment, `document.querySelector('nav.tabs a[data-tab=referrers]')`)
		p.click(`nav.tabs a[data-tab=referrers]`)
		p.wait(`document.querySelector('#leaderboard[data-ready]') && document.querySelector('#channels')`)
		var board struct {
			Entries []struct {
				Referrer string
				Signups  int64
			}
		}
		c.must("GET", "/v1/experiments/"+rewardsExperiment+"/leaderboard", nil, true, http.StatusOK, &board)
		got := p.strings(`[...document.querySelectorAll('#leaderboard tr[data-referrer]')].map(tr => tr.dataset.referrer + ':' + tr.querySelector('[data-k=signups]').textContent)`)
		var want []string
		for _, e := range board.Entries {
			want = append(want, fmt.Sprintf("%s:%d", e.Referrer, e.Signups))
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("the leaderboard shows %q, want the API's %q", got, want)
		}
		checkLogs(t, p)
	})

	t.Run("Programs", func(t *testing.T) {
		p := p
		p.tb = t
		c.must("POST", "/v1/programs", map[string]any{
			"id": "give-get", "name": "Give and get", "landing_url": "https://shop.example/invite",
			"default_offer": map[string]any{"payload": map[string]any{"offer": "Give $5"}, "rewards": rewardPlan()},
		}, true, http.StatusCreated, nil)
		p.click(`nav a[href="#/programs"]`)
		p.wait(`document.querySelector('#programs[data-ready] tr[data-program=give-get]')`)
		offer := p.text(`#programs tr[data-program=give-get] [data-k=offer]`)
		for _, want := range []string{"default", `"offer": "Give $5"`, "referrer: $10.00 on signup (hold 14 d)", "referee: $5.00 on signup"} {
			if !strings.Contains(offer, want) {
				t.Errorf("the program's offer reads %q, want %q in it", offer, want)
			}
		}
		if got := p.text(`#programs tr[data-program=give-get] [data-k=signups]`); got != "0" {
			t.Errorf("a new program shows %q signups, want 0", got)
		}
		checkLogs(t, p)
	})

	t.Run("Demo", func(t *testing.T) {
		d := newPage(t, ctx, b, stack.URL)
		if err := d.Navigate(ctx, stack.URL+devserver.DemoPath); err != nil {
			t.Fatal(err)
		}
		d.wait(`document.body.dataset.state === 'ready'`)
		d.set("#referrer", "dana")
		d.click("#get-link")
		d.wait(`document.body.dataset.state === 'link'`)
		code := d.text("#link")
		code = code[strings.LastIndex(code, "/")+1:]
		// Either offer pays dana: the fixed one on the signup, the
		// percentage on the purchase.
		c.must("POST", "/v1/referrals/"+code+"/signups", map[string]any{"referee": "dora", "ip": "10.9.1.1"}, false, http.StatusOK, nil)
		c.must("POST", "/v1/events", map[string]any{"id": uuid(), "type": "purchase", "user": "dora", "value": 49.9}, false, http.StatusAccepted, nil)
		waitRewards(t, c, "beneficiary=dana", 1)
		d.click("#refresh")
		d.wait(`document.querySelector('#rewards li[data-status]')`)
		if got := d.text("#rewards li[data-status] [data-k=state]"); !strings.HasPrefix(got, "pending until 20") {
			t.Errorf("the demo shows dana's reward as %q, want pending until its hold's end", got)
		}
		// The code's numbers, as GET /v1/referrals/{code}/stats counts them.
		if status, _ := c.do("GET", "/v1/referrals/"+code+"/stats", nil, false); status != http.StatusNotFound {
			d.wait(`document.querySelector('#stats dd[data-k=signups]')?.textContent === '1'`)
		}
		// The local receiver's panel: dora's attribution, delivered signed.
		if status, _ := c.do("GET", "/dev/webhook-receiver", nil, false); status == http.StatusNotFound {
			t.Log("no local webhook receiver yet: its panel is not checked")
		} else {
			d.wait(`document.querySelector('#received li[data-type="referral.attributed"][data-verified=true]')`)
		}
		d.shot("", "demo-rewards")
		checkLogs(t, d)

		// The friend's landing page says the offer's reward for them.
		var info struct{ Rewards map[string]any }
		c.must("GET", "/v1/referrals/"+code, nil, false, http.StatusOK, &info)
		if info.Rewards == nil {
			t.Skip("GET /v1/referrals/{code} carries no reward plan yet: the landing page's reward is not checked")
		}
		if err := d.Navigate(ctx, stack.URL+devserver.DemoLandingPath+"?ref="+code); err != nil {
			t.Fatal(err)
		}
		d.wait(`!document.querySelector('#reward').hidden`)
		if got := d.text("#reward"); got != "Your reward: $10.00 when you sign up" && got != "Your reward: 20% of your order on your purchase of at least 20" {
			t.Errorf("the landing page says %q", got)
		}
		checkLogs(t, d)
	})

	t.Run("PagesAndPhone", func(t *testing.T) {
		// Twelve more referrers with a signup each: 24 more rewards, so
		// that the ledger takes two pages.
		parallel(12, func(i int) {
			var l struct{ Code string }
			c.must("POST", "/v1/referrals", map[string]any{"experiment": rewardsExperiment, "referrer": fmt.Sprintf("pager-%d", i)}, false, http.StatusOK, &l)
			c.must("POST", "/v1/referrals/"+l.Code+"/signups", map[string]any{"referee": fmt.Sprintf("paged-%d", i), "ip": fmt.Sprintf("10.9.2.%d", i)}, false, http.StatusOK, nil)
		})
		for i := range 12 {
			waitRewards(t, c, fmt.Sprintf("experiment=%s&beneficiary=pager-%d", rewardsExperiment, i), 1)
			waitRewards(t, c, fmt.Sprintf("experiment=%s&beneficiary=paged-%d", rewardsExperiment, i), 1)
		}
		var all []string
		for cursor := ""; ; {
			var page struct {
				Rewards    []reward
				NextCursor string `json:"next_cursor"`
			}
			c.must("GET", "/v1/rewards?limit=25&cursor="+url.QueryEscape(cursor), nil, true, http.StatusOK, &page)
			for _, r := range page.Rewards {
				all = append(all, r.ID)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if len(all) < 26 {
			t.Fatalf("the ledger holds %d rewards, want more than a page", len(all))
		}
		ph := newPage(t, ctx, headless.MustStart(t, headless.Options{Width: 390, Height: 844}), stack.URL)
		ph.login()
		rows := `[...document.querySelectorAll('#rewards tr[data-reward]')].map(tr => tr.dataset.reward)`
		ph.open("#/rewards", `document.querySelector('#rewards[data-ready]') && !document.querySelector('#rewards-more').hidden`)
		if got := ph.strings(rows); len(got) < 25 || strings.Join(got, " ") != strings.Join(all[:len(got)], " ") {
			t.Errorf("the first page lists %d rewards %q, want the API's order %q", len(got), got, all[:min(len(all), 25)])
		}
		noOverflow(t, ph, "the rewards page")
		ph.click("#rewards-more")
		ph.wait(fmt.Sprintf(`document.querySelectorAll('#rewards tr[data-reward]').length === %d && document.querySelector('#rewards-more').hidden`, len(all)))
		if got := ph.strings(rows); strings.Join(got, " ") != strings.Join(all, " ") {
			t.Errorf("the ledger lists %q, want the API's %q", got, all)
		}
		ph.shot("", "phone-rewards")
		ph.set("#reward-beneficiary", "pager-3")
		ph.wait(`document.querySelector('#rewards[data-ready]')?.dataset.hash === '#/rewards?beneficiary=pager-3'`)
		want := rewardsOf(c, "beneficiary=pager-3")
		if got := ph.strings(rows); len(want) != 1 || len(got) != 1 || got[0] != want[0].ID {
			t.Errorf("beneficiary pager-3 lists %q, want the API's %+v", got, want)
		}
		for _, hash := range []string{"#/webhooks", "#/reviews?experiment=" + rewardsExperiment, "#/experiments/" + rewardsExperiment + "/referrers"} {
			ph.open(hash, `document.querySelector('[data-ready]')`)
			noOverflow(t, ph, hash)
		}
		checkLogs(t, ph)
	})
}
