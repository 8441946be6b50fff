package export

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/refx-dev/refx/pkg/stream"
)

// ObjectPutter is the part of the S3 API the exporter uses; *s3.Client
// implements it.
type ObjectPutter interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

var _ ObjectPutter = (*s3.Client)(nil)

// DefaultPrefix is the key prefix of the export: what the CDK stack gives
// the export Lambda, what the local stack writes under and what the Athena
// DDL's LOCATION holds, so that an object's key is the same locally and in
// AWS.
const DefaultPrefix = "export/"

// Config configures an Exporter.
type Config struct {
	// S3 receives the objects.
	S3 ObjectPutter
	// Bucket is the destination bucket.
	Bucket string
	// Prefix is prepended to every object key ("" or ending in "/").
	Prefix string
	// Parallel bounds the concurrent PutObject calls of a batch (default 4).
	Parallel int
	// Logger receives one line per batch (default slog.Default()).
	Logger *slog.Logger
}

// Exporter writes DynamoDB stream batches to S3 as Parquet.
type Exporter struct {
	cfg Config
}

// New validates cfg and returns an Exporter.
func New(cfg Config) (*Exporter, error) {
	switch {
	case cfg.S3 == nil:
		return nil, errors.New("export.New: no S3 client")
	case cfg.Bucket == "":
		return nil, errors.New("export.New: no bucket")
	case cfg.Prefix != "" && cfg.Prefix[len(cfg.Prefix)-1] != '/':
		return nil, fmt.Errorf("export.New: prefix %q must end with /", cfg.Prefix)
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 4
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Exporter{cfg: cfg}, nil
}

// Object is one Parquet object a batch writes.
type Object struct {
	Table *Table
	Key   string
	Rows  int
	Body  []byte
	// records are the indexes in the batch of the records with rows here.
	records []int
}

// Batch is a stream batch decoded and encoded, ready to be written.
type Batch struct {
	Objects []Object
	// Records, Rows, Skipped, Failed count the batch's records, the rows
	// decoded, the records that gave no row (deletions, expiry, counters)
	// and the records that could not be decoded (in export_errors).
	Records, Rows, Skipped, Failed int
	// Expired counts the TTL deletions among Skipped.
	Expired int
}

// Encode decodes a batch into rows and encodes them as Parquet objects, one
// per table and partition, without writing anything. Keys are derived from
// the batch's first and last sequence numbers, so the same batch always
// encodes to the same keys and bytes.
func (x *Exporter) Encode(ev events.DynamoDBEvent) (*Batch, error) {
	b := &Batch{Records: len(ev.Records)}
	if len(ev.Records) == 0 {
		return b, nil
	}
	type key struct {
		table *Table
		part  string
	}
	type group struct {
		key
		rows    []any
		records []int
	}
	groups := map[key]*group{}
	var order []*group
	add := func(t *Table, part string, i int, v any) {
		k := key{t, part}
		g, ok := groups[k]
		if !ok {
			g = &group{key: k}
			groups[k] = g
			order = append(order, g)
		}
		g.rows = append(g.rows, v)
		if n := len(g.records); n == 0 || g.records[n-1] != i {
			g.records = append(g.records, i)
		}
	}
	fallback := batchTime(ev.Records)
	for i := range ev.Records {
		rec := &ev.Records[i]
		at := rec.Change.ApproximateCreationDateTime.UTC()
		if at.IsZero() {
			at = fallback
		}
		part := partition(at)
		rows, err := decodeRecord(rec)
		if err != nil {
			b.Failed++
			add(Errors, part, i, errorRow(rec, at, err))
			continue
		}
		if len(rows) == 0 {
			b.Skipped++
			if c, _ := stream.ChangeOf(rec); c == stream.Expire {
				b.Expired++
			}
			continue
		}
		for _, r := range rows {
			add(r.Table, part, i, r.Value)
		}
		b.Rows += len(rows)
	}
	name := batchName(ev.Records)
	for _, g := range order {
		dir := g.table.Name + "/" + g.part
		body, err := g.table.encode(g.rows)
		if err != nil {
			return nil, fmt.Errorf("export.Encode: %s: %w", dir, err)
		}
		b.Objects = append(b.Objects, Object{
			Table: g.table, Key: x.cfg.Prefix + dir + "/" + name + ".parquet",
			Rows: len(g.rows), Body: body, records: g.records,
		})
	}
	return b, nil
}

// decodeRecord decodes one record, turning a panic in a decoder into an
// error so that one malformed record cannot fail its whole batch forever.
func decodeRecord(rec *events.DynamoDBEventRecord) (rows []Row, err error) {
	defer func() {
		if p := recover(); p != nil {
			rows, err = nil, fmt.Errorf("decoder panicked: %v", p)
		}
	}()
	r, err := stream.FromLambda(rec)
	if err != nil {
		return nil, err
	}
	return decode(r)
}

// Handle is the Lambda handler: it exports a batch and reports the records
// whose objects could not be written as batch item failures, so that Lambda
// retries from the first of them. Records that cannot be decoded are not
// failures: they are written to export_errors and the shard moves on.
func (x *Exporter) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	start := time.Now()
	b, err := x.Encode(ev)
	if err != nil {
		// Encoding is deterministic: retrying cannot help, but failing the
		// batch keeps its records rather than skipping them.
		return events.DynamoDBEventResponse{}, err
	}
	failed := make([]bool, len(ev.Records))
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		firstErr error
		bytesOut int
	)
	sem := make(chan struct{}, x.cfg.Parallel)
	for i := range b.Objects {
		o := &b.Objects[i]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := x.put(ctx, o)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				for _, r := range o.records {
					failed[r] = true
				}
				return
			}
			bytesOut += len(o.Body)
		}()
	}
	wg.Wait()
	var resp events.DynamoDBEventResponse
	for i, f := range failed {
		if f {
			resp.BatchItemFailures = append(resp.BatchItemFailures,
				events.DynamoDBBatchItemFailure{ItemIdentifier: ev.Records[i].Change.SequenceNumber})
		}
	}
	attrs := []any{
		"records", b.Records, "rows", b.Rows, "skipped", b.Skipped, "expired", b.Expired,
		"undecodable", b.Failed, "objects", len(b.Objects), "bytes", bytesOut,
		"failed_records", len(resp.BatchItemFailures), "duration_ms", time.Since(start).Milliseconds(),
	}
	if len(ev.Records) > 0 {
		attrs = append(attrs, "first_sequence", ev.Records[0].Change.SequenceNumber,
			"last_sequence", ev.Records[len(ev.Records)-1].Change.SequenceNumber)
	}
	switch {
	case firstErr != nil:
		x.cfg.Logger.ErrorContext(ctx, "export: batch partly failed", append(attrs, "err", firstErr)...)
	case b.Failed > 0:
		x.cfg.Logger.WarnContext(ctx, "export: batch had undecodable records (see export_errors)", attrs...)
	default:
		x.cfg.Logger.InfoContext(ctx, "export: batch", attrs...)
	}
	return resp, nil
}

func (x *Exporter) put(ctx context.Context, o *Object) error {
	_, err := x.cfg.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(x.cfg.Bucket),
		Key:         aws.String(o.Key),
		Body:        bytes.NewReader(o.Body),
		ContentType: aws.String("application/vnd.apache.parquet"),
	})
	if err != nil {
		return fmt.Errorf("export.put %s: %w", o.Key, err)
	}
	return nil
}

// partition is the Hive-style partition of a row streamed at t.
func partition(t time.Time) string {
	return t.UTC().Format("dt=2006-01-02/hour=15")
}

// batchTime dates records that lack a creation time (Lambda always sets it)
// with the latest time in the batch, so that the result stays deterministic.
func batchTime(recs []events.DynamoDBEventRecord) time.Time {
	var latest time.Time
	for i := range recs {
		if t := recs[i].Change.ApproximateCreationDateTime.UTC(); t.After(latest) {
			latest = t
		}
	}
	if latest.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return latest
}

// batchName names a batch's objects: its first and last sequence numbers,
// zero-padded to sort, and a digest of its records' event ids. A retry of
// the batch has the same name and overwrites its objects; the digest keeps
// batches of different shards apart should their sequence numbers meet (the
// Lambda event carries no shard id).
func batchName(recs []events.DynamoDBEventRecord) string {
	h := fnv.New32a()
	for i := range recs {
		h.Write([]byte(recs[i].EventID))
		h.Write([]byte{0})
	}
	first, last := recs[0].Change.SequenceNumber, recs[len(recs)-1].Change.SequenceNumber
	return fmt.Sprintf("%s-%s-%08x", keySafe(stream.PadSequence(first)), keySafe(stream.PadSequence(last)), h.Sum32())
}

// keySafe keeps object keys plain even for a malformed sequence number.
func keySafe(s string) string {
	out := []byte(s)
	for i, c := range out {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
			out[i] = '_'
		}
	}
	if len(out) == 0 {
		return "_"
	}
	return string(out)
}

// errorRow keeps an undecodable record with its reason.
func errorRow(rec *events.DynamoDBEventRecord, at time.Time, reason error) ErrorRow {
	raw, err := json.Marshal(rec)
	if err != nil {
		raw = []byte(fmt.Sprintf(`{"marshal_error":%q}`, err.Error()))
	}
	row := ErrorRow{
		SequenceNumber: stream.PadSequence(rec.Change.SequenceNumber), StreamEventID: rec.EventID,
		EventName: rec.EventName, Reason: reason.Error(), Record: string(raw), StreamedAt: at,
	}
	for _, image := range []map[string]events.DynamoDBAttributeValue{rec.Change.NewImage, rec.Change.OldImage, rec.Change.Keys} {
		row.Entity = cmp.Or(row.Entity, lambdaString(image, entityAttr))
		row.PK = cmp.Or(row.PK, lambdaString(image, "pk"))
		row.SK = cmp.Or(row.SK, lambdaString(image, "sk"))
	}
	return row
}

func lambdaString(m map[string]events.DynamoDBAttributeValue, name string) string {
	if v, ok := m[name]; ok && v.DataType() == events.DataTypeString {
		return v.String()
	}
	return ""
}

// ObjectGetter is the part of the S3 API that reads objects back; *s3.Client
// implements it.
type ObjectGetter interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// GetObject reads a whole object: what the jobs that rewrite the lake
// (compaction, backfill, purge) do with every file they read.
func GetObject(ctx context.Context, c ObjectGetter, bucket, key string) ([]byte, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	return body, nil
}
