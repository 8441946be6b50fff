package refx

import (
	"math"
	"time"

	"github.com/refx-dev/refx/pkg/bucket"
)

// ExperimentKind says whether an experiment is an A/B test or a holdout.
type ExperimentKind string

// KindHoldout is a holdout: an experiment of its own, whose two arms are
// HoldoutArm (a sticky share of users kept out of every experiment it
// covers) and GeneralArm (everyone else), so that its counters, results,
// snapshots and export compare the two as any experiment's do.
const KindHoldout ExperimentKind = "holdout"

// A holdout's arms.
const (
	HoldoutArm = "holdout"
	GeneralArm = "general"
)

// HoldoutRef is a holdout as the experiments it covers carry it: enough to
// compute a user's arm with no read.
type HoldoutRef struct {
	ID   string `json:"id"`
	Seed string `json:"seed"`
	// Share is the holdout arm's weight, scaled to sum 1 with general's.
	Share float64 `json:"share"`
}

// Arm returns the arm of the holdout the hash puts user in: the one the
// holdout experiment's own Bucket gives (same seed, weights, coverage 1).
func (h HoldoutRef) Arm(user string) string {
	if bucket.Assign(h.Seed, user, []float64{h.Share, 1 - h.Share}, 1) == 0 {
		return HoldoutArm
	}
	return GeneralArm
}

// Ref returns the holdout h as covered experiments carry it.
func (h *Experiment) Ref() HoldoutRef {
	var buf [MaxVariants]float64
	w := h.Weights(buf[:0])
	share := 0.0
	for i, v := range h.Variants {
		if v.Key == HoldoutArm {
			share = w[i]
		}
	}
	return HoldoutRef{ID: h.ID, Seed: h.Seed, Share: share}
}

// Covers reports whether the holdout h keeps its users out of e: every
// experiment of its layer, or every experiment when it names none. A
// holdout never covers another holdout, whose users must all be counted.
func (h *Experiment) Covers(e *Experiment) bool {
	return h.Kind == KindHoldout && e.Kind != KindHoldout && e.Source != SourceLamed && (h.Layer == "" || h.Layer == e.Layer)
}

// NewHoldout is the body of POST /v1/holdouts: the holdout experiment
// without its arms, which Share sets.
type NewHoldout struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Hypothesis string `json:"hypothesis"`
	Owner      string `json:"owner"`
	// Share is the fraction of users held out, in (0, 1).
	Share float64 `json:"share"`
	// Layer limits the holdout to the experiments of one layer; empty, it
	// covers every experiment.
	Layer string `json:"layer"`
	// Flags also holds the users out of every flag rule but linked
	// experiments': they get the flag's default. Flags have no layer, so
	// only a global holdout (no Layer) may.
	Flags bool `json:"flags"`
	// Goals are the metrics the holdout compares.
	Goals        []Goal        `json:"goals"`
	RatioMetrics []RatioMetric `json:"ratio_metrics"`
	Seed         string        `json:"seed"`
}

// Build validates n and returns the draft holdout experiment it describes:
// arms holdout (the control: the experience without the covered
// experiments) and general, weighted Share and 1 − Share.
func (n NewHoldout) Build(now time.Time) (*Experiment, error) {
	if math.IsNaN(n.Share) || n.Share <= 0 || n.Share >= 1 {
		return nil, FieldErrorf("share", "must be between 0 and 1, both excluded")
	}
	e, err := NewExperiment{
		ID: n.ID, Name: n.Name, Hypothesis: n.Hypothesis, Owner: n.Owner, Seed: n.Seed,
		Variants: []Variant{{Key: HoldoutArm, Weight: n.Share}, {Key: GeneralArm, Weight: 1 - n.Share}},
		Control:  HoldoutArm, Goals: n.Goals, RatioMetrics: n.RatioMetrics, Kind: KindHoldout, Layer: n.Layer,
	}.Build(now)
	if err != nil {
		return nil, err
	}
	e.Flags = n.Flags
	if err := e.validateHoldout(); err != nil {
		return nil, err
	}
	return e, nil
}

// validateHoldout checks what makes a holdout one: its two arms, everyone
// hashed (no coverage, no audience, no referral), so that a user's arm is
// a pure function of the user.
func (e *Experiment) validateHoldout() error {
	switch {
	case e.Flags && e.Kind != KindHoldout:
		return FieldErrorf("flags", "only a holdout holds users out of flags")
	case e.Flags && e.Layer != "":
		return FieldErrorf("flags", "flags have no layer: only a holdout of every experiment (no layer) may hold users out of flags")
	case e.Kind != "" && e.Kind != KindHoldout:
		return FieldErrorf("kind", "must be %q or absent", KindHoldout)
	case e.Kind == "":
		return nil
	case len(e.Variants) != 2 || e.Variants[0].Key != HoldoutArm || e.Variants[1].Key != GeneralArm:
		return FieldErrorf("variants", "a holdout's are %q and %q", HoldoutArm, GeneralArm)
	case e.Variants[0].Weight <= 0 || e.Variants[1].Weight <= 0:
		return FieldErrorf("variants", "a holdout's arms both need a weight")
	case e.Coverage != 1:
		return FieldErrorf("coverage", "a holdout covers everyone")
	case len(e.Audience) > 0:
		return FieldErrorf("audience", "a holdout has none: it holds users out of experiments whatever their attributes")
	case e.Referral != nil:
		return FieldErrorf("referral", "a holdout is not a referral experiment")
	case e.Source == SourceLamed:
		return FieldErrorf("kind", "a Lamed experiment cannot be a holdout")
	}
	return nil
}

// HoldoutPage is one page of holdouts.
type HoldoutPage struct {
	Holdouts   []*Experiment `json:"holdouts"`
	NextCursor string        `json:"next_cursor,omitempty"`
}
