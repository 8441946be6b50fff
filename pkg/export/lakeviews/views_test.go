package lakeviews_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/lakeviews"
	"github.com/refx-dev/refx/pkg/refx"
)

var viewsDir = filepath.Join("..", "..", "..", "schema", "athena", "views")

// exportTables are the names the views may read besides each other, as
// the stack passes them.
func exportTables() []string {
	var names []string
	for _, t := range export.Tables() {
		names = append(names, t.Name)
	}
	return names
}

// MustSchemaViews reads schema/athena/views as the stack passes them.
func MustSchemaViews(tb testing.TB) []lakeviews.View {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(viewsDir, "*.sql"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no views in %s: %v", viewsDir, err)
	}
	var views []lakeviews.View
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		views = append(views, lakeviews.View{Name: strings.TrimSuffix(filepath.Base(f), ".sql"), SQL: string(b)})
	}
	return views
}

// TestOrderSchemaViews orders the real views: every view after each view it
// reads, erased_ids before the *_unique views that hide erased ids, and
// experiments_latest before the views of the current experiments' parts.
func TestOrderSchemaViews(t *testing.T) {
	views := MustSchemaViews(t)
	ordered, err := lakeviews.Order(views, exportTables())
	if err != nil {
		t.Fatal(err)
	}
	if len(ordered) != len(views) {
		t.Fatalf("%d views ordered, %d given", len(ordered), len(views))
	}
	pos := map[string]int{}
	var names []string
	for i, v := range ordered {
		pos[v.Name] = i
		names = append(names, v.Name)
	}
	t.Logf("order: %s", strings.Join(names, ", "))
	for _, v := range ordered {
		for _, ref := range lakeviews.References(v.SQL) {
			if p, isView := pos[ref]; isView && p >= pos[v.Name] {
				t.Errorf("%s (at %d) reads %s (at %d)", v.Name, pos[v.Name], ref, p)
			}
		}
	}
	for _, tc := range []struct{ before, after string }{
		{"erased_ids", "events_unique"}, {"erased_ids", "assignments_unique"}, {"erased_ids", "attributions_unique"},
		{"erased_ids", "event_credits_unique"}, {"erased_ids", "referrals_unique"}, {"erased_ids", "referral_clicks_unique"},
		{"experiments_latest", "experiment_variants_latest"}, {"experiments_latest", "experiment_goals_latest"},
		{"experiments_latest", "experiment_ratio_metrics_latest"},
	} {
		b, okB := pos[tc.before]
		a, okA := pos[tc.after]
		if !okA || !okB || b >= a {
			t.Errorf("%s (at %d, %v) must come before %s (at %d, %v)", tc.before, b, okB, tc.after, a, okA)
		}
	}
	// Listed in any order, the views come out in the same order.
	reversed := slices.Clone(views)
	slices.Reverse(reversed)
	again, err := lakeviews.Order(reversed, exportTables())
	if err != nil {
		t.Fatal(err)
	}
	for i := range again {
		if again[i].Name != ordered[i].Name {
			t.Fatalf("reversed input orders %s at %d, want %s", again[i].Name, i, ordered[i].Name)
		}
	}
}

func TestOrder(t *testing.T) {
	view := func(name, body string) lakeviews.View {
		return lakeviews.View{Name: name, SQL: "-- " + name + ": a test view\nCREATE OR REPLACE VIEW " + name + " AS\n" + body}
	}
	tables := []string{"events", "erasures", "experiments"}
	for _, tc := range []struct {
		name  string
		views []lakeviews.View
		want  []string // the order; nil for an invalid_argument error
		err   string
	}{
		{"OK", []lakeviews.View{
			view("c", "SELECT * FROM b JOIN a ON a.x = b.x"),
			view("b", "SELECT * FROM a"),
			view("a", "SELECT * FROM events"),
			view("d", "SELECT * FROM experiments"),
		}, []string{"a", "b", "c", "d"}, ""},
		{"QualifiedAndQuoted", []lakeviews.View{
			view("b", `SELECT * FROM refx_dev."a" x LEFT JOIN AwsDataCatalog.refx_dev.events e ON true`),
			view("a", "SELECT * FROM EVENTS"),
		}, []string{"a", "b"}, ""},
		{"CommaList", []lakeviews.View{
			view("b", "SELECT * FROM events e, a WHERE e.x = a.x"),
			view("a", "SELECT * FROM events"),
		}, []string{"a", "b"}, ""},
		{"NotTables", []lakeviews.View{
			// A WITH query's name, extract(... FROM ...), IS DISTINCT
			// FROM, UNNEST, strings and comments are not tables.
			view("a", `WITH recent AS (SELECT * FROM events)
SELECT extract(hour FROM r.ts), substring(r.s FROM 2), 'FROM nowhere' AS s -- FROM nowhere
FROM recent r CROSS JOIN UNNEST(r.list) AS u(item) /* JOIN nowhere */
WHERE r.a IS DISTINCT FROM r.b AND r.x IN (SELECT x FROM erasures)`),
		}, []string{"a"}, ""},
		{"ErrUnknown", []lakeviews.View{view("a", "SELECT * FROM nowhere")}, nil, "view a reads nowhere, which is neither"},
		{"ErrCycle", []lakeviews.View{
			view("a", "SELECT * FROM b"), view("b", "SELECT * FROM c"), view("c", "SELECT * FROM a"),
			view("d", "SELECT * FROM events"),
		}, nil, "the views a, b, c read each other in a cycle"},
		{"ErrSelf", []lakeviews.View{view("a", "SELECT * FROM a")}, nil, "the views a read each other in a cycle"},
		{"ErrOtherName", []lakeviews.View{{Name: "a", SQL: "CREATE OR REPLACE VIEW b AS SELECT 1"}}, nil, "view a: the statement creates the view b"},
		{"ErrNotAView", []lakeviews.View{{Name: "a", SQL: "DROP TABLE events"}}, nil, "not CREATE OR REPLACE VIEW a AS"},
		{"ErrTwice", []lakeviews.View{view("a", "SELECT 1"), view("A", "SELECT 2")}, nil, "listed twice"},
		{"ErrBadName", []lakeviews.View{{Name: "a; DROP TABLE events", SQL: "SELECT 1"}}, nil, "is not a view name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := lakeviews.Order(tc.views, tables)
			if tc.want == nil {
				if refx.ErrorCode(err) != refx.EINVALID || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v (%s), want invalid_argument containing %q", err, refx.ErrorCode(err), tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, v := range got {
				names = append(names, v.Name)
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("order %v, want %v", names, tc.want)
			}
		})
	}
}
