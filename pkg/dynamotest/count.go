package dynamotest

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/aggregate/aggpoll"
	"github.com/refx-dev/refx/pkg/dynamo"
)

// counters keeps one aggregator per table: like the Lambda's event source
// mapping, exactly one consumer reads each shard, and its stream positions
// carry over from one count to the next.
var counters sync.Map // table name → *counter

type counter struct {
	mu sync.Mutex
	r  *aggpoll.Runner
}

// count runs the table's aggregator once over everything its stream holds.
func count(tb testing.TB, store *dynamo.Store) error {
	v, _ := counters.LoadOrStore(store.Table(), &counter{})
	c := v.(*counter)
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if c.r == nil {
		r, err := aggpoll.New(ctx, StreamsClient(tb), store, aggpoll.Options{})
		if err != nil {
			return err
		}
		c.r = r
	}
	return c.r.Count(ctx)
}

// MustCount runs the aggregator over everything the table's stream holds,
// as the aggregator Lambda would, so that the counters include every write
// made before the call. Safe for concurrent use.
func MustCount(tb testing.TB, store *dynamo.Store) {
	tb.Helper()
	if err := count(tb, store); err != nil {
		tb.Fatalf("dynamotest.MustCount: %v", err)
	}
}

// Counting wraps an HTTP handler for tests that read counts through an
// API: every GET first counts what the stream holds, so that what a
// request wrote before is in the answer, without waiting or sleeping.
func Counting(tb testing.TB, store *dynamo.Store, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			if err := count(tb, store); err != nil {
				tb.Errorf("dynamotest.Counting: %v", err)
			}
		}
		h.ServeHTTP(w, r)
	})
}
