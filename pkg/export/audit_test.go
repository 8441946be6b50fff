package export_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/refx"
)

// TestExportAudit: every audit entry becomes one row of the audit table,
// with its actor and its before and after as JSON; an erasure's row names
// the user by hash only; and Athena's DDL reads the JSON (here DuckDB over
// the same files).
func TestExportAudit(t *testing.T) {
	st := MustStack(t, stackOptions{})
	create := `{"id":"logged","variants":[{"key":"a","weight":1},{"key":"b","weight":1}],"goals":[{"key":"signup","kind":"binomial"}]}`
	if code := st.Call(t, "POST", "/v1/experiments", create, nil); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	if code := st.Call(t, "PATCH", "/v1/experiments/logged", `{"version":1,"name":"Logged <b>"}`, nil); code != http.StatusOK {
		t.Fatalf("patch: %d", code)
	}
	alice := refx.WithActor(t.Context(), refx.Actor{ID: "admin:k1", Name: "alice", Role: refx.RoleEditor})
	var f refx.NewFlag
	if err := json.Unmarshal([]byte(`{"key":"banner","kind":"release","value_type":"boolean","default_value":false}`), &f); err != nil {
		t.Fatal(err)
	}
	flag, err := f.Build(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Store.CreateFlag(alice, flag); err != nil {
		t.Fatal(err)
	}
	const user = "audited-user-42"
	if _, err := st.Store.EraseUser(refx.WithActor(t.Context(), refx.Actor{ID: "secret:k2", Name: "backend"}), user); err != nil {
		t.Fatal(err)
	}
	st.Drain(t)

	rows := readRows[export.AuditRow](t, st, export.Audit)
	var got []string
	for _, r := range rows {
		role := "-"
		if r.ActorRole != nil {
			role = *r.ActorRole
		}
		got = append(got, fmt.Sprintf("%s %s:%s by %s (%s) before=%v after=%v", r.Action, r.Resource, r.ResourceID, r.ActorID, role, r.Before != nil, r.After != nil))
		if r.At.IsZero() || r.ID == "" {
			t.Errorf("row %+v lacks id or at", r)
		}
		if r.After != nil && strings.Contains(*r.After, user) {
			t.Errorf("row %s names the erased user: %s", r.ID, *r.After)
		}
	}
	slices.Sort(got)
	want := []string{
		"create experiment:logged by bootstrap (owner) before=false after=true",
		"create flag:banner by admin:k1 (editor) before=false after=true",
		"erase user:" + refx.ErasureHash(user) + " by secret:k2 (-) before=false after=true",
		"update experiment:logged by bootstrap (owner) before=true after=true",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit rows:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	db := st.MustQueryDB(t)
	res, err := db.Query(t.Context(), `SELECT json_extract_string("after", '$.name') FROM audit WHERE action = 'update'`)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Rows[0][0] != "Logged <b>" {
		t.Fatalf("the update's after.name read back as %v", res.Rows)
	}
}
