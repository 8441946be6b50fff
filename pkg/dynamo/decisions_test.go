package dynamo_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/refx"
)

// TestMetricDecisionsStored: goals' decisions and ratio metrics read back
// as written, and a running experiment's roles change through the store
// while its ratio metrics stay.
func TestMetricDecisionsStored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	margin := 0.02
	n := newExperiment("decisions")
	n.Goals = append(n.Goals, refx.Goal{Key: "refund", Kind: refx.GoalBinomial,
		Decision: refx.Decision{Role: refx.RoleGuardrail, Direction: refx.DirectionDecrease, Margin: &margin, MinSample: 300, OneSided: true}})
	n.RatioMetrics = []refx.RatioMetric{{Key: "value_per_signup", Numerator: "purchase", Denominator: "signup",
		Decision: refx.Decision{Direction: refx.DirectionIncrease, MinSample: 50}}}
	e := MustRunning(t, s, n)
	got, err := s.Experiment(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Goals, e.Goals) || !reflect.DeepEqual(got.RatioMetrics, e.RatioMetrics) {
		t.Fatalf("read back goals %+v ratios %+v, want %+v %+v", got.Goals, got.RatioMetrics, e.Goals, e.RatioMetrics)
	}
	if got.Goals[0].Role != refx.RolePrimary || got.Goals[2].Margin == nil || *got.Goals[2].Margin != margin || got.RatioMetrics[0].Role != refx.RoleSecondary {
		t.Fatalf("stored decisions %+v %+v", got.Goals, got.RatioMetrics)
	}

	goals := append([]refx.Goal(nil), got.Goals...)
	goals[0].Role, goals[1].Role = refx.RoleSecondary, refx.RolePrimary
	next, err := s.UpdateExperiment(ctx, e.ID, refx.ExperimentPatch{Version: got.Version, Goals: &goals})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Experiment(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again.Goals[1].Role != refx.RolePrimary || again.Goals[0].Role != refx.RoleSecondary || again.Version != next.Version ||
		!reflect.DeepEqual(again.RatioMetrics, e.RatioMetrics) {
		t.Fatalf("after the patch: goals %+v ratios %+v", again.Goals, again.RatioMetrics)
	}
}

// TestReferralMetricDecisionsStored: a referral experiment's metric
// decisions read back as written.
func TestReferralMetricDecisionsStored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	n := newExperiment("referral-decisions")
	n.Referral = &refx.ReferralConfig{LandingURL: "https://shop.example/", Metrics: map[string]refx.Decision{
		"k_factor": {Role: refx.RolePrimary, MinSample: 40}, "share_rate": {Role: refx.RoleGuardrail, Margin: new(float64)}}}
	*n.Referral.Metrics["share_rate"].Margin = 0.1
	e := MustRunning(t, s, n)
	got, err := s.Experiment(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Referral.Metrics, e.Referral.Metrics) || got.ReferralDecision("k_factor").MinSample != 40 ||
		*got.ReferralDecision("share_rate").Margin != 0.1 || got.Goals[0].Role != refx.RoleSecondary {
		t.Fatalf("read back %+v goals %+v, want %+v", got.Referral.Metrics, got.Goals, e.Referral.Metrics)
	}
}
