// Package s3local runs an S3-compatible server in-process on loopback
// (gofakes3), for the local stack and the tests: the exporter writes to it
// through the real S3 API with the AWS SDK, as it writes to S3 in AWS.
//
// With a directory, objects persist as plain files under
// <dir>/buckets/<bucket>/<key>, so local tools (DuckDB, scripts/query) read
// them where they lie; without one they live in memory.
package s3local
