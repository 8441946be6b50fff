package httpapi

import (
	"context"
	"net/http"

	"github.com/refx-dev/refx/pkg/refx"
)

// The admin routes of layers and holdouts. A holdout is an experiment of
// kind holdout: it is created here, read and listed here, and started,
// stopped and analysed by the experiment routes.

// layers is the layer store: the experiment store itself, since a start
// claims its layer range in the experiment's own transaction.
func (s *Server) layers() (refx.LayerService, error) {
	return storeAs[refx.LayerService](s, "layers")
}

// layerRequest returns the layer store and the layer the request's path
// names.
func (s *Server) layerRequest(r *http.Request) (refx.LayerService, string, error) {
	return storeAndID(r, s.layers, refx.ValidSlug, func(string) error { return refx.FieldErrorf("id", "must be a layer id") })
}

func (s *Server) createLayer(w http.ResponseWriter, r *http.Request) error {
	ls, err := s.layers()
	if err != nil {
		return err
	}
	var req refx.NewLayer
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	l, err := req.Build(s.now())
	if err != nil {
		return err
	}
	if err := ls.CreateLayer(r.Context(), l); err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/layers/"+l.ID)
	writeJSON(w, http.StatusCreated, l)
	return nil
}

func (s *Server) listLayers(w http.ResponseWriter, r *http.Request) error {
	ls, err := s.layers()
	if err != nil {
		return err
	}
	return writePage(w, r, ls.Layers)
}

// writePage answers one page of a listing read by list, with the request's
// limit and cursor.
func writePage[P any](w http.ResponseWriter, r *http.Request, list func(ctx context.Context, limit int, cursor string) (P, error)) error {
	limit, err := limitParam(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := list(r.Context(), limit, r.URL.Query().Get("cursor"))
	return answer(w, http.StatusOK, page, err)
}

func (s *Server) getLayer(w http.ResponseWriter, r *http.Request) error {
	ls, id, err := s.layerRequest(r)
	if err != nil {
		return err
	}
	l, err := ls.Layer(r.Context(), id)
	return answer(w, http.StatusOK, l, err)
}

func (s *Server) updateLayer(w http.ResponseWriter, r *http.Request) error {
	ls, id, err := s.layerRequest(r)
	if err != nil {
		return err
	}
	var p refx.LayerPatch
	if err := decodeJSON(w, r, &p); err != nil {
		return err
	}
	if err := versionRead(p.Version); err != nil {
		return err
	}
	l, err := ls.UpdateLayer(r.Context(), id, p)
	return answer(w, http.StatusOK, l, err)
}

func (s *Server) deleteLayer(w http.ResponseWriter, r *http.Request) error {
	ls, id, err := s.layerRequest(r)
	if err != nil {
		return err
	}
	if err := ls.DeleteLayer(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) createHoldout(w http.ResponseWriter, r *http.Request) error {
	var req refx.NewHoldout
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	h, err := req.Build(s.now())
	if err != nil {
		return err
	}
	if err := s.Experiments.CreateExperiment(r.Context(), h); err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/holdouts/"+h.ID)
	writeJSON(w, http.StatusCreated, h)
	return nil
}

func (s *Server) listHoldouts(w http.ResponseWriter, r *http.Request) error {
	ls, err := s.layers()
	if err != nil {
		return err
	}
	return writePage(w, r, ls.Holdouts)
}

func (s *Server) getHoldout(w http.ResponseWriter, r *http.Request) error {
	id, err := experimentID(r)
	if err != nil {
		return err
	}
	h, err := s.Experiments.Experiment(r.Context(), id)
	if err != nil {
		return err
	}
	if h.Kind != refx.KindHoldout {
		return refx.Errorf(refx.ENOTFOUND, "holdout %s not found: %s is an experiment", id, id)
	}
	writeJSON(w, http.StatusOK, h)
	return nil
}
