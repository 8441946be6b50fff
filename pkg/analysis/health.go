package analysis

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stats"
)

// Health check names and statuses.
const (
	CheckSRM          = "srm"
	CheckAA           = "aa"
	CheckReachability = "reachability"

	HealthOK      = "ok"
	HealthWarning = "warning"
	HealthFail    = "fail"
	HealthUnknown = "unknown"
)

// Health defaults.
const (
	// MinSRMParticipants is how many participants the SRM check waits for:
	// below it a chi-square test has too little power to mean anything.
	MinSRMParticipants = 100
	// DefaultHealthMDE is the relative lift the reachability check plans
	// for when the experiment states none.
	DefaultHealthMDE = 0.05
	// DefaultHorizon is how long an experiment without a planned end may
	// run before its planned sample counts as unreachable: eight weeks, the
	// usual longest test a team keeps a decision waiting for.
	DefaultHorizon = 8 * 7 * 24 * time.Hour
)

// HealthInput is what the checks read. AA lists A/A experiments sharing
// goals with Experiment, most recent first; Traffic lists recent
// experiments sharing its goals, whose participants per day estimate a
// draft's traffic.
type HealthInput struct {
	Experiment *refx.Experiment
	Results    *refx.Results
	AA         []AASource
	Traffic    []AASource
	Now        time.Time
	Options    Options
	// MDE is the relative lift to plan for (0: DefaultHealthMDE).
	// PlannedSampleSize, when set, replaces the plan's sample (all arms).
	// PlannedEnd, when set, is the deadline; else the start (now for a
	// draft) plus DefaultHorizon.
	MDE               float64
	PlannedSampleSize int64
	PlannedEnd        *time.Time
}

// Health is an experiment's health checks: the ones a review shows before
// launch and the dashboard while it runs.
type Health struct {
	Experiment string      `json:"experiment"`
	Status     refx.Status `json:"status"`
	// Overall is the worst status of the checks (fail, warning, unknown, ok).
	Overall string  `json:"overall"`
	Checks  []Check `json:"checks"`
}

// Check is one health check.
type Check struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message"`
	// SRM is the sample ratio mismatch test (check srm).
	SRM *stats.SRMResult `json:"srm,omitempty"`
	// AATests are the A/A experiments read (check aa).
	AATests []AAEvidence `json:"aa_tests,omitempty"`
	// Goals is each goal's reachability (check reachability).
	Goals []Reach `json:"goals,omitempty"`
	// ParticipantsPerDay is the traffic the reachability check assumes,
	// and TrafficSource where it comes from: "experiment" (its own since
	// it started) or "shared_goals" (recent experiments sharing its goals).
	ParticipantsPerDay *float64   `json:"participants_per_day,omitempty"`
	TrafficSource      string     `json:"traffic_source,omitempty"`
	Deadline           *time.Time `json:"deadline,omitempty"`
}

// AAEvidence is one A/A experiment's reading on the goals it shares.
type AAEvidence struct {
	Experiment  string      `json:"experiment"`
	Status      refx.Status `json:"status"`
	StartedAt   *time.Time  `json:"started_at,omitempty"`
	Goals       []string    `json:"goals"`
	Comparisons int         `json:"comparisons"`
	// Significant lists the shared goals with a significant comparison.
	Significant []string `json:"significant"`
	SRM         bool     `json:"srm_mismatch"`
}

// Reach is whether a goal's planned sample can be reached in time.
type Reach struct {
	Goal string `json:"goal"`
	// RequiredParticipants is the experiment's total sample the goal needs
	// (all arms), nil when it cannot be planned yet.
	RequiredParticipants *int64   `json:"required_participants"`
	DaysNeeded           *float64 `json:"days_needed"`
	Reachable            *bool    `json:"reachable"`
	Notes                []string `json:"notes"`
}

// CheckHealth runs the checks of in. ECONFLICT as for Analyze.
func CheckHealth(in HealthInput) (*Health, error) {
	exp, res := in.Experiment, in.Results
	f, err := newFrame(exp, res)
	if err != nil {
		return nil, err
	}
	h := &Health{Experiment: exp.ID, Status: exp.Status}
	h.Checks = append(h.Checks, srmCheck(f))
	aa, err := aaCheck(exp, in.AA, in.Options)
	if err != nil {
		return nil, err
	}
	h.Checks = append(h.Checks, aa)
	reach, err := reachCheck(f, in)
	if err != nil {
		return nil, err
	}
	h.Checks = append(h.Checks, reach)
	rank := map[string]int{HealthOK: 0, HealthUnknown: 1, HealthWarning: 2, HealthFail: 3}
	h.Overall = HealthOK
	for _, c := range h.Checks {
		if rank[c.Status] > rank[h.Overall] {
			h.Overall = c.Status
		}
	}
	return h, nil
}

// srmCheck compares the participants with the current weights (see the
// package documentation for a change of weights).
func srmCheck(f *frame) Check {
	c := Check{Name: CheckSRM}
	observed := make([]int64, len(f.res.Variants))
	var total int64
	for i, v := range f.res.Variants {
		observed[i] = v.Participants
		total += v.Participants
	}
	srm, err := stats.SRMTest(observed, f.weights, 0)
	if err != nil {
		c.Status, c.Message = HealthUnknown, "cannot test the split: "+err.Error()
		return c
	}
	c.SRM = &srm
	switch {
	case total < MinSRMParticipants || srm.PValue == nil:
		c.Status = HealthUnknown
		c.Message = fmt.Sprintf("%d participants: the split is tested from %d", total, MinSRMParticipants)
	case srm.Mismatch:
		c.Status = HealthFail
		c.Message = fmt.Sprintf("sample ratio mismatch: p = %.3g < %g; the assignment or the counting is broken, do not trust the results", *srm.PValue, srm.Threshold)
	default:
		c.Status = HealthOK
		c.Message = fmt.Sprintf("the split matches the weights (p = %.3g)", *srm.PValue)
	}
	return c
}

// aaCheck reads each A/A experiment with the options of the results route
// and counts the shared goals on which it found a difference. An A/A
// should find one in about α of its comparisons; the most recent one
// finding any, or a goal no A/A measured, is a warning.
func aaCheck(exp *refx.Experiment, tests []AASource, o Options) (Check, error) {
	c := Check{Name: CheckAA, AATests: []AAEvidence{}}
	covered := map[string]bool{}
	for _, t := range tests {
		a, err := Analyze(t.Experiment, t.Results, o)
		if err != nil {
			return c, err
		}
		ev := AAEvidence{Experiment: t.Experiment.ID, Status: t.Experiment.Status, StartedAt: t.Experiment.StartedAt, Goals: []string{}, Significant: []string{}, SRM: a.SRM.Mismatch}
		for _, g := range exp.Goals {
			ga, ok := a.Goals[g.Key]
			if !ok {
				continue
			}
			covered[g.Key] = true
			ev.Goals = append(ev.Goals, g.Key)
			hit := false
			for _, m := range []*Metric{&ga.ConversionRate, ga.ValuePerParticipant} {
				if m == nil {
					continue
				}
				for _, cmp := range m.Comparisons {
					ev.Comparisons++
					hit = hit || significant(cmp.Verdict.Code)
				}
			}
			if hit {
				ev.Significant = append(ev.Significant, g.Key)
			}
		}
		c.AATests = append(c.AATests, ev)
	}
	var missing []string
	for _, g := range exp.Goals {
		if !covered[g.Key] {
			missing = append(missing, g.Key)
		}
	}
	switch {
	case len(c.AATests) == 0:
		c.Status, c.Message = HealthWarning, "no A/A ran on these goals"
	case c.AATests[0].SRM:
		c.Status = HealthWarning
		c.Message = fmt.Sprintf("the most recent A/A test, %s, has a sample ratio mismatch", c.AATests[0].Experiment)
	case len(c.AATests[0].Significant) > 0:
		c.Status = HealthWarning
		c.Message = fmt.Sprintf("the most recent A/A test, %s, found a significant difference on %s (expected in about %g of comparisons)",
			c.AATests[0].Experiment, strings.Join(c.AATests[0].Significant, ", "), o.withDefaults().Alpha)
	case len(missing) > 0:
		c.Status = HealthWarning
		c.Message = "no A/A ran on " + strings.Join(missing, ", ")
	default:
		c.Status = HealthOK
		c.Message = fmt.Sprintf("the most recent A/A test, %s, found no difference on the shared goals", c.AATests[0].Experiment)
	}
	return c, nil
}

// reachCheck plans each goal with Power (the power route's logic) and
// compares the participants it still needs with the traffic per day: the
// experiment's own since it started, or, before it has any, the mean of
// the recent experiments sharing its goals, scaled by the coverages.
func reachCheck(f *frame, in HealthInput) (Check, error) {
	exp, res := in.Experiment, in.Results
	c := Check{Name: CheckReachability, Goals: []Reach{}}
	mde := in.MDE
	if mde == 0 {
		mde = DefaultHealthMDE
	}
	var have int64
	for _, v := range res.Variants {
		have += v.Participants
	}
	perDay, source := ownTraffic(exp, have, in.Now)
	if perDay == 0 {
		perDay, source = sharedTraffic(exp, in.Traffic, in.Now)
	}
	start := in.Now
	if exp.StartedAt != nil {
		start = *exp.StartedAt
	}
	deadline := start.Add(DefaultHorizon)
	if in.PlannedEnd != nil {
		deadline = *in.PlannedEnd
	}
	c.Deadline = &deadline
	if perDay > 0 {
		c.ParticipantsPerDay, c.TrafficSource = &perDay, source
	}
	plan, err := Power(exp, res, PowerOptions{Options: in.Options, MDE: mde})
	if err != nil {
		return c, err
	}
	left := deadline.Sub(in.Now).Hours() / 24
	var unreachable, unplanned []string
	for _, g := range exp.Goals {
		r := Reach{Goal: g.Key, Notes: []string{}}
		var need int64 = -1
		if in.PlannedSampleSize > 0 {
			need = in.PlannedSampleSize
		} else {
			for _, m := range plan.Metrics {
				if m.Goal == g.Key && m.AdditionalUnitsTotal != nil {
					need = max(need, have+*m.AdditionalUnitsTotal)
				}
				if m.Goal == g.Key {
					r.Notes = append(r.Notes, m.Notes...)
				}
			}
		}
		if need < 0 {
			unplanned = append(unplanned, g.Key)
			c.Goals = append(c.Goals, r)
			continue
		}
		r.RequiredParticipants = &need
		if perDay > 0 {
			days := float64(max(0, need-have)) / perDay
			ok := days <= left
			r.DaysNeeded, r.Reachable = &days, &ok
			if !ok {
				unreachable = append(unreachable, fmt.Sprintf("%s (%d participants, %.0f more days)", g.Key, need, math.Ceil(days)))
			}
		}
		c.Goals = append(c.Goals, r)
	}
	switch {
	case len(unreachable) > 0:
		c.Status = HealthWarning
		c.Message = fmt.Sprintf("at %.0f participants a day the planned sample cannot be reached by %s on %s", perDay, deadline.Format(time.DateOnly), strings.Join(unreachable, ", "))
	case perDay == 0:
		c.Status, c.Message = HealthUnknown, "no traffic observed yet, here or in experiments sharing these goals"
	case len(unplanned) == len(exp.Goals):
		c.Status, c.Message = HealthUnknown, "no goal can be planned yet: their baselines are unknown"
	default:
		c.Status = HealthOK
		c.Message = fmt.Sprintf("at %.0f participants a day every planned goal reaches its sample by %s", perDay, deadline.Format(time.DateOnly))
	}
	return c, nil
}

// minTrafficWindow is the shortest run a rate per day is read from: the
// first minutes of an experiment say little about a day.
const minTrafficWindow = time.Hour

// ownTraffic is the experiment's participants per day since it started.
func ownTraffic(exp *refx.Experiment, have int64, now time.Time) (float64, string) {
	if exp.StartedAt == nil || have == 0 {
		return 0, ""
	}
	return perDay(have, *exp.StartedAt, exp.StoppedAt, now), "experiment"
}

// sharedTraffic averages the participants per day of the experiments
// sharing the goals, each scaled from its coverage to the experiment's.
func sharedTraffic(exp *refx.Experiment, sources []AASource, now time.Time) (float64, string) {
	var sum float64
	n := 0
	for _, s := range sources {
		e := s.Experiment
		if e.StartedAt == nil || e.Coverage <= 0 || e.ID == exp.ID {
			continue
		}
		var have int64
		for _, v := range s.Results.Variants {
			have += v.Participants
		}
		sum += perDay(have, *e.StartedAt, e.StoppedAt, now) * exp.Coverage / e.Coverage
		n++
	}
	if n == 0 || sum == 0 {
		return 0, ""
	}
	return sum / float64(n), "shared_goals"
}

func perDay(n int64, started time.Time, stopped *time.Time, now time.Time) float64 {
	end := now
	if stopped != nil {
		end = *stopped
	}
	d := max(end.Sub(started), minTrafficWindow)
	return float64(n) / d.Hours() * 24
}

// SharesGoals reports whether two experiments measure a goal of the same
// key and kind: the test a health check uses to pick A/A tests and traffic.
func SharesGoals(a, b *refx.Experiment) bool {
	return slices.ContainsFunc(a.Goals, func(g refx.Goal) bool {
		o, ok := b.Goal(g.Key)
		return ok && o.Kind == g.Kind
	})
}
