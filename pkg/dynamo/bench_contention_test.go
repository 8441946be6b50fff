package dynamo_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/refx"
)

// BenchmarkContention measures the write path against real DynamoDB's
// conflict rules and billing, emulated by ddbsim in front of DynamoDB Local
// (issue 11 item 5). Run it with a fixed count (events per mode):
//
//	go test -run '^$' -bench Contention -benchtime 2000x ./pkg/dynamo
//
// Throughput: events/s into one experiment from 32 concurrent clients with
// conflict emulation on, and through a pass-through with the same latencies
// (15 ms per transaction and per single-item write), in alternating rounds;
// ratio is on ÷ off (target ≥ 0.9).
//
// WRU: write units per accepted request by type, as on-demand DynamoDB
// would charge them, including the aggregator's writes for those requests
// (the stream drained once per 50 requests, amortised over them). A plain
// (non-referral) experiment's first assign, plain event and first
// conversion are measured in its phase 1 (p1-*) and again after a second
// phase started (p2-*): what enrolling on ASSIGN#<exp>#P<n> and counting
// under COUNT#<exp>#P<n>#<slot> cost next to phase 1's keys.
//
// HotPartition: the most write units any one partition key would take at
// 10,000 events/s into one experiment: that key's units per event, from a
// run of b.N plain events and the aggregator's writes for them, × 10,000
// (target ≤ 1,000). The aggregator reads the stream in batches of up to
// 1,000 records, as its deployed event source mapping does (BatchSize
// 1000); smaller batches would spread its writes over fewer events.
func BenchmarkContention(b *testing.B) {
	b.Run("Throughput", benchmarkContentionThroughput)
	b.Run("WRU", benchmarkContentionWRU)
	b.Run("HotPartition", benchmarkContentionHotPartition)
}

const benchUsers = 512

// benchExperiment is a running referral experiment whose users have all
// been assigned and converted on both goals, so that their further events
// are plain (no first conversion).
func benchExperiment(b *testing.B, s *dynamo.Store) (*refx.Experiment, []string) {
	b.Helper()
	ctx := context.Background()
	n := newReferralExperiment("bench")
	n.Referral.MaxSignupsPerHour, n.Referral.MaxSignupsPerDay = 1<<20, 1<<20
	e := MustRunning(b, s, n)
	users := make([]string, benchUsers)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for u := range users {
		users[u] = fmt.Sprintf("user-%04d", u)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if _, err := s.Assign(ctx, e.ID, users[u], nil); err != nil {
				b.Error(err)
			}
			for _, ev := range []*refx.Event{
				{ID: uuid(), Type: "signup", User: users[u]},
				{ID: uuid(), Type: "purchase", User: users[u], Value: decimal(b, "10.00")},
			} {
				if _, err := s.RecordEvent(ctx, ev); err != nil {
					b.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	return e, users
}

// pump sends n requests from workers clients, retrying 503s as a client
// would, and returns how long it took and how many 503s it met.
func pump(b *testing.B, c *contention, n, workers int, op func(i int) error) time.Duration {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if _, err := retry(c, func() (struct{}, error) { return struct{}{}, op(i) }); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

func benchmarkContentionThroughput(b *testing.B) {
	ctx := context.Background()
	direct := MustStore(b, dynamo.Options{})
	e, users := benchExperiment(b, direct)
	on, off := mustContentionOn(b, direct, true), mustContentionOn(b, direct, false)
	plain := func(c *contention) func(i int) error {
		return func(i int) error {
			_, err := c.through.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: "signup", User: users[i%len(users)]})
			return err
		}
	}
	_ = e
	const rounds = 4
	per := max(b.N/rounds, 1)
	var tookOn, tookOff time.Duration
	b.ResetTimer()
	for range rounds {
		tookOn += pump(b, on, per, contentionClients, plain(on))
		tookOff += pump(b, off, per, contentionClients, plain(off))
	}
	b.StopTimer()
	events := float64(per * rounds)
	rateOn, rateOff := events/tookOn.Seconds(), events/tookOff.Seconds()
	b.ReportMetric(rateOn, "events/s-conflicts")
	b.ReportMetric(rateOff, "events/s-passthrough")
	b.ReportMetric(rateOn/rateOff, "ratio")
	b.ReportMetric(float64(on.unavailable.Load())/events, "503/event")
	u := on.proxy.Usage()
	b.ReportMetric(float64(u.Conflicts())/events, "conflicts/event")
	b.Logf("%0.f events per mode: %.0f/s with conflicts, %.0f/s pass-through, %d 503s, %d conflicts", events, rateOn, rateOff, on.unavailable.Load(), u.Conflicts())
}

// wruRequest is one kind of request whose write units measureWRU measures.
type wruRequest struct {
	name  string
	setup func(i int) string // prepares request i, returns its subject
	run   func(subject string) error
}

// measureWRU sends k requests of each type through the proxy and reports
// the write units per request, both those of the request path and the
// aggregator's for what the requests wrote.
func (c *contention) measureWRU(b *testing.B, k int, types []wruRequest) {
	b.Helper()
	for _, tt := range types {
		subjects := make([]string, k)
		for i := range subjects {
			subjects[i] = tt.setup(i)
		}
		// The aggregator counts what the setup wrote, uncharged.
		dynamotest.MustCount(b, c.through)
		c.proxy.Reset()
		for _, s := range subjects {
			if err := tt.run(s); err != nil {
				b.Fatal(err)
			}
		}
		request := c.proxy.Usage().WRU()
		dynamotest.MustCount(b, c.through)
		total := c.proxy.Usage().WRU()
		b.ReportMetric(float64(total)/float64(k), "WRU/"+tt.name)
		b.Logf("%s: %.2f WRU per request (%.2f on the request path, %.2f by the aggregator)", tt.name,
			float64(total)/float64(k), float64(request)/float64(k), float64(total-request)/float64(k))
	}
}

func benchmarkContentionWRU(b *testing.B) {
	ctx := context.Background()
	direct := MustStore(b, dynamo.Options{})
	e, users := benchExperiment(b, direct)
	c := mustContentionOn(b, direct, false)
	link := mustLink(b, direct, e.ID, users[0])
	const k = 50
	fresh := func(kind string, i int) string { return fmt.Sprintf("%s-%s-%04d", kind, uuid()[:8], i) }
	types := []wruRequest{
		{"plain-event", func(i int) string { return users[i%len(users)] }, func(user string) error {
			_, err := c.through.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: "signup", User: user})
			return err
		}},
		{"first-conversion", func(i int) string {
			user := fresh("conv", i)
			if _, err := direct.Assign(ctx, e.ID, user, nil); err != nil {
				b.Fatal(err)
			}
			return user
		}, func(user string) error {
			_, err := c.through.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: "signup", User: user})
			return err
		}},
		{"value-event", func(i int) string { return users[i%len(users)] }, func(user string) error {
			_, err := c.through.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: "purchase", User: user, Value: decimal(b, "19.99")})
			return err
		}},
		{"first-assign", func(i int) string { return fresh("assign", i) }, func(user string) error {
			_, err := c.through.Assign(ctx, e.ID, user, nil)
			return err
		}},
		// With CUPED covariates: the assignment item grows by the map, each
		// credit by x.
		{"first-assign-covariates", func(i int) string { return fresh("assign-x", i) }, func(user string) error {
			_, err := c.through.AssignWith(ctx, e.ID, user, refx.AssignInput{Covariates: map[string]refx.Decimal{
				"signup": *decimal(b, "1"), "purchase": *decimal(b, "123.45")}})
			return err
		}},
		{"value-event-covariate", func(i int) string {
			user := fresh("value-x", i)
			if _, err := direct.AssignWith(ctx, e.ID, user, refx.AssignInput{Covariates: map[string]refx.Decimal{"purchase": *decimal(b, "123.45")}}); err != nil {
				b.Fatal(err)
			}
			if _, err := direct.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: "purchase", User: user, Value: decimal(b, "5")}); err != nil {
				b.Fatal(err)
			}
			return user
		}, func(user string) error {
			_, err := c.through.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: "purchase", User: user, Value: decimal(b, "19.99")})
			return err
		}},
		{"referral-click", func(i int) string { return fresh("visitor", i) }, func(visitor string) error {
			_, err := c.through.RecordClick(ctx, refx.Click{Code: link.Code, Visitor: visitor})
			return err
		}},
		{"referee-signup", func(i int) string { return fresh("referee", i) }, func(referee string) error {
			_, err := c.through.Attribute(ctx, refx.Signup{Code: link.Code, Referee: referee, IPHash: "ip-" + referee})
			return err
		}},
		// Codes (pkg/dynamo/codes.go): a vanity code costs what a random one
		// does; a click through a channel, and a referee's conversion, add
		// the channel counter and leader entries on the aggregator's side.
		{"vanity-code", func(i int) string { return fresh("vanity", i) }, func(referrer string) error {
			_, err := c.through.CreateCode(ctx, refx.CodeRequest{Experiment: e.ID, Referrer: referrer, Code: strings.ToUpper(referrer)})
			return err
		}},
		{"referral-click-channel", func(i int) string { return fresh("visitor-ch", i) }, func(visitor string) error {
			_, err := c.through.RecordClick(ctx, refx.Click{Code: link.Code, Visitor: visitor, Channel: "email", UTM: refx.UTM{Source: "newsletter", Campaign: "spring"}})
			return err
		}},
		{"referee-conversion", func(i int) string {
			referee := fresh("buyer", i)
			if _, err := direct.Attribute(ctx, refx.Signup{Code: link.Code, Referee: referee, IPHash: "ip-" + referee}); err != nil {
				b.Fatal(err)
			}
			return referee
		}, func(referee string) error {
			_, err := c.through.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: "purchase", User: referee, Value: decimal(b, "19.99")})
			return err
		}},
	}
	// The phased experiment's users are its own, so that their events
	// credit it alone; "visit" is a goal only it has.
	phased := newExperiment("bench-phased")
	phased.Goals = []refx.Goal{{Key: "visit", Kind: refx.GoalBinomial}}
	pe := MustRunning(b, direct, phased)
	phaseTypes := func(prefix string) []wruRequest {
		assigned := func(kind string, converted bool) func(i int) string {
			return func(i int) string {
				user := fresh(prefix+kind, i)
				if _, err := direct.Assign(ctx, pe.ID, user, nil); err != nil {
					b.Fatal(err)
				}
				if converted {
					if _, err := direct.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: "visit", User: user}); err != nil {
						b.Fatal(err)
					}
				}
				return user
			}
		}
		visit := func(user string) error {
			_, err := c.through.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: "visit", User: user})
			return err
		}
		return []wruRequest{
			{prefix + "first-assign", func(i int) string { return fresh(prefix+"assign", i) }, func(user string) error {
				_, err := c.through.Assign(ctx, pe.ID, user, nil)
				return err
			}},
			{prefix + "plain-event", assigned("plain", true), visit},
			{prefix + "first-conversion", assigned("conv", false), visit},
		}
	}
	// b.N is the event count of the other sub-benchmarks; this one measures once.
	b.ResetTimer()
	c.measureWRU(b, k, types)
	c.measureWRU(b, k, phaseTypes("p1-"))
	if next, err := direct.StartPhase(ctx, pe.ID, refx.NewPhase{Reason: "bench"}); err != nil || next.Phase != 2 {
		b.Fatalf("start phase 2: %v", err)
	}
	// c.through is another server: it learns of the phase when its cached
	// experiment expires (ExperimentCacheTTL, 5 s by default); until then it
	// would enrol in phase 1, which the aggregator refuses to count.
	time.Sleep(6 * time.Second)
	c.measureWRU(b, k, phaseTypes("p2-"))
	// Each phase enrolled its own 3k users: the p2 requests were phase 2's.
	for phase := 1; phase <= 2; phase++ {
		res, err := direct.PhaseResults(ctx, pe.ID, phase)
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		for _, v := range res.Variants {
			n += v.Participants
		}
		if n != 3*k {
			b.Fatalf("phase %d counted %d participants, want %d", phase, n, 3*k)
		}
	}
}

func benchmarkContentionHotPartition(b *testing.B) {
	ctx := context.Background()
	direct := MustStore(b, dynamo.Options{})
	_, users := benchExperiment(b, direct)
	c := mustContentionOn(b, direct, false)
	dynamotest.MustCount(b, c.through)
	c.proxy.Reset()
	n := max(b.N, 100)
	b.ResetTimer()
	pump(b, c, n, contentionClients, func(i int) error {
		_, err := c.through.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: "signup", User: users[i%len(users)]})
		return err
	})
	dynamotest.MustCount(b, c.through)
	b.StopTimer()
	u := c.proxy.Usage()
	key, hot, ok := u.Hottest()
	if !ok {
		b.Fatal("nothing was charged")
	}
	perEvent := float64(hot.WRU) / float64(n)
	b.ReportMetric(perEvent*10000, "max-partition-WRU/s@10k-events/s")
	b.ReportMetric(float64(u.WRU())/float64(n), "WRU/event")
	b.Logf("%d plain events: hottest partition %q took %d WRU in %d writes (%.3f WRU per event → %.0f WRU/s at 10,000 events/s); %d WRU in all",
		n, key.Value, hot.WRU, hot.Writes, perEvent, perEvent*10000, u.WRU())
}
