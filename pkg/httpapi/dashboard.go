package httpapi

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/refx-dev/refx/pkg/analysis"
	"github.com/refx-dev/refx/pkg/charts"
	"github.com/refx-dev/refx/pkg/dashboard"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stats"
)

// The dashboard's routes: its page and assets (no key: the page holds no
// data), and the admin routes it reads beyond the experiments and results:
// the counts over time, server-rendered SVG charts, and deleting an
// experiment.

func (s *Server) dashboardPage(w http.ResponseWriter, r *http.Request) error {
	return dashboard.ServePage(w, r)
}

// dashboardAsset serves an asset by its hashed name. /dashboard/ itself
// leads to the page (relative Location, so a path prefix is kept).
func (s *Server) dashboardAsset(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("asset")
	if name == "" {
		w.Header().Set("Location", "../dashboard")
		w.WriteHeader(http.StatusFound)
		return nil
	}
	ok, err := dashboard.ServeAsset(w, r, name)
	if err != nil {
		return err
	}
	if !ok {
		return refx.Errorf(refx.ENOTFOUND, "the dashboard has no file %q: reload the page, asset names change with every build", name)
	}
	return nil
}

func (s *Server) deleteExperiment(w http.ResponseWriter, r *http.Request) error {
	id, err := experimentID(r)
	if err != nil {
		return err
	}
	if err := s.Experiments.DeleteExperiment(r.Context(), id); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// MaxTimeseriesPoints bounds the stored snapshots a time series returns;
// beyond it they are thinned evenly, the first and last kept.
const MaxTimeseriesPoints = 500

// TimeseriesPoint is an experiment's counts at one time.
type TimeseriesPoint struct {
	refx.Snapshot
	// Live marks the counts as they stand now, read for this answer rather
	// than a stored snapshot.
	Live bool `json:"live"`
}

// TimeseriesResponse is the body of GET /v1/experiments/{id}/timeseries.
type TimeseriesResponse struct {
	Experiment string `json:"experiment"`
	// From is the from parameter, absent when not given (every snapshot).
	From *time.Time `json:"from,omitempty"`
	To   time.Time  `json:"to"`
	// Thinned is true when snapshots were left out to return at most
	// MaxTimeseriesPoints of them.
	Thinned bool              `json:"thinned"`
	Points  []TimeseriesPoint `json:"points"`
}

func (s *Server) timeseries(w http.ResponseWriter, r *http.Request) error {
	id, err := experimentID(r)
	if err != nil {
		return err
	}
	q, err := queryParams(r, "from", "to")
	if err != nil {
		return err
	}
	from, err := timeParam(q, "from")
	if err != nil {
		return err
	}
	to, err := timeParam(q, "to")
	if err != nil {
		return err
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return refx.FieldErrorf("to", "must not be before from")
	}
	exp, err := s.Experiments.Experiment(r.Context(), id)
	if err != nil {
		return err
	}
	res, err := s.series(r.Context(), exp, from, to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// timeParam parses an optional RFC 3339 time.
func timeParam(q url.Values, name string) (time.Time, error) {
	v, ok := q[name]
	if !ok {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v[0])
	if err != nil {
		return time.Time{}, refx.FieldErrorf(name, "must be an RFC 3339 time, like 2026-03-01T10:00:00Z")
	}
	return t.UTC(), nil
}

// series is the experiment's snapshots from from (default: the first) to
// to (default: now), thinned, and then, when to is not before now, the live
// counts. (A snapshot's period may start before the experiment was created:
// a period is a span of the clock, and an experiment can start within it.)
func (s *Server) series(ctx context.Context, exp *refx.Experiment, from, to time.Time) (*TimeseriesResponse, error) {
	now := s.now().UTC()
	if to.IsZero() {
		to = now
	}
	out := &TimeseriesResponse{Experiment: exp.ID, To: to, Points: []TimeseriesPoint{}}
	if !from.IsZero() {
		out.From = &from
	}
	var snaps []refx.Snapshot
	if s.Snapshots != nil {
		var err error
		if snaps, err = s.Snapshots.Snapshots(ctx, exp.ID, from, to); err != nil {
			return nil, err
		}
	}
	snaps, out.Thinned = thin(snaps, MaxTimeseriesPoints)
	for _, snap := range snaps {
		out.Points = append(out.Points, TimeseriesPoint{Snapshot: snap})
	}
	if !to.Before(now) {
		res, err := s.Results.Results(ctx, exp.ID)
		if err != nil {
			return nil, err
		}
		out.Points = append(out.Points, TimeseriesPoint{Live: true, Snapshot: refx.Snapshot{
			Experiment: exp.ID, Period: now, TakenAt: now, Status: res.Status, Variants: res.Variants,
		}})
	}
	return out, nil
}

// thin keeps at most n of xs, evenly spread, the first and last included.
func thin[T any](xs []T, n int) ([]T, bool) {
	if len(xs) <= n || n < 2 {
		return xs, false
	}
	out := make([]T, 0, n)
	for i := range n {
		out = append(out, xs[i*(len(xs)-1)/(n-1)])
	}
	return out, true
}

// Chart names.
const (
	chartLift         = "lift.svg"
	chartReferralLift = "referral-lift.svg"
	chartRate         = "rate.svg"
	chartFunnel       = "funnel.svg"
)

// chart answers an SVG chart of an experiment, drawn at the width asked
// (the page asks for its own, so text stays readable on a phone).
func (s *Server) chart(w http.ResponseWriter, r *http.Request) error {
	id, err := experimentID(r)
	if err != nil {
		return err
	}
	var svg []byte
	switch name := r.PathValue("chart"); name {
	case chartLift, chartReferralLift:
		svg, err = s.liftChart(r, id, name == chartReferralLift)
	case chartRate:
		svg, err = s.rateChart(r, id)
	case chartFunnel:
		svg, err = s.funnelChart(r, id)
	default:
		return refx.Errorf(refx.ENOTFOUND, "no chart %q: the charts are %s, %s, %s and %s", name, chartLift, chartReferralLift, chartRate, chartFunnel)
	}
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'")
	w.Write(svg)
	return nil
}

// chartQuery reads the query parameters of a chart whose only parameters
// are known and width, and the width.
func chartQuery(r *http.Request, known ...string) (url.Values, int, error) {
	q, err := queryParams(r, append(known, "width")...)
	if err != nil {
		return nil, 0, err
	}
	width, err := chartWidth(q)
	if err != nil {
		return nil, 0, err
	}
	return q, width, nil
}

// chartWidth reads the width parameter.
func chartWidth(q url.Values) (int, error) {
	v, ok := q["width"]
	if !ok {
		return charts.DefaultWidth, nil
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n < charts.MinWidth || n > charts.MaxWidth {
		return 0, refx.FieldErrorf("width", "must be a whole number of pixels from %d to %d", charts.MinWidth, charts.MaxWidth)
	}
	return n, nil
}

// goalParam reads the goal parameter: one of the experiment's goals, or
// (when absent) fallback.
func goalParam(q url.Values, exp *refx.Experiment, fallback string) (string, error) {
	v, ok := q["goal"]
	if !ok {
		return fallback, nil
	}
	if _, found := exp.Goal(v[0]); !found {
		return "", refx.FieldErrorf("goal", "must be a goal of experiment %s", exp.ID)
	}
	return v[0], nil
}

// liftChart is the forest plot of the relative lifts: of one goal's metrics
// (or every goal's), or of the referral metrics.
func (s *Server) liftChart(r *http.Request, id string, referral bool) ([]byte, error) {
	known := []string{"engine", "alpha", "correction"}
	if !referral {
		known = append(known, "goal")
	}
	q, width, err := chartQuery(r, known...)
	if err != nil {
		return nil, err
	}
	opts, err := analysisOptions(q)
	if err != nil {
		return nil, err
	}
	exp, res, err := s.experimentAndResults(r, id)
	if err != nil {
		return nil, err
	}
	goal, err := goalParam(q, exp, "")
	if err != nil {
		return nil, err
	}
	if referral && exp.Referral == nil {
		return nil, notReferral(exp)
	}
	a, err := analysis.Analyze(exp, res, opts)
	if err != nil {
		return nil, err
	}
	var metrics []analysis.Metric
	subject := "every goal"
	switch {
	case referral:
		ra := a.Referral
		metrics = []analysis.Metric{ra.ShareRate, ra.KFactor, ra.ConversionsPerReferrer, ra.ValuePerReferrer, ra.SignupsPerClick}
		subject = "the referral metrics"
	default:
		for _, g := range exp.Goals {
			if goal != "" && g.Key != goal {
				continue
			}
			ga := a.Goals[g.Key]
			metrics = append(metrics, ga.ConversionRate)
			if ga.ValuePerParticipant != nil {
				metrics = append(metrics, *ga.ValuePerParticipant)
			}
		}
		if goal != "" {
			subject = goal
		}
	}
	f := charts.Forest{
		Title:     fmt.Sprintf("Relative lift vs %s on %s", a.Control, subject),
		Width:     width,
		AxisLabel: "relative lift vs " + a.Control,
		Percent:   true,
	}
	level := 1 - a.Alpha
	var described []string
	for _, m := range metrics {
		for _, c := range m.Comparisons {
			level = c.IntervalLevel
			row := charts.ForestRow{
				Group: m.Name, Label: c.Variant, Tone: tone(c.Verdict.Code),
				Estimate: value(c.Relative.Estimate), Lower: math.NaN(), Upper: math.NaN(),
			}
			if ci := c.Relative.CI; ci != nil {
				row.Lower, row.Upper = ci.Lower, ci.Upper
			}
			row.Text = liftText(row)
			f.Rows = append(f.Rows, row)
			described = append(described, fmt.Sprintf("%s, %s: %s (%s)", m.Name, c.Variant, row.Text, c.Verdict.Text))
		}
	}
	f.Description = fmt.Sprintf("Forest plot of each variant's relative lift over %s with %s intervals (%s engine). %s.",
		a.Control, charts.Percent(level, false), a.Engine, strings.Join(described, "; "))
	return f.SVG(), nil
}

func tone(code stats.VerdictCode) charts.Tone {
	switch code {
	case stats.VerdictWinner:
		return charts.Positive
	case stats.VerdictLoser:
		return charts.Negative
	}
	return charts.Neutral
}

func value(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// liftText is a row's estimate and interval in words.
func liftText(r charts.ForestRow) string {
	if math.IsNaN(r.Estimate) {
		return "not estimable yet"
	}
	if math.IsNaN(r.Lower) {
		return charts.Percent(r.Estimate, true) + " (no interval)"
	}
	return fmt.Sprintf("%s [%s, %s]", charts.Percent(r.Estimate, true), charts.Percent(r.Lower, true), charts.Percent(r.Upper, true))
}

// rateChart is the cumulative conversion rate of a goal per variant over
// time: the stored snapshots, then the live counts.
func (s *Server) rateChart(r *http.Request, id string) ([]byte, error) {
	q, width, err := chartQuery(r, "goal")
	if err != nil {
		return nil, err
	}
	exp, err := s.Experiments.Experiment(r.Context(), id)
	if err != nil {
		return nil, err
	}
	first := ""
	if len(exp.Goals) > 0 {
		first = exp.Goals[0].Key
	}
	goal, err := goalParam(q, exp, first)
	if err != nil {
		return nil, err
	}
	ts, err := s.series(r.Context(), exp, time.Time{}, time.Time{})
	if err != nil {
		return nil, err
	}
	index := map[string]int{}
	l := charts.Lines{
		Title:   fmt.Sprintf("Cumulative %s conversion rate per variant", goal),
		Width:   width,
		YLabel:  fmt.Sprintf("cumulative %s conversion rate", goal),
		Percent: true,
	}
	for _, v := range exp.Variants {
		index[v.Key] = len(l.Series)
		l.Series = append(l.Series, charts.Series{Name: v.Key})
	}
	for _, p := range ts.Points {
		for _, v := range p.Variants {
			i, ok := index[v.Key]
			if !ok || v.Participants == 0 {
				continue
			}
			rate := float64(v.Goals[goal].Users) / float64(v.Participants)
			l.Series[i].Points = append(l.Series[i].Points, charts.Point{T: p.TakenAt, V: rate, Hollow: p.Live})
		}
	}
	var now []string
	for _, sr := range l.Series {
		if n := len(sr.Points); n > 0 {
			now = append(now, fmt.Sprintf("%s %s", sr.Name, charts.Percent(sr.Points[n-1].V, false)))
		}
	}
	l.Description = fmt.Sprintf("Line chart of the share of participants who converted on %s, per variant, from %d stored snapshots and the live counts. Latest: %s.",
		goal, len(ts.Points)-1, strings.Join(now, ", "))
	return l.SVG(), nil
}

// funnelStages are the referral funnel's stages, as the chart names them,
// and one unit of each.
var (
	funnelStages = []string{"referrers", "sharing", "clicks", "signups", "conversions"}
	funnelUnits  = []string{"referrer", "sharing referrer", "click", "signup", "conversion"}
)

// funnelChart is the referral funnel per variant.
func (s *Server) funnelChart(r *http.Request, id string) ([]byte, error) {
	_, width, err := chartQuery(r)
	if err != nil {
		return nil, err
	}
	exp, res, err := s.experimentAndResults(r, id)
	if err != nil {
		return nil, err
	}
	if exp.Referral == nil {
		return nil, notReferral(exp)
	}
	f := charts.Funnel{Title: "Referral funnel per variant", Width: width, Stages: funnelStages, Units: funnelUnits}
	var described []string
	for _, v := range res.Variants {
		c := v.Referral
		if c == nil {
			c = &refx.ReferralCounts{}
		}
		values := []float64{float64(c.Referrers), float64(c.SharingReferrers), float64(c.Clicks), float64(c.Signups), float64(c.Conversions)}
		f.Groups = append(f.Groups, charts.FunnelGroup{Name: v.Key, Values: values})
		described = append(described, fmt.Sprintf("%s: %d referrers, %d sharing, %d clicks, %d signups, %d conversions",
			v.Key, c.Referrers, c.SharingReferrers, c.Clicks, c.Signups, c.Conversions))
	}
	f.Description = "Bars of each variant's referral funnel. " + strings.Join(described, "; ") + "."
	return f.SVG(), nil
}

func notReferral(exp *refx.Experiment) error {
	return refx.Errorf(refx.ENOTFOUND, "experiment %s is not a referral experiment: it has no referral charts", exp.ID)
}
