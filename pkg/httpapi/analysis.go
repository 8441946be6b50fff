package httpapi

import (
	"math"
	"net/http"
	"net/url"
	"strconv"

	"github.com/refx-dev/refx/pkg/analysis"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stats"
)

// ResultsResponse is the body of GET /v1/experiments/{id}/results: the raw
// counts, unchanged, with their analysis added.
type ResultsResponse struct {
	*refx.Results
	Analysis *analysis.Analysis `json:"analysis"`
}

// queryParams reads a route's query parameters, refusing unknown and
// repeated ones as the body decoder refuses unknown fields: a misspelt
// parameter must not silently fall back to a default.
func queryParams(r *http.Request, known ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, refx.Errorf(refx.EINVALID, "the query string is malformed")
	}
	allowed := make(map[string]bool, len(known))
	for _, k := range known {
		allowed[k] = true
	}
	for k, vs := range q {
		switch {
		case !allowed[k]:
			return nil, refx.FieldErrorf(k, "is not a known query parameter")
		case len(vs) > 1:
			return nil, refx.FieldErrorf(k, "must be given once")
		}
	}
	return q, nil
}

// analysisOptions parses engine, alpha and correction.
func analysisOptions(q url.Values) (analysis.Options, error) {
	o := analysis.Options{Engine: analysis.DefaultEngine, Alpha: analysis.DefaultAlpha, Correction: analysis.DefaultCorrection}
	if v, ok := q["engine"]; ok {
		switch e := stats.Engine(v[0]); e {
		case stats.EngineFrequentist, stats.EngineSequential, stats.EngineBayesian:
			o.Engine = e
		default:
			return o, refx.FieldErrorf("engine", "must be frequentist, sequential or bayesian")
		}
	}
	if v, ok := q["alpha"]; ok {
		// stats refuses 0.5: a Bayesian chance to win of 0.5 would be both
		// a win and a loss.
		a, err := strconv.ParseFloat(v[0], 64)
		if err != nil || !(a > 0 && a < 0.5) {
			return o, refx.FieldErrorf("alpha", "must be a number greater than 0 and less than 0.5")
		}
		o.Alpha = a
	}
	if v, ok := q["correction"]; ok {
		switch c := stats.Correction(v[0]); c {
		case stats.CorrectionHolm, stats.CorrectionBH, stats.CorrectionNone:
			o.Correction = c
		default:
			return o, refx.FieldErrorf("correction", "must be holm, bh or none")
		}
	}
	if v, ok := q["planned_sample_size"]; ok {
		n, err := strconv.ParseInt(v[0], 10, 64)
		if err != nil || n < 1 || n > 1e12 {
			return o, refx.FieldErrorf("planned_sample_size", "must be a whole number of units between 1 and 10^12")
		}
		o.PlannedSampleSize = n
	}
	return o, nil
}

// experimentAndResults reads the experiment, then its current phase's
// counts.
func (s *Server) experimentAndResults(r *http.Request, id string) (*refx.Experiment, *refx.Results, error) {
	return s.experimentAtPhase(r, id, 0)
}

func (s *Server) results(w http.ResponseWriter, r *http.Request) error {
	id, err := experimentID(r)
	if err != nil {
		return err
	}
	q, err := queryParams(r, "engine", "alpha", "correction", "planned_sample_size", "phase")
	if err != nil {
		return err
	}
	opts, err := analysisOptions(q)
	if err != nil {
		return err
	}
	phase, err := phaseParam(q)
	if err != nil {
		return err
	}
	exp, res, err := s.experimentAtPhase(r, id, phase)
	if err != nil {
		return err
	}
	a, err := analysis.Analyze(exp, res, opts)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ResultsResponse{Results: res, Analysis: a})
	return nil
}

func (s *Server) power(w http.ResponseWriter, r *http.Request) error {
	id, err := experimentID(r)
	if err != nil {
		return err
	}
	q, err := queryParams(r, "mde", "goal", "alpha", "power", "engine", "correction")
	if err != nil {
		return err
	}
	base, err := analysisOptions(q)
	if err != nil {
		return err
	}
	opts := analysis.PowerOptions{Options: base, Power: stats.DefaultTargetPower, Goal: q.Get("goal")}
	mde, err := strconv.ParseFloat(q.Get("mde"), 64)
	if err != nil || !(mde > 0) || math.IsInf(mde, 0) {
		return refx.FieldErrorf("mde", "is required: the relative lift to detect, a number greater than 0 (0.05 for +5%%)")
	}
	opts.MDE = mde
	if v, ok := q["power"]; ok {
		p, err := strconv.ParseFloat(v[0], 64)
		if err != nil || !(p > 0 && p < 1) {
			return refx.FieldErrorf("power", "must be a number greater than 0 and less than 1")
		}
		opts.Power = p
	}
	if _, ok := q["goal"]; ok && !refx.ValidKey(opts.Goal) {
		return refx.FieldErrorf("goal", "must be a goal key")
	}
	exp, res, err := s.experimentAndResults(r, id)
	if err != nil {
		return err
	}
	plan, err := analysis.Power(exp, res, opts)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, plan)
	return nil
}
