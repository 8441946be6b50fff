// Package lakeproof proves the analytics lake end to end, as issue 17
// asks: real traffic through the local stack, the export, compaction,
// replay and backfill, with the Athena queries held to the results API at
// every stage. ./scripts/lake-proof runs it at 10,000 events and prints
// the report; TestLakeProof runs the same code at 800.
//
// Run starts the stack of ./scripts/dev in-process (pkg/devserver) with
// its data on disk, so that the exported Parquet files are files, and
// finds its parts (API, keys, DynamoDB Local, S3) in its banner. Three
// experiments are created through the admin API, one a referral
// experiment; concurrent clients then record exactly Events distinct
// events the way clients do: enrolments (some repeated, sticky), single
// events and batches each retried with the same ids (answered duplicate,
// counted once), referral links, clicks (twice per visitor), signups from
// the referee's own address, and referee purchases that convert.
//
// Once the results API has counted everything (counted_through) and
// events_unique holds every event, the proof checks, collecting every
// difference in Report.Problems:
//
//   - experiment_results.sql and referral_funnel.sql (DuckDB over the
//     files, package localquery) equal GET /v1/experiments/{id}/results
//     field by field, exactly;
//   - with an undecodable file planted in another day of every table a
//     *_unique view de-duplicates, dt-filtered counts run and equal the
//     undated ones, while an undated count fails on the file;
//   - after compact.Run (every hour closed, no grace), replay.Run of the
//     whole stream from on-failure pointers, backfill.Run over the whole
//     run and a second compaction, every *_unique view's row count and
//     both queries are unchanged.
//
// The report (Report.Markdown) gives the rate, files and bytes per table
// and hour before and after compaction, timings and the Athena cost of a
// dashboard refresh, for the run and extrapolated to 1,000 events/s.
package lakeproof
