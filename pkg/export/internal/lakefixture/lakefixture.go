// Package lakefixture builds, for the tests of the export's operations
// tools (replay, backfill), a lake exported from real traffic: the API and
// store on a fresh DynamoDB Local table, its stream read by streampoll into
// the exporter, the files in the in-process S3 under the deployed prefix,
// and the Athena views over them through DuckDB.
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

// Prefix is the deployed export prefix, which the lake uses too.
const Prefix = "export/"

const adminKey = "lakefixture-admin-key-0123456789"

// Discard is a logger for the tools under test.
var Discard = slog.New(slog.NewTextHandler(io.Discard, nil))

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

	api    *httptest.Server
	poller *streampoll.Poller

	mu sync.Mutex
	// batches are the batches the poller handed the exporter, in order.
	batches []events.DynamoDBEvent
}

// New starts the pipeline; it stops with the test. The poller hands the
// exporter batches of batchSize records.
func New(tb testing.TB, batchSize int32) *Lake {
	tb.Helper()
	ctx := tb.Context()
	client, table := dynamotest.NewTable(tb)
	l := &Lake{DDB: client, Table: table, Store: dynamo.New(client, table, dynamo.Options{Logger: Discard}), Streams: dynamotest.StreamsClient(tb)}
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
	if l.Exporter, err = export.New(export.Config{S3: l.S3C, Bucket: srv.Bucket(), Prefix: Prefix, Logger: Discard}); err != nil {
		tb.Fatal(err)
	}
	if l.StreamARN, err = streampoll.LatestStreamARN(ctx, l.Streams, table); err != nil {
		tb.Fatal(err)
	}
	l.poller, err = streampoll.New(streampoll.Config{
		Streams: l.Streams, StreamARN: l.StreamARN, BatchSize: batchSize, Logger: Discard,
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
	l.call(tb, http.MethodPost, "/v1/experiments", `{"id":"cta","name":"CTA","variants":[{"key":"control","weight":50},{"key":"bold","weight":50}],
		"control":"control","goals":[{"key":"signup","kind":"binomial"},{"key":"purchase","kind":"value"}]}`)
	l.call(tb, http.MethodPost, "/v1/experiments/cta/start", "")
	l.call(tb, http.MethodPost, "/v1/experiments", `{"id":"invite","name":"Invite","variants":[{"key":"give10","weight":1},{"key":"give20","weight":1}],
		"goals":[{"key":"purchase","kind":"value"}],"referral":{"landing_url":"https://example.com/join","conversion_goal":"purchase"}}`)
	l.call(tb, http.MethodPost, "/v1/experiments/invite/start", "")
	for u := range 12 {
		l.call(tb, http.MethodPost, "/v1/assign", fmt.Sprintf(`{"experiment":"cta","user":"u%02d"}`, u))
		l.call(tb, http.MethodPost, "/v1/events", fmt.Sprintf(`{"id":"%s","type":"signup","user":"u%02d"}`, EventID(u), u))
		if u%2 == 0 {
			l.call(tb, http.MethodPost, "/v1/events", fmt.Sprintf(`{"id":"%s","type":"purchase","user":"u%02d","value":%d.25}`, EventID(100+u), u, u))
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
			l.call(tb, http.MethodPost, "/v1/events", fmt.Sprintf(`{"id":"%s","type":"purchase","user":%q,"value":9.5}`, EventID(200+10*r+v), referee))
		}
		if r == 2 { // a self-referral: refused
			if _, err := l.Store.Attribute(ctx, refx.Signup{Code: link.Code, Referee: "ref2"}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	var cta refx.Experiment
	l.get(tb, "/v1/experiments/cta", &cta)
	l.call(tb, http.MethodPatch, "/v1/experiments/cta", fmt.Sprintf(`{"version":%d,"hypothesis":"bolder converts"}`, cta.Version))
}

// EventID is a valid UUID numbered n.
func EventID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// Drain runs the poller to the end of the stream.
func (l *Lake) Drain(tb testing.TB) {
	tb.Helper()
	if _, err := l.poller.Drain(tb.Context()); err != nil {
		tb.Fatal(err)
	}
}

// Batches returns the batches exported so far.
func (l *Lake) Batches() []events.DynamoDBEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.batches)
}

func (l *Lake) call(tb testing.TB, method, path, body string) {
	tb.Helper()
	l.do(tb, method, path, body, nil)
}

func (l *Lake) get(tb testing.TB, path string, out any) {
	tb.Helper()
	l.do(tb, http.MethodGet, path, "", out)
}

func (l *Lake) do(tb testing.TB, method, path, body string, out any) {
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
}

// Objects lists the bucket's keys under the export prefix with their ETags.
func (l *Lake) Objects(tb testing.TB) map[string]string {
	tb.Helper()
	out := map[string]string{}
	p := s3.NewListObjectsV2Paginator(l.S3C, &s3.ListObjectsV2Input{Bucket: aws.String(l.S3.Bucket()), Prefix: aws.String(Prefix)})
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

// Views reads every view of schema/athena/views over the files as they
// are now: per view, its rows as text, sorted, without the columns named
// in omit.
func (l *Lake) Views(tb testing.TB, omit ...string) map[string][]string {
	tb.Helper()
	root, err := ddblocal.RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	schema := filepath.Join(root, "schema", "athena")
	db, err := localquery.Open(tb.Context(), localquery.Options{Root: l.S3.BucketDir(), Prefix: Prefix, SchemaDir: schema})
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	files, err := filepath.Glob(filepath.Join(schema, "views", "*.sql"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no views in %s: %v", schema, err)
	}
	out := map[string][]string{}
	for _, f := range files {
		view := strings.TrimSuffix(filepath.Base(f), ".sql")
		res, err := db.Query(tb.Context(), "SELECT * FROM "+view)
		if err != nil {
			tb.Fatalf("%s: %v", view, err)
		}
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
		out[view] = rows
	}
	return out
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
