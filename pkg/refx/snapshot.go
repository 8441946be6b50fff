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
	CountedThrough *time.Time       `json:"counted_through,omitempty"`
	Status         Status           `json:"status"`
	Variants       []VariantResults `json:"variants"`
}

// Results returns the snapshot's counts in the shape of live results.
func (s *Snapshot) Results() *Results {
	return &Results{Experiment: s.Experiment, Status: s.Status, CountedThrough: s.CountedThrough, Variants: s.Variants}
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
