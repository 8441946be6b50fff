package dynamo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math/big"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/refx"
)

// faultProxy sits between the SDK and DynamoDB Local and injects the faults
// real DynamoDB produces and DynamoDB Local never does: transactions
// cancelled by a conflicting transaction, throttling, and responses lost
// after the write was applied.
type faultProxy struct {
	forward              *httputil.ReverseProxy
	conflict, throttle   float64 // chance per write, answered without forwarding
	lostResponse         float64 // chance per write, forwarded then answered 500
	mu                   sync.Mutex
	rng                  *rand.Rand
	conflicts, throttles atomic.Int64
	lost                 atomic.Int64
}

func newFaultProxy(tb testing.TB, endpoint string, conflict, throttle, lost float64) *httptest.Server {
	target, err := url.Parse(endpoint)
	if err != nil {
		tb.Fatal(err)
	}
	p := &faultProxy{
		forward:  httputil.NewSingleHostReverseProxy(target),
		conflict: conflict, throttle: throttle, lostResponse: lost,
		rng: rand.New(rand.NewPCG(1, 2)),
	}
	srv := httptest.NewServer(p)
	tb.Cleanup(func() {
		srv.Close()
		tb.Logf("injected %d transaction conflicts, %d throttles, %d lost responses", p.conflicts.Load(), p.throttles.Load(), p.lost.Load())
	})
	return srv
}

func (p *faultProxy) roll() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rng.Float64()
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := r.Header.Get("X-Amz-Target")
	isTxn := strings.HasSuffix(op, ".TransactWriteItems")
	isWrite := isTxn || strings.HasSuffix(op, ".PutItem") || strings.HasSuffix(op, ".UpdateItem")
	if !isWrite {
		p.forward.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	x := p.roll()
	switch {
	case isTxn && x < p.conflict:
		p.conflicts.Add(1)
		var req struct{ TransactItems []json.RawMessage }
		json.Unmarshal(body, &req)
		reasons := make([]map[string]string, len(req.TransactItems))
		for i := range reasons {
			reasons[i] = map[string]string{"Code": "None"}
		}
		reasons[len(reasons)-1] = map[string]string{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
		writeAWSError(w, http.StatusBadRequest, "TransactionCanceledException", map[string]any{"CancellationReasons": reasons})
	case x < p.conflict+p.throttle:
		p.throttles.Add(1)
		writeAWSError(w, http.StatusBadRequest, "ProvisionedThroughputExceededException", nil)
	case x < p.conflict+p.throttle+p.lostResponse:
		p.lost.Add(1)
		p.forward.ServeHTTP(httptest.NewRecorder(), r)
		writeAWSError(w, http.StatusInternalServerError, "InternalServerError", nil)
	default:
		p.forward.ServeHTTP(w, r)
	}
}

func writeAWSError(w http.ResponseWriter, status int, code string, extra map[string]any) {
	body := map[string]any{"__type": "com.amazonaws.dynamodb.v20120810#" + code, "message": "injected " + code}
	for k, v := range extra {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	// Real DynamoDB signs every body with a CRC32 the SDK checks.
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10))
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(status)
	w.Write(b)
}

// stormStore returns a store that reaches the table through a fault proxy.
func stormStore(tb testing.TB, conflict, throttle, lost float64) (*dynamo.Store, *dynamo.Store) {
	tb.Helper()
	direct := MustStore(tb, dynamo.Options{})
	proxy := newFaultProxy(tb, dynamotest.Endpoint(), conflict, throttle, lost)
	client, err := dynamo.NewClient(context.Background(), dynamo.ClientConfig{Endpoint: proxy.URL})
	if err != nil {
		tb.Fatal(err)
	}
	faulty := dynamo.New(client, direct.Table(), dynamo.Options{RetryBaseDelay: time.Millisecond, RetryMaxDelay: 20 * time.Millisecond})
	return direct, faulty
}

// untilDone retries a call the way a client does on 503: same request, again.
func untilDone[T any](tb testing.TB, call func() (T, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		v, err := call()
		if refx.ErrorCode(err) != refx.EUNAVAILABLE || attempt == 50 {
			return v, err
		}
	}
}

func TestDuplicateStorm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                     string
		conflict, throttle, lost float64
	}{
		{"NoFaults", 0, 0, 0},
		{"InjectedFaults", 0.25, 0.1, 0.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			direct, faulty := stormStore(t, tt.conflict, tt.throttle, tt.lost)
			runStorm(t, direct, faulty)
		})
	}
}

// runStorm enrols users concurrently, then has many goroutines send
// overlapping copies of every event (and more assigns) at once, and checks
// the counters equal exactly what the unique events imply.
func runStorm(t *testing.T, direct, faulty *dynamo.Store) {
	ctx := context.Background()
	e := MustRunning(t, direct, newExperiment("storm"))
	const users, copies, workers = 30, 3, 12
	rng := rand.New(rand.NewPCG(7, 7))

	var ops []func() error
	variantOf := make([]string, users)
	var mu sync.Mutex
	for u := range users {
		user := fmt.Sprintf("u%02d", u)
		for range copies {
			ops = append(ops, func() error {
				a, err := untilDone(t, func() (*refx.Assignment, error) { return faulty.Assign(ctx, e.ID, user, nil) })
				if err == nil {
					mu.Lock()
					variantOf[u] = a.Variant
					mu.Unlock()
				}
				return err
			})
		}
	}
	runConcurrently(t, rng, ops, workers)

	// Expected counts per variant and goal.
	type want struct {
		users, events           int64
		sum, sumSq, userTotalSq big.Rat
	}
	expected := map[string]map[string]*want{}
	participants := map[string]int64{}
	var events []*refx.Event
	for u := range users {
		user := fmt.Sprintf("u%02d", u)
		v := variantOf[u]
		participants[v]++
		if expected[v] == nil {
			expected[v] = map[string]*want{"signup": {}, "purchase": {}}
		}
		for goal, n := range map[string]int{"signup": rng.IntN(3), "purchase": rng.IntN(3)} {
			w := expected[v][goal]
			if n > 0 {
				w.users++
			}
			userTotal := new(big.Rat)
			for range n {
				ev := &refx.Event{ID: uuid(), Type: goal, User: user}
				if goal == "purchase" {
					value := fmt.Sprintf("%d.%02d", rng.IntN(200), rng.IntN(100))
					ev.Value = decimal(t, value)
					r, _ := new(big.Rat).SetString(value)
					w.sum.Add(&w.sum, r)
					w.sumSq.Add(&w.sumSq, new(big.Rat).Mul(r, r))
					userTotal.Add(userTotal, r)
				}
				w.events++
				events = append(events, ev)
			}
			w.userTotalSq.Add(&w.userTotalSq, new(big.Rat).Mul(userTotal, userTotal))
		}
	}
	ops = ops[:0]
	var recorded atomic.Int64
	for _, ev := range events {
		for range copies {
			ops = append(ops, func() error {
				res, err := untilDone(t, func() (*refx.EventResult, error) { return faulty.RecordEvent(ctx, ev) })
				if err == nil && res.Status == refx.EventRecorded {
					recorded.Add(1)
				}
				return err
			})
		}
	}
	for u := range users {
		ops = append(ops, func() error {
			_, err := untilDone(t, func() (*refx.Assignment, error) { return faulty.Assign(ctx, e.ID, fmt.Sprintf("u%02d", u), nil) })
			return err
		})
	}
	runConcurrently(t, rng, ops, workers)

	// A reused key with another payload is refused and counts nothing.
	twin := *events[0]
	twin.User = "someone-else"
	_, err := untilDone(t, func() (*refx.EventResult, error) { return faulty.RecordEvent(ctx, &twin) })
	wantCode(t, err, refx.EKEYREUSED)

	got := mustResults(t, direct, e.ID)
	for v, goals := range expected {
		if got[v].Participants != participants[v] {
			t.Errorf("%s: participants = %d, want %d", v, got[v].Participants, participants[v])
		}
		for goal, w := range goals {
			c := got[v].Goals[goal]
			sum, _ := new(big.Rat).SetString(string(c.ValueSum))
			sumSq, _ := new(big.Rat).SetString(string(c.ValueSumSq))
			userTotalSq, _ := new(big.Rat).SetString(string(c.ValueParticipantSumSq))
			if c.Users != w.users || c.Events != w.events || sum.Cmp(&w.sum) != 0 || sumSq.Cmp(&w.sumSq) != 0 ||
				userTotalSq.Cmp(&w.userTotalSq) != 0 {
				t.Errorf("%s/%s = %+v, want users %d events %d sum %s sumsq %s", v, goal, c,
					w.users, w.events, w.sum.FloatString(4), w.sumSq.FloatString(8))
			}
		}
	}
	t.Logf("%d unique events, %d sends, %d answered recorded", len(events), len(events)*copies, recorded.Load())
}

// runConcurrently runs ops in a random order on workers goroutines.
func runConcurrently(t *testing.T, rng *rand.Rand, ops []func() error, workers int) {
	t.Helper()
	rng.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
	runAll(t, workers, ops)
}
