// Package lakeviews deploys the Athena views of schema/athena/views: the
// handler of the CloudFormation custom resource that `cdk deploy` creates
// (functions/lakeviews), so that a deployed stack is queryable without
// anyone running the view statements by hand.
//
// Athena, like DuckDB, resolves a view's tables when the view is created,
// so the views must be created after the views they read. Order computes
// that order from the statements themselves: the tables each one reads
// (FROM and JOIN), each either an exported table or another view; a
// reference to anything else, or a cycle, is an error at `cdk synth` and
// again in the handler, before any statement runs.
//
// On Create and Update the handler runs every CREATE OR REPLACE VIEW in that
// order, each through Athena (StartQueryExecution in the stack's workgroup
// and Glue database, then GetQueryExecution until it ends), and fails with
// Athena's reason for the first statement that does not succeed. Update
// reruns every view, not only the changed ones: a view whose base view
// changed its columns is stale in Athena until it is created again. Views
// an update no longer lists are dropped. On Delete the views are dropped in
// the reverse order.
package lakeviews
