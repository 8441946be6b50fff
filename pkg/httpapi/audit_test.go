package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
)

// auditWrite is one admin write of TestEveryAdminWriteIsAudited: the
// request, and the entry it must leave. Paths and ids may name $vars the
// steps before set.
type auditWrite struct {
	route  string // "METHOD /template" of RouteTable
	path   string
	body   string
	token  string // the caller; the bootstrap owner when empty
	status int
	// readOnly marks a POST that changes nothing (a simulation): it must
	// leave no entry; every other step exactly one.
	readOnly         bool
	resource         refx.AuditResource
	id, action       string
	before, after    bool // whether the entry's before / after is an object
	capture          func(res response)
	wantActorOfToken string // the actor id when token is not the bootstrap's
}

// auditEntries reads every entry of GET /v1/audit?resource=resource,
// newest first.
func (a *rolesAPI) auditEntries(t *testing.T, resource string) []map[string]any {
	t.Helper()
	var all []map[string]any
	for cursor := ""; ; {
		q := url.Values{"limit": {"200"}}
		if resource != "" {
			q.Set("resource", resource)
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		res := a.mustDo("GET", "/v1/audit?"+q.Encode(), "", true, http.StatusOK)
		entries, _ := res.Body["entries"].([]any)
		for _, e := range entries {
			all = append(all, e.(map[string]any))
		}
		if cursor, _ = res.Body["next"].(string); cursor == "" {
			return all
		}
	}
}

// write sends a write as token's holder: its answer may be a 204's empty
// body.
func (a *rolesAPI) write(token, method, path, body string) response {
	a.tb.Helper()
	req, err := http.NewRequest(method, a.URL+path, strings.NewReader(body))
	if err != nil {
		a.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if strings.HasPrefix(path, "/lamed/") {
		req.Header.Set("x-api-key", token) // as Lamed's clients send it
	} else {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := a.Client().Do(req)
	if err != nil {
		a.tb.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			a.tb.Fatalf("%s %s: body is not a JSON object: %q", method, path, raw)
		}
	}
	return out
}

// TestEveryAdminWriteIsAudited walks every admin write of RouteTable (the
// dashboard's page and assets are reads) in an order that makes each
// succeed, and checks that each left exactly one new entry, of its
// resource, by its caller, with its before and after. A route without a
// step fails the test: a new write cannot skip its entry unnoticed.
func TestEveryAdminWriteIsAudited(t *testing.T) {
	a := mustRolesAPI(t)
	approver := a.mustAdminKey("olga", refx.RoleApprover)
	if err := a.store.LamedTrack(t.Context(), refx.LamedTrack{Namespace: "alephbet", Experiment: "Button", Variant: "red", Event: "participate", UUID: "u1"}); err != nil {
		t.Fatal(err)
	}
	// A running referral experiment for POST /v1/codes.
	ref, err := refx.NewExperiment{ID: "walked-ref", Name: "Codes", Owner: "growth",
		Variants: []refx.Variant{{Key: "control", Weight: 50}, {Key: "double", Weight: 50}},
		Goals:    []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial}},
		Referral: &refx.ReferralConfig{LandingURL: "https://shop.example/welcome"}}.Build(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.store.CreateExperiment(t.Context(), ref); err != nil {
		t.Fatal(err)
	}
	if _, err := a.store.SetStatus(t.Context(), ref.ID, refx.StatusRunning); err != nil {
		t.Fatal(err)
	}
	// Two held rewards for the reward moves.
	heldA, heldB := mustHeldRewards(t, a.store, "walked-rewards", "wally", "wendy")
	vars := map[string]string{}
	mustFlaggedSignups(t, a.store, "walked-review", "flag-approve", "flag-reject")
	const exp = `{"id":"walked","name":"Walked","owner":"growth","mde":0.05,
		"variants":[{"key":"control","weight":50},{"key":"bold","weight":50}],"goals":[{"key":"signup","kind":"binomial"}]}`
	steps := []auditWrite{
		{route: "POST /v1/experiments", body: exp, status: 201, resource: "experiment", id: "walked", action: "create", after: true},
		{route: "PATCH /v1/experiments/{id}", path: "/v1/experiments/walked", body: `{"version":1,"name":"Walked again"}`, resource: "experiment", id: "walked", action: "update", before: true, after: true},
		{route: "POST /v1/experiments/{id}/submit", path: "/v1/experiments/walked/submit", resource: "experiment", id: "walked", action: "submit", before: true, after: true},
		{route: "POST /v1/experiments/{id}/request-changes", path: "/v1/experiments/walked/request-changes", body: `{"note":"say why bold"}`, token: approver.token, wantActorOfToken: "admin:" + approver.id, resource: "experiment", id: "walked", action: "request-changes", before: true, after: true},
		{route: "POST /v1/experiments/{id}/submit", path: "/v1/experiments/walked/submit", body: `{"note":"said"}`, resource: "experiment", id: "walked", action: "submit", before: true, after: true},
		{route: "POST /v1/experiments/{id}/approve", path: "/v1/experiments/walked/approve", token: approver.token, wantActorOfToken: "admin:" + approver.id, resource: "experiment", id: "walked", action: "approve", before: true, after: true},
		{route: "POST /v1/experiments/{id}/start", path: "/v1/experiments/walked/start", resource: "experiment", id: "walked", action: "start", before: true, after: true},
		{route: "POST /v1/reviews/{referee}/approve", path: "/v1/reviews/flag-approve/approve", body: `{"note":"a known customer"}`, resource: "referral", id: "flag-approve", action: "approve", before: true, after: true},
		{route: "POST /v1/reviews/{referee}/reject", path: "/v1/reviews/flag-reject/reject", resource: "referral", id: "flag-reject", action: "reject", before: true, after: true},
		{route: "POST /v1/blocks", body: `{"referrer":"spammer","reason":"self-referral ring"}`, status: 201, resource: "block", id: "referrer:spammer", action: "create", after: true},
		{route: "DELETE /v1/blocks/{kind}/{id}", path: "/v1/blocks/referrer/spammer", status: 204, resource: "block", id: "referrer:spammer", action: "delete", before: true},
		{route: "POST /v1/experiments/{id}/aa-simulation", path: "/v1/experiments/walked/aa-simulation", body: `{"simulations":10,"seed":1}`, readOnly: true,
			status: 400}, // no traffic to simulate yet: a simulation writes nothing either way
		{route: "POST /v1/experiments/{id}/phases", path: "/v1/experiments/walked/phases", body: `{"variants":[{"key":"control","weight":20},{"key":"bold","weight":80}],"reason":"ramp up","rerandomize":true}`,
			resource: "experiment", id: "walked", action: "new_phase", before: true, after: true},
		{route: "POST /v1/experiments/{id}/stop", path: "/v1/experiments/walked/stop", resource: "experiment", id: "walked", action: "stop", before: true, after: true},
		{route: "POST /v1/experiments/{id}/conclude", path: "/v1/experiments/walked/conclude", body: `{"decision":"iterate","learnings":"too early to tell"}`, resource: "experiment", id: "walked", action: "conclude", before: true, after: true},
		{route: "POST /v1/experiments/{id}/archive", path: "/v1/experiments/walked/archive", resource: "experiment", id: "walked", action: "archive", before: true, after: true},
		{route: "DELETE /v1/experiments/{id}", path: "/v1/experiments/walked", status: 204, resource: "experiment", id: "walked", action: "delete", before: true},
		{route: "POST /v1/keys", body: `{"kind":"admin","name":"carol","role":"viewer"}`, status: 201, resource: "key", id: "$key", action: "create", after: true,
			capture: func(res response) { vars["$key"], _ = res.Body["id"].(string) }},
		{route: "PATCH /v1/keys/{id}", path: "/v1/keys/$key", body: `{"role":"editor"}`, resource: "key", id: "$key", action: "set_role", before: true, after: true},
		{route: "DELETE /v1/keys/{id}", path: "/v1/keys/$key", resource: "key", id: "$key", action: "revoke", before: true, after: true},
		{route: "POST /v1/segments", body: `{"key":"beta","condition":{"beta":true}}`, status: 201, resource: "segment", id: "beta", action: "create", after: true},
		{route: "PATCH /v1/segments/{key}", path: "/v1/segments/beta", body: `{"version":1,"description":"beta testers"}`, resource: "segment", id: "beta", action: "update", before: true, after: true},
		{route: "POST /v1/flags", body: `{"key":"checkout","kind":"release","value_type":"boolean","default_value":false,"environments":{"production":{"enabled":true,"rules":[{"force":true,"segments":["beta"]}]}}}`, status: 201, resource: "flag", id: "checkout", action: "create", after: true},
		{route: "PATCH /v1/flags/{key}", path: "/v1/flags/checkout", body: `{"version":1,"owner":"growth"}`, resource: "flag", id: "checkout", action: "update", before: true, after: true},
		{route: "POST /v1/flags:import", path: "/v1/flags:import?environment=staging", body: `{"features":{"banner":{"defaultValue":"none"},"checkout":{"defaultValue":false}}}`, resource: "flag", id: "import:staging", action: "import", after: true},
		{route: "DELETE /v1/flags/{key}", path: "/v1/flags/checkout", status: 204, resource: "flag", id: "checkout", action: "delete", before: true},
		{route: "DELETE /v1/segments/{key}", path: "/v1/segments/beta", status: 204, resource: "segment", id: "beta", action: "delete", before: true},
		{route: "POST /v1/layers", body: `{"id":"checkout-flow","name":"Checkout"}`, status: 201, resource: "layer", id: "checkout-flow", action: "create", after: true},
		{route: "PATCH /v1/layers/{id}", path: "/v1/layers/checkout-flow", body: `{"version":1,"description":"one test at a time"}`, resource: "layer", id: "checkout-flow", action: "update", before: true, after: true},
		{route: "POST /v1/holdouts", body: `{"id":"q3-holdout","owner":"growth","share":0.05,"layer":"checkout-flow","goals":[{"key":"signup","kind":"binomial"}]}`, status: 201, resource: "experiment", id: "q3-holdout", action: "create", after: true},
		{route: "DELETE /v1/layers/{id}", path: "/v1/layers/checkout-flow", status: 204, resource: "layer", id: "checkout-flow", action: "delete", before: true},
		{route: "POST /v1/programs", body: `{"id":"give-get","landing_url":"https://shop.example/p","default_offer":{"payload":{"reward":5}}}`, status: 201, resource: "program", id: "give-get", action: "create", after: true},
		{route: "PATCH /v1/programs/{id}", path: "/v1/programs/give-get", body: `{"version":1,"name":"Give 10, get 10"}`, resource: "program", id: "give-get", action: "update", before: true, after: true},
		{route: "POST /v1/webhooks", body: `{"url":"https://93.184.215.14/hooks","events":["reward.approved"]}`, status: 201, resource: "webhook", id: "$wh", action: "create", after: true,
			capture: func(res response) { vars["$wh"], _ = res.Body["id"].(string) }},
		{route: "PATCH /v1/webhooks/{id}", path: "/v1/webhooks/$wh", body: `{"version":1,"description":"payouts"}`, resource: "webhook", id: "$wh", action: "update", before: true, after: true},
		{route: "POST /v1/webhooks/{id}/rotate-secret", path: "/v1/webhooks/$wh/rotate-secret", resource: "webhook", id: "$wh", action: "rotate_secret", before: true, after: true},
		{route: "DELETE /v1/webhooks/{id}", path: "/v1/webhooks/$wh", status: 204, resource: "webhook", id: "$wh", action: "delete", before: true},
		{route: "POST /v1/codes", body: `{"experiment":"walked-ref","referrer":"vip","code":"vip-walk"}`, resource: "code", id: "VIP-WALK", action: "create", after: true},
		{route: "POST /v1/rewards/{id}/approve", path: "/v1/rewards/" + heldA + "/approve", resource: "reward", id: heldA, action: "approve", before: true, after: true},
		{route: "POST /v1/rewards/{id}/issue", path: "/v1/rewards/" + heldA + "/issue", body: `{"reference":"po-1"}`, resource: "reward", id: heldA, action: "issue", before: true, after: true},
		{route: "POST /v1/rewards/{id}/reverse", path: "/v1/rewards/" + heldA + "/reverse", body: `{"note":"chargeback"}`, resource: "reward", id: heldA, action: "reverse", before: true, after: true},
		{route: "POST /v1/rewards/{id}/reject", path: "/v1/rewards/" + heldB + "/reject", resource: "reward", id: heldB, action: "reject", before: true, after: true},
		{route: "DELETE /v1/users/{user}", path: "/v1/users/erase-me", resource: "user", id: refx.ErasureHash("erase-me"), action: "erase", after: true},
		{route: "DELETE /lamed/delete", path: "/lamed/delete?namespace=alephbet&experiment=Button", resource: "experiment", id: refx.LamedExperimentID("alephbet", "Button"), action: "delete", before: true},
	}

	walked := map[string]bool{}
	for _, s := range steps {
		walked[s.route] = true
	}
	known := map[string]bool{}
	for _, r := range httpapi.RouteTable() {
		known[r.String()] = true
		if r.Group != httpapi.AdminRoutes || r.Method == http.MethodGet {
			continue
		}
		if !walked[r.String()] {
			t.Errorf("add a body for %s %s to TestEveryAdminWriteIsAudited (pkg/httpapi/audit_test.go): every admin write must write one audit entry", r.Method, r.Path)
		}
	}
	for route := range walked {
		if !known[route] {
			t.Errorf("step for %s, which RouteTable does not have", route)
		}
	}
	if t.Failed() {
		return
	}

	for i, s := range steps {
		expand := func(v string) string {
			for name, val := range vars {
				v = strings.ReplaceAll(v, name, val)
			}
			return v
		}
		path := s.path
		if path == "" {
			path = strings.SplitN(s.route, " ", 2)[1]
		}
		method, path := strings.SplitN(s.route, " ", 2)[0], expand(path)
		name := fmt.Sprintf("%02d %s %s", i, method, path)
		allBefore := len(a.auditEntries(t, ""))
		token := adminKey
		if s.token != "" {
			token = s.token
		}
		res := a.write(token, method, path, s.body)
		want := s.status
		if want == 0 {
			want = http.StatusOK
		}
		if res.Status != want {
			t.Fatalf("%s = %d %s, want %d", name, res.Status, res.Raw, want)
		}
		if s.capture != nil {
			s.capture(res)
		}
		all := a.auditEntries(t, "")
		if s.readOnly {
			if len(all) != allBefore {
				t.Errorf("%s changes nothing, yet wrote %d audit entries", name, len(all)-allBefore)
			}
			continue
		}
		if len(all) != allBefore+1 {
			t.Errorf("%s wrote %d audit entries, want 1", name, len(all)-allBefore)
			continue
		}
		e := all[0]
		actor, _ := e["actor"].(map[string]any)
		wantActor := "bootstrap"
		if s.wantActorOfToken != "" {
			wantActor = s.wantActorOfToken
		}
		if e["resource"] != string(s.resource) || e["resource_id"] != expand(s.id) || e["action"] != s.action || actor["id"] != wantActor {
			t.Errorf("%s: entry %s %s:%s by %v, want %s %s:%s by %s", name, e["action"], e["resource"], e["resource_id"], actor["id"], s.action, s.resource, expand(s.id), wantActor)
		}
		_, hasBefore := e["before"].(map[string]any)
		_, hasAfter := e["after"].(map[string]any)
		if hasBefore != s.before || hasAfter != s.after {
			t.Errorf("%s: entry's before %v, after %v; want an object: before %v, after %v", name, e["before"], e["after"], s.before, s.after)
		}
		// The listing of the one resource has it first.
		own := a.auditEntries(t, string(s.resource)+":"+expand(s.id))
		if len(own) == 0 || own[0]["id"] != e["id"] {
			t.Errorf("%s: the resource's own listing does not start with its entry", name)
		}
	}
}

// TestAuditRetriedUpdate sends one experiment update twice: the second is
// refused (its version is gone) and leaves no entry, so the update has
// one.
func TestAuditRetriedUpdate(t *testing.T) {
	a := mustRolesAPI(t)
	a.mustDo("POST", "/v1/experiments", experimentBody, true, http.StatusCreated)
	patch := `{"version":1,"name":"Renamed"}`
	a.mustDo("PATCH", "/v1/experiments/cta-test", patch, true, http.StatusOK)
	if res := a.do("PATCH", "/v1/experiments/cta-test", patch, true); res.Status != http.StatusConflict {
		t.Fatalf("the same update again = %d %s, want 409", res.Status, res.Raw)
	}
	entries := a.auditEntries(t, "experiment:cta-test")
	if len(entries) != 2 || entries[0]["action"] != "update" || entries[1]["action"] != "create" {
		t.Fatalf("entries: %v", entries)
	}
}

// TestAuditConcurrentUpdates sends two updates of the same version at
// once: one is stored, the other is 409, and only one entry is written.
func TestAuditConcurrentUpdates(t *testing.T) {
	a := mustRolesAPI(t)
	a.mustDo("POST", "/v1/experiments", experimentBody, true, http.StatusCreated)
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i := range statuses {
		wg.Go(func() {
			statuses[i] = a.do("PATCH", "/v1/experiments/cta-test", fmt.Sprintf(`{"version":1,"name":"Name %d"}`, i), true).Status
		})
	}
	wg.Wait()
	if !(statuses[0] == 200 && statuses[1] == 409) && !(statuses[0] == 409 && statuses[1] == 200) {
		t.Fatalf("statuses %v, want one 200 and one 409", statuses)
	}
	entries := a.auditEntries(t, "experiment:cta-test")
	if len(entries) != 2 || entries[0]["action"] != "update" {
		t.Fatalf("entries: %v", entries)
	}
	var after struct{ Name string }
	b, _ := json.Marshal(entries[0]["after"])
	stored := a.mustDo("GET", "/v1/experiments/cta-test", "", true, http.StatusOK)
	if json.Unmarshal(b, &after) != nil || after.Name != stored.Body["name"] {
		t.Fatalf("the entry's after names %q, the stored experiment %v", after.Name, stored.Body["name"])
	}
}

// TestAuditListing: the route's filters, paging and refusals.
func TestAuditListing(t *testing.T) {
	a := mustRolesAPI(t)
	viewer := a.mustAdminKey("vic", refx.RoleViewer)
	for i := range 3 {
		body := strings.Replace(experimentBody, `"cta-test"`, fmt.Sprintf(`"exp-%d"`, i), 1)
		a.mustDo("POST", "/v1/experiments", body, true, http.StatusCreated)
	}
	a.mustDo("POST", "/v1/segments", `{"key":"beta","condition":{"beta":true}}`, true, http.StatusCreated)

	t.Run("Viewer", func(t *testing.T) {
		if res := a.as(viewer.token, "GET", "/v1/audit", ""); res.Status != http.StatusOK {
			t.Fatalf("a viewer's read = %d %s", res.Status, res.Raw)
		}
	})
	t.Run("Pages", func(t *testing.T) {
		seen := map[any]bool{}
		var last string
		for cursor, pages := "", 0; ; pages++ {
			res := a.mustDo("GET", "/v1/audit?resource=experiment&limit=2&cursor="+url.QueryEscape(cursor), "", true, http.StatusOK)
			for _, e := range res.Body["entries"].([]any) {
				m := e.(map[string]any)
				if seen[m["id"]] || m["resource"] != "experiment" {
					t.Fatalf("entry %v repeated or of another resource", m)
				}
				if id := m["id"].(string); last != "" && id > last {
					t.Fatalf("entry %s after %s: not newest first", id, last)
				}
				last = m["id"].(string)
				seen[m["id"]] = true
			}
			if cursor, _ = res.Body["next"].(string); cursor == "" || pages > 5 {
				break
			}
		}
		if len(seen) != 3 {
			t.Fatalf("read %d experiment entries, want 3", len(seen))
		}
	})
	t.Run("OneResource", func(t *testing.T) {
		if got := a.auditEntries(t, "experiment:exp-1"); len(got) != 1 || got[0]["resource_id"] != "exp-1" {
			t.Fatalf("entries: %v", got)
		}
		if got := a.auditEntries(t, "segment:beta"); len(got) != 1 {
			t.Fatalf("entries: %v", got)
		}
		if got := a.auditEntries(t, "flag:nothing"); len(got) != 0 {
			t.Fatalf("entries: %v", got)
		}
	})
	for _, tt := range []struct{ name, query, field string }{
		{"ErrKind", "resource=experiments", "resource"},
		{"ErrEmptyID", "resource=experiment:", "resource"},
		{"ErrCursor", "cursor=nope", "cursor"},
		{"ErrOtherCursor", "resource=experiment:exp-1&cursor=" + url.QueryEscape(func() string {
			res := a.mustDo("GET", "/v1/audit?limit=1", "", true, http.StatusOK)
			next, _ := res.Body["next"].(string)
			return next
		}()), "cursor"},
		{"ErrLimit", "limit=0", "limit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := a.do("GET", "/v1/audit?"+tt.query, "", true)
			if res.Status != http.StatusBadRequest || res.errorField() != tt.field {
				t.Fatalf("%s = %d %s, want 400 on %s", tt.query, res.Status, res.Raw, tt.field)
			}
		})
	}
	t.Run("NoWriteRoutes", func(t *testing.T) {
		for _, r := range httpapi.RouteTable() {
			if strings.HasPrefix(r.Path, "/v1/audit") && r.Method != http.MethodGet {
				t.Errorf("%s: the audit trail has no write routes", r)
			}
		}
	})
}
