package export_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/refx-dev/refx/pkg/export"
)

// TestExportAudience: an experiment's versions carry its audience, null
// before it had one and after it was removed, so that an analysis knows
// whom each version's results speak for.
func TestExportAudience(t *testing.T) {
	st := MustStack(t, stackOptions{})
	const audience = `{"country":{"$in":["NL","BE"]}}`
	create := `{"id":"aud","variants":[{"key":"a","weight":1},{"key":"b","weight":1}],"goals":[{"key":"signup","kind":"binomial"}]}`
	if code := st.Call(t, "POST", "/v1/experiments", create, nil); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	for _, body := range []string{`{"version":1,"audience":` + audience + `}`, `{"version":2,"audience":null}`} {
		if code := st.Call(t, "PATCH", "/v1/experiments/aud", body, nil); code != http.StatusOK {
			t.Fatalf("patch %s: %d", body, code)
		}
	}
	st.Drain(t)
	got := map[int64]string{}
	for _, r := range readRows[export.ExperimentRow](t, st, export.Experiments) {
		got[r.Version] = "null"
		if r.Audience != nil {
			got[r.Version] = *r.Audience
		}
	}
	want := map[int64]string{1: "null", 2: audience, 3: "null"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("audience per version = %v, want %v", got, want)
	}
}
