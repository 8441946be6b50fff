package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/localquery"
	"github.com/refx-dev/refx/pkg/export/streampoll"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/s3local"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

const adminKey = "export-test-admin-key-0123456789"

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// stack is the whole pipeline on real parts: the API and store on a fresh
// DynamoDB Local table, the in-process S3 persisting to a temporary
// directory, the exporter, and the stream poller calling it.
type stack struct {
	store    *dynamo.Store
	ddb      *dynamodb.Client
	table    string
	api      *httptest.Server
	s3       *s3local.Server
	s3c      *s3.Client
	exporter *export.Exporter
	poller   *streampoll.Poller

	mu      sync.Mutex
	batches []events.DynamoDBEvent
}

// stackOptions change how the exporter writes.
type stackOptions struct {
	// wrapS3 wraps the S3 client the exporter uses (fault injection).
	wrapS3 func(export.ObjectPutter) export.ObjectPutter
}

// MustStack starts the pipeline; everything stops with the test.
func MustStack(tb testing.TB, opts stackOptions) *stack {
	tb.Helper()
	ctx := tb.Context()
	client, table := dynamotest.NewTable(tb)
	st := &stack{ddb: client, table: table, store: dynamo.New(client, table, dynamo.Options{Logger: discard})}
	api := &httpapi.Server{
		Experiments: st.store, Assignments: st.store, Events: st.store, Results: st.store, Referrals: st.store,
		Ping: st.store.Ping, AdminKey: adminKey, Keys: st.store, Keyless: true, HashKey: []byte("export-test-hash"), Logger: discard,
	}
	st.api = httptest.NewServer(api.Handler(httpapi.AllRoutes))
	tb.Cleanup(st.api.Close)
	srv, err := s3local.Start(ctx, s3local.Options{Dir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	st.s3 = srv
	if st.s3c, err = srv.Client(ctx); err != nil {
		tb.Fatal(err)
	}
	var putter export.ObjectPutter = st.s3c
	if opts.wrapS3 != nil {
		putter = opts.wrapS3(putter)
	}
	if st.exporter, err = export.New(export.Config{S3: putter, Bucket: srv.Bucket(), Logger: discard}); err != nil {
		tb.Fatal(err)
	}
	streams := dynamotest.StreamsClient(tb)
	arn, err := streampoll.LatestStreamARN(ctx, streams, table)
	if err != nil {
		tb.Fatal(err)
	}
	st.poller, err = streampoll.New(streampoll.Config{
		Streams: streams, StreamARN: arn, BatchSize: 40, Logger: discard,
		Handler: func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			st.mu.Lock()
			st.batches = append(st.batches, ev)
			st.mu.Unlock()
			return st.exporter.Handle(ctx, ev)
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// MustDrain runs the poller to the end of the stream.
func (st *stack) MustDrain(tb testing.TB) int {
	tb.Helper()
	n, err := st.poller.Drain(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// call sends a request to the API and decodes the answer into out.
func (st *stack) call(tb testing.TB, method, path, body string, out any) int {
	tb.Helper()
	req, err := http.NewRequestWithContext(tb.Context(), method, st.api.URL+path, strings.NewReader(body))
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
	if res.StatusCode >= 300 && res.StatusCode != http.StatusOK {
		tb.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			tb.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return res.StatusCode
}

// results counts the stream, as the aggregator Lambda does, then reads GET
// /v1/experiments/{id}/results.
func (st *stack) results(tb testing.TB, id string) *refx.Results {
	tb.Helper()
	dynamotest.MustCount(tb, st.store)
	var res refx.Results
	st.call(tb, http.MethodGet, "/v1/experiments/"+id+"/results", "", &res)
	return &res
}

// objects lists the bucket's keys under prefix with their ETags.
func (st *stack) objects(tb testing.TB, prefix string) map[string]string {
	tb.Helper()
	out := map[string]string{}
	p := s3.NewListObjectsV2Paginator(st.s3c, &s3.ListObjectsV2Input{Bucket: aws.String(st.s3.Bucket()), Prefix: aws.String(prefix)})
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

// readRows reads every Parquet object of a table back through the S3 API.
func readRows[T any](tb testing.TB, st *stack, table *export.Table) []T {
	tb.Helper()
	keys := st.objects(tb, table.Name+"/")
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	var all []T
	for _, k := range names {
		obj, err := st.s3c.GetObject(tb.Context(), &s3.GetObjectInput{Bucket: aws.String(st.s3.Bucket()), Key: aws.String(k)})
		if err != nil {
			tb.Fatal(err)
		}
		b, err := io.ReadAll(obj.Body)
		obj.Body.Close()
		if err != nil {
			tb.Fatal(err)
		}
		rows, err := parquet.Read[T](bytes.NewReader(b), int64(len(b)))
		if err != nil {
			tb.Fatalf("%s: %v", k, err)
		}
		all = append(all, rows...)
	}
	return all
}

// MustQueryDB opens DuckDB over the bucket's files as they are now.
func (st *stack) MustQueryDB(tb testing.TB) *localquery.DB {
	tb.Helper()
	db, err := localquery.Open(tb.Context(), localquery.Options{Root: st.s3.BucketDir(), SchemaDir: athenaDir})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// eventID is a valid UUID numbered n.
func eventID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }
