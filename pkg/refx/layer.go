package refx

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/refx-dev/refx/pkg/bucket"
)

// Layer is a hash space that experiments share without sharing users: each
// experiment of the layer claims a range of it, a user's position in it is
// GrowthBook's namespace hash of the user in the layer (the same for every
// experiment of the layer, whatever their seeds), and the ranges of the
// running experiments never overlap, so no user enters two of them.
type Layer struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Claims are the ranges held by the layer's running experiments,
	// ordered by start. Starting an experiment adds its claim in the same
	// transaction as the start; ending it removes it.
	Claims    []LayerClaim `json:"claims"`
	Version   int64        `json:"version"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// LayerClaim is the range a running experiment holds in its layer.
type LayerClaim struct {
	Experiment string     `json:"experiment"`
	Range      LayerRange `json:"range"`
}

// LayerRange is [Start, End) of a layer's hash space, within [0, 1]. Its
// JSON is the two-element array [start, end].
type LayerRange struct {
	Start, End float64
}

// FullLayer is the range of an experiment that names a layer and no range.
var FullLayer = LayerRange{Start: 0, End: 1}

// MarshalJSON writes [start, end].
func (r LayerRange) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]float64{r.Start, r.End})
}

// UnmarshalJSON reads [start, end].
func (r *LayerRange) UnmarshalJSON(b []byte) error {
	var pair []float64
	if err := json.Unmarshal(b, &pair); err != nil || len(pair) != 2 {
		return fmt.Errorf("layer_range must be [start, end]")
	}
	r.Start, r.End = pair[0], pair[1]
	return nil
}

func (r LayerRange) valid() bool {
	return !math.IsNaN(r.Start) && !math.IsNaN(r.End) && r.Start >= 0 && r.Start < r.End && r.End <= 1
}

// Overlaps reports whether r and o share a position.
func (r LayerRange) Overlaps(o LayerRange) bool { return r.Start < o.End && o.Start < r.End }

// Contains reports whether the user's position in layer lies in r:
// GrowthBook's inNamespace(user, [layer, start, end]), so that an SDK given
// the experiment's namespace enrols exactly the users refx does.
func (r LayerRange) Contains(layer, user string) bool {
	return bucket.InNamespace(user, layer, r.Start, r.End)
}

// NewLayer is the body of a create request.
type NewLayer struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Build validates n and returns the layer it describes, without claims.
func (n NewLayer) Build(now time.Time) (*Layer, error) {
	l := &Layer{ID: n.ID, Name: n.Name, Description: n.Description, Claims: []LayerClaim{}, Version: 1, CreatedAt: now.UTC(), UpdatedAt: now.UTC()}
	if l.Name == "" {
		l.Name = l.ID
	}
	return l, l.validate()
}

func (l *Layer) validate() error {
	switch {
	case !ValidSlug(l.ID):
		return FieldErrorf("id", "must be 1-64 characters of a-z, 0-9, '-' or '_', starting with a letter or digit")
	case len(l.Name) > MaxTextLen:
		return FieldErrorf("name", "must be at most %d bytes", MaxTextLen)
	case len(l.Description) > MaxTextLen:
		return FieldErrorf("description", "must be at most %d bytes", MaxTextLen)
	}
	return nil
}

// LayerPatch is the body of an update: Version is the version the client
// read. Claims change only with their experiments' starts and ends.
type LayerPatch struct {
	Version     int64   `json:"version"`
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

// Apply returns a copy of l with the patch applied, its version bumped.
// ECONFLICT for a stale version.
func (l *Layer) Apply(p LayerPatch, now time.Time) (*Layer, error) {
	if p.Version != l.Version {
		return nil, Errorf(ECONFLICT, "layer %s is at version %d, not %d: read it again", l.ID, l.Version, p.Version)
	}
	next := *l
	if p.Name != nil {
		next.Name = *p.Name
	}
	if p.Description != nil {
		next.Description = *p.Description
	}
	if err := next.validate(); err != nil {
		return nil, err
	}
	next.bump(now)
	return &next, nil
}

func (l *Layer) bump(now time.Time) {
	l.Version++
	l.UpdatedAt = now.UTC()
}

// Claim returns a copy of l where experiment holds r. ECONFLICT, naming
// the experiment in the way, when r overlaps another running experiment's
// claim. An experiment already holding r gets l back unchanged, so that a
// retried start succeeds.
func (l *Layer) Claim(experiment string, r LayerRange, now time.Time) (*Layer, error) {
	for _, c := range l.Claims {
		switch {
		case c.Experiment == experiment && c.Range == r:
			return l, nil
		case c.Experiment != experiment && c.Range.Overlaps(r):
			return nil, &Error{Code: ECONFLICT, Field: "layer_range", Message: fmt.Sprintf(
				"range [%g, %g) of layer %s overlaps [%g, %g), held by running experiment %s", r.Start, r.End, l.ID, c.Range.Start, c.Range.End, c.Experiment)}
		}
	}
	next := *l
	next.Claims = slices.DeleteFunc(slices.Clone(l.Claims), func(c LayerClaim) bool { return c.Experiment == experiment })
	next.Claims = append(next.Claims, LayerClaim{Experiment: experiment, Range: r})
	slices.SortFunc(next.Claims, func(a, b LayerClaim) int {
		if a.Range.Start < b.Range.Start {
			return -1
		}
		return 1
	})
	next.bump(now)
	return &next, nil
}

// Release returns a copy of l without experiment's claim, or l itself when
// it holds none.
func (l *Layer) Release(experiment string, now time.Time) *Layer {
	i := slices.IndexFunc(l.Claims, func(c LayerClaim) bool { return c.Experiment == experiment })
	if i < 0 {
		return l
	}
	next := *l
	next.Claims = slices.Delete(slices.Clone(l.Claims), i, i+1)
	next.bump(now)
	return &next
}

// LayerPage is one page of layers and the cursor of the next.
type LayerPage struct {
	Layers     []*Layer `json:"layers"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// validateLayer checks an experiment's layer and range: a range needs a
// layer, and a holdout, which covers a layer rather than enrolling from a
// range of it, has none.
func (e *Experiment) validateLayer() error {
	if err := e.validateHoldout(); err != nil {
		return err
	}
	switch {
	case e.Layer != "" && !ValidSlug(e.Layer):
		return FieldErrorf("layer", "must be the id of a layer")
	case e.LayerRange != nil && e.Layer == "":
		return FieldErrorf("layer_range", "needs a layer")
	case e.LayerRange != nil && e.Kind == KindHoldout:
		return FieldErrorf("layer_range", "a holdout covers its whole layer")
	case e.LayerRange != nil && !e.LayerRange.valid():
		return FieldErrorf("layer_range", "must be [start, end) with 0 ≤ start < end ≤ 1")
	}
	return nil
}

// ClaimedRange returns the range the experiment enrols from in its layer,
// and false when it claims none (no layer, or a holdout).
func (e *Experiment) ClaimedRange() (LayerRange, bool) {
	switch {
	case e.Layer == "" || e.Kind == KindHoldout:
		return LayerRange{}, false
	case e.LayerRange == nil:
		return FullLayer, true
	}
	return *e.LayerRange, true
}

// InLayer reports whether user's position in the experiment's layer lies
// in its range; true for an experiment that claims none. It reads nothing.
func (e *Experiment) InLayer(user string) bool {
	r, ok := e.ClaimedRange()
	return !ok || r.Contains(e.Layer, user)
}

// LayerService manages layers and lists holdouts. Its store must be the
// experiments' own: a start claims its range in the experiment's write.
type LayerService interface {
	// CreateLayer stores a new layer. ECONFLICT if the id is taken.
	CreateLayer(ctx context.Context, l *Layer) error
	// Layer reads a layer. ENOTFOUND.
	Layer(ctx context.Context, id string) (*Layer, error)
	// Layers lists layers, newest first. EINVALID for a bad cursor.
	Layers(ctx context.Context, limit int, cursor string) (*LayerPage, error)
	// UpdateLayer applies a patch. ECONFLICT for a stale version, ENOTFOUND.
	UpdateLayer(ctx context.Context, id string, p LayerPatch) (*Layer, error)
	// DeleteLayer deletes a layer no running experiment claims a range of.
	// ECONFLICT while one does, ENOTFOUND.
	DeleteLayer(ctx context.Context, id string) error
	// Holdouts lists holdouts, newest first. EINVALID for a bad cursor.
	Holdouts(ctx context.Context, limit int, cursor string) (*HoldoutPage, error)
}
