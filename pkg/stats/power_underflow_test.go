package stats

import (
	"math"
	"testing"
)

// TestUnitsPerArmUnderflow: a lift whose square underflows to 0 used to
// make unitsPerArm loop forever on an infinite bracket (Power with a tiny
// RelativeMDE, or Analyze's "N more" with a tiny observed lift).
func TestUnitsPerArmUnderflow(t *testing.T) {
	d := newPowerDesign(EngineFrequentist, 0.05, DefaultSequentialTuning)
	if n := d.unitsPerArm(1e-200, 0.2, 0.8); !math.IsNaN(n) {
		t.Fatalf("unitsPerArm = %g, want NaN", n)
	}
	res, err := Power(PowerRequest{Kind: KindBinomial, BaselineRate: 0.1, RelativeMDE: 1e-300, UnitsPerArm: 1000})
	if err != nil || res.RequiredUnitsPerArm != nil || res.Power == nil {
		t.Fatalf("Power = %+v, %v", res, err)
	}
}
