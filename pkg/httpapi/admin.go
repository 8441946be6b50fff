package httpapi

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/refx-dev/refx/pkg/refx"
)

// maxPageLimit bounds the limit parameter of the listing routes.
const maxPageLimit = 200

// limitParam reads the optional page size of a listing route; zero when
// absent, leaving the store's default.
func limitParam(q url.Values) (int, error) {
	l := q.Get("limit")
	if l == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > maxPageLimit {
		return 0, refx.FieldErrorf("limit", "must be a whole number from 1 to %d", maxPageLimit)
	}
	return n, nil
}

func experimentID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !refx.ValidSlug(id) {
		return "", refx.FieldErrorf("id", "must be an experiment id")
	}
	return id, nil
}

func (s *Server) createExperiment(w http.ResponseWriter, r *http.Request) error {
	var req refx.NewExperiment
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.CounterShards == nil && s.DefaultCounterShards > 0 {
		shards := s.DefaultCounterShards
		req.CounterShards = &shards
	}
	e, err := req.Build(s.now())
	if err != nil {
		return err
	}
	if err := s.Experiments.CreateExperiment(r.Context(), e); err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/experiments/"+e.ID)
	writeJSON(w, http.StatusCreated, e)
	return nil
}

func (s *Server) listExperiments(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := refx.ExperimentFilter{Status: refx.Status(q.Get("status")), Cursor: q.Get("cursor")}
	if f.Status != "" && !f.Status.Valid() {
		return refx.FieldErrorf("status", "must be one of %v", refx.Statuses)
	}
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	f.Limit = limit
	page, err := s.Experiments.Experiments(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) getExperiment(w http.ResponseWriter, r *http.Request) error {
	id, err := experimentID(r)
	if err != nil {
		return err
	}
	e, err := s.Experiments.Experiment(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

func (s *Server) updateExperiment(w http.ResponseWriter, r *http.Request) error {
	id, err := experimentID(r)
	if err != nil {
		return err
	}
	var p refx.ExperimentPatch
	if err := decodeJSON(w, r, &p); err != nil {
		return err
	}
	if p.Version < 1 {
		return refx.FieldErrorf("version", "must be the version you read (optimistic locking)")
	}
	e, err := s.Experiments.UpdateExperiment(r.Context(), id, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}
