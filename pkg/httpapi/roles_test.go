package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
)

// rolesAPI is the whole API on a fresh table, with its store (to read the
// audit log) and a settable clock.
type rolesAPI struct {
	*api
	store *dynamo.Store
	clock *shiftClock
}

// shiftClock is the real clock moved forward by what advance added: the
// audit log orders entries by the time of their change, so concurrent
// changes need the real clock's progress.
type shiftClock struct {
	mu    sync.Mutex
	ahead time.Duration
}

func (c *shiftClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.ahead)
}

func (c *shiftClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ahead += d
}

func mustRolesAPI(tb testing.TB) *rolesAPI {
	tb.Helper()
	client, table := dynamotest.NewTable(tb)
	clock := &shiftClock{}
	store := dynamo.New(client, table, dynamo.Options{Now: clock.now})
	ts := httptest.NewServer(rolesServer(store, clock).Handler(httpapi.AllRoutes))
	tb.Cleanup(ts.Close)
	return &rolesAPI{api: &api{Server: ts, tb: tb}, store: store, clock: clock}
}

// rolesServer is a server of store: several of them on one table are the
// instances of one deployment, each with its own key cache.
func rolesServer(store *dynamo.Store, clock *shiftClock) *httpapi.Server {
	return &httpapi.Server{
		Experiments: store, Assignments: store, Events: store, Results: store, Referrals: store, Lamed: store,
		Identities: store, Privacy: store, Snapshots: store, Flags: store, Keys: store,
		Ping: store.Ping, AdminKey: adminKey, HashKey: []byte("test-hash-key"), Now: clock.now,
		Logger: slog.New(slog.DiscardHandler),
	}
}

// as sends a request with token as the bearer token.
func (a *rolesAPI) as(token, method, path, body string) response {
	a.tb.Helper()
	return a.send(method, path, body, "Authorization", "Bearer "+token)
}

// issuedAdmin is an issued admin key: its token and id.
type issuedAdmin struct{ token, id string }

// mustAdminKey creates an admin key for name with role, as the bootstrap
// owner.
func (a *rolesAPI) mustAdminKey(name string, role refx.AdminRole) issuedAdmin {
	a.tb.Helper()
	body, _ := json.Marshal(map[string]string{"kind": "admin", "name": name, "role": string(role)})
	res := a.mustDo("POST", "/v1/keys", string(body), true, http.StatusCreated)
	token, _ := res.Body["key"].(string)
	id, _ := res.Body["id"].(string)
	if !strings.HasPrefix(token, "rfx_adm_"+id+"_") || res.Body["role"] != string(role) {
		a.tb.Fatalf("admin key = %s", res.Raw)
	}
	return issuedAdmin{token, id}
}

// concretePath fills a route's path template with values that reach its
// handler.
func concretePath(template string) string {
	return strings.NewReplacer("{id}", "missing-exp", "{key}", "missing-flag", "{user}", "u1",
		"{chart}", "funnel", "{asset...}", "app.js").Replace(template)
}

// TestAdminRoutesHaveRoles: every admin route of RouteTable declares the
// role it needs (adminRoles, roles.go), and the declarations follow the
// rule of the issue: reads are for viewers (keys for owners only), writes
// for editors and above, deletions of experiments, users and keys for
// owners (not of flags, segments and blocks, which an editor can put back
// as they were). The dashboard's page and assets hold no data and need no key.
func TestAdminRoutesHaveRoles(t *testing.T) {
	keyless := map[string]bool{"GET /dashboard": true, "GET /dashboard/{asset...}": true}
	for _, r := range httpapi.RouteTable() {
		if r.Group != httpapi.AdminRoutes || keyless[r.String()] {
			continue
		}
		need, ok := httpapi.AdminRoleOf(r.String())
		switch {
		case !ok:
			t.Errorf("%s: no role in adminRoles (pkg/httpapi/roles.go): add the role it needs there", r)
		case strings.HasPrefix(r.Path, "/v1/keys") && need != refx.RoleOwner:
			t.Errorf("%s needs %s; keys are for owners only", r, need)
		case r.Method == http.MethodGet && !strings.HasPrefix(r.Path, "/v1/keys") && need != refx.RoleViewer:
			t.Errorf("%s is a read and needs %s, want viewer", r, need)
		case r.Method != http.MethodGet && !need.Allows(refx.RoleEditor):
			t.Errorf("%s is a write open to %s", r, need)
		case r.Method == http.MethodDelete && !strings.HasPrefix(r.Path, "/v1/flags") &&
			!strings.HasPrefix(r.Path, "/v1/segments") && !strings.HasPrefix(r.Path, "/v1/blocks") && need != refx.RoleOwner:
			t.Errorf("%s deletes and needs %s, want owner", r, need)
		}
	}
}

// TestRoleWalk sends every admin route of RouteTable with a key of each
// role and the bootstrap key: below the role the route needs, 403
// forbidden naming that role and the caller's; at or above, the handler
// answers (anything but 401 and 403). Lamed's routes answer a refusal with
// its bare 403.
func TestRoleWalk(t *testing.T) {
	t.Parallel()
	a := mustRolesAPI(t)
	type cred struct {
		name, token string
		role        refx.AdminRole
	}
	creds := []cred{{"bootstrap admin key", adminKey, refx.RoleOwner}}
	for _, role := range refx.AdminRoles {
		k := a.mustAdminKey("walker "+string(role), role)
		creds = append(creds, cred{"walker " + string(role), k.token, role})
	}
	walked := 0
	for _, r := range httpapi.RouteTable() {
		need, ok := httpapi.AdminRoleOf(r.String())
		if r.Group != httpapi.AdminRoutes || !ok {
			continue // TestAdminRoutesHaveRoles reports a missing role
		}
		walked++
		path := concretePath(r.Path)
		if r.Path == "/v1/keys/{id}" {
			path = "/v1/keys/0000000000000000"
		}
		lamed := strings.HasPrefix(r.Path, "/lamed/")
		for _, c := range creds {
			t.Run(r.String()+"/"+string(c.role)+map[bool]string{true: "/bootstrap"}[c.token == adminKey], func(t *testing.T) {
				header := "Authorization"
				value := "Bearer " + c.token
				if lamed {
					header, value = "x-api-key", c.token
				}
				status, raw := a.raw(r.Method, path, "{}", header, value)
				if !c.role.Allows(need) {
					if status != http.StatusForbidden {
						t.Fatalf("%s with %s = %d %s, want 403", r, c.role, status, raw)
					}
					if !lamed && (!strings.Contains(raw, `"code":"forbidden"`) || !strings.Contains(raw, "role "+string(need)) ||
						!strings.Contains(raw, c.name) || !strings.Contains(raw, "role "+string(c.role))) {
						t.Fatalf("%s with %s = %s, want forbidden naming %s and the caller", r, c.role, raw, need)
					}
					return
				}
				if status == http.StatusUnauthorized || status == http.StatusForbidden {
					t.Fatalf("%s with %s (needs %s) = %d %s", r, c.role, need, status, raw)
				}
			})
		}
	}
	if walked < 30 {
		t.Fatalf("walked %d admin routes: RouteTable lost its admin routes?", walked)
	}
}

// TestAdminKeys: people get admin keys from an owner; each sees itself in
// GET /v1/me; what a role may not do is refused 403, keys and roles
// included; a revoked key is refused 401; every key write is in the audit
// log with the caller as its actor and no secret in it.
func TestAdminKeys(t *testing.T) {
	t.Parallel()
	a := mustRolesAPI(t)
	carol := a.mustAdminKey("Carol", refx.RoleOwner)
	alice := a.mustAdminKey("Alice", refx.RoleEditor)
	bob := a.mustAdminKey("Bob", refx.RoleViewer)

	t.Run("Me", func(t *testing.T) {
		for _, tt := range []struct {
			token string
			want  refx.Actor
		}{
			{adminKey, refx.BootstrapActor},
			{carol.token, refx.Actor{ID: "admin:" + carol.id, Name: "Carol", Role: refx.RoleOwner}},
			{alice.token, refx.Actor{ID: "admin:" + alice.id, Name: "Alice", Role: refx.RoleEditor}},
			{bob.token, refx.Actor{ID: "admin:" + bob.id, Name: "Bob", Role: refx.RoleViewer}},
		} {
			res := a.as(tt.token, "GET", "/v1/me", "")
			var got struct{ Actor refx.Actor }
			if err := json.Unmarshal([]byte(res.Raw), &got); err != nil || res.Status != 200 || got.Actor != tt.want {
				t.Errorf("GET /v1/me = %d %s, want %+v", res.Status, res.Raw, tt.want)
			}
		}
	})
	t.Run("EditorWritesExperiments", func(t *testing.T) {
		if res := a.as(alice.token, "POST", "/v1/experiments", experimentBody); res.Status != http.StatusCreated {
			t.Fatalf("editor's create = %d %s", res.Status, res.Raw)
		}
		if res := a.as(bob.token, "PATCH", "/v1/experiments/cta-test", `{"name":"x"}`); res.Status != 403 || !strings.Contains(res.Raw, "role editor") {
			t.Fatalf("viewer's edit = %d %s", res.Status, res.Raw)
		}
	})
	t.Run("EditorCannotManageKeys", func(t *testing.T) {
		for _, req := range [][2]string{
			{"POST /v1/keys", `{"kind":"admin","name":"Mallory","role":"owner"}`},
			{"PATCH /v1/keys/" + alice.id, `{"role":"owner"}`},
			{"PATCH /v1/keys/" + bob.id, `{"role":"editor"}`},
			{"DELETE /v1/keys/" + carol.id, ""},
			{"GET /v1/keys", ""},
		} {
			method, path, _ := strings.Cut(req[0], " ")
			res := a.as(alice.token, method, path, req[1])
			if res.Status != 403 || res.errorCode() != "forbidden" || !strings.Contains(res.Raw, "role owner") {
				t.Errorf("editor's %s = %d %s", req[0], res.Status, res.Raw)
			}
		}
	})
	t.Run("NoOwnRole", func(t *testing.T) {
		res := a.as(carol.token, "PATCH", "/v1/keys/"+carol.id, `{"role":"viewer"}`)
		if res.Status != 403 || !strings.Contains(res.Raw, "own role") {
			t.Fatalf("own role change = %d %s", res.Status, res.Raw)
		}
	})
	t.Run("RoleChangeErrors", func(t *testing.T) {
		secret := a.mustKey("secret")
		secretID := strings.Split(strings.TrimPrefix(secret, "rfx_sec_"), "_")[0]
		for _, tt := range []struct {
			name, path, body string
			status           int
			field            string
		}{
			{"UnknownRole", "/v1/keys/" + bob.id, `{"role":"root"}`, 400, "role"},
			{"NoRole", "/v1/keys/" + bob.id, `{}`, 400, "role"},
			{"OtherField", "/v1/keys/" + bob.id, `{"role":"editor","name":"Robert"}`, 400, "name"},
			{"NotAnAdminKey", "/v1/keys/" + secretID, `{"role":"editor"}`, 400, "role"},
			{"Missing", "/v1/keys/0000000000000000", `{"role":"editor"}`, 404, ""},
			{"BadID", "/v1/keys/NOT-AN-ID", `{"role":"editor"}`, 400, "id"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				res := a.as(carol.token, "PATCH", tt.path, tt.body)
				if res.Status != tt.status || res.errorField() != tt.field {
					t.Fatalf("= %d %s, want %d field %q", res.Status, res.Raw, tt.status, tt.field)
				}
			})
		}
	})
	t.Run("RoleChangeAppliesAtOnce", func(t *testing.T) {
		res := a.as(carol.token, "PATCH", "/v1/keys/"+bob.id, `{"role":"editor"}`)
		if res.Status != 200 || res.Body["role"] != "editor" {
			t.Fatalf("role change = %d %s", res.Status, res.Raw)
		}
		// This instance forgets its cached key: no wait for the new role.
		body := strings.Replace(experimentBody, `"id":"cta-test"`, `"id":"bobs-test"`, 1)
		if res := a.as(bob.token, "POST", "/v1/experiments", body); res.Status != http.StatusCreated {
			t.Fatalf("promoted editor's create = %d %s", res.Status, res.Raw)
		}
		// Setting the role a key has changes nothing and writes no entry.
		before := len(a.keyAudit(t, bob.id))
		if res := a.as(carol.token, "PATCH", "/v1/keys/"+bob.id, `{"role":"editor"}`); res.Status != 200 {
			t.Fatalf("same role = %d %s", res.Status, res.Raw)
		}
		if after := len(a.keyAudit(t, bob.id)); after != before {
			t.Fatalf("setting the same role wrote %d entries", after-before)
		}
	})
	t.Run("Revoked", func(t *testing.T) {
		dave := a.mustAdminKey("Dave", refx.RoleApprover)
		a.as(dave.token, "GET", "/v1/me", "") // cached by this instance
		if res := a.as(carol.token, "DELETE", "/v1/keys/"+dave.id, ""); res.Status != 200 || res.Body["revoked_at"] == nil {
			t.Fatalf("revoke = %d %s", res.Status, res.Raw)
		}
		res := a.as(dave.token, "GET", "/v1/experiments", "")
		if res.Status != 401 || res.errorCode() != "unauthorized" || res.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("revoked key = %d %s", res.Status, res.Raw)
		}
		if res := a.as(carol.token, "PATCH", "/v1/keys/"+dave.id, `{"role":"owner"}`); res.Status != 409 {
			t.Fatalf("role of a revoked key = %d %s", res.Status, res.Raw)
		}
		if res := a.send("GET", "/lamed/experiments", "", "x-api-key", dave.token); res.Status != 403 {
			t.Fatalf("revoked key on Lamed's route = %d %s", res.Status, res.Raw)
		}
	})
	t.Run("AuditActors", func(t *testing.T) {
		entries := a.keyAudit(t, bob.id)
		if len(entries) != 2 {
			t.Fatalf("bob's key has %d audit entries, want create and set_role", len(entries))
		}
		role, create := entries[0], entries[1] // newest first
		if create.Action != "create" || create.Actor != refx.BootstrapActor || string(create.Before) != "null" {
			t.Errorf("create entry %+v", create)
		}
		wantCarol := refx.Actor{ID: "admin:" + carol.id, Name: "Carol", Role: refx.RoleOwner}
		if role.Action != "set_role" || role.Actor != wantCarol ||
			!strings.Contains(string(role.Before), `"role":"viewer"`) || !strings.Contains(string(role.After), `"role":"editor"`) {
			t.Errorf("role entry %+v before %s after %s", role, role.Before, role.After)
		}
		page, err := a.store.Audit(t.Context(), refx.AuditFilter{Resource: refx.AuditKey, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Entries {
			raw, _ := json.Marshal(e)
			for _, secret := range []string{adminKey, carol.token, alice.token, bob.token, "rfx_adm_", "digest", refx.KeyDigest(bob.token)} {
				if strings.Contains(string(raw), secret) {
					t.Fatalf("audit entry holds a secret (%.12s…): %s", secret, raw)
				}
			}
		}
	})
	t.Run("NotForPublicRoutes", func(t *testing.T) {
		if res := a.doKey("POST", "/v1/assign", assignBody, carol.token); res.Status != 401 || !strings.Contains(res.Raw, "admin routes only") {
			t.Fatalf("admin key as a client key = %d %s", res.Status, res.Raw)
		}
		// As a bearer token it is no key at all, as the bootstrap key.
		if res := a.as(carol.token, "POST", "/v1/assign", assignBody); res.Status != 401 || !strings.Contains(res.Raw, "an API key is required") {
			t.Fatalf("admin bearer token on a public route = %d %s", res.Status, res.Raw)
		}
		// Not in the URL either: the admin routes read the header only.
		if res := a.send("GET", "/v1/me?access_token="+carol.token, ""); res.Status != 401 {
			t.Fatalf("admin key in the URL = %d %s", res.Status, res.Raw)
		}
	})
}

// TestEraseUserActors: DELETE /v1/users/{user} takes an owner's key or a
// secret key, and is refused to the other roles and to client keys.
func TestEraseUserActors(t *testing.T) {
	t.Parallel()
	a := mustRolesAPI(t)
	approver := a.mustAdminKey("Ann", refx.RoleApprover)
	owner := a.mustAdminKey("Olga", refx.RoleOwner)
	secret := a.mustKey("secret")
	client := a.mustKey("client", "*")
	for _, tt := range []struct {
		name    string
		headers []string
		status  int
	}{
		{"Owner", []string{"Authorization", "Bearer " + owner.token}, 200},
		{"Bootstrap", []string{"Authorization", "Bearer " + adminKey}, 200},
		{"Secret", []string{"Authorization", "Bearer " + secret}, 200},
		{"SecretHeader", []string{httpapi.KeyHeader, secret}, 200},
		{"Approver", []string{"Authorization", "Bearer " + approver.token}, 403},
		{"Client", []string{httpapi.KeyHeader, client}, 401},
		{"None", nil, 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if res := a.send("DELETE", "/v1/users/u1", "", tt.headers...); res.Status != tt.status {
				t.Fatalf("= %d %s, want %d", res.Status, res.Raw, tt.status)
			}
		})
	}
}

// TestRoleChangesDoNotInterleave: owners changing one key's role at once
// each read the key and write on the condition that its version is still
// the one read, so the audit log is a chain (each entry's before is the
// previous entry's after) whose last after is the key's role; each entry
// is a change answered 200 (a change to the role the key already had is a
// 200 without one), and the losers answered 409.
func TestRoleChangesDoNotInterleave(t *testing.T) {
	t.Parallel()
	a := mustRolesAPI(t)
	target := a.mustAdminKey("Target", refx.RoleViewer)
	var owners []issuedAdmin
	for i := range 8 {
		owners = append(owners, a.mustAdminKey(fmt.Sprintf("Owner %d", i), refx.RoleOwner))
	}
	var wg sync.WaitGroup
	statuses := make([]int, len(owners))
	for i, o := range owners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			role := refx.AdminRoles[1+i%3] // editor, approver, owner: never the viewer it starts as
			statuses[i] = a.as(o.token, "PATCH", "/v1/keys/"+target.id, fmt.Sprintf(`{"role":%q}`, role)).Status
		}()
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		switch s {
		case 200:
			ok++
		case 409:
		default:
			t.Fatalf("statuses %v: want 200 or 409", statuses)
		}
	}
	entries := a.keyAudit(t, target.id)
	var changes []*refx.AuditEntry
	for i := len(entries) - 1; i >= 0; i-- { // oldest first
		if entries[i].Action == "set_role" {
			changes = append(changes, entries[i])
		}
	}
	if ok == 0 || len(changes) > ok {
		t.Fatalf("%d changes answered 200, %d set_role entries", ok, len(changes))
	}
	role := func(raw json.RawMessage) refx.AdminRole {
		var k refx.APIKey
		if err := json.Unmarshal(raw, &k); err != nil {
			t.Fatal(err)
		}
		return k.Role
	}
	prev := refx.RoleViewer
	for _, e := range changes {
		if role(e.Before) != prev {
			t.Fatalf("entry %s changes %s, but the key was %s", e.ID, role(e.Before), prev)
		}
		prev = role(e.After)
	}
	key, err := a.store.Key(t.Context(), target.id)
	if err != nil || key.Role != prev {
		t.Fatalf("key's role %v (%v), the log's last %s", key.Role, err, prev)
	}
	t.Logf("%d concurrent changes: %d applied, %d refused 409", len(owners), ok, len(owners)-ok)
}

// TestRevokedOnOtherInstances: an instance that did not revoke a key reads
// it through its cache, so the key stops there within the cache's TTL
// (30 s), as the README says.
func TestRevokedOnOtherInstances(t *testing.T) {
	t.Parallel()
	a := mustRolesAPI(t)
	other := httptest.NewServer(rolesServer(a.store, a.clock).Handler(httpapi.AllRoutes))
	t.Cleanup(other.Close)
	b := &api{Server: other, tb: t}
	k := a.mustAdminKey("Eve", refx.RoleViewer)
	get := func() int { return b.send("GET", "/v1/me", "", "Authorization", "Bearer "+k.token).Status }
	if s := get(); s != 200 {
		t.Fatalf("before revocation: %d", s)
	}
	a.mustDo("DELETE", "/v1/keys/"+k.id, "", true, 200)
	if s := get(); s != 200 {
		t.Fatalf("the other instance's cache: %d, want 200 still", s)
	}
	a.clock.advance(31 * time.Second)
	if s := get(); s != 401 {
		t.Fatalf("past the cache TTL: %d, want 401", s)
	}
}

// raw sends a request with one header and returns the answer as it is:
// some admin routes answer other than a JSON object (Lamed's listing,
// charts, the dashboard).
func (a *rolesAPI) raw(method, path, body, header, value string) (int, string) {
	a.tb.Helper()
	req, err := http.NewRequest(method, a.URL+path, strings.NewReader(body))
	if err != nil {
		a.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(header, value)
	res, err := a.Client().Do(req)
	if err != nil {
		a.tb.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// keyAudit is a key's audit entries, newest first.
func (a *rolesAPI) keyAudit(t *testing.T, id string) []*refx.AuditEntry {
	t.Helper()
	page, err := a.store.Audit(t.Context(), refx.AuditFilter{Resource: refx.AuditKey, ResourceID: id, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return page.Entries
}
