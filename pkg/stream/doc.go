// Package stream is the one reading of the table's DynamoDB stream records
// shared by every stream consumer (the exporter, the aggregator): what a
// record did to its item (Change, telling TTL expiry from deletions), its
// item images as SDK attribute values, and where it sits in its shard.
package stream
