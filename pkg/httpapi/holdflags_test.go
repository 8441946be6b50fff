package httpapi_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/installtest"
	"github.com/refx-dev/refx/pkg/refx"
)

// holdFlag is rolled out to everyone: any user getting its default is held
// out of it.
const holdFlag = `{"key":"new-banner","kind":"release","value_type":"string","default_value":"old",
"environments":{"production":{"enabled":true,"rules":[{"id":"rollout","force":"new","coverage":1}]}}}`

// TestHoldoutFlags checks that a running holdout with flags gives its
// held-out users the flags' defaults over OFREP and from the real
// GrowthBook SDK in Node, everyone else the rollout; that a holdout without
// the option leaves flags alone; and that the holdout's end gives the
// rollout back to everyone.
func TestHoldoutFlags(t *testing.T) {
	t.Parallel()
	a, client, clock, reads := MustGrowthBookAPI(t, false)
	secret := a.mustKey("secret")
	a.mustDo("POST", "/v1/flags", holdFlag, true, http.StatusCreated)
	a.mustDo("POST", "/v1/holdouts", `{"id":"hold-exp","share":0.3,"goals":[{"key":"signup","kind":"binomial"}]}`, true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments/hold-exp/start", "", true, http.StatusOK)
	a.mustDo("POST", "/v1/holdouts", `{"id":"hold-flags","share":0.2,"flags":true,"goals":[{"key":"signup","kind":"binomial"}]}`, true, http.StatusCreated)
	held := refx.HoldoutRef{ID: "hold-flags", Seed: "hold-flags", Share: 0.2}
	ids := gbUsers(500)

	// evaluate checks every user over OFREP and with the GrowthBook SDK,
	// and returns how many got the default.
	evaluate := func(t *testing.T, holding bool) (defaults int) {
		t.Helper()
		_, values := growthbookValues(t, a, client, "new-banner", ids)
		before := reads.n.Load()
		for _, id := range ids {
			want, reason := "new", "SPLIT"
			if holding && held.Arm(id) == refx.HoldoutArm {
				want, reason = "old", "DEFAULT"
				defaults++
			}
			res := a.doKey("POST", "/ofrep/v1/evaluate/flags/new-banner", `{"context":{"targetingKey":"`+id+`"}}`, secret)
			if res.Status != http.StatusOK || res.Body["value"] != want || res.Body["reason"] != reason {
				t.Fatalf("%s: OFREP %d %s, want %s (%s)", id, res.Status, res.Raw, want, reason)
			}
			if values[id] != want {
				t.Errorf("%s: the GrowthBook SDK got %v, OFREP %s", id, values[id], want)
			}
		}
		// One cached payload for all: holdouts are read with it.
		if n := reads.n.Load() - before; n > 1 {
			t.Errorf("%d payload reads for %d evaluations, want at most 1", n, len(ids))
		}
		return defaults
	}

	t.Run("HoldoutWithoutFlags", func(t *testing.T) {
		evaluate(t, false)
	})
	t.Run("Held", func(t *testing.T) {
		a.mustDo("POST", "/v1/experiments/hold-flags/start", "", true, http.StatusOK)
		clock.advance(6 * time.Second) // past the payload's cache
		n := evaluate(t, true)
		t.Logf("%d of %d users held out of the rollout", n, len(ids))
		if n < 70 || n > 130 {
			t.Errorf("%d of %d users held out, want about 100 (20 %%)", n, len(ids))
		}
	})
	t.Run("Stopped", func(t *testing.T) {
		a.mustDo("POST", "/v1/experiments/hold-flags/stop", "", true, http.StatusOK)
		clock.advance(6 * time.Second)
		evaluate(t, false)
	})
	t.Run("ErrLayer", func(t *testing.T) {
		a.mustDo("POST", "/v1/layers", `{"id":"home"}`, true, http.StatusCreated)
		res := a.do("POST", "/v1/holdouts", `{"id":"hold-home","share":0.1,"layer":"home","flags":true,"goals":[{"key":"signup","kind":"binomial"}]}`, true)
		if e, _ := res.Body["error"].(map[string]any); res.Status != http.StatusBadRequest || e["field"] != "flags" {
			t.Fatalf("a layer's holdout with flags: %d %s, want 400 on flags", res.Status, res.Raw)
		}
	})
}

// growthbookValues evaluates flag with the GrowthBook JavaScript SDK for
// each user id, the payload loaded from a.
func growthbookValues(t *testing.T, a *api, client, flag string, ids []string) (source string, values map[string]any) {
	t.Helper()
	sdk := installtest.Script(t, "scripts/install-growthbook")
	in, err := json.Marshal(ids)
	if err != nil {
		t.Fatal(err)
	}
	out := installtest.RunNode(t, in, filepath.Join("testdata", "growthbook-parity.js"), sdk, a.URL, client, flag)
	var res struct {
		Source string         `json:"source"`
		Values map[string]any `json:"values"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("node's output: %v\n%s", err, out)
	}
	if res.Source != "network" || len(res.Values) != len(ids) {
		t.Fatalf("the SDK loaded from %q and evaluated %d users, want network and %d", res.Source, len(res.Values), len(ids))
	}
	return res.Source, res.Values
}
