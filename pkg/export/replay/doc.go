// Package replay re-exports a stream batch the export Lambda gave up on.
//
// When the export's event source mapping exhausts its retries on a batch,
// Lambda sends its on-failure record to the mapping's SQS DLQ: not the
// records, only where they are (DDBStreamBatchInfo: stream, shard, first
// and last sequence numbers). ParsePointer reads that record; Run reads
// the records back from the stream (GetShardIterator AT_SEQUENCE_NUMBER
// the first, GetRecords until past the last), converts them as
// streampoll does and hands them to the same export.Exporter.Handle the
// Lambda runs. DrainQueue does so for every message of the DLQ, deleting
// a message only once its batch is exported again.
//
// A replay is idempotent: a batch of the same records writes the same
// keys and bytes, and a batch cut differently writes copies of rows that
// the *_unique views drop (copies of one stream record share dt, hour and
// export.Identity). The stream keeps records 24 hours: a pointer older
// than that gives an error that says to run the backfill
// (pkg/export/backfill) instead.
package replay
