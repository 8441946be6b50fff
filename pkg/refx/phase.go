package refx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// MaxPhases bounds an experiment's phases: each is kept on its item.
const MaxPhases = 32

// Phase is a period of a running experiment under one configuration:
// seed, weights (shares summing to 1), coverage and audience. A change that
// would bias a running experiment (Apply refuses it: newPhase) starts a new
// phase instead. Each phase enrols its users afresh and counts apart: its
// results are those of a test that ran under its configuration only.
type Phase struct {
	Number    int             `json:"number"`
	StartedAt time.Time       `json:"started_at"`
	EndedAt   *time.Time      `json:"ended_at,omitempty"`
	Reason    string          `json:"reason,omitempty"`
	Seed      string          `json:"seed"`
	Weights   []float64       `json:"weights"`
	Coverage  float64         `json:"coverage"`
	Audience  json.RawMessage `json:"audience,omitempty"`
}

// NewPhase is the body of a request starting a new phase. Absent fields
// keep the current phase's value; Variants may change only the weights.
// Rerandomize buckets users afresh, with a new seed; without it the seed
// is kept, so that a user's hash is the same and only the ranges move.
type NewPhase struct {
	Variants    []Variant       `json:"variants"`
	Coverage    *float64        `json:"coverage"`
	Audience    json.RawMessage `json:"audience"`
	Reason      string          `json:"reason"`
	Rerandomize bool            `json:"rerandomize"`
}

// CurrentPhase is the number of the phase the experiment counts in now:
// 1 until a second phase starts (Phase is 0 on experiments stored before
// phases existed).
func (e *Experiment) CurrentPhase() int { return max(e.Phase, 1) }

// PhaseInfo returns phase n, false when the experiment has no such phase.
// An experiment that never changed phase has one, which Phases does not
// list: it is the experiment's configuration since it started.
func (e *Experiment) PhaseInfo(n int) (Phase, bool) {
	if len(e.Phases) == 0 {
		if n != 1 {
			return Phase{}, false
		}
		return e.firstPhase(), true
	}
	if n < 1 || n > len(e.Phases) {
		return Phase{}, false
	}
	return e.Phases[n-1], true
}

// Counts reports whether phase n counts a change made at t: one made
// before the phase ended. The caller has checked that the experiment
// counts at t (running, or stopped after t). A request served from a
// stale cache may enrol or credit in a phase that has just ended; its
// change arrives after the end and counts nowhere, so an ended phase's
// counts are final.
func (e *Experiment) Counts(n int, t time.Time) bool {
	p, ok := e.PhaseInfo(n)
	return ok && (p.EndedAt == nil || t.Before(*p.EndedAt))
}

func (e *Experiment) firstPhase() Phase {
	p := Phase{Number: 1, Seed: e.Seed, Weights: e.Weights(nil), Coverage: e.Coverage, Audience: e.Audience}
	if e.StartedAt != nil {
		p.StartedAt = *e.StartedAt
	}
	return p
}

// StartPhase returns a copy of e in a new phase under the configuration np
// describes, the current phase ended at now. Only a running experiment
// changes phase (ECONFLICT otherwise); the variants' keys and payloads,
// the goals and everything else are the experiment's and stay.
func (e *Experiment) StartPhase(np NewPhase, now time.Time) (*Experiment, error) {
	switch {
	case e.Source == SourceLamed:
		return nil, Errorf(ECONFLICT, "experiment %s is defined by its Alephbet clients and has no phases", e.ID)
	case e.Kind == KindHoldout:
		// Its users' arms are fixed for every experiment it covers.
		return nil, Errorf(ECONFLICT, "holdout %s has no phases", e.ID)
	case e.Referral != nil:
		// A referrer's code carries their arm for the whole test.
		return nil, Errorf(ECONFLICT, "referral experiment %s has no phases: its referrers' codes keep their arm", e.ID)
	case e.Status != StatusRunning:
		return nil, Errorf(ECONFLICT, "experiment %s is %s: only a running experiment starts a new phase (edit a draft instead)", e.ID, e.Status)
	case e.CurrentPhase() >= MaxPhases:
		return nil, Errorf(ELIMIT, "experiment %s has %d phases, the most it may have", e.ID, MaxPhases)
	case len(np.Reason) > MaxTextLen:
		return nil, FieldErrorf("reason", "must be at most %d bytes", MaxTextLen)
	}
	next := *e
	next.Variants = append([]Variant(nil), e.Variants...)
	if np.Variants != nil {
		if len(np.Variants) != len(e.Variants) {
			return nil, FieldErrorf("variants", "must list the experiment's %d variants, in order: a phase changes only their weights", len(e.Variants))
		}
		for i, v := range np.Variants {
			old := e.Variants[i]
			if v.Key != old.Key || (len(v.Payload) > 0 && !bytes.Equal(compactJSON(v.Payload), compactJSON(old.Payload))) {
				return nil, FieldErrorf("variants", "variant %d must be %q with its payload: a phase changes only the weights", i, old.Key)
			}
			next.Variants[i].Weight = v.Weight
		}
	}
	if np.Coverage != nil {
		next.Coverage = *np.Coverage
	}
	if np.Audience != nil {
		next.Audience, next.admits = normalAudience(np.Audience), nil
	}
	t := now.UTC()
	number := e.CurrentPhase() + 1
	if np.Rerandomize {
		// The id fits any seed's length, and no two phases share a seed.
		next.Seed = fmt.Sprintf("%s#phase%d", e.ID, number)
	}
	next.Phases = make([]Phase, 0, number)
	if len(e.Phases) == 0 {
		next.Phases = append(next.Phases, e.firstPhase())
	} else {
		next.Phases = append(next.Phases, e.Phases...)
	}
	next.Phases[number-2].EndedAt = &t
	next.Phases = append(next.Phases, Phase{
		Number: number, StartedAt: t, Reason: np.Reason,
		Seed: next.Seed, Weights: next.Weights(nil), Coverage: next.Coverage, Audience: next.Audience,
	})
	next.Phase = number
	if err := next.Validate(); err != nil {
		return nil, err
	}
	next.Version++
	next.UpdatedAt = t
	return &next, nil
}

// AtPhase returns a copy of e as it was configured in phase n (seed,
// weights, coverage, audience), for reading that phase's counts: the
// sample ratio check expects the phase's own weights.
func (e *Experiment) AtPhase(n int) (*Experiment, bool) {
	p, ok := e.PhaseInfo(n)
	if !ok {
		return nil, false
	}
	at := *e
	at.Variants = append([]Variant(nil), e.Variants...)
	for i := range at.Variants {
		at.Variants[i].Weight = p.Weights[i]
	}
	at.Seed, at.Coverage, at.Audience, at.admits = p.Seed, p.Coverage, p.Audience, nil
	return &at, true
}
