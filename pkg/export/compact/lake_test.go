package compact_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/compact"
	"github.com/refx-dev/refx/pkg/export/internal/lakefixture"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

// answers are what DuckDB reads from the lake through localquery: every
// view (lakefixture.Views), experiment_results.sql, and each raw table's
// distinct rows, each as sorted text; and each raw table's row count.
type answers struct {
	views  map[string][]string
	counts map[string]int64
}

func mustAnswers(t *testing.T, l *lakefixture.Lake) answers {
	t.Helper()
	a := answers{views: l.Views(t), counts: map[string]int64{}}
	db := l.MustQueryDB(t)
	res, err := db.QueryFile(t.Context(), filepath.Join(lakefixture.SchemaDir(t), "queries", "experiment_results.sql"))
	if err != nil {
		t.Fatal(err)
	}
	a.views["query experiment_results"] = lakefixture.Text(res)
	for _, table := range export.Tables() {
		res, err := db.Query(t.Context(), "SELECT DISTINCT * FROM "+table.Name)
		if err != nil {
			t.Fatal(err)
		}
		a.views["distinct "+table.Name] = lakefixture.Text(res)
		res, err = db.Query(t.Context(), "SELECT count(*) FROM "+table.Name)
		if err != nil {
			t.Fatal(err)
		}
		a.counts[table.Name] = res.Rows[0][0].(int64)
	}
	return a
}

// TestCompactedLakeAnswersAlike exports real traffic (lakefixture), plants
// copies by exporting every batch again split in two (as Lambda's
// bisection does), and compacts every hour: every view, the
// experiment_results query and every raw table's distinct rows answer as
// before, and the raw tables hold no copy any more. Batches replayed into
// the compacted hours are merged by the next run, again without a copy.
func TestCompactedLakeAnswersAlike(t *testing.T) {
	l := lakefixture.New(t, lakefixture.Options{BatchSize: 40, Prefix: export.DefaultPrefix})
	l.Traffic(t)
	l.Drain(t)
	batches := l.Batches()
	for _, b := range batches {
		mid := len(b.Records) / 2
		for _, half := range [][]events.DynamoDBEventRecord{b.Records[:mid], b.Records[mid:]} {
			if len(half) == 0 {
				continue
			}
			if _, err := l.Exporter.Handle(t.Context(), events.DynamoDBEvent{Records: half}); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := mustAnswers(t, l)
	if len(before.views["query experiment_results"]) == 0 || len(before.views["events_unique"]) == 0 {
		t.Fatal("the lake answers nothing: the test would prove nothing")
	}
	copies := int64(0)
	for _, table := range export.Tables() {
		copies += before.counts[table.Name] - int64(len(before.views["distinct "+table.Name]))
	}
	if copies == 0 {
		t.Fatal("no copies planted")
	}

	// Every hour closed, superseded files deleted at once.
	cfg := compact.Config{
		S3: l.S3C, Bucket: l.S3.Bucket(), Prefix: l.Prefix,
		Now: func() time.Time { return time.Now().Add(3 * time.Hour) }, Logger: lakefixture.Discard,
	}
	rep, err := compact.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compaction: %s", rep)
	if int64(rep.Duplicates) != copies || rep.Compacted == 0 || rep.Deleted != rep.InputFiles {
		t.Fatalf("report %s; %d copies planted", rep, copies)
	}
	after := mustAnswers(t, l)
	if d := lakefixture.Diff(before.views, after.views); d != "" {
		t.Fatalf("the compacted lake answers otherwise:\n%s", d)
	}
	for _, table := range export.Tables() {
		if n := int64(len(before.views["distinct "+table.Name])); after.counts[table.Name] != n {
			t.Errorf("%s: %d rows after compaction, want its %d distinct rows", table.Name, after.counts[table.Name], n)
		}
	}
	for key := range l.Objects(t) {
		name := key[strings.LastIndexByte(key, '/')+1:]
		if !strings.HasPrefix(name, "compacted-") {
			t.Errorf("left after compaction: %s", key)
		}
	}

	t.Run("ReplayMerged", func(t *testing.T) {
		for _, b := range batches {
			if _, err := l.Exporter.Handle(t.Context(), b); err != nil {
				t.Fatal(err)
			}
		}
		if d := lakefixture.Diff(before.views, mustAnswers(t, l).views); d != "" {
			t.Fatalf("views after the replay:\n%s", d)
		}
		rep, err := compact.Run(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if rep.OutputRows+rep.Duplicates != rep.InputRows || rep.InputRows != 2*rep.OutputRows {
			t.Fatalf("report %s: want every replayed row dropped as a copy", rep)
		}
		again := mustAnswers(t, l)
		if d := lakefixture.Diff(before.views, again.views); d != "" {
			t.Fatalf("answers after the replay's compaction:\n%s", d)
		}
		for _, table := range export.Tables() {
			if again.counts[table.Name] != after.counts[table.Name] {
				t.Errorf("%s: %d rows, want %d", table.Name, again.counts[table.Name], after.counts[table.Name])
			}
		}
		if rep, err := compact.Run(t.Context(), cfg); err != nil || rep.Compacted+rep.Deleted != 0 {
			t.Fatalf("third run: %v %v", rep, err)
		}
	})
}
