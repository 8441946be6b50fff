package lakeproof_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/export/lakeproof"
)

// TestLakeProof runs the proof of ./scripts/lake-proof at a smaller scale:
// the local stack, 800 events of real client flows, the export, the
// queries against the results API, the dated queries past a corrupt
// file. Every step must run and find nothing wrong, and the report must
// state what was measured.
func TestLakeProof(t *testing.T) {
	const events = 800
	rep, err := lakeproof.Run(t.Context(), lakeproof.Config{
		Events: events, Workers: 16, DataDir: t.TempDir(),
		SchemaDir: filepath.Join("..", "..", "..", "schema", "athena"),
		Out:       testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	md := rep.Markdown()
	if testing.Verbose() {
		t.Log("\n" + md)
	}
	if path := os.Getenv("REFX_LAKEPROOF_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range rep.Problems {
		t.Error(p)
	}
	if rep.Traffic.Recorded != events || rep.Traffic.Duplicates == 0 || rep.Traffic.Signups == 0 || rep.Traffic.Clicks == 0 {
		t.Errorf("traffic %+v: want %d events recorded, retries, clicks and signups", rep.Traffic, events)
	}
	if rep.Unique["events_unique"] != events {
		t.Errorf("events_unique holds %d rows, want %d", rep.Unique["events_unique"], events)
	}
	for _, c := range rep.Results {
		if !c.Equal() {
			t.Errorf("%s: the query differs from the API", c.Experiment)
		}
	}
	var stages []string
	for _, s := range rep.Stages {
		stages = append(stages, s.Name)
	}
	if got := strings.Join(stages, ", "); got != "compacted, replay, backfill, compacted again" {
		t.Errorf("stages checked: %s", got)
	}
	if rep.Replay == nil || rep.Replay.Report.Records == 0 || rep.Backfill == nil || rep.Backfill.Existing == 0 {
		t.Errorf("replay %+v, backfill %+v: want records replayed and rows found already exported", rep.Replay, rep.Backfill)
	}
	hours := 0
	for _, p := range rep.Raw {
		if p.Table == "events" {
			hours++
		}
	}
	if files, _ := rep.Compacted.Totals("events"); files != hours {
		t.Errorf("events: %d files after compaction, want %d (one per hour)", files, hours)
	}
	if rep.Dated == nil || rep.Dated.UndatedError == "" {
		t.Error("the undated query did not fail on the planted file: the dated check proves nothing")
	}
	for _, want := range []string{"events/s", "| events |", "Athena", "experiment_results"} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

// testWriter sends the proof's progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
