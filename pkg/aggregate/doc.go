// Package aggregate is the counters' Lambda on the table's DynamoDB stream:
// it reads each batch through the shared stream decoder (pkg/stream) and
// applies its counter deltas exactly once with dynamo.Store.Aggregate.
// The same Handler runs under ./scripts/dev through the local stream poller.
//
// Event source mapping settings the exactly-once argument relies on
// (schema/table.md, "Aggregation"): ParallelizationFactor 1 (one batch per
// shard at a time, in order), ReportBatchItemFailures on (a failure is
// reported at the batch's first record, its anchor), BisectBatchOnFunctionError
// off (a split batch would start inside a run already applied under the
// parent's anchor), unlimited retries and record age (a batch is never
// skipped; records no counter can be derived from are reported, not failed).
package aggregate
