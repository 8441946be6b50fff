package export_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/internal/lakefixture"
	"github.com/refx-dev/refx/pkg/refx"
)

// TestExportCovariatesAndRatioSums: an assignment carries the covariates
// it enrolled with, and each credit the user's covariate on its goal and
// its shares of the ratio metric's sums, so that an analyst recomputes the
// CUPED and ratio sums of the results from the rows alone.
func TestExportCovariatesAndRatioSums(t *testing.T) {
	st := MustStack(t, stackOptions{})
	create := `{"id":"cuped","variants":[{"key":"a","weight":1},{"key":"b","weight":0}],
"goals":[{"key":"visit","kind":"binomial"},{"key":"purchase","kind":"value"}],
"ratio_metrics":[{"key":"value_per_visit","numerator":"purchase","denominator":"visit"}]}`
	if code := st.Call(t, "POST", "/v1/experiments", create, nil); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	if code := st.Call(t, "POST", "/v1/experiments/cuped/start", "", nil); code != http.StatusOK {
		t.Fatalf("start: %d", code)
	}
	// Covariates come from a server's secret key, which the stack's admin
	// key is not: alice enrols through the store, as that request would.
	covariates := map[string]refx.Decimal{}
	for goal, x := range map[string]string{"purchase": "12.5", "visit": "0"} {
		d, err := refx.ParseDecimal(x)
		if err != nil {
			t.Fatal(err)
		}
		covariates[goal] = d
	}
	if _, err := st.Store.AssignWith(t.Context(), "cuped", "alice", refx.AssignInput{Covariates: covariates}); err != nil {
		t.Fatal(err)
	}
	if code := st.Call(t, "POST", "/v1/assign", `{"experiment":"cuped","user":"bob"}`, nil); code != http.StatusOK {
		t.Fatalf("assign bob: %d", code)
	}
	events := []struct{ user, goal, value string }{
		{"alice", "visit", ""},
		{"alice", "visit", ""},
		{"alice", "purchase", "10"},
		{"alice", "purchase", "2.25"},
		{"bob", "purchase", "3"},
		{"bob", "visit", ""},
	}
	for i, e := range events {
		body := fmt.Sprintf(`{"id":%q,"type":%q,"user":%q}`, lakefixture.EventID(i), e.goal, e.user)
		if e.value != "" {
			body = fmt.Sprintf(`{"id":%q,"type":%q,"user":%q,"value":%s}`, lakefixture.EventID(i), e.goal, e.user, e.value)
		}
		if code := st.Call(t, "POST", "/v1/events", body, nil); code != http.StatusAccepted && code != http.StatusOK && code != http.StatusCreated {
			t.Fatalf("event %s: %d", body, code)
		}
	}
	st.Drain(t)

	opt := func(s *string) string {
		if s == nil {
			return "null"
		}
		return *s
	}
	optInt := func(n *int64) string {
		if n == nil {
			return "null"
		}
		return fmt.Sprint(*n)
	}
	var assignments []string
	for _, r := range readRows[export.AssignmentRow](t, st, export.Assignments) {
		assignments = append(assignments, r.UserID+" "+opt(r.Covariates))
	}
	slices.Sort(assignments)
	want := []string{`alice {"purchase":12.5,"visit":0}`, "bob null"}
	if got := strings.Join(assignments, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("assignment rows:\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}

	// Covariate in 10⁻⁴ units: alice's 12.5 on purchase, her 0 on visit
	// left out like a missing one. Visits: 2n+1 after n earlier visits, and
	// Δvisits × the purchases so far; purchases: Δvalue × the visits so far
	// (a product of zero is not stored, so it reads null).
	var credits []string
	for _, r := range readRows[export.CreditRow](t, st, export.Credits) {
		credits = append(credits, fmt.Sprintf("%s %s %s %s %s", r.EventID, r.UserID, optInt(r.Covariate),
			optInt(r.EventsParticipantSqDelta), opt(r.RatioProducts)))
	}
	slices.Sort(credits)
	want = []string{
		lakefixture.EventID(0) + ` alice null 1 null`,
		lakefixture.EventID(1) + ` alice null 3 null`,
		lakefixture.EventID(2) + ` alice 125000 null {"value_per_visit":20}`,
		lakefixture.EventID(3) + ` alice 125000 null {"value_per_visit":4.5}`,
		lakefixture.EventID(4) + ` bob null null null`,
		lakefixture.EventID(5) + ` bob null 1 {"value_per_visit":3}`,
	}
	if got := strings.Join(credits, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("credit rows:\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}
