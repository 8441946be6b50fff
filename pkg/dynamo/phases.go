package dynamo

import (
	"context"
	"encoding/json"

	"github.com/refx-dev/refx/pkg/item"
	"github.com/refx-dev/refx/pkg/refx"
)

// Phases (schema/table.md, "Phases"): phase 1 keeps the keys an experiment
// always had; phase n ≥ 2 enrols on the user's own ASSIGN#<exp>#P<n> item
// and counts under COUNT#<exp>#P<n>#<shard>. The request path learns the
// phase from the cached experiment, so a phase costs no read or write of
// a shared item; the aggregator counts a change in a phase only if it was
// made before the phase ended (refx.Experiment.Counts), so an ended
// phase's counts are final whatever a stale cache did.

// StartPhase starts a new phase of a running experiment for ctx's actor
// (refx.Experiment.StartPhase), in one transaction with its audit entry
// (action "new_phase", the reason as its note). ECONFLICT when the
// experiment is not running or changed concurrently.
func (s *Store) StartPhase(ctx context.Context, id string, np refx.NewPhase) (*refx.Experiment, error) {
	current, err := s.Experiment(ctx, id)
	if err != nil {
		return nil, err
	}
	next, err := current.StartPhase(np, s.opts.Now())
	if err != nil {
		return nil, err
	}
	if err := compileAudience(next); err != nil {
		return nil, err
	}
	if err := s.replaceExperiment(ctx, experimentChange{Action: "new_phase", Note: np.Reason}, current, next); err != nil {
		return nil, err
	}
	return next, nil
}

func phasesToItem(e *refx.Experiment, it *experimentItem) {
	if len(e.Phases) == 0 {
		return // phase 1: nothing stored, as before phases existed
	}
	it.Phase = e.Phase
	for _, p := range e.Phases {
		it.Phases = append(it.Phases, item.Phase{
			Number: p.Number, StartedAt: p.StartedAt, EndedAt: p.EndedAt, Reason: p.Reason,
			Seed: p.Seed, Weights: p.Weights, Coverage: p.Coverage, Audience: string(p.Audience),
		})
	}
}

func phasesOf(it experimentItem, e *refx.Experiment) {
	e.Phase = max(it.Phase, 1)
	for _, p := range it.Phases {
		ph := refx.Phase{
			Number: p.Number, StartedAt: p.StartedAt, EndedAt: p.EndedAt, Reason: p.Reason,
			Seed: p.Seed, Weights: p.Weights, Coverage: p.Coverage,
		}
		if p.Audience != "" {
			ph.Audience = json.RawMessage(p.Audience)
		}
		e.Phases = append(e.Phases, ph)
	}
}
