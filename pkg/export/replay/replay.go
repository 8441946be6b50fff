package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/streampoll"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stream"
)

// Pointer is where a failed batch sits in the stream: the
// DDBStreamBatchInfo of Lambda's on-failure record.
type Pointer struct {
	StreamARN string `json:"streamArn"`
	ShardID   string `json:"shardId"`
	// StartSequenceNumber and EndSequenceNumber are the batch's first and
	// last records, both included.
	StartSequenceNumber string `json:"startSequenceNumber"`
	EndSequenceNumber   string `json:"endSequenceNumber"`
	// FirstArrival and LastArrival are the records' stream times.
	FirstArrival time.Time `json:"approximateArrivalOfFirstRecord"`
	LastArrival  time.Time `json:"approximateArrivalOfLastRecord"`
	BatchSize    int       `json:"batchSize"`
}

// ParsePointer reads Lambda's on-failure record of a DynamoDB stream batch
// (the body of a DLQ message). Malformed input is an EINVALID error naming
// what is wrong.
func ParsePointer(b []byte) (Pointer, error) {
	var msg struct {
		Info *Pointer `json:"DDBStreamBatchInfo"`
	}
	if err := json.Unmarshal(b, &msg); err != nil {
		return Pointer{}, refx.Errorf(refx.EINVALID, "replay.ParsePointer: not an on-failure record: %v", err)
	}
	p := msg.Info
	switch {
	case p == nil:
		return Pointer{}, refx.Errorf(refx.EINVALID, "replay.ParsePointer: no DDBStreamBatchInfo (not a DynamoDB stream on-failure record)")
	case !strings.HasPrefix(p.StreamARN, "arn:") || !strings.Contains(p.StreamARN, "/stream/"):
		return Pointer{}, refx.Errorf(refx.EINVALID, "replay.ParsePointer: streamArn %q is not a DynamoDB stream ARN", p.StreamARN)
	case p.ShardID == "":
		return Pointer{}, refx.Errorf(refx.EINVALID, "replay.ParsePointer: no shardId")
	case !decimal(p.StartSequenceNumber) || !decimal(p.EndSequenceNumber):
		return Pointer{}, refx.Errorf(refx.EINVALID, "replay.ParsePointer: sequence numbers %q..%q are not decimal numbers of 21 to 40 digits",
			p.StartSequenceNumber, p.EndSequenceNumber)
	case after(p.StartSequenceNumber, p.EndSequenceNumber):
		return Pointer{}, refx.Errorf(refx.EINVALID, "replay.ParsePointer: startSequenceNumber %s is after endSequenceNumber %s",
			p.StartSequenceNumber, p.EndSequenceNumber)
	case p.BatchSize < 0:
		return Pointer{}, refx.Errorf(refx.EINVALID, "replay.ParsePointer: batchSize %d", p.BatchSize)
	}
	return *p, nil
}

// decimal reports whether s has the shape of the sequence numbers DynamoDB
// Streams issues: 21 to 40 digits.
func decimal(s string) bool {
	return len(s) >= 21 && len(s) <= 40 && strings.Trim(s, "0123456789") == ""
}

// after reports whether sequence number a comes after b.
func after(a, b string) bool { return stream.PadSequence(a) > stream.PadSequence(b) }

// Streams is the part of the DynamoDB Streams API a replay uses;
// *dynamodbstreams.Client implements it.
type Streams interface {
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

var _ Streams = (*dynamodbstreams.Client)(nil)

// Config configures Run.
type Config struct {
	Streams  Streams
	Exporter *export.Exporter
	// BatchSize is the most records per GetRecords call and exporter
	// batch (default 100, at most 1000).
	BatchSize int32
	// Attempts bounds the calls of the exporter per batch while it reports
	// batch item failures (default 5).
	Attempts int
	Logger   *slog.Logger
}

// Report says what a replay did.
type Report struct {
	// Records were read from the stream and exported in Batches.
	Records, Batches int
	// Rows and Objects are what the exporter wrote; Skipped records gave no
	// row, Undecodable ones went to export_errors.
	Rows, Objects, Skipped, Undecodable int
}

// emptyReads bounds the GetRecords calls in a row that return nothing
// before the end is reached: the stream may answer empty pages while it
// moves through a shard, but a pointer whose end is never reached must
// not loop forever.
const emptyReads = 20

// Run reads the records of p from the stream and exports them. It returns
// an error when a batch still fails after cfg.Attempts, and an
// ENOTFOUND error saying to run the backfill when the stream no longer
// holds the records.
func Run(ctx context.Context, cfg Config, p Pointer) (*Report, error) {
	switch {
	case cfg.Streams == nil:
		return nil, errors.New("replay.Run: no Streams client")
	case cfg.Exporter == nil:
		return nil, errors.New("replay.Run: no exporter")
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 100
	}
	cfg.BatchSize = min(cfg.BatchSize, 1000)
	if cfg.Attempts <= 0 {
		cfg.Attempts = 5
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	region := regionOf(p.StreamARN)
	rep := &Report{}
	iter, err := iterator(ctx, cfg.Streams, p, types.ShardIteratorTypeAtSequenceNumber, p.StartSequenceNumber)
	if err != nil {
		return rep, err
	}
	last, empty, reposition := "", 0, false
	for {
		out, err := cfg.Streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(cfg.BatchSize)})
		var expired *types.ExpiredIteratorException
		if errors.As(err, &expired) && !reposition {
			// Iterators live 15 minutes; one slow batch may outlive it.
			// A second expiry in a row is no longer that.
			reposition = true
			typ, at := types.ShardIteratorTypeAfterSequenceNumber, last
			if last == "" {
				typ, at = types.ShardIteratorTypeAtSequenceNumber, p.StartSequenceNumber
			}
			if iter, err = iterator(ctx, cfg.Streams, p, typ, at); err != nil {
				return rep, err
			}
			continue
		}
		if err != nil {
			return rep, gone(p, "GetRecords", err)
		}
		reposition = false
		var batch []events.DynamoDBEventRecord
		done := false
		for i := range out.Records {
			r := &out.Records[i]
			seq := ""
			if r.Dynamodb != nil {
				seq = aws.ToString(r.Dynamodb.SequenceNumber)
			}
			if after(seq, p.EndSequenceNumber) {
				done = true
				break
			}
			batch = append(batch, streampoll.LambdaRecord(r, p.StreamARN, region))
			last = seq
		}
		if len(batch) > 0 {
			empty = 0
			if err := handle(ctx, cfg, rep, batch); err != nil {
				return rep, err
			}
			cfg.Logger.InfoContext(ctx, "replay: batch exported", "shard", p.ShardID, "records", len(batch),
				"first_sequence", batch[0].Change.SequenceNumber, "last_sequence", last)
		}
		if last == p.EndSequenceNumber || done {
			break
		}
		iter = out.NextShardIterator
		if iter == nil {
			// The shard closed before the end: its records were trimmed or
			// the pointer names a record this shard never had.
			return rep, refx.Errorf(refx.ENOTFOUND, "replay: shard %s ends before sequence number %s (last read %q): "+
				"the pointer is not this shard's, or its records are gone; run ./scripts/backfill-export over %s", p.ShardID,
				p.EndSequenceNumber, last, backfillRange(p))
		}
		if len(batch) == 0 {
			if empty++; empty >= emptyReads {
				return rep, refx.Errorf(refx.ENOTFOUND, "replay: no record up to sequence number %s after %d empty reads of shard %s (last read %q)",
					p.EndSequenceNumber, empty, p.ShardID, last)
			}
		}
	}
	return rep, nil
}

// handle exports one batch, retrying from the first failed record as
// Lambda would.
func handle(ctx context.Context, cfg Config, rep *Report, batch []events.DynamoDBEventRecord) error {
	ev := events.DynamoDBEvent{Records: batch}
	// Encode is deterministic and writes nothing: it counts what Handle
	// is about to write.
	b, err := cfg.Exporter.Encode(ev)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	rep.Records += b.Records
	rep.Rows += b.Rows
	rep.Objects += len(b.Objects)
	rep.Skipped += b.Skipped
	rep.Undecodable += b.Failed
	rep.Batches++
	for attempt := 1; ; attempt++ {
		resp, err := cfg.Exporter.Handle(ctx, ev)
		if err == nil && len(resp.BatchItemFailures) == 0 {
			return nil
		}
		if attempt == cfg.Attempts {
			if err == nil {
				err = fmt.Errorf("%d records failed, the first %s", len(resp.BatchItemFailures), resp.BatchItemFailures[0].ItemIdentifier)
			}
			return fmt.Errorf("replay: batch %s..%s failed after %d attempts: %w", batch[0].Change.SequenceNumber,
				batch[len(batch)-1].Change.SequenceNumber, attempt, err)
		}
		if err == nil {
			ev.Records = fromFirstFailure(ev.Records, resp.BatchItemFailures)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
}

// fromFirstFailure returns the records from the first one reported failed.
func fromFirstFailure(recs []events.DynamoDBEventRecord, failures []events.DynamoDBBatchItemFailure) []events.DynamoDBEventRecord {
	for i := range recs {
		for _, f := range failures {
			if recs[i].Change.SequenceNumber == f.ItemIdentifier {
				return recs[i:]
			}
		}
	}
	return recs
}

func iterator(ctx context.Context, c Streams, p Pointer, typ types.ShardIteratorType, seq string) (*string, error) {
	out, err := c.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
		StreamArn: aws.String(p.StreamARN), ShardId: aws.String(p.ShardID),
		ShardIteratorType: typ, SequenceNumber: aws.String(seq),
	})
	if err != nil {
		return nil, gone(p, "GetShardIterator", err)
	}
	return out.ShardIterator, nil
}

// gone turns the stream's answers for records it no longer holds into an
// error saying what to do instead.
func gone(p Pointer, op string, err error) error {
	var (
		trimmed  *types.TrimmedDataAccessException
		expired  *types.ExpiredIteratorException
		notFound *types.ResourceNotFoundException
	)
	if errors.As(err, &trimmed) || errors.As(err, &expired) || errors.As(err, &notFound) {
		age := ""
		if !p.FirstArrival.IsZero() {
			age = fmt.Sprintf(" (first record streamed %s ago; the stream keeps 24 h)", time.Since(p.FirstArrival).Round(time.Minute))
		}
		return refx.Errorf(refx.ENOTFOUND, "replay: the stream no longer holds sequence numbers %s..%s of shard %s%s: %v; "+
			"recover them from the table with ./scripts/backfill-export over %s", p.StartSequenceNumber, p.EndSequenceNumber,
			p.ShardID, age, err, backfillRange(p))
	}
	return fmt.Errorf("replay: %s %s: %w", op, p.ShardID, err)
}

// backfillRange is the --from/--to of the backfill that covers p, with an
// hour's margin either side (write times differ from stream times).
func backfillRange(p Pointer) string {
	if p.FirstArrival.IsZero() || p.LastArrival.IsZero() {
		return "the days the batch was written"
	}
	from := p.FirstArrival.UTC().Truncate(time.Hour).Add(-time.Hour)
	to := p.LastArrival.UTC().Truncate(time.Hour).Add(2 * time.Hour)
	return fmt.Sprintf("--from %s --to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
}

// regionOf is the region field of an ARN, which Lambda's records carry.
func regionOf(arn string) string {
	if parts := strings.SplitN(arn, ":", 5); len(parts) == 5 {
		return parts[3]
	}
	return ""
}
