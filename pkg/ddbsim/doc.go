// Package ddbsim is a test double that puts the parts of real DynamoDB that
// DynamoDB Local lacks in front of a real DynamoDB Local: transaction
// conflicts and per-partition write-unit accounting.
//
// A Proxy is an HTTP server placed between an AWS SDK DynamoDB client and
// the upstream endpoint:
//
//	proxy := ddbsim.New(dynamotest.Endpoint(), ddbsim.Options{Conflicts: true, TransactionLatency: 15 * time.Millisecond})
//	defer proxy.Close()
//	client, err := dynamo.NewClient(ctx, dynamo.ClientConfig{Endpoint: proxy.URL()})
//
// Every request reaches DynamoDB Local unchanged, except those real DynamoDB
// would reject for a conflict. The rules are those of "Transaction conflict
// handling in DynamoDB"
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-conflict-handling):
//
//   - Every item of a TransactWriteItems (Put, Update, Delete and
//     ConditionCheck alike) is held while the transaction is in flight: from
//     the moment all its items are acquired, atomically, until the upstream
//     answered and Options.TransactionLatency passed.
//   - A TransactWriteItems touching an item held by another transaction is
//     cancelled, before anything reaches the upstream, with
//     TransactionCanceledException whose CancellationReasons say
//     "TransactionConflict" for each held item and "None" for the others.
//   - A PutItem, UpdateItem or DeleteItem of a held item fails with
//     TransactionConflictException (HTTP 400).
//   - A TransactGetItems reading an item held by a TransactWriteItems or
//     written by an in-flight PutItem, UpdateItem, DeleteItem or
//     BatchWriteItem is cancelled with TransactionConflict reasons.
//   - GetItem, Query and Scan never conflict ("both operations can succeed").
//
// Rules the documentation does not state are not invented: a single-item
// write never makes a transaction conflict (it is serialised with it), and
// BatchWriteItem items are not rejected for a held item.
//
// The AWS SDK for Go v2's standard retryer retries neither
// TransactionConflictException nor TransactionCanceledException (neither is
// in retry.DefaultRetryableErrorCodes or retry.DefaultThrottleErrorCodes,
// and HTTP 400 is not a retryable status), so every emulated conflict
// reaches the caller's code; the tests prove it by counting requests.
//
// With Options.Conflicts false the proxy applies the same latencies and the
// same accounting without rejecting anything: a pass-through to compare a
// design against at equal latency.
//
// Write units are charged as on-demand DynamoDB charges them
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html#write-operation-consumption):
// one write unit per started KB of the larger of the item's sizes before and
// after the write, with item sizes computed by DynamoDB's rules
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html);
// twice that in a TransactWriteItems, where a ConditionCheck is charged like
// a write of the item it checks
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-capacity-handling);
// a failed conditional write costs the size of the existing item, at least
// one unit
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.ConditionalUpdate),
// and so, twice, does each item of a transaction the upstream cancelled for
// a failed condition (an assumption: AWS documents the single-item case);
// BatchWriteItem charges each item as its own PutItem or DeleteItem. The
// proxy learns the sizes by reading each written item (strongly consistent
// BatchGetItem, straight to the upstream) before the write and, after an
// Update, again; a Put's new size is its item's, a Delete leaves nothing.
// Concurrent single-item writes of one item may interleave with those
// reads, which can misstate a size: accounting is exact for the usual case
// of one writer per item at a time.
// Requests the proxy itself rejects for a conflict are counted in Usage but
// charged nothing, since AWS documents no charge for them.
//
// Usage returns the totals per partition key (table and partition-key
// value) and per operation; Reset clears them.
package ddbsim
