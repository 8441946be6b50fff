// Package lakefixture builds, for the tests of the export and of its
// operations tools (compaction, replay, backfill), a lake exported from real
// traffic: the API and store on a fresh DynamoDB Local table, its stream
// read by streampoll into the exporter, the files in the in-process S3, and
// the Athena views over them through DuckDB.
package lakefixture

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/refx-dev/refx/pkg/ddblocal"
	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/localquery"
	"github.com/refx-dev/refx/pkg/export/streampoll"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/s3local"
)

const adminKey = "lakefixture-admin-key-0123456789"

// Discard is a logger for the tools under test.
var Discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// Options shape the lake.
type Options struct {
	// BatchSize is how many records the poller hands the exporter at most.
	BatchSize int32
	// Prefix is the exporter's key prefix: export.DefaultPrefix as deployed,
	// or "" for the bucket's root.
	Prefix string
	// WrapS3 wraps the S3 client the exporter writes through, to inject
	// faults; the lake's own reads and deletes bypass it.
	WrapS3 func(export.ObjectPutter) export.ObjectPutter
}

// Lake is the pipeline on real parts.
type Lake struct {
	DDB       *dynamodb.Client
	Table     string
	Store     *dynamo.Store
	Streams   *dynamodbstreams.Client
	StreamARN string
	S3        *s3local.Server
	S3C       *s3.Client
	Exporter  *export.Exporter
	// Prefix is where the exporter writes, as in Options.
	Prefix string

	api    *httptest.Server
	poller *streampoll.Poller

	mu sync.Mutex
	// batches are the batches the poller handed the exporter, in order.
	batches []events.DynamoDBEvent
}

// New starts the pipeline; it stops with the test.
func New(tb testing.TB, opts Options) *Lake {
	tb.Helper()
	ctx := tb.Context()
	client, table := dynamotest.NewTable(tb)
	l := &Lake{DDB: client, Table: table, Store: dynamo.New(client, table, dynamo.Options{Logger: Discard}), Streams: dynamotest.StreamsClient(tb), Prefix: opts.Prefix}
	api := &httpapi.Server{
		Experiments: l.Store, Assignments: l.Store, Events: l.Store, Results: l.Store, Referrals: l.Store,
		Ping: l.Store.Ping, AdminKey: adminKey, Keys: l.Store, Keyless: true, HashKey: []byte("lakefixture-hash"), Logger: Discard,
	}
	l.api = httptest.NewServer(api.Handler(httpapi.AllRoutes))
	tb.Cleanup(l.api.Close)
	srv, err := s3local.Start(ctx, s3local.Options{Dir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	l.S3 = srv
	if l.S3C, err = srv.Client(ctx); err != nil {
		tb.Fatal(err)
	}
	var putter export.ObjectPutter = l.S3C
	if opts.WrapS3 != nil {
		putter = opts.WrapS3(putter)
	}
	if l.Exporter, err = export.New(export.Config{S3: putter, Bucket: srv.Bucket(), Prefix: l.Prefix, Logger: Discard}); err != nil {
		tb.Fatal(err)
	}
	if l.StreamARN, err = streampoll.LatestStreamARN(ctx, l.Streams, table); err != nil {
		tb.Fatal(err)
	}
	l.poller, err = streampoll.New(streampoll.Config{
		Streams: l.Streams, StreamARN: l.StreamARN, BatchSize: opts.BatchSize, Logger: Discard,
		Handler: func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			l.mu.Lock()
			l.batches = append(l.batches, ev)
			l.mu.Unlock()
			return l.Exporter.Handle(ctx, ev)
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// Traffic writes, through the API and the store, what every view reads:
// two experiments (one a referral experiment, one updated to a second
// version), enrolments, events with values and credits, referral codes,
// clicks, attributed and refused signups, referee purchases.
func (l *Lake) Traffic(tb testing.TB) {
	tb.Helper()
	ctx := tb.Context()
	l.Call(tb, http.MethodPost, "/v1/experiments", `{"id":"cta","name":"CTA","variants":[{"key":"control","weight":50},{"key":"bold","weight":50}],
		"control":"control","goals":[{"key":"signup","kind":"binomial"},{"key":"purchase","kind":"value"}]}`, nil)
	l.Call(tb, http.MethodPost, "/v1/experiments/cta/start", "", nil)
	l.Call(tb, http.MethodPost, "/v1/experiments", `{"id":"invite","name":"Invite","variants":[{"key":"give10","weight":1},{"key":"give20","weight":1}],
		"goals":[{"key":"purchase","kind":"value"}],"referral":{"landing_url":"https://example.com/join","conversion_goal":"purchase"}}`, nil)
	l.Call(tb, http.MethodPost, "/v1/experiments/invite/start", "", nil)
	for u := range 12 {
		l.Call(tb, http.MethodPost, "/v1/assign", fmt.Sprintf(`{"experiment":"cta","user":"u%02d"}`, u), nil)
		l.Call(tb, http.MethodPost, "/v1/events", fmt.Sprintf(`{"id":"%s","type":"signup","user":"u%02d"}`, EventID(u), u), nil)
		if u%2 == 0 {
			l.Call(tb, http.MethodPost, "/v1/events", fmt.Sprintf(`{"id":"%s","type":"purchase","user":"u%02d","value":%d.25}`, EventID(100+u), u, u), nil)
		}
	}
	for r := range 3 {
		link, err := l.Store.CreateReferral(ctx, "invite", fmt.Sprintf("ref%d", r))
		if err != nil {
			tb.Fatal(err)
		}
		for v := range r + 1 {
			visitor := fmt.Sprintf("visitor-%d-%d-abcdefghijkl", r, v)
			if _, err := l.Store.RecordClick(ctx, refx.Click{Code: link.Code, Visitor: visitor, IPHash: fmt.Sprint("ip", r, v)}); err != nil {
				tb.Fatal(err)
			}
			referee := fmt.Sprintf("friend-%d-%d", r, v)
			if _, err := l.Store.Attribute(ctx, refx.Signup{Code: link.Code, Referee: referee, Visitor: visitor}); err != nil {
				tb.Fatal(err)
			}
			l.Call(tb, http.MethodPost, "/v1/events", fmt.Sprintf(`{"id":"%s","type":"purchase","user":%q,"value":9.5}`, EventID(200+10*r+v), referee), nil)
		}
		if r == 2 { // a self-referral: refused
			if _, err := l.Store.Attribute(ctx, refx.Signup{Code: link.Code, Referee: "ref2"}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	var cta refx.Experiment
	l.Call(tb, http.MethodGet, "/v1/experiments/cta", "", &cta)
	l.Call(tb, http.MethodPatch, "/v1/experiments/cta", fmt.Sprintf(`{"version":%d,"hypothesis":"bolder converts"}`, cta.Version), nil)
}

// EventID is a valid UUID numbered n.
func EventID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// Drain runs the poller to the end of the stream and returns how many
// records it handed the exporter.
func (l *Lake) Drain(tb testing.TB) int {
	tb.Helper()
	n, err := l.poller.Drain(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// Batches returns the batches exported so far.
func (l *Lake) Batches() []events.DynamoDBEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.batches)
}

// Call sends an admin request to the API, fails the test on a status of
// 300 or more, decodes the answer into out unless it is nil, and returns
// the status.
func (l *Lake) Call(tb testing.TB, method, path, body string, out any) int {
	tb.Helper()
	req, err := http.NewRequestWithContext(tb.Context(), method, l.api.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		tb.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			tb.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return res.StatusCode
}

// Objects lists the bucket's keys under the lake's prefix with their ETags.
func (l *Lake) Objects(tb testing.TB) map[string]string {
	tb.Helper()
	out := map[string]string{}
	p := s3.NewListObjectsV2Paginator(l.S3C, &s3.ListObjectsV2Input{Bucket: aws.String(l.S3.Bucket()), Prefix: aws.String(l.Prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(tb.Context())
		if err != nil {
			tb.Fatal(err)
		}
		for _, o := range page.Contents {
			out[aws.ToString(o.Key)] = aws.ToString(o.ETag)
		}
	}
	return out
}

// Delete removes the objects whose keys match.
func (l *Lake) Delete(tb testing.TB, match func(key string) bool) []string {
	tb.Helper()
	var deleted []string
	for key := range l.Objects(tb) {
		if !match(key) {
			continue
		}
		if _, err := l.S3C.DeleteObject(tb.Context(), &s3.DeleteObjectInput{Bucket: aws.String(l.S3.Bucket()), Key: aws.String(key)}); err != nil {
			tb.Fatal(err)
		}
		deleted = append(deleted, key)
	}
	slices.Sort(deleted)
	return deleted
}

// MustQueryDB opens DuckDB over the bucket's files as they are now, with
// the tables and views of schema/athena; it closes with the test.
func (l *Lake) MustQueryDB(tb testing.TB) *localquery.DB {
	tb.Helper()
	db := l.open(tb)
	tb.Cleanup(func() { db.Close() })
	return db
}

func (l *Lake) open(tb testing.TB) *localquery.DB {
	tb.Helper()
	db, err := localquery.Open(tb.Context(), localquery.Options{Root: l.S3.BucketDir(), Prefix: l.Prefix, SchemaDir: SchemaDir(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	return db
}

// SchemaDir is the repository's schema/athena.
func SchemaDir(tb testing.TB) string {
	tb.Helper()
	root, err := ddblocal.RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	return filepath.Join(root, "schema", "athena")
}

// Views reads every view of schema/athena/views over the files as they
// are now: per view, its rows as text, sorted, without the columns named
// in omit. Each call opens DuckDB afresh, so a test reading the views many
// times does not hold a database per read.
func (l *Lake) Views(tb testing.TB, omit ...string) map[string][]string {
	tb.Helper()
	db := l.open(tb)
	defer db.Close()
	files, err := filepath.Glob(filepath.Join(SchemaDir(tb), "views", "*.sql"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no views in %s: %v", SchemaDir(tb), err)
	}
	out := map[string][]string{}
	for _, f := range files {
		view := strings.TrimSuffix(filepath.Base(f), ".sql")
		res, err := db.Query(tb.Context(), "SELECT * FROM "+view)
		if err != nil {
			tb.Fatalf("%s: %v", view, err)
		}
		out[view] = Text(res, omit...)
	}
	return out
}

// Text is a result's rows as text ("column=value ..."), sorted, without
// the columns named in omit: rows compare as strings, whatever their order.
func Text(res *localquery.Result, omit ...string) []string {
	rows := []string{}
	for _, r := range res.Rows {
		var cells []string
		for i, c := range res.Columns {
			if !slices.Contains(omit, c) {
				cells = append(cells, c+"="+localquery.Format(r[i]))
			}
		}
		rows = append(rows, strings.Join(cells, " "))
	}
	slices.Sort(rows)
	return rows
}

// Diff describes how views got differs from want: per view, the rows
// missing and the rows extra (each copy counts); "" when equal.
func Diff(want, got map[string][]string) string {
	var b strings.Builder
	views := slices.Sorted(maps.Keys(want))
	for v := range got {
		if _, ok := want[v]; !ok {
			views = append(views, v)
		}
	}
	for _, v := range views {
		count := map[string]int{}
		for _, r := range want[v] {
			count[r]++
		}
		for _, r := range got[v] {
			count[r]--
		}
		for _, r := range slices.Sorted(maps.Keys(count)) {
			switch n := count[r]; {
			case n > 0:
				fmt.Fprintf(&b, "%s: missing %d× %s\n", v, n, r)
			case n < 0:
				fmt.Fprintf(&b, "%s: extra %d× %s\n", v, -n, r)
			}
		}
	}
	return b.String()
}
