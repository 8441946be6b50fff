// Package export turns the refx table's DynamoDB stream into an analytics
// log: Parquet files in S3, laid out in Hive-style partitions for Athena.
//
// Exporter.Handle is a Lambda handler for DynamoDB stream batches
// (events.DynamoDBEvent). Each record's image is decoded by the decoder
// registered for its item's "entity" attribute into typed rows (EventRow,
// CreditRow, AssignmentRow, ExperimentRow, ...); the rows of one batch are
// written as one Zstd-compressed Parquet object per table and partition,
//
//	<prefix><table>/dt=YYYY-MM-DD/hour=HH/<first sequence number>-<last sequence number>.parquet
//
// dated by the stream record's creation time (UTC), under DefaultPrefix
// (export/) as deployed and locally. Keys depend only on the batch, so a
// retried batch overwrites its own objects; the Athena views in
// schema/athena de-duplicate by dt, hour and Identity as a second line of
// defence against batches that were split or resumed differently, and a dt
// filter on them reads only that day's files. A record that cannot be
// decoded is written to the export_errors table with its reason and the raw
// record; a failed S3 write is reported as a batch item failure so that
// Lambda retries from that record.
//
// The files are written by package parquetw, not parquet-go: parquet-go
// links google.golang.org/protobuf, which made the linker keep every method
// of every type and the bootstrap 22.8 MB (10.5 MB without). Tests still
// read the files with parquet-go and DuckDB.
//
// The same handler runs locally: package streampoll reads DynamoDB Local's
// stream, builds the same batches and calls it.
package export
