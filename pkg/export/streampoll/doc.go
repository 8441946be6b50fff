// Package streampoll reads a DynamoDB stream through the DynamoDB Streams
// API and hands it, batch by batch, to a Lambda-style stream handler: what
// the Lambda event source mapping does in AWS, for the local stack and the
// tests. Batches are events.DynamoDBEvent values built from the records of
// one GetRecords call of one shard; the handler's batch item failures make
// the poller retry from the first failed record, and an error retries the
// whole batch, as Lambda does.
package streampoll
