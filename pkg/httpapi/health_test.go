package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/analysis"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
)

// enrolSplit enrols users of experiment body (already created and started)
// until each variant holds want[variant]: users are picked by the
// experiment's own hash, as a client that assigns only some users would,
// and every fifth one signs up.
func (a *api) enrolSplit(body string, want map[string]int) {
	a.tb.Helper()
	var n refx.NewExperiment
	if err := json.Unmarshal([]byte(body), &n); err != nil {
		a.tb.Fatal(err)
	}
	exp, err := n.Build(time.Now())
	if err != nil {
		a.tb.Fatal(err)
	}
	got := map[string]int{}
	var events []string
	for i := 0; len(events) < 1000; i++ {
		user := fmt.Sprintf("%s-u%d", exp.ID, i)
		v, _ := exp.Bucket(user)
		if got[v.Key] >= want[v.Key] {
			done := true
			for k, w := range want {
				done = done && got[k] >= w
			}
			if done {
				break
			}
			continue
		}
		got[v.Key]++
		as := a.mustDo("POST", "/v1/assign", `{"experiment":"`+exp.ID+`","user":"`+user+`"}`, false, http.StatusOK)
		if as.Body["variant"] != v.Key {
			a.tb.Fatalf("%s assigned %v, hashed to %s", user, as.Body["variant"], v.Key)
		}
		if i%5 == 0 {
			events = append(events, fmt.Sprintf(`{"id":"00000000-0000-4000-8000-%012d","type":"signup","user":"%s"}`, len(events)+len(exp.ID)*100000, user))
		}
	}
	for len(events) > 0 {
		batch := events[:min(25, len(events))]
		events = events[len(batch):]
		a.mustDo("POST", "/v1/events:batch", `{"events":[`+strings.Join(batch, ",")+`]}`, false, http.StatusOK)
	}
}

func (a *api) health(id string) analysis.Health {
	a.tb.Helper()
	res := a.mustDo("GET", "/v1/experiments/"+id+"/health", "", true, http.StatusOK)
	var h analysis.Health
	if err := json.Unmarshal([]byte(res.Raw), &h); err != nil {
		a.tb.Fatal(err)
	}
	return h
}

func check(tb testing.TB, h analysis.Health, name string) analysis.Check {
	tb.Helper()
	for _, c := range h.Checks {
		if c.Name == name {
			return c
		}
	}
	tb.Fatalf("no check %s in %+v", name, h)
	return analysis.Check{}
}

// TestHealth runs the checks on DynamoDB Local, read 30 days after the
// experiments started: an A/A test of signup with an even split, cta-test
// (signup and purchase) with a rigged one (300 control, 100 bold), and
// two drafts.
func TestHealth(t *testing.T) {
	t.Parallel()
	later := func() time.Time { return time.Now().Add(30 * 24 * time.Hour) }
	a := MustAPIWith(t, func(s *httpapi.Server) { s.Keyless, s.Now = true, later })
	const aaBody = `{"id":"aa-signup","aa":true,"variants":[{"key":"a","weight":1},{"key":"b","weight":1}],"goals":[{"key":"signup","kind":"binomial"}]}`
	for _, b := range []string{aaBody, experimentBody} {
		a.mustDo("POST", "/v1/experiments", b, true, http.StatusCreated)
	}
	a.mustDo("POST", "/v1/experiments/aa-signup/start", "", true, http.StatusOK)
	a.enrolSplit(aaBody, map[string]int{"a": 100, "b": 100})
	a.mustDo("POST", "/v1/experiments/cta-test/start", "", true, http.StatusOK)
	a.enrolSplit(experimentBody, map[string]int{"control": 300, "bold": 100})

	t.Run("SRMFail", func(t *testing.T) {
		c := check(t, a.health("cta-test"), analysis.CheckSRM)
		if c.Status != analysis.HealthFail || c.SRM == nil || !c.SRM.Mismatch {
			t.Errorf("a 300:100 split of 50:50: %+v", c)
		}
		if c := check(t, a.health("aa-signup"), analysis.CheckSRM); c.Status != analysis.HealthOK {
			t.Errorf("a 100:100 split of 1:1: %+v", c)
		}
	})
	t.Run("AAFoundBySharedGoals", func(t *testing.T) {
		c := check(t, a.health("cta-test"), analysis.CheckAA)
		if len(c.AATests) != 1 || c.AATests[0].Experiment != "aa-signup" || strings.Join(c.AATests[0].Goals, ",") != "signup" || c.AATests[0].Comparisons != 1 {
			t.Fatalf("A/A evidence: %+v", c)
		}
		// The A/A measured signup only: purchase has none.
		if c.Status != analysis.HealthWarning || !strings.Contains(c.Message, "no A/A ran on purchase") {
			t.Errorf("aa check: %s %q", c.Status, c.Message)
		}
		a.mustDo("POST", "/v1/experiments", `{"id":"clicks","variants":[{"key":"a","weight":1},{"key":"b","weight":1}],"goals":[{"key":"click","kind":"binomial"}]}`, true, http.StatusCreated)
		if c := check(t, a.health("clicks"), analysis.CheckAA); c.Status != analysis.HealthWarning || c.Message != "no A/A ran on these goals" || len(c.AATests) != 0 {
			t.Errorf("no shared goal: %+v", c)
		}
	})
	t.Run("Unreachable", func(t *testing.T) {
		c := check(t, a.health("cta-test"), analysis.CheckReachability)
		// 400 participants in 30 days: about 13 a day, against tens of
		// thousands needed for a 5% lift on signup.
		if c.Status != analysis.HealthWarning || c.TrafficSource != "experiment" || c.ParticipantsPerDay == nil || *c.ParticipantsPerDay > 14 || *c.ParticipantsPerDay < 13 {
			t.Fatalf("reachability: %+v", c)
		}
		g := c.Goals[0]
		if g.Goal != "signup" || g.Reachable == nil || *g.Reachable || *g.RequiredParticipants < 10000 || *g.DaysNeeded < 700 {
			t.Errorf("signup: %+v", g)
		}
	})
	t.Run("DraftTrafficFromSharedGoals", func(t *testing.T) {
		a.mustDo("POST", "/v1/experiments", `{"id":"signup-next","variants":[{"key":"a","weight":1},{"key":"b","weight":1}],"goals":[{"key":"signup","kind":"binomial"}]}`, true, http.StatusCreated)
		c := check(t, a.health("signup-next"), analysis.CheckReachability)
		// The mean of aa-signup's and cta-test's 200 and 400 in 30 days.
		if c.TrafficSource != "shared_goals" || c.ParticipantsPerDay == nil || *c.ParticipantsPerDay < 9.9 || *c.ParticipantsPerDay > 10.1 {
			t.Errorf("draft traffic: %+v", c)
		}
		if c := check(t, a.health("clicks"), analysis.CheckReachability); c.Status != analysis.HealthUnknown || c.ParticipantsPerDay != nil {
			t.Errorf("no traffic anywhere: %+v", c)
		}
	})
	t.Run("BriefPlan", func(t *testing.T) {
		// The brief's MDE and planned end decide reachability: a larger
		// lift needs fewer participants, and the deadline is the planned end.
		end := later().Add(10_000 * 24 * time.Hour).UTC().Format(time.RFC3339)
		for id, brief := range map[string]string{"plan-small": `"mde":0.05`, "plan-large": `"mde":0.5,"planned_end":"` + end + `"`} {
			a.mustDo("POST", "/v1/experiments", `{"id":"`+id+`",`+brief+`,"variants":[{"key":"a","weight":1},{"key":"b","weight":1}],"goals":[{"key":"signup","kind":"binomial"}]}`, true, http.StatusCreated)
		}
		small := check(t, a.health("plan-small"), analysis.CheckReachability)
		large := check(t, a.health("plan-large"), analysis.CheckReachability)
		if len(small.Goals) == 0 || len(large.Goals) == 0 || small.Goals[0].RequiredParticipants == nil || large.Goals[0].RequiredParticipants == nil {
			t.Fatalf("no plan: %+v / %+v", small, large)
		}
		if s, l := *small.Goals[0].RequiredParticipants, *large.Goals[0].RequiredParticipants; l*10 > s {
			t.Errorf("required participants: %d for a 5%% lift, %d for 50%%: want roughly 100× fewer", s, l)
		}
		if large.Deadline == nil || large.Deadline.UTC().Format(time.RFC3339) != end {
			t.Errorf("deadline %v, want the planned end %s", large.Deadline, end)
		}
		if g := large.Goals[0]; g.Reachable == nil || !*g.Reachable {
			t.Errorf("a 50%% lift by a planned end 27 years away: %+v", g)
		}
	})
	t.Run("AASimulation", func(t *testing.T) {
		res := a.mustDo("POST", "/v1/experiments/cta-test/aa-simulation", `{"simulations":300,"seed":1}`, true, http.StatusOK)
		again := a.mustDo("POST", "/v1/experiments/cta-test/aa-simulation", `{"simulations":300,"seed":1}`, true, http.StatusOK)
		if res.Raw != again.Raw {
			t.Errorf("seed 1 answered twice differently:\n%s\n%s", res.Raw, again.Raw)
		}
		var sim analysis.AASimulation
		if err := json.Unmarshal([]byte(res.Raw), &sim); err != nil {
			t.Fatal(err)
		}
		// The experiment's own 400 participants plus aa-signup's 200 on
		// signup; purchase has no traffic, so the default rate.
		if sim.Completed != 300 || sim.Participants != 400 || len(sim.Metrics) != 3 || sim.Metrics[0].Model.Participants != 600 || sim.Alpha != 0.05 {
			t.Errorf("simulation: %+v", sim)
		}
		for _, tc := range []struct{ body, field string }{
			{`{"simulations":10001}`, "simulations"},
			{`{"engine":"magic"}`, "engine"},
			{`{"alpha":0.5}`, "alpha"},
		} {
			if r := a.mustDo("POST", "/v1/experiments/cta-test/aa-simulation", tc.body, true, http.StatusBadRequest); r.errorField() != tc.field {
				t.Errorf("%s: field %q, want %q", tc.body, r.errorField(), tc.field)
			}
		}
		a.mustDo("POST", "/v1/experiments/nope/aa-simulation", `{}`, true, http.StatusNotFound)
	})
}
