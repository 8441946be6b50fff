package compact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/parquetw/parquetwtest"
	"github.com/refx-dev/refx/pkg/s3local"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// fills make row i of each table: parquetwtest.Fill's edge values, with
// sequence number i zero-padded as the exporter writes it.
var fills = map[string]func(i int) any{
	"events": fill[export.EventRow], "event_credits": fill[export.CreditRow], "assignments": fill[export.AssignmentRow],
	"experiments": fill[export.ExperimentRow], "experiment_variants": fill[export.ExperimentVariantRow],
	"experiment_goals": fill[export.ExperimentGoalRow], "experiment_ratio_metrics": fill[export.ExperimentRatioMetricRow],
	"referrals": fill[export.ReferralRow], "referral_clicks": fill[export.ClickRow], "attributions": fill[export.AttributionRow],
	"export_errors": fill[export.ErrorRow], "erasures": fill[export.ErasureRow], "audit": fill[export.AuditRow],
	"refunds": fill[export.RefundRow],
}

func fill[T any](i int) any {
	row := parquetwtest.Fill[T](i)
	reflect.ValueOf(&row).Elem().FieldByName("SequenceNumber").SetString(fmt.Sprintf("%040d", i))
	return row
}

// TestEveryTableHasAReader: every exported table has a reader, which reads
// what the table's encoder writes back to equal rows, and every row type
// can be hashed.
func TestEveryTableHasAReader(t *testing.T) {
	byName := map[string]reader{}
	for _, r := range readers {
		if _, dup := byName[r.table.Name]; dup {
			t.Errorf("two readers of %s", r.table.Name)
		}
		byName[r.table.Name] = r
	}
	for _, table := range export.Tables() {
		t.Run(table.Name, func(t *testing.T) {
			r, ok := byName[table.Name]
			if !ok {
				t.Fatalf("no reader for %s: add its row type to parquetread", table.Name)
			}
			if fills[table.Name] == nil {
				t.Fatalf("no fill for %s in this test", table.Name)
			}
			var rows []any
			for i := range 50 {
				rows = append(rows, fills[table.Name](i))
			}
			body, err := table.Encode(rows)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.readFile(body)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, rows) {
				t.Fatalf("read back %d rows unequal to the %d written", len(got), len(rows))
			}
			seen := map[rowHash]bool{}
			for _, row := range got {
				h, err := hashRow(row)
				if err != nil {
					t.Fatal(err)
				}
				if seen[h] {
					t.Fatalf("two different rows hash alike: %s", parquetwtest.Show(row))
				}
				seen[h] = true
			}
		})
	}
	if len(byName) != len(export.Tables()) {
		t.Errorf("%d readers for %d tables", len(byName), len(export.Tables()))
	}
}

// TestHashRowExact: rows differing in any one field, or only in a null
// against a zero, hash differently.
func TestHashRowExact(t *testing.T) {
	zero, empty := int64(0), ""
	base := export.EventRow{EventID: "e", Type: "signup", UserID: "u", SequenceNumber: "1"}
	for _, tc := range []struct {
		name string
		edit func(*export.EventRow)
	}{
		{"Value0NotNull", func(r *export.EventRow) { r.Value = &zero }},
		{"EmptyNotNull", func(r *export.EventRow) { r.Properties = &empty }},
		{"Concatenation", func(r *export.EventRow) { r.EventID, r.Type = "es", "ignup" }},
		{"Time", func(r *export.EventRow) { r.StreamedAt = r.StreamedAt.Add(time.Millisecond) }},
		{"Credits", func(r *export.EventRow) { r.Credits = 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := base
			tc.edit(&other)
			a, err := hashRow(base)
			if err != nil {
				t.Fatal(err)
			}
			b, err := hashRow(other)
			if err != nil {
				t.Fatal(err)
			}
			if a == b {
				t.Fatal("equal hashes")
			}
		})
	}
}

// lake is an export bucket on the in-process S3 with a clock.
type lake struct {
	s3     *s3.Client
	bucket string
	prefix string
	now    time.Time
}

func mustLake(tb testing.TB) *lake {
	tb.Helper()
	srv, err := s3local.Start(tb.Context(), s3local.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	c, err := srv.Client(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	return &lake{s3: c, bucket: srv.Bucket(), prefix: "export/", now: time.Date(2026, 12, 7, 10, 30, 0, 0, time.UTC)}
}

// dir is the partition of table at hour.
func (l *lake) dir(table string, hour time.Time) string {
	return l.prefix + table + "/" + hour.Format(partitionLayout) + "/"
}

// manifestDir is where the manifests of the partition dir are.
func (l *lake) manifestDir(dir string) string {
	return l.prefix + manifestsDir + strings.TrimPrefix(dir, l.prefix)
}

// mustBatch writes rows [from, to) of table at hour as a batch file, as the
// exporter names them.
func (l *lake) mustBatch(tb testing.TB, table string, hour time.Time, from, to int) {
	tb.Helper()
	var rows []any
	for i := from; i < to; i++ {
		rows = append(rows, fills[table](i))
	}
	l.mustPut(tb, fmt.Sprintf("%s%040d-%040d-%08x.parquet", l.dir(table, hour), from, to-1, from*7919+to), rows)
}

func (l *lake) mustPut(tb testing.TB, key string, rows []any) {
	tb.Helper()
	var table *export.Table
	for _, t := range export.Tables() {
		if strings.HasPrefix(key, l.prefix+t.Name+"/") {
			table = t
		}
	}
	body, err := table.Encode(rows)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := l.s3.PutObject(tb.Context(), &s3.PutObjectInput{Bucket: aws.String(l.bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		tb.Fatal(err)
	}
}

// keys lists the bucket under prefix.
func (l *lake) keys(tb testing.TB, prefix string) []string {
	tb.Helper()
	var out []string
	p := s3.NewListObjectsV2Paginator(l.s3, &s3.ListObjectsV2Input{Bucket: aws.String(l.bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(tb.Context())
		if err != nil {
			tb.Fatal(err)
		}
		for _, o := range page.Contents {
			out = append(out, aws.ToString(o.Key))
		}
	}
	sort.Strings(out)
	return out
}

// live lists the Parquet files of dir no manifest supersedes.
func (l *lake) live(tb testing.TB, dir string) []string {
	tb.Helper()
	c := &run{Config: Config{S3: l.s3, Bucket: l.bucket}}
	superseded := map[string]bool{}
	manifests := l.manifestDir(dir)
	for _, k := range l.keys(tb, manifests) {
		m, err := c.readManifest(tb.Context(), manifests, strings.TrimPrefix(k, manifests))
		if err != nil {
			tb.Fatal(err)
		}
		for _, in := range m.Inputs {
			superseded[in] = true
		}
	}
	var files []string
	for _, k := range l.keys(tb, dir) {
		if name := strings.TrimPrefix(k, dir); strings.HasSuffix(name, ".parquet") {
			files = append(files, name)
		}
	}
	var out []string
	for _, f := range files {
		if !superseded[f] {
			out = append(out, f)
		}
	}
	return out
}

// rows reads the rows of the live files of dir with parquet-go, each
// rendered exactly (parquetwtest.Show), in file order.
func (l *lake) rows(tb testing.TB, table, dir string) []string {
	tb.Helper()
	r := readerOf(tb, table)
	var out []string
	for _, name := range l.live(tb, dir) {
		obj, err := l.s3.GetObject(tb.Context(), &s3.GetObjectInput{Bucket: aws.String(l.bucket), Key: aws.String(dir + name)})
		if err != nil {
			tb.Fatal(err)
		}
		body, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		rows, err := r.read(body)
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		for _, row := range rows {
			out = append(out, parquetwtest.Show(row))
		}
	}
	return out
}

func readerOf(tb testing.TB, table string) reader {
	for _, r := range readers {
		if r.table.Name == table {
			return r
		}
	}
	tb.Fatalf("no reader of %s", table)
	return reader{}
}

// want renders rows [from, to) of table as rows does.
func want(table string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, parquetwtest.Show(fills[table](i)))
	}
	return out
}

func (l *lake) config(client Client) Config {
	return Config{S3: client, Bucket: l.bucket, Prefix: l.prefix, Now: func() time.Time { return l.now }, Grace: time.Hour, Logger: discard}
}

func (l *lake) mustRun(tb testing.TB, cfg Config) *Report {
	tb.Helper()
	rep, err := Run(tb.Context(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return rep
}

// TestCompact: the batch files of a closed hour, with copies from batches
// exported again split differently, become one compacted file holding
// each row once in stream order; the inputs stay until the grace has
// passed; a second run changes nothing.
func TestCompact(t *testing.T) {
	for _, table := range []string{"events", "event_credits", "assignments", "experiments", "export_errors", "audit"} {
		t.Run(table, func(t *testing.T) {
			l := mustLake(t)
			hour := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
			dir := l.dir(table, hour)
			// Batches of 40 rows, then the same rows re-exported as
			// batches of 25 (bisected or resumed batches): 120 copies.
			for from := 0; from < 200; from += 40 {
				l.mustBatch(t, table, hour, from, from+40)
			}
			for from := 40; from < 160; from += 25 {
				l.mustBatch(t, table, hour, from, min(from+25, 160))
			}
			inputs := l.keys(t, dir)
			rep := l.mustRun(t, l.config(l.s3))
			if rep.Compacted != 1 || rep.InputFiles != len(inputs) || rep.InputRows != 320 || rep.OutputRows != 200 ||
				rep.Duplicates != 120 || rep.OutputFiles != 1 || rep.Deleted != 0 || rep.Pending != len(inputs) {
				t.Fatalf("report: %s", rep)
			}
			if got := l.live(t, dir); len(got) != 1 || !strings.HasPrefix(got[0], "compacted-") {
				t.Fatalf("live files %v, want one compacted file", got)
			}
			if got := l.rows(t, table, dir); !slices.Equal(got, want(table, 0, 200)) {
				t.Fatalf("compacted rows: %d, want rows 0-199 once each in order", len(got))
			}
			// Readers of the table's location (Athena, the purge, the
			// backfill) find Parquet only.
			for _, k := range l.keys(t, l.prefix+table+"/") {
				if !strings.HasSuffix(k, ".parquet") {
					t.Errorf("%s under the table's location", k)
				}
			}

			t.Run("RerunIsNoOp", func(t *testing.T) {
				before := l.keys(t, "")
				rep := l.mustRun(t, l.config(l.s3))
				if rep.Compacted != 0 || rep.Deleted != 0 || rep.OutputFiles != 0 {
					t.Fatalf("report: %s", rep)
				}
				if after := l.keys(t, ""); !slices.Equal(before, after) {
					t.Fatalf("objects changed:\n%v\n%v", before, after)
				}
			})
			t.Run("GraceRespected", func(t *testing.T) {
				l.now = l.now.Add(59 * time.Minute)
				if rep := l.mustRun(t, l.config(l.s3)); rep.Deleted != 0 || len(l.keys(t, dir)) != len(inputs)+1 || len(l.keys(t, l.manifestDir(dir))) != 1 {
					t.Fatalf("deleted before the grace passed: %s", rep)
				}
				l.now = l.now.Add(time.Minute)
				rep := l.mustRun(t, l.config(l.s3))
				keys := l.keys(t, dir)
				if rep.Deleted != len(inputs) || len(keys) != 1 || !strings.HasPrefix(keys[0], dir+"compacted-") {
					t.Fatalf("after the grace: %s; objects %v", rep, keys)
				}
				if m := l.keys(t, l.manifestDir(dir)); len(m) != 0 {
					t.Fatalf("manifests left: %v", m)
				}
				if got := l.rows(t, table, dir); !slices.Equal(got, want(table, 0, 200)) {
					t.Fatalf("rows after deletion: %d", len(got))
				}
				if rep := l.mustRun(t, l.config(l.s3)); rep.Compacted+rep.Deleted+rep.Pending != 0 {
					t.Fatalf("third run: %s", rep)
				}
			})
		})
	}
}

// TestLateBatchMerged: a batch file written into an hour already compacted
// (a Lambda retry, a replay, a backfill), with copies and new rows, is
// merged by the next run, before and after the first inputs are deleted.
func TestLateBatchMerged(t *testing.T) {
	for _, grace := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprint("Grace", grace), func(t *testing.T) {
			l := mustLake(t)
			hour := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
			dir := l.dir("events", hour)
			l.mustBatch(t, "events", hour, 0, 50)
			l.mustBatch(t, "events", hour, 50, 100)
			cfg := l.config(l.s3)
			cfg.Grace = grace
			l.mustRun(t, cfg)
			l.mustBatch(t, "events", hour, 80, 130)
			rep := l.mustRun(t, cfg)
			if rep.Compacted != 1 || rep.InputFiles != 2 || rep.Duplicates != 20 || rep.OutputRows != 130 {
				t.Fatalf("report: %s", rep)
			}
			if got := l.rows(t, "events", dir); !slices.Equal(got, want("events", 0, 130)) {
				t.Fatalf("rows: %d, want 0-129", len(got))
			}
			l.now = l.now.Add(grace)
			l.mustRun(t, cfg)
			if keys := l.keys(t, dir); len(keys) != 1 {
				t.Fatalf("after the grace: %v", keys)
			}
		})
	}
}

// TestOnlyClosedHoursInLookback: the current hour and the one that ended
// less than Settle ago are left alone, as are hours before the lookback;
// without a lookback every closed hour is compacted.
func TestOnlyClosedHoursInLookback(t *testing.T) {
	l := mustLake(t)
	l.now = time.Date(2026, 12, 7, 10, 10, 0, 0, time.UTC)
	hours := map[string]time.Time{
		"current":  time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC),
		"settling": time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), // ended 10:00, closes 10:15 with Settle 15m
		"closed":   time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC),
		"old":      time.Date(2026, 12, 4, 23, 0, 0, 0, time.UTC),
	}
	for _, h := range hours {
		l.mustBatch(t, "events", h, 0, 10)
		l.mustBatch(t, "events", h, 10, 20)
	}
	compacted := func() map[string]bool {
		out := map[string]bool{}
		for name, h := range hours {
			out[name] = len(l.live(t, l.dir("events", h))) == 1
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		settle   time.Duration
		lookback time.Duration
		want     map[string]bool
	}{
		{"Lookback48h", 0, 48 * time.Hour, map[string]bool{"closed": true}},
		{"Settle20m", 20 * time.Minute, 48 * time.Hour, map[string]bool{"closed": true}},
		{"Settle10m", 10 * time.Minute, 48 * time.Hour, map[string]bool{"closed": true, "settling": true}},
		{"Everything", 10 * time.Minute, 0, map[string]bool{"closed": true, "settling": true, "old": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := l.config(l.s3)
			cfg.Settle, cfg.Lookback = tc.settle, tc.lookback
			l.mustRun(t, cfg)
			got := compacted()
			for name := range hours {
				if got[name] != tc.want[name] {
					t.Errorf("%s compacted %v, want %v", name, got[name], tc.want[name])
				}
			}
		})
	}
}

// TestPendingBeforeLookback: files superseded in an hour that has since
// left the lookback window are still deleted once their grace passes.
func TestPendingBeforeLookback(t *testing.T) {
	l := mustLake(t)
	hour := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	dir := l.dir("audit", hour)
	l.mustBatch(t, "audit", hour, 0, 10)
	l.mustBatch(t, "audit", hour, 5, 20)
	cfg := l.config(l.s3)
	cfg.Lookback = 3 * time.Hour
	if rep := l.mustRun(t, cfg); rep.Compacted != 1 || rep.Pending != 2 {
		t.Fatalf("report: %s", rep)
	}
	l.now = l.now.Add(72 * time.Hour)
	if rep := l.mustRun(t, cfg); rep.Deleted != 2 || rep.Compacted != 0 {
		t.Fatalf("three days later: %s", rep)
	}
	if keys := l.keys(t, l.prefix); len(keys) != 1 || !strings.HasPrefix(keys[0], dir+"compacted-") {
		t.Fatalf("objects: %v", keys)
	}
	if got := l.rows(t, "audit", dir); !slices.Equal(got, want("audit", 0, 20)) {
		t.Fatalf("rows: %d", len(got))
	}
}

// TestManifestWithoutOutputs: a manifest whose compacted file is gone
// (deleted by a concurrent run that failed) no longer supersedes its
// inputs: the next run compacts them again and deletes it.
func TestManifestWithoutOutputs(t *testing.T) {
	l := mustLake(t)
	hour := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	dir := l.dir("referrals", hour)
	l.mustBatch(t, "referrals", hour, 0, 30)
	l.mustBatch(t, "referrals", hour, 20, 40)
	l.mustRun(t, l.config(l.s3))
	for _, name := range l.live(t, dir) {
		if _, err := l.s3.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(l.bucket), Key: aws.String(dir + name)}); err != nil {
			t.Fatal(err)
		}
	}
	if rep := l.mustRun(t, l.config(l.s3)); rep.Compacted != 1 || rep.OutputRows != 40 {
		t.Fatalf("report: %s", rep)
	}
	if got := l.rows(t, "referrals", dir); !slices.Equal(got, want("referrals", 0, 40)) {
		t.Fatalf("rows: %d", len(got))
	}
	if m := l.keys(t, l.manifestDir(dir)); len(m) != 1 {
		t.Fatalf("manifests: %v", m)
	}
}

// TestStopsBeforeDeadline: a run whose context ends within the time a
// partition may take starts none and says so; with time, it does them.
func TestStopsBeforeDeadline(t *testing.T) {
	l := mustLake(t)
	hour := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	l.mustBatch(t, "events", hour, 0, 10)
	l.mustBatch(t, "events", hour, 10, 20)
	for _, tc := range []struct {
		name       string
		left       time.Duration
		unfinished bool
	}{{"Short", time.Minute, true}, {"Enough", 10 * time.Minute, false}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), tc.left)
			defer cancel()
			rep, err := Run(ctx, l.config(l.s3))
			if err != nil || rep.Unfinished != tc.unfinished || (rep.Compacted == 0) != tc.unfinished {
				t.Fatalf("report %s, err %v", rep, err)
			}
		})
	}
}

// TestMultipleOutputs: with a small TargetBytes an hour becomes several
// files of about that size, together every row once.
func TestMultipleOutputs(t *testing.T) {
	l := mustLake(t)
	hour := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	dir := l.dir("events", hour)
	for from := 0; from < 3000; from += 100 {
		l.mustBatch(t, "events", hour, from, from+100)
	}
	l.mustBatch(t, "events", hour, 1000, 1500)
	cfg := l.config(l.s3)
	cfg.TargetBytes = 5_000
	rep := l.mustRun(t, cfg)
	if rep.OutputFiles < 3 || rep.OutputRows != 3000 || rep.Duplicates != 500 {
		t.Fatalf("report: %s", rep)
	}
	if got := l.rows(t, "events", dir); !slices.Equal(sortedCopy(got), sortedCopy(want("events", 0, 3000))) {
		t.Fatalf("rows: %d, want 0-2999 once each", len(got))
	}
	live := l.live(t, dir)
	for i, name := range live {
		obj, err := l.s3.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(l.bucket), Key: aws.String(dir + name)})
		if err != nil {
			t.Fatal(err)
		}
		size := aws.ToInt64(obj.ContentLength)
		t.Logf("%s: %d bytes", name, size)
		if i < len(live)-1 && (size < cfg.TargetBytes/2 || size > cfg.TargetBytes*2) {
			t.Errorf("%s is %d bytes, target %d", name, size, cfg.TargetBytes)
		}
	}
	if rep := l.mustRun(t, cfg); rep.Compacted != 0 {
		t.Fatalf("rerun: %s", rep)
	}
}

func sortedCopy(s []string) []string { return slices.Sorted(slices.Values(s)) }

// dyingS3 is S3 as a process sees it that dies at a given request: that
// request and every later one fail, so nothing after it takes effect.
type dyingS3 struct {
	Client
	// dies reports whether a put or delete of key is where it dies.
	dies func(op, key string) bool
	dead atomic.Bool
}

var errDied = errors.New("the process died")

func (d *dyingS3) check(op, key string) error {
	if d.dead.Load() || d.dies(op, key) {
		d.dead.Store(true)
		return errDied
	}
	return nil
}

func (d *dyingS3) PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if err := d.check("put", aws.ToString(in.Key)); err != nil {
		return nil, err
	}
	return d.Client.PutObject(ctx, in, opts...)
}

func (d *dyingS3) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	if err := d.check("delete", aws.ToString(in.Key)); err != nil {
		return nil, err
	}
	return d.Client.DeleteObject(ctx, in, opts...)
}

// TestCrashConverges: a run that dies at any write leaves every row in a
// live file, and the next run ends where an uninterrupted one does: the
// rows once each, the inputs deleted after the grace.
func TestCrashConverges(t *testing.T) {
	for _, tc := range []struct {
		name string
		dies func(op, key string) bool
	}{
		{"BeforeSecondOutput", func(op, key string) bool { return op == "put" && strings.HasSuffix(key, "-1.parquet") }},
		{"BeforeManifest", func(op, key string) bool { return op == "put" && strings.Contains(key, manifestsDir) }},
		{"BeforeDeletion", func(op, key string) bool { return op == "delete" }},
		{"BeforeManifestDeletion", func(op, key string) bool {
			return op == "delete" && strings.Contains(key, manifestsDir)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := mustLake(t)
			hour := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
			dir := l.dir("event_credits", hour)
			for from := 0; from < 1200; from += 100 {
				l.mustBatch(t, "event_credits", hour, from, from+100)
			}
			l.mustBatch(t, "event_credits", hour, 150, 450)
			cfg := l.config(&dyingS3{Client: l.s3, dies: tc.dies})
			cfg.TargetBytes, cfg.Grace = 5_000, 0
			if _, err := Run(t.Context(), cfg); !errors.Is(err, errDied) {
				t.Fatalf("run: %v, want it to die", err)
			}
			got := l.rows(t, "event_credits", dir)
			if !slices.Equal(sortedCopy(slices.Compact(sortedCopy(got))), sortedCopy(want("event_credits", 0, 1200))) {
				t.Fatalf("after the crash the live files hold %d rows, not every row", len(got))
			}
			cfg.S3 = l.s3
			l.mustRun(t, cfg)
			if got := l.rows(t, "event_credits", dir); !slices.Equal(sortedCopy(got), sortedCopy(want("event_credits", 0, 1200))) {
				t.Fatalf("after the rerun: %d rows, want 0-1199 once each", len(got))
			}
			for _, k := range l.keys(t, l.prefix) {
				if !strings.HasPrefix(k, dir+"compacted-") {
					t.Errorf("left behind: %s", k)
				}
			}
			if rep := l.mustRun(t, cfg); rep.Compacted+rep.Deleted != 0 {
				t.Fatalf("third run: %s", rep)
			}
		})
	}
}

// oldEventRow is events before a column existed: compacting it would turn
// Athena's null into parquet-go's zero.
type oldEventRow struct {
	EventID        string `parquet:"event_id"`
	SequenceNumber string `parquet:"sequence_number"`
}

// TestOlderSchemaLeftAlone: a partition with a file lacking a column of
// the table is skipped, untouched, and reported; the others proceed.
func TestOlderSchemaLeftAlone(t *testing.T) {
	l := mustLake(t)
	hour := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	l.mustBatch(t, "events", hour, 0, 10)
	var buf bytes.Buffer
	if err := parquet.Write(&buf, []oldEventRow{{EventID: "old", SequenceNumber: "1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.s3.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(l.bucket), Key: aws.String(l.dir("events", hour) + "0-1-old.parquet"), Body: bytes.NewReader(buf.Bytes())}); err != nil {
		t.Fatal(err)
	}
	l.mustBatch(t, "assignments", hour, 0, 10)
	l.mustBatch(t, "assignments", hour, 10, 20)
	before := l.keys(t, l.dir("events", hour))
	rep := l.mustRun(t, l.config(l.s3))
	if rep.Skipped != 1 || rep.Compacted != 1 {
		t.Fatalf("report: %s", rep)
	}
	if after := l.keys(t, l.dir("events", hour)); !slices.Equal(before, after) {
		t.Fatalf("events partition changed: %v", after)
	}
}

// TestBadInput: a corrupt file or manifest fails its partition with its
// name, without a panic, and touches nothing; bad configurations are
// refused.
func TestBadInput(t *testing.T) {
	t.Run("CorruptFile", func(t *testing.T) {
		l := mustLake(t)
		hour := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
		l.mustBatch(t, "events", hour, 0, 10)
		key := l.dir("events", hour) + "9-9-bad.parquet"
		if _, err := l.s3.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(l.bucket), Key: aws.String(key), Body: strings.NewReader("PAR1 not parquet PAR1")}); err != nil {
			t.Fatal(err)
		}
		before := l.keys(t, "")
		_, err := Run(t.Context(), l.config(l.s3))
		if err == nil || !strings.Contains(err.Error(), "9-9-bad.parquet") {
			t.Fatalf("err = %v", err)
		}
		if after := l.keys(t, ""); !slices.Equal(before, after) {
			t.Fatalf("objects changed: %v", after)
		}
	})
	t.Run("Manifest", func(t *testing.T) {
		l := mustLake(t)
		hour := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
		l.mustBatch(t, "events", hour, 0, 10)
		key := l.manifestDir(l.dir("events", hour)) + "x.json"
		body := `{"written_at":"2026-01-01T00:00:00Z","inputs":["../../assignments/x.parquet"],"outputs":[]}`
		if _, err := l.s3.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(l.bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
		if _, err := Run(t.Context(), l.config(l.s3)); err == nil || !strings.Contains(err.Error(), "not a Parquet file of the partition") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Config", func(t *testing.T) {
		l := mustLake(t)
		for _, cfg := range []Config{
			{Bucket: "b"},
			{S3: l.s3},
			{S3: l.s3, Bucket: "b", Prefix: "export"},
			{S3: l.s3, Bucket: "b", Grace: -time.Second},
		} {
			if _, err := Run(t.Context(), cfg); err == nil {
				t.Errorf("%+v: no error", cfg)
			}
		}
	})
}
