package openfeature_test

import (
	"fmt"
	"net/http"
	"testing"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/refx-dev/refx/pkg/openfeature"
	"github.com/refx-dev/refx/pkg/refx"
)

// TestProviderHoldout checks that the provider, evaluating the GrowthBook
// payload, gives the users of a running holdout with flags the default of
// a flag rolled out to everyone, and everyone else the rollout.
func TestProviderHoldout(t *testing.T) {
	t.Parallel()
	s := MustRefx(t)
	s.mustDo(t, "POST", "/v1/flags", `{"key":"everyone","kind":"release","value_type":"boolean","default_value":false,
	  "environments":{"production":{"enabled":true,"rules":[{"id":"all","force":true,"coverage":1}]}}}`, http.StatusCreated)
	s.mustDo(t, "POST", "/v1/holdouts", `{"id":"hold-flags","share":0.25,"flags":true,"goals":[{"key":"signup","kind":"binomial"}]}`, http.StatusCreated)
	s.mustDo(t, "POST", "/v1/experiments/hold-flags/start", "", http.StatusOK)
	c := MustClient(t, openfeature.New(s.URL, s.Client))
	held := refx.HoldoutRef{ID: "hold-flags", Seed: "hold-flags", Share: 0.25}

	n := 0
	for i := range 400 {
		id := fmt.Sprintf("u-%04d", i)
		got := evaluate(t, c, "bool", "everyone", true, of.NewEvaluationContext(id, nil))
		if held.Arm(id) == refx.HoldoutArm {
			n++
			if got.Value != false || got.Reason != of.DefaultReason {
				t.Errorf("%s held out: %+v, want false (DEFAULT)", id, got)
			}
		} else if got.Value != true || got.Reason == of.DefaultReason {
			t.Errorf("%s: %+v, want the rollout's true", id, got)
		}
	}
	if n < 60 || n > 140 {
		t.Errorf("%d of 400 users held out at 25 %%", n)
	}
}
