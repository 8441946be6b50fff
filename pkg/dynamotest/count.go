package dynamotest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/aggregate/aggpoll"
	"github.com/refx-dev/refx/pkg/dynamo"
)

// runners keeps one aggregator per table, so that its stream positions
// carry over from one count to the next, as the Lambda's do.
var runners sync.Map // table name → *runner

type runner struct {
	mu sync.Mutex
	r  *aggpoll.Runner
}

// MustCount runs the aggregator over everything the table's stream holds,
// as the aggregator Lambda would, so that the counters include every write
// made before the call. Safe for concurrent use.
func MustCount(tb testing.TB, store *dynamo.Store) {
	tb.Helper()
	v, _ := runners.LoadOrStore(store.Table(), &runner{})
	run := v.(*runner)
	run.mu.Lock()
	defer run.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if run.r == nil {
		r, err := aggpoll.New(ctx, StreamsClient(tb), store, aggpoll.Options{})
		if err != nil {
			tb.Fatalf("dynamotest.MustCount: %v", err)
		}
		run.r = r
	}
	if err := run.r.Count(ctx); err != nil {
		tb.Fatalf("dynamotest.MustCount: %v", err)
	}
}
