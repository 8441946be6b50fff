package replay_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/internal/lakefixture"
	"github.com/refx-dev/refx/pkg/export/replay"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stream"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

func TestParsePointer(t *testing.T) {
	fixture, err := os.ReadFile("testdata/on-failure.json")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OK", func(t *testing.T) {
		p, err := replay.ParsePointer(fixture)
		if err != nil {
			t.Fatal(err)
		}
		want := replay.Pointer{
			StreamARN:           "arn:aws:dynamodb:us-east-1:123456789012:table/refx/stream/2026-11-23T13:37:16.991",
			ShardID:             "shardId-00000001765045000000-9f2c1e3a",
			StartSequenceNumber: "800000000012345678901", EndSequenceNumber: "800000000012345678999",
			FirstArrival: time.Date(2026, 12, 6, 18, 21, 49, 0, time.UTC), LastArrival: time.Date(2026, 12, 6, 18, 21, 52, 0, time.UTC),
			BatchSize: 40,
		}
		if !p.FirstArrival.Equal(want.FirstArrival) || !p.LastArrival.Equal(want.LastArrival) {
			t.Fatalf("arrivals %v %v", p.FirstArrival, p.LastArrival)
		}
		p.FirstArrival, p.LastArrival = want.FirstArrival, want.LastArrival
		if p != want {
			t.Fatalf("ParsePointer = %+v\nwant %+v", p, want)
		}
	})
	edit := func(from, to string) string { return strings.Replace(string(fixture), from, to, 1) }
	for _, tc := range []struct {
		name, body, want string
	}{
		{"ErrNotJSON", "shardId=1", "not an on-failure record"},
		{"ErrEmpty", "", "not an on-failure record"},
		{"ErrNoBatchInfo", `{"requestContext":{"condition":"RetryAttemptsExhausted"}}`, "no DDBStreamBatchInfo"},
		{"ErrKinesis", `{"KinesisBatchInfo":{"shardId":"shardId-000000000000"}}`, "no DDBStreamBatchInfo"},
		{"ErrBatchInfoNotObject", `{"DDBStreamBatchInfo":"x"}`, "not an on-failure record"},
		{"ErrStreamARN", edit("arn:aws:dynamodb:us-east-1:123456789012:table/refx/stream/", "arn:aws:dynamodb:us-east-1:123456789012:table/refx/"), "not a DynamoDB stream ARN"},
		{"ErrNoShard", edit(`"shardId-00000001765045000000-9f2c1e3a"`, `""`), "no shardId"},
		{"ErrSequenceNotNumber", edit(`"800000000012345678901"`, `"80000000001234567890x"`), "not decimal numbers"},
		{"ErrSequenceTooShort", edit(`"800000000012345678901"`, `"1"`), "not decimal numbers"},
		{"ErrNoSequence", edit(`"800000000012345678999"`, `""`), "not decimal numbers"},
		{"ErrSequenceNumberType", edit(`"800000000012345678901"`, `800000000012345678901`), "not an on-failure record"},
		{"ErrStartAfterEnd", edit(`"800000000012345678901"`, `"900000000012345678901"`), "is after endSequenceNumber"},
		{"ErrArrival", edit(`"2026-12-06T18:21:49Z"`, `"yesterday"`), "not an on-failure record"},
		{"ErrBatchSize", edit(`"batchSize": 40`, `"batchSize": -1`), "batchSize -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := replay.ParsePointer([]byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) || refx.ErrorCode(err) != refx.EINVALID {
				t.Fatalf("ParsePointer = %v (code %s), want %s error containing %q", err, refx.ErrorCode(err), refx.EINVALID, tc.want)
			}
		})
	}
}

// TestReplay exports real traffic, deletes the objects of one batch (what
// a batch Lambda gave up on leaves), replays it from its on-failure record
// and compares every view with the original; then replays it again cut
// into other batches (copies under new keys), which the views drop.
func TestReplay(t *testing.T) {
	l := lakefixture.New(t, lakefixture.Options{BatchSize: 10, Prefix: export.DefaultPrefix})
	l.Traffic(t)
	l.Drain(t)
	original := l.Views(t)
	batches := l.Batches()
	if len(batches) < 5 {
		t.Fatalf("%d batches: too little traffic", len(batches))
	}
	// The batch with rows in the most tables.
	var lost events.DynamoDBEvent
	lostTables := 0
	for _, b := range batches {
		enc, err := l.Exporter.Encode(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(enc.Objects) > lostTables {
			lost, lostTables = b, len(enc.Objects)
		}
	}
	first, last := lost.Records[0].Change.SequenceNumber, lost.Records[len(lost.Records)-1].Change.SequenceNumber
	name := stream.PadSequence(first) + "-" + stream.PadSequence(last) + "-"
	deleted := l.Delete(t, func(key string) bool { return strings.Contains(key, name) })
	if len(deleted) != lostTables {
		t.Fatalf("deleted %v, want the batch's %d objects", deleted, lostTables)
	}
	if lakefixture.Diff(original, l.Views(t)) == "" {
		t.Fatal("deleting the batch's objects changed no view: the test proves nothing")
	}
	msg := onFailure(t, l, lost)
	p, err := replay.ParsePointer(msg)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("RestoresViews", func(t *testing.T) {
		rep, err := replay.Run(t.Context(), replay.Config{Streams: l.Streams, Exporter: l.Exporter, BatchSize: 10, Logger: lakefixture.Discard}, p)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Records != len(lost.Records) || rep.Objects < lostTables || rep.Rows == 0 {
			t.Fatalf("report %+v for a batch of %d records in %d objects", rep, len(lost.Records), lostTables)
		}
		objects := l.Objects(t)
		for _, k := range deleted {
			if _, ok := objects[k]; !ok {
				t.Errorf("%s not written again", k)
			}
		}
		if diff := lakefixture.Diff(original, l.Views(t)); diff != "" {
			t.Fatalf("views after the replay (missing and extra rows):\n%s", diff)
		}
	})

	t.Run("TwiceNoDuplicates", func(t *testing.T) {
		before := l.Objects(t)
		for _, size := range []int32{10, 3} {
			rep, err := replay.Run(t.Context(), replay.Config{Streams: l.Streams, Exporter: l.Exporter, BatchSize: size, Logger: lakefixture.Discard}, p)
			if err != nil || rep.Records != len(lost.Records) {
				t.Fatalf("replay in batches of %d: %+v, %v", size, rep, err)
			}
		}
		if after := l.Objects(t); len(after) <= len(before) {
			t.Fatalf("replaying in batches of 3 wrote no new keys (%d objects before, %d after): the copies are not exercised", len(before), len(after))
		}
		if diff := lakefixture.Diff(original, l.Views(t)); diff != "" {
			t.Fatalf("views after replaying twice (missing and extra rows):\n%s", diff)
		}
	})

	t.Run("DrainQueue", func(t *testing.T) {
		l.Delete(t, func(key string) bool { return strings.Contains(key, name) })
		gone := p
		gone.ShardID = "shardId-00000000000000000000-00000000"
		goneMsg, err := json.Marshal(map[string]any{"DDBStreamBatchInfo": gone})
		if err != nil {
			t.Fatal(err)
		}
		q := &queue{messages: map[string]string{"lost": string(msg), "garbage": "{", "gone": string(goneMsg)}}
		var outcomes []string
		err = replay.DrainQueue(t.Context(), replay.Config{Streams: l.Streams, Exporter: l.Exporter, Logger: lakefixture.Discard}, q, "dlq",
			func(o replay.Outcome) {
				outcome := o.MessageID + " replayed"
				if o.Err != nil {
					outcome = o.MessageID + " failed"
				} else if o.Report.Records != len(lost.Records) {
					t.Errorf("%s: %+v", o.MessageID, o.Report)
				}
				outcomes = append(outcomes, outcome)
			})
		if err == nil || !strings.Contains(err.Error(), "2 messages failed") {
			t.Errorf("DrainQueue = %v, want 2 failed", err)
		}
		slices.Sort(outcomes)
		if want := []string{"garbage failed", "gone failed", "lost replayed"}; !slices.Equal(outcomes, want) {
			t.Errorf("outcomes %v, want %v", outcomes, want)
		}
		if left := slices.Sorted(maps.Keys(q.messages)); !slices.Equal(left, []string{"garbage", "gone"}) {
			t.Errorf("left in the queue: %v, want the failed messages only", left)
		}
		if diff := lakefixture.Diff(original, l.Views(t)); diff != "" {
			t.Fatalf("views after draining the queue (missing and extra rows):\n%s", diff)
		}
	})

	t.Run("RetriesFailedPuts", func(t *testing.T) {
		l.Delete(t, func(key string) bool { return strings.Contains(key, name) })
		for _, tc := range []struct {
			name     string
			failures int
			wantErr  bool
		}{
			{"Transient", 3, false},
			{"ErrPersistent", 1 << 30, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s3c := &flaky{ObjectPutter: l.S3C, failures: tc.failures}
				x, err := export.New(export.Config{S3: s3c, Bucket: l.S3.Bucket(), Prefix: l.Prefix, Logger: lakefixture.Discard})
				if err != nil {
					t.Fatal(err)
				}
				_, err = replay.Run(t.Context(), replay.Config{Streams: l.Streams, Exporter: x, BatchSize: 10, Attempts: 3, Logger: lakefixture.Discard}, p)
				if tc.wantErr {
					if err == nil || !strings.Contains(err.Error(), "failed after 3 attempts") {
						t.Fatalf("Run = %v, want the batch failed after 3 attempts", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if diff := lakefixture.Diff(original, l.Views(t)); diff != "" {
					t.Fatalf("views after a replay through failing puts (missing and extra rows):\n%s", diff)
				}
			})
		}
	})

	t.Run("ErrGone", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			edit    func(p *replay.Pointer)
			streams replay.Streams
		}{
			{"UnknownShard", func(p *replay.Pointer) { p.ShardID = "shardId-00000000000000000000-00000000" }, nil},
			{"UnknownStream", func(p *replay.Pointer) { p.StreamARN = strings.Replace(p.StreamARN, l.Table, l.Table+"-gone", 1) }, nil},
			// DynamoDB Local keeps its stream: trimming after 24 hours is
			// emulated around it.
			{"Trimmed", func(*replay.Pointer) {}, trimmed{l.Streams, stream.PadSequence(last) + "0"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				q := p
				tc.edit(&q)
				streams := tc.streams
				if streams == nil {
					streams = l.Streams
				}
				_, err := replay.Run(t.Context(), replay.Config{Streams: streams, Exporter: l.Exporter, Logger: lakefixture.Discard}, q)
				if err == nil || refx.ErrorCode(err) != refx.ENOTFOUND || !strings.Contains(err.Error(), "./scripts/backfill-export") {
					t.Fatalf("Run = %v (code %s), want %s saying to run the backfill", err, refx.ErrorCode(err), refx.ENOTFOUND)
				}
				t.Log(err)
			})
		}
	})
}

// flaky fails its first failures PutObject calls, as S3 does when it
// throttles or a connection drops.
type flaky struct {
	export.ObjectPutter
	mu       sync.Mutex
	failures int
}

func (f *flaky) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	f.mu.Lock()
	fail := f.failures > 0
	f.failures--
	f.mu.Unlock()
	if fail {
		return nil, errors.New("injected: SlowDown")
	}
	return f.ObjectPutter.PutObject(ctx, in, optFns...)
}

// queue is an SQS queue as DrainQueue sees it: a received message stays
// invisible for the rest of the test (a visibility timeout longer than the
// drain), a deleted one is gone.
type queue struct {
	messages map[string]string
	received map[string]bool
}

func (q *queue) ReceiveMessage(_ context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	if q.received == nil {
		q.received = map[string]bool{}
	}
	out := &sqs.ReceiveMessageOutput{}
	for _, id := range slices.Sorted(maps.Keys(q.messages)) {
		if q.received[id] || len(out.Messages) == int(in.MaxNumberOfMessages) {
			continue
		}
		q.received[id] = true
		out.Messages = append(out.Messages, sqstypes.Message{MessageId: aws.String(id), ReceiptHandle: aws.String("rh-" + id), Body: aws.String(q.messages[id])})
	}
	return out, nil
}

func (q *queue) DeleteMessage(_ context.Context, in *sqs.DeleteMessageInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	id, ok := strings.CutPrefix(aws.ToString(in.ReceiptHandle), "rh-")
	if _, known := q.messages[id]; !ok || !known {
		return nil, fmt.Errorf("unknown receipt handle %q", aws.ToString(in.ReceiptHandle))
	}
	delete(q.messages, id)
	return &sqs.DeleteMessageOutput{}, nil
}

// trimmed is the stream after 24 hours: records before horizon (a padded
// sequence number) are gone, as DynamoDB Streams answers for them.
type trimmed struct {
	replay.Streams
	horizon string
}

func (s trimmed) GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error) {
	if in.SequenceNumber != nil && stream.PadSequence(*in.SequenceNumber) < s.horizon {
		return nil, &types.TrimmedDataAccessException{Message: aws.String("the operation attempted to read past the oldest stream record in a shard")}
	}
	return s.Streams.GetShardIterator(ctx, in, optFns...)
}

// onFailure is the on-failure record Lambda sends the DLQ for batch.
func onFailure(t *testing.T, l *lakefixture.Lake, batch events.DynamoDBEvent) []byte {
	t.Helper()
	out, err := l.Streams.DescribeStream(t.Context(), &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(l.StreamARN)})
	if err != nil {
		t.Fatal(err)
	}
	first, last := batch.Records[0].Change, batch.Records[len(batch.Records)-1].Change
	var shard string
	for _, s := range out.StreamDescription.Shards {
		r := s.SequenceNumberRange
		start, end := stream.PadSequence(aws.ToString(r.StartingSequenceNumber)), stream.PadSequence(aws.ToString(r.EndingSequenceNumber))
		if seq := stream.PadSequence(first.SequenceNumber); start <= seq && (r.EndingSequenceNumber == nil || seq <= end) {
			shard = aws.ToString(s.ShardId)
		}
	}
	if shard == "" {
		t.Fatalf("no shard holds %s", first.SequenceNumber)
	}
	info := map[string]any{
		"shardId": shard, "startSequenceNumber": first.SequenceNumber, "endSequenceNumber": last.SequenceNumber,
		"approximateArrivalOfFirstRecord": first.ApproximateCreationDateTime.UTC().Format(time.RFC3339),
		"approximateArrivalOfLastRecord":  last.ApproximateCreationDateTime.UTC().Format(time.RFC3339),
		"batchSize":                       len(batch.Records), "streamArn": l.StreamARN,
	}
	b, err := json.Marshal(map[string]any{
		"requestContext": map[string]any{"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 3},
		"version":        "1.0", "DDBStreamBatchInfo": info,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
