// Package backfill rebuilds the export from the refx table: for what the
// stream no longer holds (it keeps 24 hours, so a batch older than that
// cannot be replayed) or never reached the lake.
//
// Run scans the table at a bounded rate (one paginated Scan, no parallel
// segments, sleeping so that the consumed read units stay under
// ReadUnitsPerSecond), turns each item into the INSERT record the stream
// carried when it was written (NewImage = the item, creation time = the
// item's own write time: an event's received_at, an assignment's
// assigned_at, ...) and decodes it with the exporter's decoders
// (export.Exporter.Encode). Only rows whose write time is in [From, To)
// are kept. The decoded rows wait on disk (TempDir) by partition, and the
// partitions are written one at a time, so memory holds one hour of one
// table whatever the range.
//
// Instead of the table, the items can come from a DynamoDB export to S3
// (ExportTableToPointInTime, DYNAMODB_JSON; Config.ExportPrefix): a
// point-in-time copy that costs no read capacity and can date from any
// second of the last 35 days, so that it still holds the event items that
// expired since.
//
// It is idempotent and adds no duplicates: before writing a partition's
// rows it reads the rows already in that partition and its neighbour hours
// (an item's write time and its stream record's time differ by up to
// seconds) and drops those whose export.Identity is there; the rest is
// written as <table>/dt=/hour=/backfill-<digest>.parquet, named by its
// content, so that a rerun writes nothing or the same object again.
//
// A backfilled row's sequence_number is synthetic:
// backfill-<write time, epoch ms, 13 digits>-<FNV-64a of pk and sk, hex>.
// It cannot collide with a stream sequence number (digits only) and sorts
// after every one of them, so a stream copy written later wins the views'
// de-duplication. Its streamed_at is the write time.
//
// The table holds less than the stream carried: event items expire after
// their 7-day idempotency window, an experiment item holds only its latest
// version (exported as an INSERT), code and attribution items hold their
// latest state, deleted items are gone. The backfill recovers what the
// table still holds.
package backfill
