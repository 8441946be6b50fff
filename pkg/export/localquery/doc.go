// Package localquery runs the Athena queries of schema/athena on this
// machine, with DuckDB, over the Parquet files the exporter wrote: the same
// files, the same table names, the same views and the same SQL as in Athena.
//
// DuckDB comes in through cgo (github.com/duckdb/duckdb-go/v2, which links
// a prebuilt DuckDB from the Go module proxy), so the queries need nothing
// but Go and a C toolchain: no JVM, no npm package, no download at run time.
// Its Parquet reader maps the files' types onto the same SQL types Athena
// uses (DECIMAL(14,4), TIMESTAMP, ...), and its SQL dialect accepts the
// portable subset the views and queries are written in.
//
// Each exported table becomes a view over its files (under Root, then
// Prefix: export/ as deployed), read with Hive partitioning so that dt and
// hour are columns as in Athena, after an empty file of its schema that
// keeps a table with no file yet queryable. As in Athena, a dt filter on a
// table or on a *_unique view prunes the files: DuckDB reads only those of
// the days asked for. The views of schema/athena/views are then created as
// they are in Athena.
package localquery
