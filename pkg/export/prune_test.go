package export_test

import (
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/internal/lakefixture"
	"github.com/refx-dev/refx/pkg/export/localquery"
)

// prunedTables are the tables the *_unique views read, which a dated query
// must read only the partitions of. The views also read erasures (an
// erasure on any day hides the rows before it) and the results queries the
// experiments' configuration: small tables read whole by design.
var prunedTables = []string{"events", "event_credits", "assignments", "referrals", "referral_clicks", "attributions"}

// dailyRange is the dt range daily_results.sql holds, which its users edit.
var dailyRange = regexp.MustCompile(`dt BETWEEN '2026-01-01' AND '2026-01-07'`)

// TestDatedQueryReadsOnlyItsPartitions proves that a dt filter on the
// *_unique views prunes the raw files: the traffic of TestExportEndToEnd is
// exported again under the deployed prefix, its batches dated to three days
// (each also written a second time, bisected, so every day holds copies for
// the views to drop); then every file of the other days is overwritten with
// bytes that are no Parquet. A query of one day must still answer that
// day's rows exactly, and the same query without the filter must fail on
// the garbage, which shows that the files would have been read. DuckDB's
// EXPLAIN ANALYZE must count the day's files only.
func TestDatedQueryReadsOnlyItsPartitions(t *testing.T) {
	st := MustStack(t, stackOptions{})
	MustTraffic(t, st)
	st.Drain(t)
	days := []string{"2026-03-01", "2026-03-02", "2026-03-03"}
	// The middle day: files of other days sort both before and after it.
	target := days[1]
	x, err := export.New(export.Config{S3: st.S3C, Bucket: st.S3.Bucket(), Prefix: export.DefaultPrefix, Logger: lakefixture.Discard})
	if err != nil {
		t.Fatal(err)
	}
	batches := st.Batches()
	for i, b := range batches {
		dated := redate(b, time.Date(2026, 3, 1+i%len(days), i%24, 0, 0, 0, time.UTC))
		bisected := events.DynamoDBEvent{Records: dated.Records[:(len(dated.Records)+1)/2]}
		for _, ev := range []events.DynamoDBEvent{dated, bisected} {
			resp, err := x.Handle(t.Context(), ev)
			if err != nil || len(resp.BatchItemFailures) > 0 {
				t.Fatalf("export: %v %+v", err, resp)
			}
		}
	}
	open := func(t *testing.T) *localquery.DB {
		t.Helper()
		db, err := localquery.Open(t.Context(), localquery.Options{Root: st.S3.BucketDir(), Prefix: export.DefaultPrefix, SchemaDir: athenaDir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}

	// What the views answer with every file readable.
	db := open(t)
	for _, id := range []string{"cta", "invite"} {
		assertResultsMatch(t, db, st.results(t, id))
	}
	want := map[string][]string{}
	for _, table := range prunedTables {
		view := table + "_unique"
		res, err := db.Query(t.Context(), "SELECT * FROM "+view)
		if err != nil {
			t.Fatal(err)
		}
		dt := slices.Index(res.Columns, "dt")
		var other int
		for _, r := range res.Rows {
			if r[dt] == target {
				want[view] = append(want[view], rowText(r))
			} else {
				other++
			}
		}
		slices.Sort(want[view])
		if table == "events" {
			raw := scalar(t, db, fmt.Sprintf("SELECT count(*) FROM events WHERE dt = '%s'", target))
			if raw <= int64(len(want[view])) {
				t.Fatalf("%s holds no copies to drop: %d raw rows, %d unique", target, raw, len(want[view]))
			}
		}
		if len(want[view]) == 0 || other == 0 {
			t.Fatalf("%s: %d rows on %s, %d on other days: nothing to prove", view, len(want[view]), target, other)
		}
	}
	daily := func(t *testing.T, db *localquery.DB, day string) *localquery.Result {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(athenaDir, "queries", "daily_results.sql"))
		if err != nil {
			t.Fatal(err)
		}
		q := string(b)
		if n := len(dailyRange.FindAllString(q, -1)); n != 3 {
			t.Fatalf("daily_results.sql holds its range %d times, want 3 (as its comment says)", n)
		}
		res, err := db.Query(t.Context(), dailyRange.ReplaceAllString(q, fmt.Sprintf("dt BETWEEN '%s' AND '%s'", day, day)))
		if err != nil {
			t.Fatalf("daily_results %s: %v", day, err)
		}
		return res
	}
	t.Run("DaysAddUpToResults", func(t *testing.T) {
		all, err := db.QueryFile(t.Context(), filepath.Join(athenaDir, "queries", "experiment_results.sql"))
		if err != nil {
			t.Fatal(err)
		}
		sums := map[string][]*big.Rat{}
		for _, day := range days {
			addResults(t, sums, daily(t, db, day))
		}
		wantSums := map[string][]*big.Rat{}
		addResults(t, wantSums, all)
		for k, w := range wantSums {
			if g := sums[k]; !slices.EqualFunc(g, w, func(a, b *big.Rat) bool { return a.Cmp(b) == 0 }) {
				t.Errorf("%s: the days add up to %v, experiment_results has %v", k, g, w)
			}
		}
		if len(sums) != len(wantSums) {
			t.Errorf("the days have %d result rows, experiment_results %d", len(sums), len(wantSums))
		}
	})
	wantDaily := rowsText(daily(t, db, target))

	// Every file of another day becomes garbage.
	var spoiled int
	for _, table := range prunedTables {
		dir := filepath.Join(st.S3.BucketDir(), filepath.FromSlash(export.DefaultPrefix), table)
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.Contains(path, string(filepath.Separator)+"dt="+target+string(filepath.Separator)) {
				return err
			}
			spoiled++
			return os.WriteFile(path, []byte("not a Parquet file"), 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d files of other days overwritten", spoiled)
	db = open(t)

	for _, table := range prunedTables {
		view := table + "_unique"
		t.Run(view, func(t *testing.T) {
			res, err := db.Query(t.Context(), fmt.Sprintf("SELECT * FROM %s WHERE dt = '%s'", view, target))
			if err != nil {
				t.Fatalf("dated query read a file of another day: %v", err)
			}
			got := rowsText(res)
			if !slices.Equal(got, want[view]) {
				t.Errorf("dated query: %d rows, want %d:\n%s\nwant\n%s", len(got), len(want[view]), strings.Join(got, "\n"), strings.Join(want[view], "\n"))
			}
			if _, err := db.Query(t.Context(), "SELECT count(*) FROM "+view); err == nil {
				t.Errorf("the query without dt read no file of another day: the control proves nothing")
			}
			plan := explainAnalyze(t, db, fmt.Sprintf("SELECT count(*) FROM %s WHERE dt = '%s'", view, target))
			// Of the table's files and the empty one localquery puts first,
			// DuckDB scans the day's.
			day, all := tableFiles(t, st.S3.BucketDir(), table, "dt="+target), tableFiles(t, st.S3.BucketDir(), table, "dt=*")
			for _, want := range []string{fmt.Sprintf("Scanning Files: %d/%d", day, all+1), fmt.Sprintf("Total Files Read: %d", day)} {
				if !strings.Contains(plan, want) {
					t.Errorf("EXPLAIN ANALYZE does not say %q:\n%s", want, plan)
				}
			}
		})
	}
	t.Run("DailyResults", func(t *testing.T) {
		if got := rowsText(daily(t, db, target)); !slices.Equal(got, wantDaily) {
			t.Errorf("daily_results on %s after the other days were spoiled:\n%s\nwant\n%s", target, strings.Join(got, "\n"), strings.Join(wantDaily, "\n"))
		}
	})
}

// redate gives a batch's records another stream time, as if streamed then.
func redate(ev events.DynamoDBEvent, at time.Time) events.DynamoDBEvent {
	recs := slices.Clone(ev.Records)
	for i := range recs {
		recs[i].Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: at}
	}
	return events.DynamoDBEvent{Records: recs}
}

func rowText(r []any) string {
	cells := make([]string, len(r))
	for i, v := range r {
		cells[i] = localquery.Format(v)
	}
	return strings.Join(cells, "|")
}

// rowsText is a result's rows as text, sorted.
func rowsText(res *localquery.Result) []string {
	out := make([]string, len(res.Rows))
	for i, r := range res.Rows {
		out[i] = rowText(r)
	}
	slices.Sort(out)
	return out
}

// addResults adds experiment_results-shaped rows into sums, by experiment,
// phase, variant and goal.
func addResults(t *testing.T, sums map[string][]*big.Rat, res *localquery.Result) {
	t.Helper()
	cols := []string{"participants", "users", "events", "value_sum", "value_sum_sq"}
	for _, r := range res.Maps() {
		k := fmt.Sprint(r["experiment"], "/", r["phase"], "/", r["variant"], "/", r["goal"])
		if sums[k] == nil {
			for range cols {
				sums[k] = append(sums[k], new(big.Rat))
			}
		}
		for i, c := range cols {
			sums[k][i].Add(sums[k][i], toRat(t, r[c]))
		}
	}
}

// explainAnalyze runs a query under EXPLAIN ANALYZE and returns the plan
// with the operators' counters.
func explainAnalyze(t *testing.T, db *localquery.DB, q string) string {
	t.Helper()
	res, err := db.Query(t.Context(), "EXPLAIN ANALYZE "+q)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range res.Rows {
		for _, v := range r {
			b.WriteString(localquery.Format(v))
			b.WriteString("\n")
		}
	}
	return b.String()
}

// tableFiles counts a table's files under the deployed prefix in the
// partitions dt matches (a glob).
func tableFiles(t *testing.T, root, table, dt string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(export.DefaultPrefix), table, dt, "hour=*", "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	return len(files)
}
