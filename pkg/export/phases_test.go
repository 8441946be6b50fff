package export_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/internal/lakefixture"
	"github.com/refx-dev/refx/pkg/refx"
)

// TestExportPhases: assignments and credits carry the phase they count in,
// a user enrolled in two phases has a row in each, and experiment_results.sql
// gives each phase's counts as the API's ?phase=N does.
func TestExportPhases(t *testing.T) {
	st := MustStack(t, stackOptions{})
	create := `{"id":"phased","variants":[{"key":"a","weight":1},{"key":"b","weight":0}],
"goals":[{"key":"purchase","kind":"value"}]}`
	if code := st.Call(t, "POST", "/v1/experiments", create, nil); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	if code := st.Call(t, "POST", "/v1/experiments/phased/start", "", nil); code != http.StatusOK {
		t.Fatalf("start: %d", code)
	}
	assign := func(user string) {
		t.Helper()
		if code := st.Call(t, "POST", "/v1/assign", fmt.Sprintf(`{"experiment":"phased","user":%q}`, user), nil); code != http.StatusOK {
			t.Fatalf("assign %s: %d", user, code)
		}
	}
	n := 0
	purchase := func(user, value string) {
		t.Helper()
		body := fmt.Sprintf(`{"id":%q,"type":"purchase","user":%q,"value":%s}`, lakefixture.EventID(n), user, value)
		n++
		if code := st.Call(t, "POST", "/v1/events", body, nil); code != http.StatusAccepted && code != http.StatusOK && code != http.StatusCreated {
			t.Fatalf("event %s: %d", body, code)
		}
	}
	// Phase 1 sends everyone to a, phase 2 everyone to b.
	assign("alice")
	assign("bob")
	purchase("alice", "10")
	purchase("bob", "1")
	phase := `{"variants":[{"key":"a","weight":0},{"key":"b","weight":1}],"reason":"all to b"}`
	if code := st.Call(t, "POST", "/v1/experiments/phased/phases", phase, nil); code != http.StatusOK {
		t.Fatalf("new phase: %d", code)
	}
	assign("alice")
	assign("carol")
	purchase("alice", "2.5")
	purchase("bob", "7") // not enrolled in phase 2 yet: no credit
	purchase("carol", "3")
	st.Drain(t)

	var assignments []string
	for _, r := range readRows[export.AssignmentRow](t, st, export.Assignments) {
		assignments = append(assignments, fmt.Sprintf("%d %s %s", r.Phase, r.UserID, r.Variant))
	}
	slices.Sort(assignments)
	want := []string{"1 alice a", "1 bob a", "2 alice b", "2 carol b"}
	if got := strings.Join(assignments, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("assignment rows:\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
	var credits []string
	for _, r := range readRows[export.CreditRow](t, st, export.Credits) {
		credits = append(credits, fmt.Sprintf("%s %d %s %s", r.EventID, r.Phase, r.UserID, r.Variant))
	}
	slices.Sort(credits)
	want = []string{
		lakefixture.EventID(0) + " 1 alice a",
		lakefixture.EventID(1) + " 1 bob a",
		lakefixture.EventID(2) + " 2 alice b",
		lakefixture.EventID(4) + " 2 carol b",
	}
	if got := strings.Join(credits, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("credit rows:\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}

	db := st.MustQueryDB(t)
	current := st.results(t, "phased")
	if current.Phase != 2 || current.Variants[1].Participants != 2 {
		t.Fatalf("API results of the current phase: phase %d, %+v", current.Phase, current.Variants)
	}
	assertResultsMatch(t, db, current)
	dynamotest.MustCount(t, st.Store)
	var first refx.Results
	if code := st.Call(t, "GET", "/v1/experiments/phased/results?phase=1", "", &first); code != http.StatusOK || first.Phase != 1 {
		t.Fatalf("results of phase 1: %d, phase %d", code, first.Phase)
	}
	assertResultsMatch(t, db, &first)
}
