package httpapi

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/refx-dev/refx/pkg/analysis"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stats"
)

// Bounds of the health and A/A simulation routes.
const (
	// healthScan is how many experiments, newest first, are searched for
	// A/A tests and traffic sharing an experiment's goals: a bounded read
	// (a few pages), however many experiments a deployment keeps.
	healthScan = 500
	// healthSources is how many A/A tests, and how many traffic sources,
	// are read: the most recent ones describe today's traffic.
	healthSources = 3
	// aaSimulationTime bounds one simulation request, well inside API
	// Gateway's 29 s; a longer run answers with the splits done so far.
	aaSimulationTime = 10 * time.Second
)

// AASimulationRequest is the body of POST /v1/experiments/{id}/aa-simulation.
// Engine, alpha and correction default as the results route's query does.
type AASimulationRequest struct {
	Simulations int              `json:"simulations"`
	Seed        uint64           `json:"seed"`
	Engine      stats.Engine     `json:"engine"`
	Alpha       *float64         `json:"alpha"`
	Correction  stats.Correction `json:"correction"`
}

func (s *Server) experimentHealth(w http.ResponseWriter, r *http.Request) error {
	id, err := experimentID(r)
	if err != nil {
		return err
	}
	q, err := queryParams(r, "engine", "alpha", "correction")
	if err != nil {
		return err
	}
	opts, err := analysisOptions(q)
	if err != nil {
		return err
	}
	exp, res, err := s.experimentAndResults(r, id)
	if err != nil {
		return err
	}
	related, err := s.sharingGoals(r.Context(), exp)
	if err != nil {
		return err
	}
	in := analysis.HealthInput{Experiment: exp, Results: res, Now: s.now(), Options: opts, PlannedEnd: exp.PlannedEnd}
	// The brief's plan, when it has one, is what reachability is judged
	// against: the review shows whether the planned sample fits the
	// planned dates.
	if exp.MDE != nil {
		in.MDE = *exp.MDE
	}
	if exp.PlannedSampleSize != nil {
		in.PlannedSampleSize = *exp.PlannedSampleSize
	}
	var aa, traffic []*refx.Experiment
	for _, e := range related {
		if e.AA && len(aa) < healthSources {
			aa = append(aa, e)
		}
		if len(traffic) < healthSources {
			traffic = append(traffic, e)
		}
	}
	if in.AA, err = s.sources(r.Context(), aa); err != nil {
		return err
	}
	if exp.StartedAt == nil {
		if in.Traffic, err = s.sources(r.Context(), traffic); err != nil {
			return err
		}
	}
	h, err := analysis.CheckHealth(in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h)
	return nil
}

func (s *Server) aaSimulation(w http.ResponseWriter, r *http.Request) error {
	id, err := experimentID(r)
	if err != nil {
		return err
	}
	var req AASimulationRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	q := map[string][]string{}
	if req.Engine != "" {
		q["engine"] = []string{string(req.Engine)}
	}
	if req.Correction != "" {
		q["correction"] = []string{string(req.Correction)}
	}
	opts, err := analysisOptions(q)
	if err != nil {
		return err
	}
	if req.Alpha != nil {
		if !(*req.Alpha > 0 && *req.Alpha < 0.5) {
			return refx.FieldErrorf("alpha", "must be a number greater than 0 and less than 0.5")
		}
		opts.Alpha = *req.Alpha
	}
	if req.Simulations < 0 || req.Simulations > analysis.MaxAASimulations {
		return refx.FieldErrorf("simulations", "must be between 1 and %d", analysis.MaxAASimulations)
	}
	exp, res, err := s.experimentAndResults(r, id)
	if err != nil {
		return err
	}
	related, err := s.sharingGoals(r.Context(), exp)
	if err != nil {
		return err
	}
	sources, err := s.sources(r.Context(), related[:min(len(related), healthSources)])
	if err != nil {
		return err
	}
	// The experiment's own counts come first: they are its traffic.
	sources = append([]analysis.AASource{{Experiment: exp, Results: res}}, sources...)
	ctx, cancel := context.WithTimeout(r.Context(), aaSimulationTime)
	defer cancel()
	sim, err := analysis.SimulateAA(ctx, exp, sources, analysis.AAOptions{Options: opts, Simulations: req.Simulations, Seed: req.Seed})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sim)
	return nil
}

// sharingGoals lists the other experiments that have started and measure a
// goal of exp (same key and kind), most recently started first, among the
// healthScan newest.
func (s *Server) sharingGoals(ctx context.Context, exp *refx.Experiment) ([]*refx.Experiment, error) {
	var out []*refx.Experiment
	f := refx.ExperimentFilter{Limit: 100}
	for seen := 0; seen < healthScan; {
		page, err := s.Experiments.Experiments(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, e := range page.Experiments {
			if e.ID != exp.ID && e.StartedAt != nil && analysis.SharesGoals(exp, e) {
				out = append(out, e)
			}
		}
		seen += len(page.Experiments)
		if page.NextCursor == "" || len(page.Experiments) == 0 {
			break
		}
		f.Cursor = page.NextCursor
	}
	slices.SortStableFunc(out, func(a, b *refx.Experiment) int { return cmp.Compare(b.StartedAt.UnixNano(), a.StartedAt.UnixNano()) })
	return out, nil
}

// sources reads the counts of each experiment.
func (s *Server) sources(ctx context.Context, exps []*refx.Experiment) ([]analysis.AASource, error) {
	out := make([]analysis.AASource, 0, len(exps))
	for _, e := range exps {
		res, err := s.Results.Results(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, analysis.AASource{Experiment: e, Results: res})
	}
	return out, nil
}
