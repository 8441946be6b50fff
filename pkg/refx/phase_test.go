package refx_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
)

func TestStartPhase(t *testing.T) {
	started := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	now := started.Add(48 * time.Hour)
	running := func(t *testing.T) *refx.Experiment {
		e := draft(t)
		e.Status, e.StartedAt = refx.StatusRunning, &started
		return e
	}
	even := []refx.Variant{{Key: "control", Weight: 1}, {Key: "bold", Weight: 1}}
	renamed := []refx.Variant{{Key: "control", Weight: 1}, {Key: "brave", Weight: 1}}
	half := 0.5
	tests := []struct {
		name  string
		setup func(e *refx.Experiment)
		np    refx.NewPhase
		code  string
		field string
	}{
		{"Weights", nil, refx.NewPhase{Variants: even, Reason: "equal split"}, "", ""},
		{"Rerandomize", nil, refx.NewPhase{Rerandomize: true}, "", ""},
		{"CoverageAndAudience", nil, refx.NewPhase{Coverage: &half, Audience: json.RawMessage(`{"country":"NL"}`)}, "", ""},
		{"ErrDraft", func(e *refx.Experiment) { e.Status = refx.StatusDraft }, refx.NewPhase{}, refx.ECONFLICT, ""},
		{"ErrStopped", func(e *refx.Experiment) { e.Status = refx.StatusStopped }, refx.NewPhase{}, refx.ECONFLICT, ""},
		{"ErrReferral", func(e *refx.Experiment) { e.Referral = &refx.ReferralConfig{LandingURL: "https://x.example/"} }, refx.NewPhase{}, refx.ECONFLICT, ""},
		{"ErrVariantKeys", nil, refx.NewPhase{Variants: renamed}, refx.EINVALID, "variants"},
		{"ErrVariantCount", nil, refx.NewPhase{Variants: even[:1]}, refx.EINVALID, "variants"},
		{"ErrCoverage", nil, refx.NewPhase{Coverage: new(float64(2))}, refx.EINVALID, "coverage"},
		{"ErrTooMany", func(e *refx.Experiment) { e.Phase = refx.MaxPhases }, refx.NewPhase{}, refx.ELIMIT, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := running(t)
			if tt.setup != nil {
				tt.setup(e)
			}
			next, err := e.StartPhase(tt.np, now)
			if refx.ErrorCode(err) != tt.code || refx.ErrorField(err) != tt.field {
				t.Fatalf("StartPhase: %v (field %q), want %q %q", err, refx.ErrorField(err), tt.code, tt.field)
			}
			if err != nil {
				return
			}
			if e.Phase != 1 || len(e.Phases) != 0 || e.Version != 1 {
				t.Fatal("StartPhase changed its receiver")
			}
			first, second := next.Phases[0], next.Phases[1]
			switch {
			case next.Phase != 2 || len(next.Phases) != 2 || next.Version != 2:
				t.Fatalf("phase %d of %d, version %d", next.Phase, len(next.Phases), next.Version)
			case first.Number != 1 || !first.StartedAt.Equal(started) || first.EndedAt == nil || !first.EndedAt.Equal(now) ||
				first.Seed != e.Seed || first.Weights[0] != 0.25 || first.Coverage != 1:
				t.Fatalf("phase 1 = %+v, want the configuration it ran with, ended now", first)
			case second.Number != 2 || !second.StartedAt.Equal(now) || second.EndedAt != nil || second.Reason != tt.np.Reason:
				t.Fatalf("phase 2 = %+v", second)
			case tt.np.Rerandomize == (second.Seed == first.Seed) || next.Seed != second.Seed:
				t.Fatalf("rerandomize %v: seeds %q then %q (experiment %q)", tt.np.Rerandomize, first.Seed, second.Seed, next.Seed)
			case second.Coverage != next.Coverage || string(second.Audience) != string(next.Audience):
				t.Fatalf("phase 2 = %+v, experiment coverage %v audience %s", second, next.Coverage, next.Audience)
			}
			if tt.np.Variants != nil && (second.Weights[0] != 0.5 || next.Variants[1].Weight != 1 || string(next.Variants[1].Payload) != `{"a": 1}`) {
				t.Fatalf("phase 2 weights %v, variants %+v: want the new weights with the payloads kept", second.Weights, next.Variants)
			}
			// Phase 1 counts what happened before it ended, phase 2 after.
			if !next.Counts(1, now.Add(-time.Nanosecond)) || next.Counts(1, now) || !next.Counts(2, now) || next.Counts(3, now) {
				t.Fatal("Counts does not split time at the phase's end")
			}
			at, ok := next.AtPhase(1)
			if !ok || at.Seed != e.Seed || at.Variants[1].Weight != 0.75 || at.Coverage != 1 {
				t.Fatalf("AtPhase(1) = %+v, want phase 1's configuration", at)
			}
		})
	}
	t.Run("Third", func(t *testing.T) {
		second, err := running(t).StartPhase(refx.NewPhase{Rerandomize: true}, now)
		if err != nil {
			t.Fatal(err)
		}
		third, err := second.StartPhase(refx.NewPhase{Rerandomize: true}, now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if third.Phase != 3 || len(third.Phases) != 3 || second.Phases[1].EndedAt != nil || third.Phases[1].EndedAt == nil ||
			third.Phases[2].Seed == third.Phases[1].Seed {
			t.Fatalf("third phase: %+v (second's phases %+v)", third.Phases, second.Phases)
		}
	})
}
