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

// storeAs is the experiment store as S, the service of something it keeps
// in the same table (its writes share the experiments' transactions);
// EINTERNAL, naming what, when the store keeps none.
func storeAs[S any](s *Server, what string) (S, error) {
	svc, ok := s.Experiments.(S)
	if !ok {
		return svc, refx.Errorf(refx.EINTERNAL, "the experiment store keeps no %s", what)
	}
	return svc, nil
}

// storeAndID returns the store and the id the request's path names;
// invalid(id) is the error for a path that cannot name one.
func storeAndID[S any](r *http.Request, store func() (S, error), valid func(string) bool, invalid func(id string) error) (S, string, error) {
	svc, err := store()
	if err != nil {
		return svc, "", err
	}
	id := r.PathValue("id")
	if !valid(id) {
		var none S
		return none, "", invalid(id)
	}
	return svc, id, nil
}

// answer writes v with status, unless the store call that made it failed.
func answer(w http.ResponseWriter, status int, v any, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, status, v)
	return nil
}

// versionRead refuses a patch without the version its client read: the
// update is conditioned on it (optimistic locking).
func versionRead(v int64) error {
	if v < 1 {
		return refx.FieldErrorf("version", "must be the version you read (optimistic locking)")
	}
	return nil
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
	if err := versionRead(p.Version); err != nil {
		return err
	}
	e, err := s.Experiments.UpdateExperiment(r.Context(), id, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}
