package growthbook_test

import (
	"fmt"
	"math"
	"strconv"
	"testing"

	"github.com/refx-dev/refx/pkg/growthbook"
)

// TestRolloutOnlyAdds raises a rollout's coverage step by step: every user
// it covered stays covered, and the share covered follows the coverage.
func TestRolloutOnlyAdds(t *testing.T) {
	t.Parallel()
	const users = 20000
	covered := make([]bool, users)
	for _, coverage := range []float64{0.01, 0.05, 0.2, 0.5, 0.9, 1} {
		f := mustFeature(t, fmt.Sprintf(`{"defaultValue":false,"rules":[{"force":true,"coverage":%g,"hashAttribute":"id"}]}`, coverage))
		n := 0
		for i := range users {
			on := growthbook.EvalFeature("new-checkout", f, growthbook.Attributes{"id": "user-" + strconv.Itoa(i)}, nil).On()
			if covered[i] && !on {
				t.Fatalf("raising the coverage to %g removed user-%d", coverage, i)
			}
			covered[i] = on
			if on {
				n++
			}
		}
		if share := float64(n) / users; math.Abs(share-coverage) > 0.015 {
			t.Errorf("coverage %g covers %.3f of the users", coverage, share)
		}
	}
}
