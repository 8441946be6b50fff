package export_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/export"
)

var (
	viewPartitionBy = regexp.MustCompile(`(?s)OVER \(PARTITION BY (.*?) ORDER BY`)
	// viewCopiesOf is the window's source: the raw table, read under an alias.
	viewCopiesOf = regexp.MustCompile(`(?s)row_number\(\).*?\bFROM (\w+) \w+\s*\)`)
	// viewPhase is how a view reads phase: files written before phases have
	// none, and their rows are phase 1.
	viewPhase = regexp.MustCompile(`^coalesce\((?:\w+\.)?phase, 1\)$`)
)

// partitionColumns reads a view's one PARTITION BY as column names: top-level
// commas split it, table qualifiers go, and coalesce(x.phase, 1) reads phase.
func partitionColumns(t *testing.T, sql string) []string {
	t.Helper()
	m := viewPartitionBy.FindAllStringSubmatch(sql, -1)
	if len(m) != 1 {
		t.Fatalf("%d windows, want one row_number() OVER (PARTITION BY ... ORDER BY ...)", len(m))
	}
	var cols []string
	depth, start := 0, 0
	list := m[0][1]
	for i, c := range list + "," {
		switch {
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			col := strings.TrimSpace(list[start:i])
			if viewPhase.MatchString(col) {
				col = "phase"
			}
			if _, name, ok := strings.Cut(col, "."); ok {
				col = name
			}
			cols = append(cols, col)
			start = i + 1
		}
	}
	return cols
}

// TestViewsPartitionByIdentity holds the de-duplicating views to
// export.Identity: a *_unique view numbers the copies of a row within dt,
// hour and the table's identity, in that order, so that a dt filter on the
// view passes below its window to the table's partitions (Athena and DuckDB
// push a filter through a window only on its PARTITION BY columns); a
// *_latest view of an experiment's parts keeps one row per identity, across
// partitions, as an experiment's version is not an hour's.
func TestViewsPartitionByIdentity(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(athenaDir, "views", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	var unique []string
	for _, f := range files {
		view := strings.TrimSuffix(filepath.Base(f), ".sql")
		table, partitioned := strings.CutSuffix(view, "_unique")
		if !partitioned {
			var latest bool
			table, latest = strings.CutSuffix(view, "_latest")
			// experiments_latest ranks an experiment's versions rather than
			// dropping copies; erased_ids has no window.
			if !latest || table == "experiments" {
				continue
			}
		}
		t.Run(view, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sql := string(b)
			id, ok := export.Identity[table]
			if !ok {
				t.Fatalf("no export.Identity for table %s", table)
			}
			if m := viewCopiesOf.FindStringSubmatch(sql); m == nil || m[1] != table {
				t.Fatalf("the window does not number the rows of table %s (found %v)", table, m)
			}
			want := slices.Clone(id)
			if partitioned {
				unique = append(unique, table)
				want = append([]string{"dt", "hour"}, id...)
			}
			if got := partitionColumns(t, sql); !slices.Equal(got, want) {
				t.Errorf("PARTITION BY %s, want %s", strings.Join(got, ", "), strings.Join(want, ", "))
			}
		})
	}
	// The tables whose copies the views drop: a view missing here would go
	// unchecked above.
	slices.Sort(unique)
	if want := []string{"assignments", "attributions", "event_credits", "events", "referral_clicks", "referrals"}; !slices.Equal(unique, want) {
		t.Errorf("*_unique views of %v, want %v", unique, want)
	}
}
