package export_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"

	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/internal/lakefixture"
	"github.com/refx-dev/refx/pkg/refx"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

// stack is the whole pipeline on real parts (lakefixture.Lake) with the
// exporter writing at the bucket's root, plus what this package's tests
// read of it.
type stack struct {
	*lakefixture.Lake
}

// stackOptions change how the exporter writes.
type stackOptions struct {
	// wrapS3 wraps the S3 client the exporter uses (fault injection).
	wrapS3 func(export.ObjectPutter) export.ObjectPutter
}

// MustStack starts the pipeline; everything stops with the test.
func MustStack(tb testing.TB, opts stackOptions) *stack {
	tb.Helper()
	return &stack{lakefixture.New(tb, lakefixture.Options{BatchSize: 40, WrapS3: opts.wrapS3})}
}

// results counts the stream, as the aggregator Lambda does, then reads GET
// /v1/experiments/{id}/results.
func (st *stack) results(tb testing.TB, id string) *refx.Results {
	tb.Helper()
	dynamotest.MustCount(tb, st.Store)
	var res refx.Results
	st.Call(tb, http.MethodGet, "/v1/experiments/"+id+"/results", "", &res)
	return &res
}

// readRows reads every Parquet object of a table back through the S3 API.
func readRows[T any](tb testing.TB, st *stack, table *export.Table) []T {
	tb.Helper()
	var names []string
	for k := range st.Objects(tb) {
		if strings.HasPrefix(k, st.Prefix+table.Name+"/") {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	var all []T
	for _, k := range names {
		obj, err := st.S3C.GetObject(tb.Context(), &s3.GetObjectInput{Bucket: aws.String(st.S3.Bucket()), Key: aws.String(k)})
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
