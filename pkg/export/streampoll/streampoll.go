package streampoll

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// Streams is the part of the DynamoDB Streams API the poller uses;
// *dynamodbstreams.Client implements it.
type Streams interface {
	ListStreams(ctx context.Context, in *dynamodbstreams.ListStreamsInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.ListStreamsOutput, error)
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

var _ Streams = (*dynamodbstreams.Client)(nil)

// Handler is a Lambda DynamoDB stream handler, such as export.Exporter.Handle.
type Handler func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// Checkpoints remember, per shard, the last sequence number handled, so
// that a restarted poller resumes where it stopped. Nil means start from
// the oldest record each time.
type Checkpoints interface {
	Load(shard string) (sequence string, err error)
	Save(shard, sequence string) error
}

// Config configures a Poller.
type Config struct {
	Streams Streams
	// StreamARN is the stream to read (see LatestStreamARN).
	StreamARN string
	Handler   Handler
	// BatchSize is the most records per batch (default 100, at most 1000).
	BatchSize int32
	// Interval is the pause between polls once caught up (default 1s).
	Interval time.Duration
	// Checkpoints, when set, persist progress across restarts.
	Checkpoints Checkpoints
	// Region is the batch records' awsRegion (default "ddblocal").
	Region string
	Logger *slog.Logger
}

// Poller reads a stream and calls the handler. Not safe for concurrent use:
// run Run or Drain from one goroutine.
type Poller struct {
	cfg    Config
	shards map[string]*shard
}

type shard struct {
	id, parent string
	iterator   *string
	// last is the last sequence number handled.
	last string
	done bool
}

// New validates cfg and returns a Poller.
func New(cfg Config) (*Poller, error) {
	switch {
	case cfg.Streams == nil:
		return nil, errors.New("streampoll.New: no Streams client")
	case cfg.StreamARN == "":
		return nil, errors.New("streampoll.New: no stream ARN")
	case cfg.Handler == nil:
		return nil, errors.New("streampoll.New: no handler")
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 100
	}
	cfg.BatchSize = min(cfg.BatchSize, 1000)
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Region == "" {
		cfg.Region = "ddblocal"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Poller{cfg: cfg, shards: map[string]*shard{}}, nil
}

// LatestStreamARN returns the ARN of the table's current stream.
func LatestStreamARN(ctx context.Context, c Streams, table string) (string, error) {
	out, err := c.ListStreams(ctx, &dynamodbstreams.ListStreamsInput{TableName: aws.String(table)})
	if err != nil {
		return "", fmt.Errorf("streampoll.LatestStreamARN: %w", err)
	}
	var latest string
	for _, s := range out.Streams {
		// Stream ARNs end with their creation time (ISO 8601), so the
		// greatest is the newest.
		if arn := aws.ToString(s.StreamArn); arn > latest {
			latest = arn
		}
	}
	if latest == "" {
		return "", fmt.Errorf("streampoll.LatestStreamARN: table %s has no stream", table)
	}
	return latest, nil
}

// Run polls until ctx ends: drain every shard, wait Interval, again. Errors
// of the Streams API are logged and retried; it returns nil when ctx ends.
func (p *Poller) Run(ctx context.Context) error {
	for {
		if _, err := p.Drain(ctx); err != nil && ctx.Err() == nil {
			p.cfg.Logger.WarnContext(ctx, "streampoll: poll failed; retrying", "stream", p.cfg.StreamARN, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(p.cfg.Interval):
		}
	}
}

// Drain reads every shard up to the end of what the stream holds now,
// calling the handler for each batch, and returns the number of records
// handled. A batch the handler fails is retried (with backoff) until it
// succeeds or ctx ends.
func (p *Poller) Drain(ctx context.Context) (int, error) {
	if err := p.discover(ctx); err != nil {
		return 0, err
	}
	total := 0
	for _, s := range p.ordered() {
		if s.done || !p.ready(s) {
			continue
		}
		n, err := p.drainShard(ctx, s)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// discover adds the stream's shards not known yet.
func (p *Poller) discover(ctx context.Context) error {
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(p.cfg.StreamARN)}
	for {
		out, err := p.cfg.Streams.DescribeStream(ctx, in)
		if err != nil {
			return fmt.Errorf("streampoll.discover: %w", err)
		}
		for _, sh := range out.StreamDescription.Shards {
			id := aws.ToString(sh.ShardId)
			if _, ok := p.shards[id]; ok {
				continue
			}
			s := &shard{id: id, parent: aws.ToString(sh.ParentShardId)}
			if p.cfg.Checkpoints != nil {
				if s.last, err = p.cfg.Checkpoints.Load(id); err != nil {
					return fmt.Errorf("streampoll.discover: checkpoint of %s: %w", id, err)
				}
			}
			p.shards[id] = s
		}
		if out.StreamDescription.LastEvaluatedShardId == nil {
			return nil
		}
		in.ExclusiveStartShardId = out.StreamDescription.LastEvaluatedShardId
	}
}

// ordered lists shards parents first (shard ids sort by creation time).
func (p *Poller) ordered() []*shard {
	out := make([]*shard, 0, len(p.shards))
	for _, s := range p.shards {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// ready reports whether a shard's parent is fully read (or gone), so that
// an item's changes are handled in order across a shard split.
func (p *Poller) ready(s *shard) bool {
	parent, ok := p.shards[s.parent]
	return s.parent == "" || !ok || parent.done
}

// drainShard reads one shard until GetRecords returns nothing new.
func (p *Poller) drainShard(ctx context.Context, s *shard) (int, error) {
	total := 0
	for {
		if s.iterator == nil {
			if err := p.position(ctx, s, s.last); err != nil {
				return total, err
			}
		}
		out, err := p.cfg.Streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: s.iterator, Limit: aws.Int32(p.cfg.BatchSize)})
		var expired *types.ExpiredIteratorException
		if errors.As(err, &expired) {
			s.iterator = nil
			continue
		}
		// DynamoDB Local answers a shard's first read, before its first
		// record, with TrimmedDataAccess: nothing to read yet.
		var trimmed *types.TrimmedDataAccessException
		if errors.As(err, &trimmed) {
			s.iterator = nil
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("streampoll.GetRecords %s: %w", s.id, err)
		}
		if len(out.Records) > 0 {
			if err := p.handle(ctx, s, out.Records); err != nil {
				// Resume after the last record handled, not at this
				// iterator, which would hand the handled ones out again.
				s.iterator = nil
				return total, err
			}
			total += len(out.Records)
		}
		s.iterator = out.NextShardIterator
		if s.iterator == nil {
			s.done = true
			return total, nil
		}
		if len(out.Records) == 0 {
			return total, nil
		}
	}
}

// position gets an iterator after the sequence number after, or at the
// shard's oldest record when after is empty or trimmed away.
func (p *Poller) position(ctx context.Context, s *shard, after string) error {
	in := &dynamodbstreams.GetShardIteratorInput{
		StreamArn: aws.String(p.cfg.StreamARN), ShardId: aws.String(s.id),
		ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	}
	if after != "" {
		in.ShardIteratorType = types.ShardIteratorTypeAfterSequenceNumber
		in.SequenceNumber = aws.String(after)
	}
	out, err := p.cfg.Streams.GetShardIterator(ctx, in)
	var trimmed *types.TrimmedDataAccessException
	if after != "" && errors.As(err, &trimmed) {
		p.cfg.Logger.WarnContext(ctx, "streampoll: checkpoint trimmed from the stream; reading from the oldest record", "shard", s.id, "after", after)
		return p.position(ctx, s, "")
	}
	if err != nil {
		return fmt.Errorf("streampoll.GetShardIterator %s: %w", s.id, err)
	}
	s.iterator = out.ShardIterator
	return nil
}

// handle calls the handler until the batch is through: batch item failures
// retry from the first failed record, an error retries the whole batch.
func (p *Poller) handle(ctx context.Context, s *shard, recs []types.Record) error {
	batch := make([]events.DynamoDBEventRecord, len(recs))
	for i := range recs {
		batch[i] = LambdaRecord(&recs[i], p.cfg.StreamARN, p.cfg.Region)
	}
	backoff := 100 * time.Millisecond
	for len(batch) > 0 {
		resp, err := p.cfg.Handler(ctx, events.DynamoDBEvent{Records: batch})
		next := batch[:0:0]
		switch {
		case err != nil:
			p.cfg.Logger.ErrorContext(ctx, "streampoll: handler failed; retrying the batch", "shard", s.id, "records", len(batch), "err", err)
			next = batch
		case len(resp.BatchItemFailures) > 0:
			next = fromFirstFailure(batch, resp.BatchItemFailures)
			p.cfg.Logger.WarnContext(ctx, "streampoll: batch item failures; retrying from the first", "shard", s.id,
				"failures", len(resp.BatchItemFailures), "retrying", len(next))
		}
		if done := len(batch) - len(next); done > 0 {
			if err := p.checkpoint(s, batch[done-1].Change.SequenceNumber); err != nil {
				return err
			}
		}
		batch = next
		if len(batch) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
	return nil
}

// fromFirstFailure returns the records from the first reported failure on.
// An identifier that matches no record fails the whole batch, as in Lambda.
func fromFirstFailure(batch []events.DynamoDBEventRecord, failures []events.DynamoDBBatchItemFailure) []events.DynamoDBEventRecord {
	first := len(batch)
	for _, f := range failures {
		found := false
		for i := range batch {
			if batch[i].Change.SequenceNumber == f.ItemIdentifier {
				first, found = min(first, i), true
				break
			}
		}
		if !found {
			return batch
		}
	}
	return batch[first:]
}

func (p *Poller) checkpoint(s *shard, seq string) error {
	s.last = seq
	if p.cfg.Checkpoints == nil {
		return nil
	}
	if err := p.cfg.Checkpoints.Save(s.id, seq); err != nil {
		return fmt.Errorf("streampoll.checkpoint %s: %w", s.id, err)
	}
	return nil
}
