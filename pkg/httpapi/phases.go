package httpapi

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/refx-dev/refx/pkg/refx"
)

// startPhase starts a new phase of a running experiment: the changes a
// running experiment refuses (weights, a lower coverage, another audience)
// made where its counts start afresh.
func (s *Server) startPhase(w http.ResponseWriter, r *http.Request) error {
	id, err := experimentID(r)
	if err != nil {
		return err
	}
	var np refx.NewPhase
	if err := decodeJSON(w, r, &np); err != nil {
		return err
	}
	e, err := s.Experiments.StartPhase(r.Context(), id, np)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

// phaseParam reads ?phase=N: 0 (the current phase) when absent.
func phaseParam(q url.Values) (int, error) {
	v := q.Get("phase")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > refx.MaxPhases {
		return 0, refx.FieldErrorf("phase", "must be a phase number, 1 to %d", refx.MaxPhases)
	}
	return n, nil
}

// experimentAtPhase reads the experiment and the counts of a phase (0 the
// current one), the experiment configured as it was in that phase.
func (s *Server) experimentAtPhase(r *http.Request, id string, phase int) (*refx.Experiment, *refx.Results, error) {
	exp, err := s.Experiments.Experiment(r.Context(), id)
	if err != nil {
		return nil, nil, err
	}
	res, err := s.Results.PhaseResults(r.Context(), id, phase)
	if err != nil {
		return nil, nil, err
	}
	if at, ok := exp.AtPhase(res.Phase); ok {
		exp = at
	}
	return exp, res, nil
}
