package backfill_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/backfill"
	"github.com/refx-dev/refx/pkg/export/internal/lakefixture"
	"github.com/refx-dev/refx/pkg/export/streampoll"
	"github.com/refx-dev/refx/pkg/refx"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

// backfilled differs from the stream's rows in these columns only: the
// stream record's (sequence number, time and partition) are synthetic.
var streamColumns = []string{"sequence_number", "streamed_at", "dt", "hour"}

// TestBackfill exports real traffic, then backfills from the table: over
// the intact lake (nothing written), after deleting a partition's files
// (every view as before), again (nothing written), outside the range
// (nothing read in range), and at a bounded rate.
func TestBackfill(t *testing.T) {
	l := lakefixture.New(t, lakefixture.Options{BatchSize: 40, Prefix: export.DefaultPrefix})
	from := time.Now().Add(-time.Hour)
	l.Traffic(t)
	l.Drain(t)
	to := time.Now().Add(time.Hour)
	original := l.Views(t, streamColumns...)
	// An item the decoders refuse: counted, never written (the stream
	// put it in export_errors).
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if _, err := l.DDB.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(l.Table), Item: map[string]types.AttributeValue{
		"pk": s("EVENT#poison"), "sk": s("EVENT"), "entity": s("event"), "id": s("poison"), "type": s("signup"),
		"user": s("u00"), "value": s("twelve"), "occurred_at": s(now), "received_at": s(now),
	}}); err != nil {
		t.Fatal(err)
	}
	cfg := backfill.Config{
		DynamoDB: l.DDB, Table: l.Table, S3: l.S3C, Bucket: l.S3.Bucket(), Prefix: l.Prefix,
		From: from, To: to, ReadUnitsPerSecond: 10_000, Logger: lakefixture.Discard,
	}
	run := func(t *testing.T, cfg backfill.Config) *backfill.Report {
		t.Helper()
		rep, err := backfill.Run(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	var full *backfill.Report

	t.Run("IntactLakeWritesNothing", func(t *testing.T) {
		before := l.Objects(t)
		full = run(t, cfg)
		if full.Rows == 0 || full.Existing != full.Rows || full.Written != 0 || full.Objects != 0 || full.Undecodable != 1 || full.Undated != 0 {
			t.Fatalf("report %+v: want every row existing, one undecodable item, nothing written", full)
		}
		if after := l.Objects(t); !maps.Equal(before, after) {
			t.Fatalf("the bucket changed: %d objects before, %d after", len(before), len(after))
		}
	})

	t.Run("RestoresDeletedPartition", func(t *testing.T) {
		// Every table's files of the first batch's hour.
		first := l.Batches()[0].Records[0].Change.ApproximateCreationDateTime.UTC()
		part := first.Format("/dt=2006-01-02/hour=15/")
		deleted := l.Delete(t, func(key string) bool { return strings.Contains(key, part) })
		if len(deleted) < 5 {
			t.Fatalf("deleted %v: too little to prove anything", deleted)
		}
		if lakefixture.Diff(original, l.Views(t, streamColumns...)) == "" {
			t.Fatal("deleting the partition changed no view")
		}
		rep := run(t, cfg)
		if rep.Written == 0 || rep.Written+rep.Existing != rep.Rows || strings.Contains(strings.Join(keys(l.Objects(t)), " "), "export_errors/") {
			t.Fatalf("report %+v", rep)
		}
		if diff := lakefixture.Diff(original, l.Views(t, streamColumns...)); diff != "" {
			t.Fatalf("views after the backfill (missing and extra rows):\n%s", diff)
		}
	})

	t.Run("TwiceWritesNothing", func(t *testing.T) {
		before := l.Objects(t)
		if rep := run(t, cfg); rep.Written != 0 || rep.Objects != 0 || rep.Existing != rep.Rows {
			t.Fatalf("second backfill: %+v", rep)
		}
		if after := l.Objects(t); !maps.Equal(before, after) {
			t.Fatalf("the bucket changed: %d objects before, %d after", len(before), len(after))
		}
		if diff := lakefixture.Diff(original, l.Views(t, streamColumns...)); diff != "" {
			t.Fatalf("views after backfilling twice:\n%s", diff)
		}
	})

	t.Run("FromExport", func(t *testing.T) {
		exportPrefix := mustExport(t, l, "exports/AWSDynamoDB/01765000000000-0a1b2c3d/")
		c := cfg
		c.DynamoDB, c.Table, c.ReadUnitsPerSecond, c.ExportPrefix, c.PageSize = nil, "", 0, exportPrefix, 7
		if rep := run(t, c); rep.Items != full.Items || rep.Rows != full.Rows || rep.Existing != rep.Rows || rep.Undecodable != 1 {
			t.Fatalf("from the export over the lake: %+v, want what the scan read (%+v), all found", rep, full)
		}
		first := l.Batches()[0].Records[0].Change.ApproximateCreationDateTime.UTC()
		part := first.Format("/dt=2006-01-02/hour=15/")
		l.Delete(t, func(key string) bool { return strings.Contains(key, part) })
		if rep := run(t, c); rep.Written == 0 || rep.ReadUnits != 0 {
			t.Fatalf("from the export after deleting %s: %+v", part, rep)
		}
		if diff := lakefixture.Diff(original, l.Views(t, streamColumns...)); diff != "" {
			t.Fatalf("views after the backfill from the export (missing and extra rows):\n%s", diff)
		}
	})

	t.Run("OutsideRange", func(t *testing.T) {
		c := cfg
		c.From, c.To = to, to.Add(time.Hour)
		if rep := run(t, c); rep.Items == 0 || rep.InRange != 0 || rep.Rows != 0 || rep.Objects != 0 {
			t.Fatalf("backfill after the traffic: %+v", rep)
		}
	})

	t.Run("BoundedRate", func(t *testing.T) {
		c := cfg
		c.PageSize = 10
		c.ReadUnitsPerSecond = full.ReadUnits / 1.5
		start := time.Now()
		rep := run(t, c)
		elapsed := time.Since(start)
		// The last page is read without waiting after it.
		if min := time.Duration(0.8 * rep.ReadUnits / c.ReadUnitsPerSecond * float64(time.Second)); elapsed < min || rep.Pages < 5 {
			t.Fatalf("%.1f read units in %d pages took %v at %.1f units/s, want at least %v", rep.ReadUnits, rep.Pages, elapsed, c.ReadUnitsPerSecond, min)
		}
		t.Logf("%.1f read units in %d pages: %v at %.1f units/s", rep.ReadUnits, rep.Pages, elapsed, c.ReadUnitsPerSecond)
	})
}

// mustExport writes the table as ExportTableToPointInTime does (format
// DYNAMODB_JSON) under prefix in the lake's bucket: data files of
// {"Item": …} lines, gzipped, and manifest-files.json naming them.
func mustExport(t *testing.T, l *lakefixture.Lake, prefix string) string {
	t.Helper()
	var lines [][]byte
	p := dynamodb.NewScanPaginator(l.DDB, &dynamodb.ScanInput{TableName: aws.String(l.Table)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range page.Items {
			b, err := json.Marshal(map[string]any{"Item": streampoll.LambdaImage(item)})
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, b)
		}
	}
	var manifest bytes.Buffer
	for i, chunk := range [][][]byte{lines[:len(lines)/2], lines[len(lines)/2:]} {
		var gz bytes.Buffer
		w := gzip.NewWriter(&gz)
		for _, line := range chunk {
			w.Write(append(line, '\n'))
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprintf("%sdata/part-%d.json.gz", prefix, i)
		put(t, l, key, gz.Bytes())
		fmt.Fprintf(&manifest, `{"itemCount":%d,"md5Checksum":"x","etag":"y","dataFileS3Key":%q}`+"\n", len(chunk), key)
	}
	put(t, l, prefix+"manifest-files.json", manifest.Bytes())
	return prefix
}

func put(t *testing.T, l *lakefixture.Lake, key string, body []byte) {
	t.Helper()
	if _, err := l.S3C.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(l.S3.Bucket()), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

func TestBackfillBadConfig(t *testing.T) {
	ok := backfill.Config{DynamoDB: &dynamodb.Client{}, Table: "refx", Bucket: "b", From: time.Unix(0, 0), To: time.Unix(60, 0), ReadUnitsPerSecond: 1}
	for _, tc := range []struct {
		name string
		edit func(c *backfill.Config)
		want string
	}{
		{"ErrNoS3", func(*backfill.Config) {}, "no DynamoDB or S3 client"},
		{"ErrNoTable", func(c *backfill.Config) { c.Table = "" }, "name the table"},
		{"ErrPrefix", func(c *backfill.Config) { c.Prefix = "export" }, "must end with /"},
		{"ErrEmptyRange", func(c *backfill.Config) { c.To = c.From }, "is empty"},
		{"ErrNoFrom", func(c *backfill.Config) { c.From = time.Time{} }, "is empty"},
		{"ErrRate", func(c *backfill.Config) { c.ReadUnitsPerSecond = 0 }, "must be positive"},
		{"ErrExportPrefix", func(c *backfill.Config) { c.ExportPrefix = "exports/AWSDynamoDB/x" }, "must end with /"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			if tc.name != "ErrNoS3" {
				c.S3 = noS3{}
			}
			tc.edit(&c)
			_, err := backfill.Run(t.Context(), c)
			if err == nil || refx.ErrorCode(err) != refx.EINVALID || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run = %v, want %s containing %q", err, refx.EINVALID, tc.want)
			}
		})
	}
}

// noS3 stands for a client the validation refuses before any call.
type noS3 struct{ backfill.S3 }

func keys(m map[string]string) []string { return slices.Collect(maps.Keys(m)) }

// TestBackfillWriteTime: the backfill dates an item by its write, which
// must land it within an hour of the stream's copy: an item written at
// 10:59:59.9 whose stream record is dated 11:00:00 (found in the next
// hour), an assignment linked from an anonymous visitor's hours after that
// one was assigned (dated by linked_at, not the assigned_at it copies);
// and an attribution reviewed since its export is found under its old
// status.
func TestBackfillWriteTime(t *testing.T) {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	ts := func(t time.Time) types.AttributeValue { return s(t.Format(time.RFC3339Nano)) }
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(h, m, sec, ms int) time.Time {
		return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second + time.Duration(ms)*time.Millisecond)
	}
	type write struct {
		item     map[string]types.AttributeValue
		streamed time.Time
		// later, when set, is the item as the table holds it after later
		// changes the export leaves out.
		later map[string]types.AttributeValue
	}
	assignment := func(user string, assigned time.Time) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			"pk": s("USER#" + user), "sk": s("ASSIGN#cta"), "entity": s("assignment"), "experiment": s("cta"),
			"user": s(user), "variant": s("bold"), "assigned_at": ts(assigned),
		}
	}
	attribution := func(status string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			"pk": s("REFEREE#friend-1"), "sk": s("ATTRIBUTION"), "entity": s("attribution"), "referee": s("friend-1"),
			"referrer": s("ref-1"), "code": s("ABCD2345"), "experiment": s("invite"), "variant": s("give10"),
			"counted": &types.AttributeValueMemberBOOL{Value: true}, "status": s(status), "attributed_at": ts(at(9, 0, 0, 0)),
		}
	}
	reviewed := attribution("rejected")
	reviewed["review_decision"] = s("reject")
	linked := assignment("member-1", at(5, 0, 0, 0))
	linked["linked_from"], linked["linked_at"] = s("anon-1"), ts(at(10, 30, 0, 0))
	for _, tc := range []struct {
		name   string
		writes []write
		// hour is where the backfill writes once the stream's copies are gone.
		hours []string
	}{
		{"BeforeTheHour", []write{{map[string]types.AttributeValue{
			"pk": s("EVENT#" + lakefixture.EventID(1)), "sk": s("EVENT"), "entity": s("event"), "id": s(lakefixture.EventID(1)),
			"type": s("signup"), "user": s("u1"), "occurred_at": ts(at(10, 59, 59, 900)), "received_at": ts(at(10, 59, 59, 900)),
		}, at(11, 0, 0, 100), nil}}, []string{"events/dt=2026-01-01/hour=10/"}},
		{"LinkedAssignment", []write{
			{assignment("anon-1", at(5, 0, 0, 0)), at(5, 0, 0, 0), nil},
			{linked, at(10, 30, 0, 0), nil},
		}, []string{"assignments/dt=2026-01-01/hour=05/", "assignments/dt=2026-01-01/hour=10/"}},
		// Exported flagged; the table holds it rejected.
		{"ReviewedAttribution", []write{{attribution("flagged"), at(9, 0, 0, 0), reviewed}},
			[]string{"attributions/dt=2026-01-01/hour=09/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := lakefixture.New(t, lakefixture.Options{BatchSize: 10, Prefix: export.DefaultPrefix})
			for i, w := range tc.writes {
				if _, err := l.DDB.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(l.Table), Item: w.item}); err != nil {
					t.Fatal(err)
				}
				// The stream's record of the write, exported as the Lambda would.
				image := streampoll.LambdaImage(w.item)
				resp, err := l.Exporter.Handle(t.Context(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{
					EventID: fmt.Sprint(i), EventName: "INSERT", EventSource: "aws:dynamodb",
					Change: events.DynamoDBStreamRecord{
						Keys: map[string]events.DynamoDBAttributeValue{"pk": image["pk"], "sk": image["sk"]}, NewImage: image,
						SequenceNumber: fmt.Sprintf("%021d", i+1), StreamViewType: "NEW_AND_OLD_IMAGES",
						ApproximateCreationDateTime: events.SecondsEpochTime{Time: w.streamed},
					},
				}}})
				if err != nil || len(resp.BatchItemFailures) > 0 {
					t.Fatal(err, resp)
				}
				if w.later != nil {
					if _, err := l.DDB.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(l.Table), Item: w.later}); err != nil {
						t.Fatal(err)
					}
				}
			}
			cfg := backfill.Config{
				DynamoDB: l.DDB, Table: l.Table, S3: l.S3C, Bucket: l.S3.Bucket(), Prefix: l.Prefix,
				From: day, To: day.Add(24 * time.Hour), ReadUnitsPerSecond: 1000, Logger: lakefixture.Discard,
			}
			rep, err := backfill.Run(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(tc.writes); rep.InRange != n || rep.Rows != n || rep.Existing != n || rep.Written != 0 {
				t.Fatalf("over the stream's copies: %+v, want all %d rows found", rep, n)
			}
			l.Delete(t, func(string) bool { return true })
			if rep, err = backfill.Run(t.Context(), cfg); err != nil || rep.Written != len(tc.writes) {
				t.Fatalf("without the stream's copies: %+v, %v; want the rows written", rep, err)
			}
			var dirs []string
			for k := range l.Objects(t) {
				dir, _, _ := strings.Cut(strings.TrimPrefix(k, l.Prefix), "backfill-")
				dirs = append(dirs, dir)
			}
			if slices.Sort(dirs); !slices.Equal(dirs, tc.hours) {
				t.Errorf("backfilled into %v, want %v", dirs, tc.hours)
			}
		})
	}
}

// BenchmarkBackfill measures a backfill of n event items: over the lake the
// stream exported (every row found, nothing written) and over an empty one
// (every row written).
//
//	go test ./pkg/export/backfill -run '^$' -bench Backfill -benchtime 1x
func BenchmarkBackfill(b *testing.B) {
	const n = 5000
	l := lakefixture.New(b, lakefixture.Options{BatchSize: 1000, Prefix: export.DefaultPrefix})
	start := time.Now().UTC()
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	for i := 0; i < n; i += 25 {
		var writes []types.WriteRequest
		for j := i; j < min(i+25, n); j++ {
			id, at := lakefixture.EventID(j), time.Now().UTC().Format(time.RFC3339Nano)
			writes = append(writes, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
				"pk": s("EVENT#" + id), "sk": s("EVENT"), "entity": s("event"), "id": s(id), "type": s("signup"),
				"user": s(fmt.Sprintf("u%05d", j)), "occurred_at": s(at), "received_at": s(at),
			}}})
		}
		if _, err := l.DDB.BatchWriteItem(b.Context(), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{l.Table: writes}}); err != nil {
			b.Fatal(err)
		}
	}
	l.Drain(b)
	cfg := backfill.Config{
		DynamoDB: l.DDB, Table: l.Table, S3: l.S3C, Bucket: l.S3.Bucket(), Prefix: l.Prefix,
		From: start.Add(-time.Minute), To: time.Now().Add(time.Minute), ReadUnitsPerSecond: 1e6, Logger: lakefixture.Discard,
	}
	for b.Loop() {
		for _, lake := range []string{"exported", "empty"} {
			if lake == "empty" {
				l.Delete(b, func(string) bool { return true })
			}
			t0 := time.Now()
			rep, err := backfill.Run(b.Context(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			d := time.Since(t0)
			b.Logf("%s lake: %d items (%.0f read units) in %v, %.0f items/s; %d rows found, %d written in %d objects",
				lake, rep.Items, rep.ReadUnits, d.Round(time.Millisecond), float64(rep.Items)/d.Seconds(), rep.Existing, rep.Written, rep.Objects)
		}
	}
}
