package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
)

// mustLifecycleAPI is mustRolesAPI on a deployment that requires approval
// or not, its counts applied after every request.
func mustLifecycleAPI(tb testing.TB, requireApproval bool) *rolesAPI {
	tb.Helper()
	client, table := dynamotest.NewTable(tb)
	clock := &shiftClock{}
	store := dynamo.New(client, table, dynamo.Options{Now: clock.now, RequireApproval: requireApproval})
	ts := httptest.NewServer(dynamotest.Counting(tb, store, rolesServer(store, clock).Handler(httpapi.AllRoutes)))
	tb.Cleanup(ts.Close)
	return &rolesAPI{api: &api{Server: ts, tb: tb}, store: store, clock: clock}
}

const reviewedBody = `{"id":"reviewed","name":"Reviewed","owner":"growth","mde":0.1,
"priority":{"impact":8,"confidence":5,"ease":3},"links":[{"title":"design","url":"https://docs.example.com/d"}],
"variants":[{"key":"control","weight":50},{"key":"bold","weight":50}],"goals":[{"key":"signup","kind":"binomial"}]}`

// TestLifecycleHTTP walks an experiment from draft to concluded on a
// deployment that requires approval, with the roles and refusals each
// move has.
func TestLifecycleHTTP(t *testing.T) {
	t.Parallel()
	a := mustLifecycleAPI(t, true)
	ed := a.mustAdminKey("ed", refx.RoleEditor)
	ann := a.mustAdminKey("ann", refx.RoleApprover)
	move := func(token, action, body string, status int) response {
		t.Helper()
		res := a.as(token, "POST", "/v1/experiments/reviewed/"+action, body)
		if res.Status != status {
			t.Fatalf("%s = %d %s, want %d", action, res.Status, res.Raw, status)
		}
		return res
	}
	created := a.as(ed.token, "POST", "/v1/experiments", reviewedBody)
	if created.Status != http.StatusCreated || created.Body["last_editor"] != "admin:"+ed.id {
		t.Fatalf("create = %d %s", created.Status, created.Raw)
	}
	if p, _ := created.Body["priority"].(map[string]any); p["score"] != 120.0 {
		t.Fatalf("priority = %v", created.Body["priority"])
	}
	if res := move(ed.token, "start", "", http.StatusConflict); !strings.Contains(res.Raw, "approval") {
		t.Fatalf("start of a draft = %s", res.Raw)
	}
	submitted := move(ed.token, "submit", `{"note":"ready"}`, http.StatusOK)
	if submitted.Body["status"] != "in_review" || submitted.Body["planned_sample_size"] == nil {
		t.Fatalf("submit = %s", submitted.Raw)
	}
	if n, _ := submitted.Body["planned_sample_size"].(float64); n < 1000 {
		t.Fatalf("planned_sample_size %v: a 10%% lift on a 10%% rate needs thousands", n)
	}
	if res := move(ed.token, "approve", "", http.StatusForbidden); !strings.Contains(res.Raw, "approver") {
		t.Fatalf("approval by an editor = %s", res.Raw)
	}
	// The owner renames it (a brief edit keeps the review) and so becomes
	// its last editor: their own approval is refused.
	a.mustDo("PATCH", "/v1/experiments/reviewed", `{"version":2,"name":"Reviewed again"}`, true, http.StatusOK)
	if res := a.do("POST", "/v1/experiments/reviewed/approve", "", true); res.Status != http.StatusForbidden || !strings.Contains(res.Raw, "someone else") {
		t.Fatalf("approval by the last editor = %d %s", res.Status, res.Raw)
	}
	approved := move(ann.token, "approve", `{"note":"lgtm"}`, http.StatusOK)
	if by, _ := approved.Body["approval"].(map[string]any)["by"].(map[string]any); by["id"] != "admin:"+ann.id {
		t.Fatalf("approval = %s", approved.Raw)
	}
	move(ed.token, "stop", "", http.StatusConflict)
	move(ed.token, "start", "", http.StatusOK)
	move(ed.token, "start", "", http.StatusOK) // a retry
	key := a.mustKey("secret")
	assign := func(user string) {
		t.Helper()
		if res := a.doKey("POST", "/v1/assign", `{"experiment":"reviewed","user":"`+user+`"}`, key); res.Status != http.StatusOK {
			t.Fatalf("assign = %d %s", res.Status, res.Raw)
		}
	}
	// Ada is counted when the results are read; Bob enrols before the
	// conclusion but is counted only after it, so the live results move
	// on while the conclusion's stay at one participant.
	assign("ada")
	a.as(ed.token, "GET", "/v1/experiments/reviewed/results", "")
	assign("bob")
	move(ed.token, "conclude", `{"decision":"ship:nothing"}`, http.StatusBadRequest)
	concluded := move(ed.token, "conclude", `{"decision":"ship:bold","learnings":"bold it is"}`, http.StatusOK)
	if concluded.Body["status"] != "concluded" || concluded.Body["stopped_at"] == nil {
		t.Fatalf("conclude = %s", concluded.Raw)
	}
	move(ed.token, "conclude", `{"decision":"ship:bold","learnings":"bold it is"}`, http.StatusOK)
	move(ed.token, "conclude", `{"decision":"rollback"}`, http.StatusConflict)

	c := a.as(ed.token, "GET", "/v1/experiments/reviewed/conclusion", "")
	var record struct {
		Decision  string `json:"decision"`
		Learnings string `json:"learnings"`
		By        refx.Actor
		Results   struct {
			Status   string `json:"status"`
			Variants []struct {
				Participants int64 `json:"participants"`
			} `json:"variants"`
			Analysis json.RawMessage `json:"analysis"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(c.Raw), &record); err != nil || c.Status != http.StatusOK {
		t.Fatalf("conclusion = %d %s", c.Status, c.Raw)
	}
	var participants int64
	for _, v := range record.Results.Variants {
		participants += v.Participants
	}
	if record.Decision != "ship:bold" || record.By.ID != "admin:"+ed.id || record.Results.Status != "concluded" ||
		participants != 1 || len(record.Results.Analysis) < 10 {
		t.Fatalf("conclusion = %s", c.Raw)
	}
	live := a.as(ed.token, "GET", "/v1/experiments/reviewed/results", "")
	var counted int64
	for _, v := range live.Body["variants"].([]any) {
		counted += int64(v.(map[string]any)["participants"].(float64))
	}
	if counted != 2 {
		t.Fatalf("live results after the conclusion count %d, want Ada and Bob: %s", counted, live.Raw)
	}
	if again := a.as(ed.token, "GET", "/v1/experiments/reviewed/conclusion", ""); again.Raw != c.Raw {
		t.Fatalf("the conclusion changed:\n%s\n%s", c.Raw, again.Raw)
	}
	list := a.as(ed.token, "GET", "/v1/experiments?status=concluded", "")
	if !strings.Contains(list.Raw, `"decision":"ship:bold"`) {
		t.Fatalf("the listing does not carry the decision: %s", list.Raw)
	}
	move(ed.token, "archive", "", http.StatusOK)
	if res := a.as(ed.token, "GET", "/v1/experiments?status=archived", ""); !strings.Contains(res.Raw, `"id":"reviewed"`) {
		t.Fatalf("archived listing = %s", res.Raw)
	}
}

// TestLifecycleWithoutApproval: where approval is not required, an editor
// starts a draft directly.
func TestLifecycleWithoutApproval(t *testing.T) {
	t.Parallel()
	a := mustLifecycleAPI(t, false)
	ed := a.mustAdminKey("ed", refx.RoleEditor)
	a.as(ed.token, "POST", "/v1/experiments", reviewedBody)
	if res := a.as(ed.token, "POST", "/v1/experiments/reviewed/start", ""); res.Status != http.StatusOK || res.Body["status"] != "running" {
		t.Fatalf("start = %d %s", res.Status, res.Raw)
	}
	if res := a.as(ed.token, "GET", "/v1/experiments/reviewed/conclusion", ""); res.Status != http.StatusNotFound {
		t.Fatalf("conclusion of a running experiment = %d %s", res.Status, res.Raw)
	}
}
