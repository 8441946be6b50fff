package refx

import (
	"context"
	"time"
)

// Snapshot is an experiment's cumulative counts as they stood at TakenAt,
// kept once per period so that a chart of the counts over time costs one
// read and nothing per event.
type Snapshot struct {
	Experiment string `json:"experiment"`
	// Period is the start (UTC) of the period the snapshot stands for; a
	// later snapshot of the same period replaces it.
	Period time.Time `json:"period"`
	// TakenAt is when the counts were read: they include every event
	// counted before it.
	TakenAt time.Time `json:"taken_at"`
	// CountedThrough is the results' CountedThrough when it was taken.
	CountedThrough *time.Time `json:"counted_through,omitempty"`
	Status         Status     `json:"status"`
	// Phase is the phase the counts are of (1 for snapshots taken before
	// experiments had phases).
	Phase    int              `json:"phase"`
	Variants []VariantResults `json:"variants"`
}

// Results returns the snapshot's counts in the shape of live results.
func (s *Snapshot) Results() *Results {
	return &Results{Experiment: s.Experiment, Status: s.Status, CountedThrough: s.CountedThrough, Phase: s.Phase, Variants: s.Variants}
}

// SnapshotService keeps experiments' counts over time.
type SnapshotService interface {
	// Snapshot reads an experiment's counts now and stores them as the
	// snapshot of the period starting at period. Repeating it for the same
	// period replaces the stored snapshot with the newer counts (never with
	// older ones), so it is idempotent per experiment and period. ENOTFOUND.
	Snapshot(ctx context.Context, experiment string, period time.Time) (*Snapshot, error)
	// Snapshots returns the snapshots of periods starting in [from, to],
	// oldest first. ENOTFOUND is not returned: an experiment without
	// snapshots has none.
	Snapshots(ctx context.Context, experiment string, from, to time.Time) ([]Snapshot, error)
}

// SnapshotCadence says which snapshots the schedule takes at each of its
// ticks, one every Tick(): an experiment younger than Young gets one per
// Fine period, so that its charts over time have points from its first
// minutes, when a team watches it most; an older one gets one per Period,
// taken at the first tick of the period, so that a long experiment costs
// no more writes and its charts no more reads than with an hourly schedule
// alone.
type SnapshotCadence struct {
	// Period is the length of a snapshot's period after the first Young.
	Period time.Duration
	// Fine is the length of a young experiment's periods; it is ignored
	// when not shorter than Period.
	Fine  time.Duration
	Young time.Duration
}

// Tick is how often the schedule runs: every Fine period when there is one.
func (c SnapshotCadence) Tick() time.Duration {
	if c.Fine > 0 && c.Fine < c.Period {
		return c.Fine
	}
	return c.Period
}

// Due returns the start of the period whose snapshot an experiment started
// at started takes at the tick at, and false when it takes none at this
// tick (an older experiment between the first ticks of its periods). A
// zero started counts as old.
func (c SnapshotCadence) Due(started, at time.Time) (time.Time, bool) {
	at = at.UTC()
	tick := c.Tick()
	if !started.IsZero() && at.Sub(started) < c.Young {
		return at.Truncate(tick), true
	}
	period := at.Truncate(c.Period)
	// Ticks are tick apart, so exactly one falls in the period's first tick.
	return period, at.Sub(period) < tick
}
