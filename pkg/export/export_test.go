package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/internal/lakefixture"
	"github.com/refx-dev/refx/pkg/s3local"
)

// MustEvent reads a recorded Lambda event from testdata.
func MustEvent(tb testing.TB, name string) events.DynamoDBEvent {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		tb.Fatal(err)
	}
	return ev
}

// MustS3 starts an in-memory local S3 and returns an exporter writing to it.
func MustS3(tb testing.TB) (*s3local.Server, *s3.Client, *export.Exporter) {
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
	x, err := export.New(export.Config{S3: c, Bucket: srv.Bucket(), Logger: lakefixture.Discard})
	if err != nil {
		tb.Fatal(err)
	}
	return srv, c, x
}

func decodeObject[T any](tb testing.TB, o export.Object) []T {
	tb.Helper()
	rows, err := parquet.Read[T](bytes.NewReader(o.Body), int64(len(o.Body)))
	if err != nil {
		tb.Fatalf("%s: %v", o.Key, err)
	}
	return rows
}

var objectKey = regexp.MustCompile(`^(\w+)/dt=\d{4}-\d{2}-\d{2}/hour=\d{2}/\d{40}-\d{40}-[0-9a-f]{8}\.parquet$`)

// TestEncodeFixture decodes a recorded Lambda batch: an event with two
// credits (one a referral credit), a counter update (skipped) and an
// assignment an hour later (another partition).
func TestEncodeFixture(t *testing.T) {
	_, _, x := MustS3(t)
	b, err := x.Encode(MustEvent(t, "batch.json"))
	if err != nil {
		t.Fatal(err)
	}
	if b.Records != 3 || b.Rows != 4 || b.Skipped != 1 || b.Failed != 0 {
		t.Fatalf("batch counts %+v", b)
	}
	byTable := map[string]export.Object{}
	for _, o := range b.Objects {
		m := objectKey.FindStringSubmatch(o.Key)
		if m == nil || m[1] != o.Table.Name {
			t.Errorf("key %q", o.Key)
		}
		byTable[o.Table.Name] = o
	}
	name := "0000000000004421584500000000017450439091-0000000000004421584500000000017450439093-"
	if o := byTable["events"]; !strings.HasPrefix(o.Key, "events/dt=2026-01-01/hour=00/"+name) {
		t.Errorf("events key %q", o.Key)
	}
	if o := byTable["assignments"]; !strings.HasPrefix(o.Key, "assignments/dt=2026-01-01/hour=01/"+name) {
		t.Errorf("assignments key %q", o.Key)
	}

	ev := decodeObject[export.EventRow](t, byTable["events"])
	want := export.EventRow{
		EventID: "6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90", Type: "purchase", UserID: "u-42", Value: aws.Int64(199901),
		OccurredAt: time.Date(2025, 12, 31, 23, 59, 59, 123e6, time.UTC), ReceivedAt: time.Date(2026, 1, 1, 0, 0, 0, 500e6, time.UTC),
		Properties: aws.String(`{"sku":"A1"}`), Credits: 2,
		SequenceNumber: "0000000000004421584500000000017450439091", StreamedAt: time.Unix(1767225600, 0).UTC(),
	}
	if len(ev) != 1 || !equalJSON(ev[0], want) {
		t.Errorf("event rows %+v\nwant %+v", ev, want)
	}
	credits := decodeObject[export.CreditRow](t, byTable["event_credits"])
	if len(credits) != 2 || credits[0].Referrer != nil || !credits[0].FirstConversion || credits[0].Variant != "bold" ||
		credits[1].Referrer == nil || *credits[1].Referrer != "ref-1" || credits[1].Experiment != "invite" || *credits[1].Value != 199901 {
		t.Errorf("credit rows %+v", credits)
	}
	asn := decodeObject[export.AssignmentRow](t, byTable["assignments"])
	if len(asn) != 1 || asn[0].UserID != "u-43" || asn[0].Variant != "control" {
		t.Errorf("assignment rows %+v", asn)
	}

	// Deterministic: the same batch encodes to the same keys and bytes.
	again, err := x.Encode(MustEvent(t, "batch.json"))
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range again.Objects {
		if o.Key != b.Objects[i].Key || !bytes.Equal(o.Body, b.Objects[i].Body) {
			t.Errorf("object %d differs on a second encoding: %s", i, o.Key)
		}
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestTTLExpiryNotExported feeds TTL deletions as AWS and DynamoDB Local
// deliver them: no business rows, no error rows, no failures.
func TestTTLExpiryNotExported(t *testing.T) {
	for _, fixture := range []string{"ttl-expiry-aws.json", "ttl-expiry-ddblocal.json"} {
		t.Run(strings.TrimSuffix(fixture, ".json"), func(t *testing.T) {
			srv, c, x := MustS3(t)
			ev := MustEvent(t, fixture)
			b, err := x.Encode(ev)
			if err != nil {
				t.Fatal(err)
			}
			if b.Expired != 1 || b.Skipped != 1 || len(b.Objects) != 0 {
				t.Fatalf("batch %+v", b)
			}
			resp, err := x.Handle(t.Context(), ev)
			if err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("Handle: %+v, %v", resp, err)
			}
			out, err := c.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(srv.Bucket())})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Contents) != 0 {
				t.Fatalf("%d objects written for a TTL expiry", len(out.Contents))
			}
		})
	}
}

// flakyS3 fails the first put of each key under a prefix, as a throttled or
// unreachable S3 would, and counts the failures.
type flakyS3 struct {
	export.ObjectPutter
	prefix string
	mu     sync.Mutex
	failed map[string]bool
}

func (f *flakyS3) PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	key := aws.ToString(in.Key)
	f.mu.Lock()
	fail := strings.HasPrefix(key, f.prefix) && !f.failed[key]
	if fail {
		f.failed[key] = true
	}
	f.mu.Unlock()
	if fail {
		return nil, errors.New("injected: SlowDown")
	}
	return f.ObjectPutter.PutObject(ctx, in, opts...)
}

// TestPartialFailureRetried fails S3 writes of one table: the exporter
// reports those records as batch item failures, the poller retries from the
// first of them, and in the end the views hold every event once and the
// recompute still equals the results API.
func TestPartialFailureRetried(t *testing.T) {
	var flaky *flakyS3
	st := MustStack(t, stackOptions{wrapS3: func(p export.ObjectPutter) export.ObjectPutter {
		flaky = &flakyS3{ObjectPutter: p, prefix: "event_credits/", failed: map[string]bool{}}
		return flaky
	}})
	tr := MustTraffic(t, st)
	st.Drain(t)
	flaky.mu.Lock()
	failures := len(flaky.failed)
	flaky.mu.Unlock()
	if failures == 0 {
		t.Fatal("no write failed: the test injected nothing")
	}
	calls := len(st.Batches())
	if calls <= failures {
		t.Fatalf("%d handler calls for %d failed writes: nothing was retried", calls, failures)
	}
	db := st.MustQueryDB(t)
	if n := scalar(t, db, "SELECT count(*) FROM events_unique"); n != int64(len(tr.recorded)) {
		t.Fatalf("events_unique has %d rows, want %d", n, len(tr.recorded))
	}
	for _, id := range []string{"cta", "invite"} {
		assertResultsMatch(t, db, st.results(t, id))
	}
}
