package analysis

import (
	"math"

	"github.com/refx-dev/refx/pkg/refx"
)

// PlannedSampleSize is the total number of units, all arms together, the
// plan needs for every primary metric to reach its RequiredUnitsPerArm in
// every planned arm when units are split by the weights: for each primary
// metric, the largest over planned arms of required × Σweights / weight,
// and the largest of those over the primary metrics. It is what an
// experiment's planned_sample_size stores (and what the sequential engine
// is tuned at). nil when no primary metric could be planned (a value
// metric without data has no baseline).
func (p *PowerPlan) PlannedSampleSize() *int64 {
	var total float64
	for _, m := range p.Metrics {
		if m.Role != refx.RolePrimary || m.RequiredUnitsPerArm == nil {
			continue
		}
		var wsum float64
		for _, v := range m.Variants {
			wsum += v.Weight
		}
		for _, v := range m.Variants {
			if v.Weight > 0 {
				total = math.Max(total, math.Ceil(float64(*m.RequiredUnitsPerArm)*wsum/v.Weight))
			}
		}
	}
	if total == 0 || total >= 1<<62 {
		return nil
	}
	n := int64(total)
	return &n
}
