package analysis_test

import (
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/analysis"
	"github.com/refx-dev/refx/pkg/refx"
)

// TestHealthPlannedSample: a stated planned sample and end decide
// reachability (the experiment's 40,000 participants in 10 days are 4,000 a
// day), and an A/A test that found a difference is a warning.
func TestHealthPlannedSample(t *testing.T) {
	exp := MustAAExperiment(t, refx.Goal{Key: "signup", Kind: refx.GoalBinomial})
	exp.Status = refx.StatusRunning
	started := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	exp.StartedAt = &started
	now := started.Add(10 * 24 * time.Hour)
	res := traffic(exp)[0].Results
	for _, tc := range []struct {
		name    string
		planned int64
		end     time.Time
		want    string
	}{
		{"OKInTime", 100_000, now.Add(20 * 24 * time.Hour), analysis.HealthOK},      // 15 days needed
		{"WarnLate", 100_000, now.Add(10 * 24 * time.Hour), analysis.HealthWarning}, // 15 days needed, 10 left
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := analysis.CheckHealth(analysis.HealthInput{
				Experiment: exp, Results: res, Now: now, PlannedSampleSize: tc.planned, PlannedEnd: &tc.end,
			})
			if err != nil {
				t.Fatal(err)
			}
			c := h.Checks[2]
			if c.Name != analysis.CheckReachability || c.Status != tc.want || *c.Goals[0].DaysNeeded != 15 {
				t.Errorf("reachability: %+v %+v", c, c.Goals)
			}
			if srm := h.Checks[0]; srm.Status != analysis.HealthOK {
				t.Errorf("an exact 1:1 split: %+v", srm)
			}
		})
	}
	t.Run("AASignificant", func(t *testing.T) {
		aa := MustAAExperiment(t, refx.Goal{Key: "signup", Kind: refx.GoalBinomial})
		aa.ID = "aa-old"
		rigged := *traffic(aa)[0].Results
		rigged.Variants = append([]refx.VariantResults(nil), rigged.Variants...)
		rigged.Variants[1].Goals = map[string]refx.GoalCounts{"signup": {Users: 2400, Events: 2400, ValueSum: "0", ValueSumSq: "0", ValueParticipantSumSq: "0"}}
		h, err := analysis.CheckHealth(analysis.HealthInput{Experiment: exp, Results: res, Now: now, AA: []analysis.AASource{{Experiment: aa, Results: &rigged}}})
		if err != nil {
			t.Fatal(err)
		}
		if c := h.Checks[1]; c.Status != analysis.HealthWarning || len(c.AATests) != 1 || len(c.AATests[0].Significant) != 1 || h.Overall != analysis.HealthWarning {
			t.Errorf("an A/A finding 10%% against 12%%: %+v, overall %s", c, h.Overall)
		}
	})
}
