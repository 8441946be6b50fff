package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/item"
	"github.com/refx-dev/refx/pkg/refx"
)

// entityLayer marks layers, entityFlagHoldout running holdouts with flags.
const (
	entityLayer       = "layer"
	entityFlagHoldout = "flag_holdout"
)

// CreateLayer stores a new layer with its audit entry. ECONFLICT if the id
// is taken.
func (s *Store) CreateLayer(ctx context.Context, l *refx.Layer) error {
	return s.writeLayer(ctx, "CreateLayer", "create", nil, l, absent(), refx.Errorf(refx.ECONFLICT, "layer %s already exists", l.ID))
}

// Layer reads a layer with a strongly consistent read: a start claims a
// range from what it read. ENOTFOUND.
func (s *Store) Layer(ctx context.Context, id string) (*refx.Layer, error) {
	var it item.Layer
	found, err := s.getItem(ctx, "Layer", layerKey(id), &it)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, refx.Errorf(refx.ENOTFOUND, "layer %s not found", id)
	}
	return layerOf(it), nil
}

// Layers lists layers, newest first. EINVALID for a bad cursor.
func (s *Store) Layers(ctx context.Context, limit int, cursor string) (*refx.LayerPage, error) {
	layers, next, err := indexPage(ctx, s, "Layers", layerListPK, limit, cursor, nil, layerOf)
	if err != nil {
		return nil, err
	}
	return &refx.LayerPage{Layers: layers, NextCursor: next}, nil
}

// UpdateLayer applies a patch if the client's version is current.
// ECONFLICT otherwise, ENOTFOUND.
func (s *Store) UpdateLayer(ctx context.Context, id string, p refx.LayerPatch) (*refx.Layer, error) {
	current, err := s.Layer(ctx, id)
	if err != nil {
		return nil, err
	}
	next, err := current.Apply(p, s.opts.Now())
	if err != nil {
		return nil, err
	}
	return next, s.writeLayer(ctx, "UpdateLayer", "update", current, next, sameVersion(current.Version), layerChanged(current))
}

// DeleteLayer deletes a layer that no running experiment claims a range
// of. ECONFLICT while one does; ENOTFOUND. Experiments that name it stay:
// a start needs the layer, so they cannot start until it exists again.
func (s *Store) DeleteLayer(ctx context.Context, id string) error {
	current, err := s.Layer(ctx, id)
	if err != nil {
		return err
	}
	if len(current.Claims) > 0 {
		return refx.Errorf(refx.ECONFLICT, "layer %s has running experiments (%s first): stop them before deleting it", id, current.Claims[0].Experiment)
	}
	del, err := conditionalDelete(s.table, layerKey(id), sameVersion(current.Version))
	if err != nil {
		return storeError("DeleteLayer", err)
	}
	return s.writeAudited(ctx, "DeleteLayer", del, refx.AuditLayer, id, "delete", current, nil, layerChanged(current))
}

// writeLayer puts next with its audit entry, on cond.
func (s *Store) writeLayer(ctx context.Context, op, action string, before, next *refx.Layer, cond expression.ConditionBuilder, conflict error) error {
	put, err := putItem(s.table, toLayerItem(next), &cond)
	if err != nil {
		return storeError(op, err)
	}
	return s.writeAudited(ctx, op, put, refx.AuditLayer, next.ID, action, before, next, conflict)
}

func sameVersion(v int64) expression.ConditionBuilder {
	return expression.Name("version").Equal(expression.Value(v))
}

func layerChanged(l *refx.Layer) error {
	return refx.Errorf(refx.ECONFLICT, "layer %s changed since version %d: read it again", l.ID, l.Version)
}

// layerWrites prepares the layer side of current's move to next, for the
// experiment's own transaction. A start claims the experiment's range: the
// layer's put is conditioned on the version read, so of two starts
// claiming overlapping ranges from the same version one commits and the
// other fails its condition, reads the layer again and is refused, naming
// the winner (ECONFLICT). The start also records on next the running
// holdouts covering it. Any move out of running releases the claim. A
// start of an experiment whose layer is missing is EINVALID.
func (s *Store) layerWrites(ctx context.Context, current, next *refx.Experiment) ([]guardedWrite, error) {
	starts := next.Status == refx.StatusRunning && current.Status != refx.StatusRunning
	ends := current.Status == refx.StatusRunning && next.Status != refx.StatusRunning
	if starts {
		holdouts, err := s.coveringHoldouts(ctx, next)
		if err != nil {
			return nil, err
		}
		next.Holdouts = holdouts
	}
	if next.Flags && (starts || ends) {
		return s.flagHoldoutWrites(next, starts)
	}
	r, claims := next.ClaimedRange()
	if !claims || (!starts && !ends) {
		return nil, nil
	}
	layer, err := s.Layer(ctx, next.Layer)
	if refx.ErrorCode(err) == refx.ENOTFOUND {
		return nil, refx.FieldErrorf("layer", "layer %s does not exist: create it first", next.Layer)
	}
	if err != nil {
		return nil, err
	}
	changed := layer.Release(next.ID, s.opts.Now())
	if starts {
		changed, err = layer.Claim(next.ID, r, s.opts.Now())
	}
	if err != nil {
		return nil, err
	}
	if changed == layer {
		return nil, nil
	}
	cond := sameVersion(layer.Version)
	put, err := putItem(s.table, toLayerItem(changed), &cond)
	if err != nil {
		return nil, storeError("layerWrites", err)
	}
	return []guardedWrite{{Item: put, Conflict: layerChanged(layer)}}, nil
}

// flagHoldoutWrites lists a holdout with flags among the running ones when
// it starts and removes it when it ends, in the transaction of the move,
// so that flags hold its users out exactly while it runs (FlagHoldouts).
// Such a holdout has no layer (validateHoldout), hence no claim to write.
func (s *Store) flagHoldoutWrites(h *refx.Experiment, starts bool) ([]guardedWrite, error) {
	if !starts {
		return []guardedWrite{{Item: deleteItem(s.table, flagHoldoutKey(h.ID))}}, nil
	}
	ref := h.Ref()
	put, err := putItem(s.table, item.FlagHoldout{Key: flagHoldoutKey(h.ID), Entity: entityFlagHoldout,
		HoldoutRef: item.HoldoutRef{ID: ref.ID, Seed: ref.Seed, Share: ref.Share}}, nil)
	if err != nil {
		return nil, storeError("flagHoldoutWrites", err)
	}
	return []guardedWrite{{Item: put}}, nil
}

// FlagHoldouts lists the running holdouts with flags: one query of their
// small partition (a few dozen bytes an item, one read unit).
func (s *Store) FlagHoldouts(ctx context.Context) ([]refx.HoldoutRef, error) {
	in, err := s.partitionQuery(flagHoldoutsPK, "", nil)
	if err != nil {
		return nil, storeError("FlagHoldouts", err)
	}
	var refs []refx.HoldoutRef
	err = s.queryAll(ctx, "FlagHoldouts", in, func(page []map[string]types.AttributeValue) error {
		var items []item.FlagHoldout
		if err := attributevalue.UnmarshalListOfMaps(page, &items); err != nil {
			return err
		}
		for _, it := range items {
			refs = append(refs, refx.HoldoutRef{ID: it.ID, Seed: it.Seed, Share: it.Share})
		}
		return nil
	})
	return refs, storeError("FlagHoldouts", err)
}

// coveringHoldouts lists the running holdouts that cover e. A holdout
// started after e does not cover it: e's users who entered before would
// otherwise sit in both.
func (s *Store) coveringHoldouts(ctx context.Context, e *refx.Experiment) ([]refx.HoldoutRef, error) {
	if e.Kind == refx.KindHoldout {
		return nil, nil
	}
	var refs []refx.HoldoutRef
	filter := expression.Name("kind").Equal(expression.Value(string(refx.KindHoldout))).
		And(expression.Name("status").Equal(expression.Value(string(refx.StatusRunning))))
	err := s.allExperiments(ctx, "coveringHoldouts", filter, func(it experimentItem) {
		if h := experimentOf(it); h.Covers(e) {
			refs = append(refs, h.Ref())
		}
	})
	return refs, storeError("coveringHoldouts", err)
}

// Holdouts lists holdouts, newest first. EINVALID for a bad cursor.
func (s *Store) Holdouts(ctx context.Context, limit int, cursor string) (*refx.HoldoutPage, error) {
	filter := expression.Name("kind").Equal(expression.Value(string(refx.KindHoldout)))
	exps, next, err := indexPage(ctx, s, "Holdouts", experimentListPK, limit, cursor, &filter, experimentOf)
	if err != nil {
		return nil, err
	}
	return &refx.HoldoutPage{Holdouts: exps, NextCursor: next}, nil
}

func toLayerItem(l *refx.Layer) item.Layer {
	it := item.Layer{
		Key: layerKey(l.ID), GSI1PK: layerListPK, GSI1SK: experimentListSK(l.CreatedAt, l.ID), Entity: entityLayer,
		ID: l.ID, Name: l.Name, Description: l.Description, Claims: []item.LayerClaim{},
		Version: l.Version, CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt,
	}
	for _, c := range l.Claims {
		it.Claims = append(it.Claims, item.LayerClaim{Experiment: c.Experiment, Start: c.Range.Start, End: c.Range.End})
	}
	return it
}

func layerOf(it item.Layer) *refx.Layer {
	l := &refx.Layer{ID: it.ID, Name: it.Name, Description: it.Description, Claims: []refx.LayerClaim{},
		Version: it.Version, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt}
	for _, c := range it.Claims {
		l.Claims = append(l.Claims, refx.LayerClaim{Experiment: c.Experiment, Range: refx.LayerRange{Start: c.Start, End: c.End}})
	}
	return l
}

// layerFieldsToItem and layerFieldsOf convert an experiment's kind, layer,
// range and covering holdouts.
func layerFieldsToItem(e *refx.Experiment, it *experimentItem) {
	it.Kind, it.Layer = string(e.Kind), e.Layer
	if r := e.LayerRange; r != nil {
		it.LayerRange = []float64{r.Start, r.End}
	}
	for _, h := range e.Holdouts {
		it.Holdouts = append(it.Holdouts, item.HoldoutRef{ID: h.ID, Seed: h.Seed, Share: h.Share})
	}
	it.HoldsFlags = e.Flags
}

func layerFieldsOf(it experimentItem, e *refx.Experiment) {
	e.Kind, e.Layer = refx.ExperimentKind(it.Kind), it.Layer
	if len(it.LayerRange) == 2 {
		e.LayerRange = &refx.LayerRange{Start: it.LayerRange[0], End: it.LayerRange[1]}
	}
	for _, h := range it.Holdouts {
		e.Holdouts = append(e.Holdouts, refx.HoldoutRef{ID: h.ID, Seed: h.Seed, Share: h.Share})
	}
	e.Flags = it.HoldsFlags
}

var _ refx.LayerService = (*Store)(nil)
