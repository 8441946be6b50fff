package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
)

// TestLayersAPI walks the layer and holdout routes: create, read, list,
// rename, an overlapping start refused with 409, a claimed layer not
// deleted, the range freed by a stop, holdouts listed apart from
// experiments.
func TestLayersAPI(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.mustDo("POST", "/v1/layers", `{"id":"checkout","description":"the checkout page"}`, true, http.StatusCreated)
	a.mustDo("POST", "/v1/layers", `{"id":"checkout"}`, true, http.StatusConflict)
	a.mustDo("POST", "/v1/layers", `{"id":"Not a slug"}`, true, http.StatusBadRequest)
	a.mustDo("PATCH", "/v1/layers/checkout", `{"version":1,"name":"Checkout"}`, true, http.StatusOK)
	a.mustDo("PATCH", "/v1/layers/checkout", `{"version":1,"name":"stale"}`, true, http.StatusConflict)
	a.mustDo("GET", "/v1/layers/missing", "", true, http.StatusNotFound)

	experiment := func(id, layerRange string) string {
		return `{"id":"` + id + `","layer":"checkout","layer_range":` + layerRange + `,
"variants":[{"key":"a","weight":1},{"key":"b","weight":1}],"goals":[{"key":"signup","kind":"binomial"}]}`
	}
	a.mustDo("POST", "/v1/experiments", experiment("left", "[0,0.5]"), true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments", experiment("middle", "[0.25,0.75]"), true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments", experiment("bad", "[0.5,0.25]"), true, http.StatusBadRequest)
	a.mustDo("POST", "/v1/experiments/left/start", "", true, http.StatusOK)
	res := a.mustDo("POST", "/v1/experiments/middle/start", "", true, http.StatusConflict)
	if res.Body["error"].(map[string]any)["field"] != "layer_range" {
		t.Fatalf("overlap refused with %s", res.Raw)
	}
	a.mustDo("DELETE", "/v1/layers/checkout", "", true, http.StatusConflict)
	l := a.mustDo("GET", "/v1/layers/checkout", "", true, http.StatusOK)
	if fmt.Sprint(l.Body["claims"]) != "[map[experiment:left range:[0 0.5]]]" || l.Body["name"] != "Checkout" {
		t.Fatalf("layer %s", l.Raw)
	}
	a.mustDo("POST", "/v1/experiments/left/stop", "", true, http.StatusOK)
	a.mustDo("POST", "/v1/experiments/middle/start", "", true, http.StatusOK)

	a.mustDo("POST", "/v1/holdouts", `{"id":"hold","share":0.1,"goals":[{"key":"purchase","kind":"value"}]}`, true, http.StatusCreated)
	a.mustDo("POST", "/v1/holdouts", `{"id":"nothing","share":1,"goals":[{"key":"purchase","kind":"value"}]}`, true, http.StatusBadRequest)
	h := a.mustDo("GET", "/v1/holdouts/hold", "", true, http.StatusOK)
	if h.Body["kind"] != "holdout" || h.Body["control"] != "holdout" {
		t.Fatalf("holdout %s", h.Raw)
	}
	a.mustDo("GET", "/v1/holdouts/left", "", true, http.StatusNotFound)
	list := a.mustDo("GET", "/v1/holdouts", "", true, http.StatusOK)
	if hs := list.Body["holdouts"].([]any); len(hs) != 1 {
		t.Fatalf("holdouts %s", list.Raw)
	}
	layers := a.mustDo("GET", "/v1/layers?limit=10", "", true, http.StatusOK)
	if ls := layers.Body["layers"].([]any); len(ls) != 1 {
		t.Fatalf("layers %s", layers.Raw)
	}
	a.mustDo("POST", "/v1/experiments/middle/stop", "", true, http.StatusOK)
	del, _ := http.NewRequest("DELETE", a.URL+"/v1/layers/checkout", nil)
	del.Header.Set("Authorization", "Bearer "+adminKey)
	gone, err := a.Client().Do(del)
	if err != nil {
		t.Fatal(err)
	}
	gone.Body.Close()
	if gone.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE /v1/layers/checkout = %d", gone.StatusCode)
	}
	a.mustDo("GET", "/v1/layers/checkout", "", true, http.StatusNotFound)
}

// TestGrowthBookSDKParityLayer: gbExperiment in a layer range, under a
// running global holdout. The real GrowthBook SDK (npm 1.8.0, in node)
// reads the range and the holdout as the rule's filters, and enters exactly the users POST /v1/assign enrols, in the same arms.
func TestGrowthBookSDKParityLayer(t *testing.T) {
	t.Parallel()
	a, client, _, _ := MustGrowthBookAPI(t, false)
	a.mustDo("POST", "/v1/layers", `{"id":"home"}`, true, http.StatusCreated)
	a.mustDo("POST", "/v1/holdouts", `{"id":"hold","share":0.2,"goals":[{"key":"signup","kind":"binomial"}]}`, true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments/hold/start", "", true, http.StatusOK)
	a.mustDo("PATCH", "/v1/experiments/gb-parity", `{"version":1,"layer":"home","layer_range":[0.2,0.8]}`, true, http.StatusOK)
	a.mustDo("POST", "/v1/experiments/gb-parity/start", "", true, http.StatusOK)

	ids := gbUsers(1000)
	source, arms := growthbookArms(t, a, client, "button-color", ids)
	if source != "network" || len(arms) != len(ids) {
		t.Fatalf("the SDK loaded from %q and evaluated %d users, want network and %d", source, len(arms), len(ids))
	}
	reasons := map[string]int{}
	for _, id := range ids {
		res := a.doKey("POST", "/v1/assign", `{"experiment":"gb-parity","user":"`+id+`"}`, client)
		var want *int
		if res.Body["in_experiment"] == true {
			i := slices.Index(gbVariants, res.Body["variant"].(string))
			want = &i
			reasons["in"]++
		} else {
			reason, _ := res.Body["reason"].(string)
			reasons["out:"+reason]++
		}
		if got := arms[id]; (got == nil) != (want == nil) || got != nil && *got != *want {
			t.Errorf("%s: the SDK chose %s, /v1/assign %s", id, arm(got), arm(want))
		}
	}
	// Layer 60 %, then holdout 80 % of those, then coverage 80 %: about
	// 400 out by layer, 120 by holdout, 96 by coverage, 384 in.
	t.Logf("/v1/assign: %v", reasons)
	if n := reasons["out:layer"]; n < 340 || n > 460 {
		t.Errorf("%d users outside the layer range, want about 400", n)
	}
	if n := reasons["out:holdout"]; n < 80 || n > 160 {
		t.Errorf("%d users held out, want about 120", n)
	}
	if n := reasons["in"]; n < 320 || n > 450 {
		t.Errorf("%d users in, want about 384", n)
	}
}
