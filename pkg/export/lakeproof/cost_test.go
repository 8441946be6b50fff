package lakeproof

import (
	"math"
	"path/filepath"
	"slices"
	"testing"
)

var schemaDir = filepath.Join("..", "..", "..", "schema", "athena")

// TestTablesRead finds the exported tables each dashboard source reads
// through its views, and none of its CTE names or column aliases (events
// is both a table and experiment_results' column).
func TestTablesRead(t *testing.T) {
	for _, tc := range []struct {
		source string
		want   []string
	}{
		{"views/experiments_latest", []string{"experiments"}},
		{"views/events_unique", []string{"erasures", "events"}},
		{"queries/experiment_results", []string{"assignments", "erasures", "event_credits", "experiment_goals", "experiment_variants", "experiments"}},
	} {
		t.Run(filepath.Base(tc.source), func(t *testing.T) {
			got, err := tablesRead(schemaDir, tc.source)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("tablesRead = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("ErrUnknownSource", func(t *testing.T) {
		if _, err := tablesRead(schemaDir, "queries/nope"); err == nil {
			t.Fatal("no error for a missing source")
		}
	})
	for _, src := range DashboardSources {
		if tables, err := tablesRead(schemaDir, src); err != nil || len(tables) == 0 {
			t.Errorf("%s: %v %v", src, tables, err)
		}
	}
}

// TestEstimateCost prices a refresh: traffic tables scale with events,
// the experiments' tables stay, each query costs at least 10 MB.
func TestEstimateCost(t *testing.T) {
	inv := Inventory{
		{Table: "events", DT: "2026-12-07", Hour: "04", Files: 1, Bytes: 1_000_000},
		{Table: "experiments", DT: "2026-12-07", Hour: "04", Files: 1, Bytes: 5_000},
	}
	c, err := estimateCost(schemaDir, inv, 10_000, 1000)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]QueryCost{}
	for _, q := range c.Queries {
		byName[q.Source] = q
	}
	events, exps := byName["views/events_unique"], byName["views/experiments_latest"]
	// 100 bytes an event, 2.592 billion events in 30 days.
	if events.Bytes != 1_000_000 || math.Abs(events.Month-259.2e9) > 1 || math.Abs(events.Week-60.48e9) > 1 {
		t.Errorf("events_unique: %+v", events)
	}
	if exps.Month != 5_000 || exps.Week != 5_000 {
		t.Errorf("experiments_latest scaled with events: %+v", exps)
	}
	if got, want := dollars(5_000), float64(10<<20)/1e12*5; got != want {
		t.Errorf("a small query costs $%v, want the 10 MB minimum $%v", got, want)
	}
	if got := dollars(259.2e9); math.Abs(got-1.296) > 1e-9 {
		t.Errorf("259.2 GB costs $%v, want $1.296", got)
	}
}
