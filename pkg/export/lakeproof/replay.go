package lakeproof

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/backfill"
	"github.com/refx-dev/refx/pkg/export/replay"
	"github.com/refx-dev/refx/pkg/export/streampoll"
	"github.com/refx-dev/refx/pkg/s3local"
)

// ReplayRun is what replaying the whole stream did.
type ReplayRun struct {
	// Pointers are the on-failure records replayed: one per shard, from
	// its first record to its last, all exported already.
	Pointers int
	Report   replay.Report
}

// replayAll replays every record of the table's stream as if Lambda had
// given up on each shard's records: an on-failure record per shard, read
// back by replay.ParsePointer as ./scripts/replay-export reads the DLQ's,
// then replay.Run through an exporter of the lake. The records were all
// exported already, so the views must not change.
func replayAll(ctx context.Context, s *Stack, logger *slog.Logger) (*ReplayRun, error) {
	awsCfg, err := dynamo.LoadAWSConfig(ctx, dynamo.ClientConfig{Endpoint: s.DynamoDBEndpoint})
	if err != nil {
		return nil, err
	}
	streams := dynamodbstreams.NewFromConfig(awsCfg)
	arn, err := streampoll.LatestStreamARN(ctx, streams, s.Table)
	if err != nil {
		return nil, err
	}
	s3c, err := s3local.NewClient(ctx, s.S3Endpoint)
	if err != nil {
		return nil, err
	}
	exporter, err := export.New(export.Config{S3: s3c, Bucket: s.Bucket, Prefix: Prefix, Logger: logger})
	if err != nil {
		return nil, err
	}
	shards, err := shardsOf(ctx, streams, arn)
	if err != nil {
		return nil, err
	}
	run := &ReplayRun{}
	for _, shard := range shards {
		first, last, err := shardRange(ctx, streams, arn, shard)
		if err != nil {
			return nil, err
		}
		if first == "" {
			continue
		}
		msg, err := json.Marshal(map[string]any{"DDBStreamBatchInfo": map[string]any{
			"streamArn": arn, "shardId": shard, "startSequenceNumber": first, "endSequenceNumber": last,
		}})
		if err != nil {
			return nil, err
		}
		p, err := replay.ParsePointer(msg)
		if err != nil {
			return nil, err
		}
		rep, err := replay.Run(ctx, replay.Config{Streams: streams, Exporter: exporter, Logger: logger}, p)
		if err != nil {
			return nil, fmt.Errorf("replay of shard %s: %w", shard, err)
		}
		run.Pointers++
		run.Report.Records += rep.Records
		run.Report.Batches += rep.Batches
		run.Report.Rows += rep.Rows
		run.Report.Objects += rep.Objects
		run.Report.Skipped += rep.Skipped
		run.Report.Undecodable += rep.Undecodable
	}
	return run, nil
}

func shardsOf(ctx context.Context, c *dynamodbstreams.Client, arn string) ([]string, error) {
	var shards []string
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn)}
	for {
		out, err := c.DescribeStream(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("lakeproof: describe stream: %w", err)
		}
		for _, sh := range out.StreamDescription.Shards {
			shards = append(shards, aws.ToString(sh.ShardId))
		}
		if out.StreamDescription.LastEvaluatedShardId == nil {
			return shards, nil
		}
		in.ExclusiveStartShardId = out.StreamDescription.LastEvaluatedShardId
	}
}

// shardRange reads a shard from its start to its end (a closed shard) or
// to its first empty page (an open one, once the traffic is over: DynamoDB
// Local answers an empty page only at the end) and returns its first and
// last sequence numbers; "" for an empty shard.
func shardRange(ctx context.Context, c *dynamodbstreams.Client, arn, shard string) (first, last string, err error) {
	it, err := c.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
		StreamArn: aws.String(arn), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		return "", "", fmt.Errorf("lakeproof: shard %s: %w", shard, err)
	}
	iter := it.ShardIterator
	for iter != nil {
		out, err := c.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(1000)})
		if err != nil {
			return "", "", fmt.Errorf("lakeproof: shard %s: %w", shard, err)
		}
		for _, r := range out.Records {
			seq := aws.ToString(r.Dynamodb.SequenceNumber)
			if first == "" {
				first = seq
			}
			last = seq
		}
		if len(out.Records) == 0 {
			break
		}
		iter = out.NextShardIterator
	}
	return first, last, nil
}

// backfillRate bounds the backfill's Scan, as an operator would to leave
// the table's capacity to the API (DynamoDB Local counts the units too).
const backfillRate = 2000

// backfillAll runs the backfill over [from, to), every item the traffic
// wrote: all of them were exported, so it must add no row to the views.
func backfillAll(ctx context.Context, s *Stack, from, to time.Time, logger *slog.Logger) (*backfill.Report, error) {
	ddb, err := dynamo.NewClient(ctx, dynamo.ClientConfig{Endpoint: s.DynamoDBEndpoint})
	if err != nil {
		return nil, err
	}
	s3c, err := s3local.NewClient(ctx, s.S3Endpoint)
	if err != nil {
		return nil, err
	}
	return backfill.Run(ctx, backfill.Config{
		DynamoDB: ddb, Table: s.Table, S3: s3c, Bucket: s.Bucket, Prefix: Prefix,
		From: from, To: to, ReadUnitsPerSecond: backfillRate, Logger: logger,
	})
}
