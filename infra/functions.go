package main

import (
	"time"

	"github.com/refx-dev/refx/pkg/app"
	"github.com/refx-dev/refx/pkg/httpapi"
)

// function is one Lambda of functions/<Name>: what it serves, its size, and
// everything it may do. This table is the one place a function is declared;
// the stack builds, wires, grants and monitors each entry, and the tests
// check it against functions/ (every directory has an entry, and each main
// serves exactly the route groups listed here).
type function struct {
	Name        string
	Description string
	// Routes are the route groups it serves behind the API: every route of
	// httpapi.RouteTable in these groups is sent to it. Zero for a function
	// the API does not invoke.
	Routes httpapi.Routes
	// Schedule is the EventBridge schedule that invokes the function; nil
	// for a function no schedule invokes.
	Schedule *schedule
	Memory   float64 // MB
	Timeout  time.Duration
	// P99 is the duration whose p99 raises an alarm.
	P99    time.Duration
	Access access
	// Stream is the function's event source mapping on the table's
	// stream; nil for a function the stream does not invoke.
	Stream *streamMapping
	// Queue functions are invoked by the webhook queue (webhooks.go).
	Queue bool
}

// schedule is how often an EventBridge schedule invokes a function, and
// the pkg/app function that builds the handler each invocation runs (where
// TestGrantsMatchCode starts reading the function's code).
type schedule struct {
	// Every is the rate; zero for the tick of the snapshot cadence
	// (context "snapshotPeriod"), which also hands the function the
	// snapshot period (REFX_SNAPSHOT_PERIOD).
	Every   time.Duration
	Handler string
	// Package is Handler's package (default pkg/app): a job linking
	// what the API functions must not (parquet-go) keeps its own.
	Package string
}

// streamMapping is how the table's stream invokes a function. Either way
// the function reports the records it could not handle
// (ReportBatchItemFailures) so that retries resume there, and a batch given
// up on is described in the function's own DLQ.
type streamMapping struct {
	BatchSize int
	Window    time.Duration
	// Bisect halves a batch whose invocation failed (crash, timeout)
	// until the bad record is alone.
	Bisect bool
	// RetryAttempts and MaxRecordAge bound the retries of a failing batch
	// before it is given up on; unlimited (-1) never skips a record: the
	// shard waits for the batch until its records leave the stream.
	RetryAttempts int
	MaxRecordAge  time.Duration
	// Parallelization is the number of concurrent batches per shard; 1
	// keeps each shard's records in order.
	Parallelization int
}

// unlimited is the event source mapping's "never" for RetryAttempts and
// MaxRecordAge.
const unlimited = -1

// access is everything a function's role allows beyond writing its own log
// group. DynamoDB actions are granted on the table (Table) and on its GSIs
// (Indexes) separately, so that a function that never queries an index
// cannot.
type access struct {
	Table   []string // dynamodb:<action> on the table
	Indexes []string // dynamodb:<action> on each index of the table
	// Stream reads the table's stream (through an event source mapping).
	Stream bool
	// AdminKey reads the admin key's secret; HashKey the key of the
	// referral hashes (IP addresses, devices). TestGrantsMatchCode grants
	// each only to functions whose routes use that key.
	AdminKey, HashKey bool
	// Export writes objects under the export prefix of the export bucket.
	Export bool
	// SendWebhooks sends to the webhook queue.
	SendWebhooks bool
	// Views creates the Athena views in the export's workgroup and Glue
	// database: the function behind the views' custom resource, granted
	// in lake.go (viewsStatements), where the views' names are known.
	Views bool
	// Compact also lists, reads and deletes objects under the export
	// prefix (Export writes them): the compaction, granted in compact.go.
	Compact bool
}

// functions are the refx Lambdas. The DynamoDB actions are those of the
// store methods each function's routes (or its schedule, or its stream
// handler) call (pkg/dynamo): a transaction needs the action of each of its
// items (ConditionCheckItem, PutItem, UpdateItem), not a TransactWriteItems
// action, which IAM does not have.
// TestGrantsMatchCode derives them from the code and holds these lists to
// it, both ways; iam_test.go holds the synthesized policies to the letter.
var functions = []function{
	{
		Name:        "assign",
		Description: "refx: assignment, identify, referral links (create, look up), the web client",
		Routes:      httpapi.AssignRoutes,
		Memory:      256, Timeout: 5 * time.Second, P99: time.Second,
		Access: access{
			// Assign: get the experiment and the assignment; enrol with
			// a conditional put of the assignment (the participant
			// counter is the aggregator's, from the stream).
			// CreateReferral: the same, plus the code and its pointer.
			// Identify: query a visitor's anonymous assignments, link
			// them (updates). No ConditionCheck of the experiment item:
			// the request path touches only per-user items. A code's
			// stats: batch-get its counters.
			// Every public route admits its caller by key and by the
			// address's hash (per-IP rate limit), keyed by the hash key;
			// none checks the admin key.
			Table:   []string{"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem"},
			HashKey: true,
		},
	},
	{
		Name:        "track",
		Description: "refx: events, referral link clicks and signups",
		Routes:      httpapi.TrackRoutes,
		Memory:      256, Timeout: 10 * time.Second, P99: 2 * time.Second,
		Access: access{
			// RecordEvent: query the user's assignments, get experiments
			// and the attribution; put the event alone or in a
			// transaction with the user's own state (update), carrying
			// the deltas the aggregator applies. Clicks and signups:
			// batch-get markers, then the same kinds of writes. A refund:
			// the refunded event's holders (gsi1), then the refund item.
			Table:   []string{"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem"},
			Indexes: []string{"Query"},
			HashKey: true,
		},
	},
	{
		Name:        "admin",
		Description: "refx: experiments, results, referrer listings, Lamed admin, /healthz",
		Routes:      httpapi.AdminRoutes | httpapi.HealthRoutes,
		Memory:      512, Timeout: 15 * time.Second, P99: 3 * time.Second,
		Access: access{
			// Experiments: conditional puts, consistent gets; results: one
			// query per counter shard; listings: gsi1; deleting an
			// experiment: a tombstone (update), then its items in batches,
			// the experiment item last; /healthz: DescribeTable. Erasing a
			// user: query their items (and events, gsi1), batch-get the
			// marks of their signup visitor, delete in batches, rewrite
			// referees' attributions (updates), put the erasure record.
			Table:   []string{"GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "Query", "DescribeTable"},
			Indexes: []string{"Query"},
			// The admin key guards its routes; it hashes nothing, so it
			// cannot read the hash key.
			AdminKey: true,
		},
	},
	{
		Name:        "snapshot",
		Description: "refx: snapshots of running experiments' results",
		Schedule:    &schedule{Handler: "SnapshotHandler"},
		Memory:      512, Timeout: 5 * time.Minute, P99: 2 * time.Minute,
		Access: access{
			// SnapshotAll: list running experiments (gsi1), read each
			// one's results (get, one query per shard), put the snapshot.
			Table:   []string{"GetItem", "Query", "PutItem"},
			Indexes: []string{"Query"},
		},
	},
	{
		Name:        "rewards",
		Description: "refx: approves the pending rewards whose hold has ended",
		// A held reward is approved at most one interval after its hold.
		Schedule: &schedule{Every: app.RewardHoldInterval, Handler: "ReleaseHandler"},
		Memory:   256, Timeout: 2 * time.Minute, P99: 30 * time.Second,
		Access: access{
			// ReleaseHolds: the pending rewards due by now (gsi1); skip
			// those of a blocked code or referrer (batch-get); approve
			// each, moving its amount between its cap item's totals, in
			// one transaction (updates).
			Table:   []string{"BatchGetItem", "UpdateItem"},
			Indexes: []string{"Query"},
		},
	},
	{
		Name:        "compact",
		Description: "refx: compacts the Parquet export's closed hours into few large files",
		Schedule:    &schedule{Every: time.Hour, Package: "pkg/export/compact", Handler: "LambdaHandler"},
		// An hour at 1,000 events/s is 3.6 million rows a table, about
		// 90 MB of Parquet: one file, whose rows are held until written
		// (compact.TestCompactionFigures, a whole such hour of events and
		// credits: 2 minutes, 4.9 GB of heap); a 128 MiB file, at higher
		// rates, holds about 5 million. The handler keeps Go's heap under
		// 90% of the memory.
		Memory: 10240, Timeout: 15 * time.Minute, P99: 10 * time.Minute,
		Access: access{Export: true, Compact: true},
	},
	{
		Name:        "export",
		Description: "refx: the table's stream to Parquet in S3",
		Memory:      1024, Timeout: 2 * time.Minute, P99: 60 * time.Second,
		Access: access{Stream: true, Export: true},
		// Batches large enough for few, well-filled Parquet files; a
		// batch that keeps failing is given up on after a day rather
		// than blocking the shard.
		Stream: &streamMapping{BatchSize: 1000, Window: time.Minute, Bisect: true, RetryAttempts: 10, MaxRecordAge: 24 * time.Hour, Parallelization: 1},
	},
	{
		Name:        "aggregate",
		Description: "refx: the table's stream to the counters, exactly once",
		Memory:      512, Timeout: time.Minute, P99: 10 * time.Second,
		Access: access{
			// Aggregate: batch-get the batch's experiments; apply each
			// chunk of summed deltas in a transaction with the batch's
			// ledger (updates); put the records it could not decode;
			// move the counted-through mark (a conditional update).
			// The webhook reactor: the subscriptions (gsi1 WEBHOOKS,
			// cached), then the batch's messages to the webhook queue.
			// The rewards reactor: the variant's plan (the experiment's,
			// or its program's offer: gets), then each reward put if
			// absent in a transaction that checks its qualifying items
			// (ConditionCheck); reversals after refunds and review
			// rejections (updates).
			Table:        []string{"GetItem", "BatchGetItem", "PutItem", "UpdateItem", "ConditionCheckItem", "Query"},
			Indexes:      []string{"Query"},
			Stream:       true,
			SendWebhooks: true,
		},
		// Counters are fresh within about a second of the last event
		// (window 1 s). The exactly-once ledger (pkg/aggregate,
		// schema/table.md) relies on one batch per shard at a time, in
		// order, and on a retried batch starting at the same first
		// record, its anchor: the code reports any failure there, and
		// the mapping must not bisect, since a half starting inside a
		// run already applied under the whole batch's anchor would
		// count it again. Nothing is ever skipped: a record the code
		// cannot decode is reported by the code, not failed, so a
		// failing batch is a fault to fix, and the shard waits for it.
		Stream: &streamMapping{BatchSize: 1000, Window: time.Second, Bisect: false, RetryAttempts: unlimited, MaxRecordAge: unlimited, Parallelization: 1},
	},
	{
		Name:        "lakeviews",
		Description: "refx: creates the Athena views of schema/athena/views (the stack's custom resource, at deploy time)",
		// Eleven statements of about a second each; CloudFormation waits
		// viewsTimeout for an answer.
		Memory: 256, Timeout: 5 * time.Minute, P99: 2 * time.Minute,
		Access: access{Views: true},
	},
	{
		Name:        "webhooks",
		Description: "refx: webhook deliveries from the webhook queue, signed and retried",
		Queue:       true,
		// Ten deliveries at once, each bounded by the 10 s timeout.
		Memory: 256, Timeout: 30 * time.Second, P99: 12 * time.Second,
		Access: access{
			// Deliver: the subscriptions (gsi1 WEBHOOKS, cached), then
			// one put of the attempt's log item.
			Table:   []string{"PutItem", "Query"},
			Indexes: []string{"Query"},
		},
	},
}

// publicRoutes are the route groups callers reach without the admin key:
// browsers and customers' backends, with a client or secret key (or none,
// keyless). Their functions get the per-key and per-IP rate limits and
// the reserved concurrency that bounds them.
const publicRoutes = httpapi.AssignRoutes | httpapi.TrackRoutes

// public reports whether f serves public routes.
func (f function) public() bool { return f.Routes&publicRoutes != 0 }

// streamActions are what an event source mapping needs of a DynamoDB stream.
var streamActions = []string{"DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"}

// functionByName returns the entry of name.
func functionByName(name string) (function, bool) {
	for _, f := range functions {
		if f.Name == name {
			return f, true
		}
	}
	return function{}, false
}
