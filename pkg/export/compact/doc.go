// Package compact rewrites the closed hours of the Parquet export in place
// into a few large files: the exporter writes one small object per table,
// partition and stream batch (a few KB; 780,000 a day at 1,000 events/s),
// and Athena opens each of them.
//
// Run examines, per table, the hour partitions of the lookback window that
// are closed (the hour ended at least Settle ago). A partition's live files
// are its Parquet objects that no manifest supersedes: the exporter's batch
// files and earlier compacted files. When it holds a batch file, or the
// files of more than one compaction, Run reads them with parquet-go (one
// typed reader per table), drops exact duplicate rows (copies of one stream
// record encode to equal rows), and writes
//
//	<dir>compacted-<digest of the sorted input names>-<n>.parquet
//
// files of about TargetBytes each with the table's own encoder (parquetw:
// data pages v1, PLAIN, Zstd), rows sorted by sequence_number within each
// file. Then it writes the manifest
//
//	<prefix>_compaction/<table>/dt=YYYY-MM-DD/hour=HH/<digest>.json
//
// listing the inputs the outputs supersede: outside the table's location,
// where every object is Parquet for Athena, localquery, the purge and the
// backfill, which read them all. Superseded inputs stay until Grace after
// the manifest was written, so that queries already planned over them
// finish; a later run deletes them, then the manifest. A file of an older
// schema (a column missing) leaves its hour as it is.
//
// Every step is safe to interrupt: until the manifest exists the inputs are
// live and the outputs are extra copies (the *_unique views keep one, the
// next run folds them in); after it, the outputs hold every row. A batch
// file arriving in a compacted hour (a Lambda retry, a replay, a backfill)
// is live and merged by the next run. Running again changes nothing.
//
// Memory: rows are buffered until they make one output file (about
// TargetBytes compressed), and a 16-byte hash of every row of the
// partition is kept to drop duplicates across files. At 1,000 events/s an
// hour of events is 3.6 million rows and about 90 MB of Parquet, one file:
// a whole such hour of events and credits takes 4.9 GB of heap and 2
// minutes (TestCompactionFigures with REFX_COMPACT_SECONDS=3600).
package compact
