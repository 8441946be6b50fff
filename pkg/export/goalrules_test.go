package export_test

import (
	"testing"

	"github.com/refx-dev/refx/pkg/export"
)

// TestEncodeGoalRules: a credit the goal's cap lowered exports the value it
// counted and capped; the event row keeps the value sent; goal rows carry
// the goals' rules.
func TestEncodeGoalRules(t *testing.T) {
	_, _, x := MustS3(t)
	b, err := x.Encode(MustEvent(t, "capped.json"))
	if err != nil {
		t.Fatal(err)
	}
	byTable := map[string]export.Object{}
	for _, o := range b.Objects {
		byTable[o.Table.Name] = o
	}
	ev := decodeObject[export.EventRow](t, byTable["events"])
	if len(ev) != 1 || ev[0].Value == nil || *ev[0].Value != 1e9*1e4 {
		t.Fatalf("event rows %+v, want the value sent (1e9)", ev)
	}
	type credit struct {
		value  int64
		capped bool
	}
	var got []credit
	for _, c := range decodeObject[export.CreditRow](t, byTable["event_credits"]) {
		got = append(got, credit{*c.Value, c.Capped})
	}
	want := []credit{{500 * 1e4, true}, {1e9 * 1e4, false}, {500 * 1e4, true}}
	if len(got) != len(want) {
		t.Fatalf("credits %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("credit %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	type goal struct {
		key        string
		serverOnly bool
		cap        int64 // -1 for none
	}
	var goals []goal
	for _, g := range decodeObject[export.ExperimentGoalRow](t, byTable["experiment_goals"]) {
		c := int64(-1)
		if g.Cap != nil {
			c = *g.Cap
		}
		goals = append(goals, goal{g.Goal, g.ServerOnly, c})
	}
	wantGoals := []goal{{"signup", true, -1}, {"purchase", true, 5002500}, {"share", false, -1}}
	if len(goals) != len(wantGoals) {
		t.Fatalf("goals %+v, want %+v", goals, wantGoals)
	}
	for i := range wantGoals {
		if goals[i] != wantGoals[i] {
			t.Errorf("goal %d = %+v, want %+v", i, goals[i], wantGoals[i])
		}
	}
}
