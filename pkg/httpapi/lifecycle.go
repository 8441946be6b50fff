package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"

	"github.com/refx-dev/refx/pkg/analysis"
	"github.com/refx-dev/refx/pkg/refx"
)

// TransitionBody is the optional body of a lifecycle route
// (POST /v1/experiments/{id}/<action>): a note for the audit trail and, to
// conclude, the decision and learnings.
type TransitionBody struct {
	Note      string `json:"note"`
	Decision  string `json:"decision"`
	Learnings string `json:"learnings"`
}

// transition serves the lifecycle route of action. Submitting stores the
// planned sample size computed from the experiment's MDE; concluding
// freezes the results API's answer (default options) with the conclusion.
func (s *Server) transition(action refx.Action) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := experimentID(r)
		if err != nil {
			return err
		}
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			return decodeError(err)
		}
		var body TransitionBody
		if len(bytes.TrimSpace(raw)) > 0 {
			if err := decodeBody(bytes.NewReader(raw), &body); err != nil {
				return err
			}
		}
		req := refx.TransitionRequest{Action: action, Note: body.Note, Decision: body.Decision, Learnings: body.Learnings}
		switch action {
		case refx.ActionSubmit:
			req.PlannedSampleSize = s.plannedSampleSize
		case refx.ActionConclude:
			req.Results = s.frozenResults
		}
		e, err := s.Experiments.Transition(r.Context(), id, req)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, e)
		return nil
	}
}

// plannedSampleSize is the total units the power plan of e's MDE needs
// for its primary metrics (GET /v1/experiments/{id}/power's logic, default
// options); nil without an MDE or a plannable primary metric.
func (s *Server) plannedSampleSize(ctx context.Context, e *refx.Experiment) (*int64, error) {
	if e.MDE == nil {
		return nil, nil
	}
	res, err := s.Results.Results(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	plan, err := analysis.Power(e, res, analysis.PowerOptions{MDE: *e.MDE})
	if err != nil {
		return nil, err
	}
	return plan.PlannedSampleSize(), nil
}

// frozenResults is the results API's answer for e, as e is being
// concluded.
func (s *Server) frozenResults(ctx context.Context, e *refx.Experiment) (json.RawMessage, error) {
	res, err := s.Results.Results(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	res.Status = e.Status
	a, err := analysis.Analyze(e, res, analysis.Options{})
	if err != nil {
		return nil, err
	}
	return json.Marshal(ResultsResponse{Results: res, Analysis: a})
}

// conclusion serves GET /v1/experiments/{id}/conclusion.
func (s *Server) conclusion(w http.ResponseWriter, r *http.Request) error {
	id, err := experimentID(r)
	if err != nil {
		return err
	}
	c, err := s.Experiments.Conclusion(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}
