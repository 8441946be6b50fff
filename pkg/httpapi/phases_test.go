package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"
)

// TestPhasesRoute: POST /v1/experiments/{id}/phases starts a phase of a
// running experiment (409 for a draft, which is edited instead), the
// weights a PATCH refuses are taken there, and the results read the
// current phase by default and any phase with ?phase=N, analysed with that
// phase's weights.
func TestPhasesRoute(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.mustDo("POST", "/v1/experiments", `{"id":"ph","variants":[{"key":"a","weight":1},{"key":"b","weight":1}],"goals":[{"key":"signup","kind":"binomial"}]}`, true, http.StatusCreated)
	newPhase := `{"variants":[{"key":"a","weight":1},{"key":"b","weight":3}],"reason":"more b","rerandomize":true}`
	if r := a.do("POST", "/v1/experiments/ph/phases", newPhase, true); r.Status != http.StatusConflict {
		t.Fatalf("a draft's new phase: %d %s, want 409", r.Status, r.Raw)
	}
	started := a.mustDo("POST", "/v1/experiments/ph/start", "", true, http.StatusOK)
	if started.Body["phase"] != 1.0 {
		t.Fatalf("a started experiment is in phase %v, want 1", started.Body["phase"])
	}
	for i := range 40 {
		a.mustDo("POST", "/v1/assign", fmt.Sprintf(`{"experiment":"ph","user":"u%d"}`, i), true, http.StatusOK)
	}
	patch := fmt.Sprintf(`{"version":%v,"variants":[{"key":"a","weight":1},{"key":"b","weight":3}]}`, started.Body["version"])
	if r := a.do("PATCH", "/v1/experiments/ph", patch, true); r.Status != http.StatusConflict || r.errorField() != "variants" {
		t.Fatalf("PATCH of a running experiment's weights: %d %s, want 409 on variants", r.Status, r.Raw)
	}
	if r := a.do("POST", "/v1/experiments/ph/phases", `{"variants":[{"key":"a","weight":1},{"key":"c","weight":3}]}`, true); r.Status != http.StatusBadRequest || r.errorField() != "variants" {
		t.Fatalf("a phase renaming a variant: %d %s, want 400 on variants", r.Status, r.Raw)
	}
	next := a.mustDo("POST", "/v1/experiments/ph/phases", newPhase, true, http.StatusOK)
	phases, _ := next.Body["phases"].([]any)
	if next.Body["phase"] != 2.0 || len(phases) != 2 {
		t.Fatalf("after a new phase: %s", next.Raw)
	}
	for i := range 10 {
		a.mustDo("POST", "/v1/assign", fmt.Sprintf(`{"experiment":"ph","user":"v%d"}`, i), true, http.StatusOK)
	}
	participants := func(r response) float64 {
		var n float64
		vs, _ := r.Body["variants"].([]any)
		for _, v := range vs {
			n += v.(map[string]any)["participants"].(float64)
		}
		return n
	}
	srmWeights := func(r response) string {
		a, _ := r.Body["analysis"].(map[string]any)
		srm, _ := a["srm"].(map[string]any)
		return fmt.Sprint(srm["expected"])
	}
	tests := []struct {
		query        string
		phase, count float64
		srm          string // the participants the phase's weights expect
	}{
		{"", 2, 10, "[2.5 7.5]"},
		{"?phase=2", 2, 10, "[2.5 7.5]"},
		{"?phase=1", 1, 40, "[20 20]"},
	}
	for _, tt := range tests {
		r := a.mustDo("GET", "/v1/experiments/ph/results"+tt.query, "", true, http.StatusOK)
		if r.Body["phase"] != tt.phase || participants(r) != tt.count {
			t.Errorf("results%s: phase %v, %v participants; want phase %v, %v", tt.query, r.Body["phase"], participants(r), tt.phase, tt.count)
		}
		if got := srmWeights(r); got != tt.srm {
			t.Errorf("results%s: the SRM check expects %s, want %s", tt.query, got, tt.srm)
		}
	}
	for _, bad := range []string{"?phase=3", "?phase=0", "?phase=x"} {
		if r := a.do("GET", "/v1/experiments/ph/results"+bad, "", true); r.Status != http.StatusBadRequest || r.errorField() != "phase" {
			t.Errorf("results%s: %d %s, want 400 on phase", bad, r.Status, r.Raw)
		}
	}
}
