package lakeproof

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
)

// The experiments the proof creates: two plain experiments with value and
// binomial goals, and a referral experiment.
const (
	ExpCTA    = "proof-cta"
	ExpPrice  = "proof-price"
	ExpInvite = "proof-invite"
)

// Experiments are the proof's experiments, compared with the API one by one.
var Experiments = []string{ExpCTA, ExpPrice, ExpInvite}

var experimentBodies = []string{
	`{"id":"` + ExpCTA + `","name":"Proof CTA","variants":[{"key":"control","weight":50},{"key":"bold","weight":50}],"control":"control",
	  "goals":[{"key":"signup","kind":"binomial"},{"key":"purchase","kind":"value"}]}`,
	`{"id":"` + ExpPrice + `","name":"Proof price","variants":[{"key":"low","weight":1},{"key":"mid","weight":1},{"key":"high","weight":1}],
	  "goals":[{"key":"add_to_cart","kind":"binomial"},{"key":"purchase","kind":"value"}]}`,
	`{"id":"` + ExpInvite + `","name":"Proof invite","variants":[{"key":"give10","weight":1},{"key":"give20","weight":1}],
	  "goals":[{"key":"purchase","kind":"value"}],"referral":{"landing_url":"https://example.com/join","conversion_goal":"purchase"}}`,
}

// values are purchase values: cents, the smallest unit the export keeps
// (4 decimals), large, negative (a credit) and zero, to test exact sums.
var values = []string{"19.99", "0.0001", "1000000", "-5.5", "12", "0", "3.1415", "249.5"}

// event is one event a client sends; retry sends it again with the same id.
type event struct {
	ID, Type, User, Value string
	Retry                 bool
	// IP is a referred friend's address, which their signup passes.
	IP string
}

func (e event) body() string {
	b := fmt.Sprintf(`{"id":%q,"type":%q,"user":%q`, e.ID, e.Type, e.User)
	if e.Value != "" {
		b += `,"value":` + e.Value
	}
	return b + "}"
}

// job is what one worker does for one user, in order: enrol, then send
// the user's events (singly, or as one batch sent twice), or, for a
// referrer, ask for a link and bring friends who click, sign up and buy.
type job struct {
	User    string
	Assign  []string
	Events  []event
	Batch   bool
	Friends []event // a referrer's friends' purchases, one friend each
}

// plan builds the jobs that record exactly n distinct events.
func plan(n int) []job {
	var jobs []job
	id := 0
	next := func() string { id++; return fmt.Sprintf("00000000-0000-4000-8000-%012d", id) }
	for u := 0; id < n; u++ {
		user := fmt.Sprintf("p%06d", u)
		if u%20 == 19 {
			j := job{User: user, Assign: []string{ExpInvite}}
			for f := range 2 {
				if id == n {
					break
				}
				e := event{ID: next(), Type: "purchase", User: fmt.Sprintf("%s-friend%d", user, f), Value: values[(u+f)%len(values)]}
				e.IP = fmt.Sprintf("10.%d.%d.%d", id>>16&255, id>>8&255, id&255)
				j.Friends = append(j.Friends, e)
			}
			jobs = append(jobs, j)
			continue
		}
		j := job{User: user, Assign: []string{ExpCTA, ExpPrice}, Batch: u%5 == 0}
		if u%7 == 0 {
			j.Assign = append(j.Assign, ExpCTA) // sticky: enrolled once
		}
		add := func(typ, value string) {
			if id < n {
				j.Events = append(j.Events, event{ID: next(), Type: typ, User: user, Value: value, Retry: id%10 == 0})
			}
		}
		if u%3 != 2 {
			add("signup", "")
		}
		if u%2 == 0 {
			add("add_to_cart", "")
		}
		for k := range u % 4 {
			add("purchase", values[(u+k)%len(values)])
		}
		if u%6 == 1 {
			add("page_view", "") // no experiment's goal: exported, credited nowhere
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// Traffic is what the clients sent and what the API answered.
type Traffic struct {
	// Recorded counts events the API recorded, Duplicates the retries it
	// answered duplicate (counted once).
	Recorded, Duplicates int64
	// Requests counts HTTP requests of the traffic, Users the users.
	Requests, Users            int64
	Referrers, Clicks, Signups int64
	Elapsed                    time.Duration
	// End is when the last request was answered.
	End time.Time
}

// EventsPerSecond is the recorded events' rate.
func (t *Traffic) EventsPerSecond() float64 { return float64(t.Recorded) / t.Elapsed.Seconds() }

// RequestsPerSecond is the rate of every request of the traffic.
func (t *Traffic) RequestsPerSecond() float64 { return float64(t.Requests) / t.Elapsed.Seconds() }

// client calls the API as the proof's backends and admin do.
type client struct {
	url, admin, secret string
	http               *http.Client
	requests           atomic.Int64
}

func newClient(s *Stack, workers int) *client {
	return &client{url: s.URL, admin: s.AdminKey, secret: s.SecretKey, http: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: workers},
		// A referral link redirects; the proof reads the visitor cookie
		// it sets instead of following it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends one request with the admin key (admin) or the secret key and
// decodes a 2xx answer into out; another status is an error with the body.
func (c *client) do(ctx context.Context, admin bool, method, path, body string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if admin {
		req.Header.Set("Authorization", "Bearer "+c.admin)
	} else {
		req.Header.Set(httpapi.KeyHeader, c.secret)
	}
	c.requests.Add(1)
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %w in %s", method, path, err, b)
		}
	}
	return nil
}

// click follows a referral link as a browser does: the first click gets
// the visitor cookie, which the returned visitor id is.
func (c *client) click(ctx context.Context, code, visitor string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url+"/r/"+code, nil)
	if err != nil {
		return "", err
	}
	if visitor != "" {
		req.AddCookie(&http.Cookie{Name: httpapi.VisitorCookie, Value: visitor})
	}
	c.requests.Add(1)
	res, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET /r/%s: %w", code, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		return "", fmt.Errorf("GET /r/%s: %d, want a redirect", code, res.StatusCode)
	}
	for _, ck := range res.Cookies() {
		if ck.Name == httpapi.VisitorCookie {
			return ck.Value, nil
		}
	}
	if visitor == "" {
		return "", fmt.Errorf("GET /r/%s: no visitor cookie", code)
	}
	return visitor, nil
}

// createExperiments creates and starts the proof's experiments.
func (c *client) createExperiments(ctx context.Context) error {
	for i, body := range experimentBodies {
		if err := c.do(ctx, true, http.MethodPost, "/v1/experiments", body, nil); err != nil {
			return err
		}
		if err := c.do(ctx, true, http.MethodPost, "/v1/experiments/"+Experiments[i]+"/start", "", nil); err != nil {
			return err
		}
	}
	return nil
}

// drive runs the jobs on workers concurrent clients. It stops at the first
// error: the proof is void if the traffic is not what was planned.
func (c *client) drive(ctx context.Context, jobs []job, workers int, progress func(done, total int)) (*Traffic, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	tr := &Traffic{}
	var mu sync.Mutex
	queue := make(chan job)
	var wg sync.WaitGroup
	done := 0
	start := time.Now()
	before := c.requests.Load()
	for range workers {
		wg.Go(func() {
			for j := range queue {
				var t Traffic
				if err := c.run(ctx, j, &t); err != nil {
					cancel(fmt.Errorf("user %s: %w", j.User, err))
					return
				}
				// progress is called one call at a time, under the lock.
				mu.Lock()
				tr.add(&t)
				done++
				if progress != nil {
					progress(done, len(jobs))
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, j := range jobs {
		select {
		case queue <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	tr.End = time.Now()
	tr.Elapsed = tr.End.Sub(start)
	tr.Requests = c.requests.Load() - before
	return tr, nil
}

func (t *Traffic) add(o *Traffic) {
	t.Recorded += o.Recorded
	t.Duplicates += o.Duplicates
	t.Users += o.Users
	t.Referrers += o.Referrers
	t.Clicks += o.Clicks
	t.Signups += o.Signups
}

// run does one job and counts what the API answered.
func (c *client) run(ctx context.Context, j job, t *Traffic) error {
	t.Users++
	for _, exp := range j.Assign {
		if err := c.do(ctx, false, http.MethodPost, "/v1/assign", fmt.Sprintf(`{"experiment":%q,"user":%q}`, exp, j.User), nil); err != nil {
			return err
		}
	}
	if len(j.Friends) > 0 {
		return c.refer(ctx, j, t)
	}
	if j.Batch {
		bodies := make([]string, len(j.Events))
		for i, e := range j.Events {
			bodies[i] = e.body()
		}
		for attempt := range 2 { // a client retrying the whole batch
			var res struct{ Results []refx.EventResult }
			if err := c.do(ctx, false, http.MethodPost, "/v1/events:batch", `{"events":[`+strings.Join(bodies, ",")+`]}`, &res); err != nil {
				return err
			}
			if err := t.count(res.Results, len(j.Events), attempt > 0); err != nil {
				return err
			}
		}
		return nil
	}
	for _, e := range j.Events {
		if err := c.send(ctx, e, t, false); err != nil {
			return err
		}
		if e.Retry {
			if err := c.send(ctx, e, t, true); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *client) send(ctx context.Context, e event, t *Traffic, retry bool) error {
	var res refx.EventResult
	if err := c.do(ctx, false, http.MethodPost, "/v1/events", e.body(), &res); err != nil {
		return err
	}
	return t.count([]refx.EventResult{res}, 1, retry)
}

// count checks the API's answers: a first send is recorded, a retry of
// the same id is a duplicate.
func (t *Traffic) count(results []refx.EventResult, want int, retry bool) error {
	if len(results) != want {
		return fmt.Errorf("%d results for %d events", len(results), want)
	}
	for _, r := range results {
		switch {
		case !retry && r.Status == refx.EventRecorded:
			t.Recorded++
		case retry && r.Status == refx.EventDuplicate:
			t.Duplicates++
		default:
			return fmt.Errorf("event %s answered %q on a retry=%v send", r.ID, r.Status, retry)
		}
	}
	return nil
}

// refer asks for the referrer's link; each friend clicks it twice (one
// visitor: counted once), signs up through it from their own address and
// buys, converting for the referrer.
func (c *client) refer(ctx context.Context, j job, t *Traffic) error {
	var link refx.ReferralLink
	if err := c.do(ctx, false, http.MethodPost, "/v1/referrals", fmt.Sprintf(`{"experiment":%q,"referrer":%q}`, ExpInvite, j.User), &link); err != nil {
		return err
	}
	t.Referrers++
	for _, buy := range j.Friends {
		visitor, err := c.click(ctx, link.Code, "")
		if err != nil {
			return err
		}
		if _, err := c.click(ctx, link.Code, visitor); err != nil {
			return err
		}
		t.Clicks += 2
		var sig refx.AttributionResult
		body := fmt.Sprintf(`{"referee":%q,"visitor":%q,"ip":%q}`, buy.User, visitor, buy.IP)
		if err := c.do(ctx, false, http.MethodPost, "/v1/referrals/"+link.Code+"/signups", body, &sig); err != nil {
			return err
		}
		if sig.Status != refx.AttributionAttributed {
			return fmt.Errorf("signup of %s through %s: %q %v", buy.User, link.Code, sig.Status, sig.Reasons)
		}
		t.Signups++
		if err := c.send(ctx, buy, t, false); err != nil {
			return err
		}
	}
	return nil
}

// results reads an experiment's results from the API once the counters
// have applied every change accepted before since (counted_through).
func (c *client) results(ctx context.Context, id string, since time.Time) (*refx.Results, error) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var res refx.Results
		if err := c.do(ctx, true, http.MethodGet, "/v1/experiments/"+id+"/results", "", &res); err != nil {
			return nil, err
		}
		if res.CountedThrough != nil && !res.CountedThrough.Before(since) {
			return &res, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("results of %s: counted through %v, not yet %v after 5 minutes", id, res.CountedThrough, since)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
