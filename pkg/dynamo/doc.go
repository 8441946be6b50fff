// Package dynamo implements the refx services on a single DynamoDB table.
//
// The table design (keys, indexes, access patterns) is documented in
// schema/table.md; every key is built in keys.go and the table itself is
// defined once in table.go. Invariants are enforced by DynamoDB, not by
// reads: conditional puts make assignments sticky and event ids
// idempotent, transactions keep counters consistent with them, and atomic
// ADD on sharded counter items keeps counting exact under any concurrency.
package dynamo
