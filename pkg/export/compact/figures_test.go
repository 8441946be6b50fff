package compact_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/compact"
	"github.com/refx-dev/refx/pkg/export/internal/lakefixture"
	"github.com/refx-dev/refx/pkg/s3local"
)

// TestCompactionFigures measures files and bytes per hour before and after
// compaction at a stated event rate: events (each with one credit, as
// BenchmarkEncode's rows: a UUID, a user among 50,000, a value, JSON
// properties) exported in batch files of eventsPerFile records, as the
// export Lambda writes them at 1,000 events/s (about 540 objects a minute
// over the tables). It simulates REFX_COMPACT_SECONDS seconds of the hour
// (default 20; 3600 for a whole hour) at REFX_COMPACT_RATE events/s
// (default 1000), logs the figures scaled to an hour, and checks that the
// compacted files hold every row once.
//
//	REFX_COMPACT_SECONDS=600 go test -run TestCompactionFigures -v ./pkg/export/compact
func TestCompactionFigures(t *testing.T) {
	rate, seconds := envInt(t, "REFX_COMPACT_RATE", 1000), envInt(t, "REFX_COMPACT_SECONDS", 20)
	const eventsPerFile = 220
	srv, err := s3local.Start(t.Context(), s3local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	client, err := srv.Client(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	hour := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	part := hour.Format("dt=2006-01-02/hour=15")
	n := rate * seconds
	files, size := map[string]int{}, map[string]int64{}
	put := func(table *export.Table, key string, rows []any) {
		body, err := table.Encode(rows)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(srv.Bucket()), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
		files[table.Name]++
		size[table.Name] += int64(len(body))
	}
	for first := 0; first < n; first += eventsPerFile {
		var evs, credits []any
		for i := first; i < min(first+eventsPerFile, n); i++ {
			ev, credit := realisticEvent(hour, i, rate)
			evs, credits = append(evs, ev), append(credits, credit)
		}
		name := fmt.Sprintf("%040d-%040d-%08x.parquet", first, first+len(evs)-1, first)
		put(export.Events, export.DefaultPrefix+"events/"+part+"/"+name, evs)
		put(export.Credits, export.DefaultPrefix+"event_credits/"+part+"/"+name, credits)
	}

	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	rep, err := compact.Run(t.Context(), compact.Config{
		S3: client, Bucket: srv.Bucket(), Prefix: export.DefaultPrefix,
		Now: func() time.Time { return hour.Add(2 * time.Hour) }, Logger: lakefixture.Discard,
	})
	elapsed := time.Since(start)
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OutputRows != 2*n || rep.Duplicates != 0 || rep.Compacted != 2 {
		t.Fatalf("report %s; want %d rows in 2 partitions", rep, 2*n)
	}
	scale := 3600 / float64(seconds)
	t.Logf("%d events/s, %d s simulated (figures per hour scale by %.0f):", rate, seconds, scale)
	for _, table := range []string{"events", "event_credits"} {
		t.Logf("  %-13s before: %6.0f files/h, %8.1f MB/h, %5.1f KB/file", table, float64(files[table])*scale, float64(size[table])*scale/1e6, float64(size[table])/float64(files[table])/1e3)
	}
	t.Logf("  after: %d files, %.1f MB for the simulated %d s: %.1f MB/h, %.0f files of up to 128 MiB per table and hour",
		rep.OutputFiles, float64(rep.OutputBytes)/1e6, seconds, float64(rep.OutputBytes)*scale/1e6,
		math.Ceil(float64(rep.OutputBytes)*scale/2/compact.DefaultTargetBytes))
	t.Logf("  compaction: %v for %d rows (%.0f rows/s on this machine), peak heap %.0f MB",
		elapsed.Round(time.Millisecond), rep.InputRows, float64(rep.InputRows)/elapsed.Seconds(), float64(peak.Load())/1e6)
}

// realisticEvent is event i of the simulated hour and its credit.
func realisticEvent(hour time.Time, i, rate int) (export.EventRow, export.CreditRow) {
	h := sha256.Sum256([]byte(strconv.Itoa(i)))
	id := fmt.Sprintf("%x-%x-4%x-8%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])[:36]
	at := hour.Add(time.Duration(i) * time.Second / time.Duration(rate)).Truncate(time.Millisecond)
	typ := []string{"signup", "purchase", "invite_sent"}[i%3]
	user := fmt.Sprintf("user-%06d", i%50_000)
	value := int64(i%50_000) * 100
	props := `{"plan":"pro","source":"email"}`
	seq := fmt.Sprintf("%040d", 44215845_000000000+i)
	ev := export.EventRow{
		EventID: id, Type: typ, UserID: user, Value: &value, OccurredAt: at, ReceivedAt: at,
		Properties: &props, Credits: 1, SequenceNumber: seq, StreamedAt: at.Truncate(time.Second),
	}
	credit := export.CreditRow{
		EventID: id, Experiment: "cta", Variant: []string{"control", "bold"}[i%2], Goal: typ, UserID: user,
		FirstConversion: i%7 == 0, Value: &value, OccurredAt: at, ReceivedAt: at,
		SequenceNumber: seq, StreamedAt: at.Truncate(time.Second), Phase: 1,
	}
	return ev, credit
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}
