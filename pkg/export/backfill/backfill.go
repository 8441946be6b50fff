package backfill

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/parquetread"
	"github.com/refx-dev/refx/pkg/export/streampoll"
	"github.com/refx-dev/refx/pkg/refx"
)

// DynamoDB is the part of the DynamoDB API the backfill uses;
// *dynamodb.Client implements it.
type DynamoDB interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

var _ DynamoDB = (*dynamodb.Client)(nil)

// S3 is the part of the S3 API the backfill uses; *s3.Client implements it.
type S3 interface {
	s3.ListObjectsV2APIClient
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

var _ S3 = (*s3.Client)(nil)

// Config configures Run.
type Config struct {
	DynamoDB DynamoDB
	Table    string
	S3       S3
	Bucket   string
	// Prefix is the exporter's key prefix ("" or ending in "/").
	Prefix string
	// From and To bound the items' write times: [From, To).
	From, To time.Time
	// ReadUnitsPerSecond bounds the Scan's average consumption of read
	// capacity units (required: the table serves the API meanwhile).
	ReadUnitsPerSecond float64
	// PageSize is the Scan's Limit (default 100 items).
	PageSize int32
	// ExportPrefix, when set, reads the items from a DynamoDB export to S3
	// (ExportTableToPointInTime, format DYNAMODB_JSON) instead of scanning
	// the table: the folder holding its manifest-files.json, such as
	// "exports/AWSDynamoDB/01733395312345-1a2b3c4d/", in ExportBucket
	// (default Bucket). DynamoDB, Table and ReadUnitsPerSecond are then
	// unused: the export costs no read capacity.
	ExportBucket, ExportPrefix string
	// TempDir holds the decoded rows between the scan and the writes, so
	// that memory holds one partition at a time (default os.TempDir()).
	TempDir string
	Logger  *slog.Logger
}

// Report says what a run did.
type Report struct {
	// Pages and Items were scanned, consuming ReadUnits; InRange items were
	// written in [From, To).
	Pages, Items, InRange int
	ReadUnits             float64
	// Rows were decoded from the items in range; Existing of them were in
	// the lake already; Written were written, in Objects.
	Rows, Existing, Written, Objects int
	// Undecodable items failed their decoder (the stream put them in
	// export_errors); Undated items give rows but have no known write time.
	Undecodable, Undated int
}

// writeTimes names, per exported entity, the attributes holding the time
// its item was written, when the stream carried its INSERT: the first one
// the item has. An assignment copied from an anonymous visitor's keeps
// that one's assigned_at; it was written when linked.
var writeTimes = map[string][]string{
	"event":       {"received_at"},
	"assignment":  {"linked_at", "assigned_at"},
	"experiment":  {"updated_at"},
	"referral":    {"created_at"},
	"click":       {"clicked_at"},
	"attribution": {"attributed_at"},
	"refusal":     {"refused_at"},
	"erasure":     {"erased_at"},
	"audit":       {"at"},
	"refund":      {"refunded_at"},
}

// Run backfills the export from the table; see the package documentation.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	fromExport := cfg.ExportPrefix != ""
	switch {
	case cfg.S3 == nil || (cfg.DynamoDB == nil && !fromExport):
		return nil, refx.Errorf(refx.EINVALID, "backfill: no DynamoDB or S3 client")
	case (cfg.Table == "" && !fromExport) || cfg.Bucket == "":
		return nil, refx.Errorf(refx.EINVALID, "backfill: name the table and the bucket")
	case cfg.Prefix != "" && !strings.HasSuffix(cfg.Prefix, "/"):
		return nil, refx.Errorf(refx.EINVALID, "backfill: prefix %q must end with /", cfg.Prefix)
	case fromExport && !strings.HasSuffix(cfg.ExportPrefix, "/"):
		return nil, refx.Errorf(refx.EINVALID, "backfill: export prefix %q must end with /", cfg.ExportPrefix)
	case cfg.From.IsZero() || cfg.To.IsZero() || !cfg.From.Before(cfg.To):
		return nil, refx.Errorf(refx.EINVALID, "backfill: the range [%s, %s) is empty", cfg.From.Format(time.RFC3339), cfg.To.Format(time.RFC3339))
	case !(cfg.ReadUnitsPerSecond > 0) && !fromExport:
		return nil, refx.Errorf(refx.EINVALID, "backfill: ReadUnitsPerSecond must be positive, not %v", cfg.ReadUnitsPerSecond)
	}
	if cfg.ExportBucket == "" {
		cfg.ExportBucket = cfg.Bucket
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 100
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// The exporter only encodes here: its S3 client is never called.
	x, err := export.New(export.Config{S3: cfg.S3, Bucket: cfg.Bucket, Prefix: cfg.Prefix, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(cfg.TempDir, "refx-backfill-")
	if err != nil {
		return nil, fmt.Errorf("backfill: %w", err)
	}
	defer os.RemoveAll(tmp)
	rep := &Report{}
	sp := &spill{dir: tmp, parts: map[partKey][]string{}}
	read := scan
	if fromExport {
		read = readExport
	}
	if err := read(ctx, cfg, rep, func(recs []events.DynamoDBEventRecord) error { return collect(x, cfg, rep, recs, sp) }); err != nil {
		return rep, err
	}
	lake := &lake{cfg: cfg, seen: map[partKey]map[string]bool{}}
	// In order, so that the identities read for a partition serve its
	// neighbours and can be forgotten once behind.
	for _, k := range slices.SortedFunc(maps.Keys(sp.parts), comparePart) {
		rows, err := sp.rows(k)
		if err != nil {
			return rep, err
		}
		if err := lake.write(ctx, k, rows, rep); err != nil {
			return rep, err
		}
	}
	cfg.Logger.InfoContext(ctx, "backfill: done", "items", rep.Items, "in_range", rep.InRange, "rows", rep.Rows,
		"existing", rep.Existing, "written", rep.Written, "objects", rep.Objects, "read_units", rep.ReadUnits,
		"undecodable", rep.Undecodable, "undated", rep.Undated)
	return rep, nil
}

// scan reads the table page by page at the bounded rate and hands each
// page's items in range to fn as stream records.
func scan(ctx context.Context, cfg Config, rep *Report, fn func([]events.DynamoDBEventRecord) error) error {
	start := time.Now()
	in := &dynamodb.ScanInput{
		TableName: aws.String(cfg.Table), Limit: aws.Int32(cfg.PageSize),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	}
	for {
		out, err := cfg.DynamoDB.Scan(ctx, in)
		if err != nil {
			return fmt.Errorf("backfill: scan %s: %w", cfg.Table, err)
		}
		rep.Pages++
		rep.Items += len(out.Items)
		if c := out.ConsumedCapacity; c != nil && c.CapacityUnits != nil {
			rep.ReadUnits += *c.CapacityUnits
		} else {
			// An eventually consistent read of up to 4 KB per item: what a
			// server that does not report its consumption is charged at
			// least.
			rep.ReadUnits += 0.5 * float64(len(out.Items))
		}
		images := make([]map[string]events.DynamoDBAttributeValue, len(out.Items))
		for i, item := range out.Items {
			images[i] = streampoll.LambdaImage(item)
		}
		if err := fn(records(ctx, cfg, rep, images)); err != nil {
			return err
		}
		if rep.Pages%100 == 0 {
			cfg.Logger.InfoContext(ctx, "backfill: scanning", "pages", rep.Pages, "items", rep.Items, "in_range", rep.InRange, "read_units", rep.ReadUnits)
		}
		if out.LastEvaluatedKey == nil {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
		// Stay under the rate on average since the start.
		due := start.Add(time.Duration(rep.ReadUnits / cfg.ReadUnitsPerSecond * float64(time.Second)))
		if wait := time.Until(due); wait > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
	}
}

// records turns items into stream records, leaving out (and counting)
// those record refuses.
func records(ctx context.Context, cfg Config, rep *Report, images []map[string]events.DynamoDBAttributeValue) []events.DynamoDBEventRecord {
	var recs []events.DynamoDBEventRecord
	for _, image := range images {
		rec, ok, err := record(image, cfg)
		switch {
		case err != nil:
			rep.Undecodable++
			cfg.Logger.WarnContext(ctx, "backfill: item skipped", "pk", str(image, "pk"), "sk", str(image, "sk"), "err", err)
		case ok:
			recs = append(recs, rec)
		}
	}
	return recs
}

// record turns an item into the INSERT record of its write; ok is false for
// items the backfill leaves out: no exported entity, or written outside
// the range. Items of an entity without a known write time are dated at
// From, so that collect sees whether they give rows.
func record(image map[string]events.DynamoDBAttributeValue, cfg Config) (rec events.DynamoDBEventRecord, ok bool, err error) {
	entity := str(image, "entity")
	at := cfg.From
	if attrs, dated := writeTimes[entity]; dated {
		attr := attrs[len(attrs)-1]
		for _, a := range attrs {
			if _, ok := image[a]; ok {
				attr = a
				break
			}
		}
		s := str(image, attr)
		if at, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return rec, false, fmt.Errorf("%s item's %s %q is no time", entity, attr, s)
		}
		if at.Before(cfg.From) || !at.Before(cfg.To) {
			return rec, false, nil
		}
	}
	h := fnv.New64a()
	h.Write([]byte(str(image, "pk")))
	h.Write([]byte{0})
	h.Write([]byte(str(image, "sk")))
	seq := fmt.Sprintf("backfill-%013d-%016x", at.UnixMilli(), h.Sum64())
	rec = events.DynamoDBEventRecord{
		EventID: seq, EventName: string(events.DynamoDBOperationTypeInsert), EventSource: "aws:dynamodb",
		Change: events.DynamoDBStreamRecord{
			Keys:     map[string]events.DynamoDBAttributeValue{"pk": image["pk"], "sk": image["sk"]},
			NewImage: image, SequenceNumber: seq, StreamViewType: "NEW_AND_OLD_IMAGES",
			ApproximateCreationDateTime: events.SecondsEpochTime{Time: at.UTC()},
		},
	}
	return rec, true, nil
}

// collect decodes a page's records and keeps their rows by table and
// partition.
func collect(x *export.Exporter, cfg Config, rep *Report, recs []events.DynamoDBEventRecord, sp *spill) error {
	var dated []events.DynamoDBEventRecord
	var undated []events.DynamoDBEventRecord
	for _, r := range recs {
		if _, ok := writeTimes[entityOf(r)]; ok {
			dated = append(dated, r)
		} else {
			undated = append(undated, r)
		}
	}
	// Items of an entity the backfill cannot date are mostly derived state
	// (counters, markers), which the decoders skip. One that gives rows is
	// an exported entity missing from writeTimes: reported, not guessed.
	if len(undated) > 0 {
		b, err := x.Encode(events.DynamoDBEvent{Records: undated})
		if err != nil {
			return fmt.Errorf("backfill: %w", err)
		}
		for _, o := range b.Objects {
			if o.Table != export.Errors {
				rep.Undated += o.Rows
				cfg.Logger.Warn("backfill: rows of an entity without a known write time left out", "table", o.Table.Name, "rows", o.Rows)
			}
		}
	}
	if len(dated) == 0 {
		return nil
	}
	rep.InRange += len(dated)
	b, err := x.Encode(events.DynamoDBEvent{Records: dated})
	if err != nil {
		return fmt.Errorf("backfill: %w", err)
	}
	rep.Undecodable += b.Failed
	for _, o := range b.Objects {
		if o.Table == export.Errors {
			continue
		}
		rest := strings.TrimPrefix(o.Key, cfg.Prefix+o.Table.Name+"/")
		if err := sp.add(partKey{table: o.Table, part: path.Dir(rest)}, o.Body); err != nil {
			return err
		}
		rep.Rows += o.Rows
	}
	return nil
}

// spill keeps the Parquet objects of the scanned pages on disk, by
// partition, until the partition is written.
type spill struct {
	dir   string
	n     int
	parts map[partKey][]string
}

func (sp *spill) add(k partKey, body []byte) error {
	sp.n++
	f := filepath.Join(sp.dir, fmt.Sprintf("%d.parquet", sp.n))
	if err := os.WriteFile(f, body, 0o600); err != nil {
		return fmt.Errorf("backfill: spill: %w", err)
	}
	sp.parts[k] = append(sp.parts[k], f)
	return nil
}

// rows reads a partition's rows back and removes its files.
func (sp *spill) rows(k partKey) ([]any, error) {
	var rows []any
	for _, f := range sp.parts[k] {
		body, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("backfill: spill: %w", err)
		}
		decoded, err := parquetread.Rows(k.table, body)
		if err != nil {
			return nil, fmt.Errorf("backfill: spill %s/%s: %w", k.table.Name, k.part, err)
		}
		rows = append(rows, decoded...)
		os.Remove(f)
	}
	return rows, nil
}

func entityOf(r events.DynamoDBEventRecord) string {
	if v, ok := r.Change.NewImage["entity"]; ok && v.DataType() == events.DataTypeString {
		return v.String()
	}
	return ""
}

// partKey is a table's partition, "dt=YYYY-MM-DD/hour=HH".
type partKey struct {
	table *export.Table
	part  string
}

func comparePart(a, b partKey) int {
	return strings.Compare(a.table.Name+"/"+a.part, b.table.Name+"/"+b.part)
}

// lake reads the identities already exported, once per partition.
type lake struct {
	cfg  Config
	seen map[partKey]map[string]bool
}

// write puts the rows of one partition that the lake lacks.
func (l *lake) write(ctx context.Context, k partKey, rows []any, rep *Report) error {
	at, err := time.Parse("dt=2006-01-02/hour=15", k.part)
	if err != nil {
		return fmt.Errorf("backfill: partition %s: %w", k.part, err)
	}
	cols, ok := export.Identity[k.table.Name]
	if !ok {
		return fmt.Errorf("backfill: table %s has no export.Identity", k.table.Name)
	}
	// Partitions come in order: those more than an hour behind this one
	// serve no later one.
	for n := range l.seen {
		if n.table != k.table || n.part < at.Add(-time.Hour).Format("dt=2006-01-02/hour=15") {
			delete(l.seen, n)
		}
	}
	exists := map[string]bool{}
	for _, h := range []time.Duration{-time.Hour, 0, time.Hour} {
		n := partKey{table: k.table, part: at.Add(h).Format("dt=2006-01-02/hour=15")}
		ids, err := l.identities(ctx, n, cols)
		if err != nil {
			return err
		}
		for id := range ids {
			exists[id] = true
		}
	}
	var keep []any
	ids := map[string]bool{}
	keyOf := map[int]string{}
	for _, r := range rows {
		id, err := identity(r, cols)
		if err != nil {
			return fmt.Errorf("backfill: %s: %w", k.table.Name, err)
		}
		if exists[id] || ids[id] {
			rep.Existing++
			continue
		}
		ids[id] = true
		keyOf[len(keep)] = id
		keep = append(keep, r)
	}
	if len(keep) == 0 {
		return nil
	}
	// Content decides the name: sort so that a rerun encodes the same rows
	// to the same bytes whatever order the Scan returned.
	order := make([]int, len(keep))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(keyOf[a], keyOf[b]) })
	sorted := make([]any, len(keep))
	for i, j := range order {
		sorted[i] = keep[j]
	}
	keep = sorted
	body, err := k.table.Encode(keep)
	if err != nil {
		return fmt.Errorf("backfill: %s/%s: %w", k.table.Name, k.part, err)
	}
	h := fnv.New64a()
	h.Write(body)
	key := fmt.Sprintf("%s%s/%s/backfill-%016x.parquet", l.cfg.Prefix, k.table.Name, k.part, h.Sum64())
	if _, err := l.cfg.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(l.cfg.Bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String("application/vnd.apache.parquet"),
	}); err != nil {
		return fmt.Errorf("backfill: put %s: %w", key, err)
	}
	// What this partition holds now, for the next one's neighbour check.
	for id := range ids {
		l.seen[k][id] = true
	}
	rep.Written += len(keep)
	rep.Objects++
	l.cfg.Logger.InfoContext(ctx, "backfill: wrote", "key", key, "rows", len(keep), "existing", len(rows)-len(keep))
	return nil
}

// identities returns the identities of the rows in one partition.
func (l *lake) identities(ctx context.Context, k partKey, cols []string) (map[string]bool, error) {
	if ids, ok := l.seen[k]; ok {
		return ids, nil
	}
	ids := map[string]bool{}
	p := s3.NewListObjectsV2Paginator(l.cfg.S3, &s3.ListObjectsV2Input{
		Bucket: aws.String(l.cfg.Bucket), Prefix: aws.String(l.cfg.Prefix + k.table.Name + "/" + k.part + "/"),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("backfill: list %s/%s: %w", k.table.Name, k.part, err)
		}
		for _, o := range page.Contents {
			body, err := export.GetObject(ctx, l.cfg.S3, l.cfg.Bucket, aws.ToString(o.Key))
			if err != nil {
				return nil, err
			}
			rows, err := parquetread.Rows(k.table, body)
			if err != nil {
				return nil, fmt.Errorf("backfill: %s: %w", aws.ToString(o.Key), err)
			}
			for _, r := range rows {
				id, err := identity(r, cols)
				if err != nil {
					return nil, fmt.Errorf("backfill: %s: %w", k.table.Name, err)
				}
				ids[id] = true
			}
		}
	}
	l.seen[k] = ids
	return ids, nil
}

// identity is the text of a row's export.Identity columns. Both sides of
// every comparison are read back from Parquet, so timestamps compare at
// the files' millisecond precision.
func identity(row any, cols []string) (string, error) {
	v := reflect.ValueOf(row)
	var b strings.Builder
	for _, c := range cols {
		if a, ok := row.(export.AttributionRow); ok && c == "status" {
			b.WriteString(attributionClass(a.Status))
			b.WriteByte(0x1f)
			continue
		}
		f, ok := field(v, c)
		if !ok {
			return "", fmt.Errorf("%s has no column %s", v.Type(), c)
		}
		for f.IsValid() && f.Kind() == reflect.Pointer {
			if f.IsNil() {
				f = reflect.Value{}
				break
			}
			f = f.Elem()
		}
		switch x := f; {
		case !x.IsValid():
			b.WriteString("\x00null")
		case x.Type() == reflect.TypeFor[time.Time]():
			fmt.Fprint(&b, x.Interface().(time.Time).UnixMilli())
		default:
			fmt.Fprint(&b, x.Interface())
		}
		b.WriteByte(0x1f)
	}
	return b.String(), nil
}

// attributionClass is what of an attribution's status lasts. A review
// turns a flagged attribution into an attributed or rejected one, or an
// attributed one into a rejected one, in place: the stream's insert, which
// the lake holds, has the status before, the table's item the status
// after, and both are the referee's one attribution. A refusal is another
// item.
func attributionClass(status string) string {
	if status == "refused" {
		return status
	}
	return "attribution"
}

// field finds the struct field whose parquet tag names column c.
func field(v reflect.Value, c string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("parquet"), ",")
		if name == c {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func str(image map[string]events.DynamoDBAttributeValue, name string) string {
	if v, ok := image[name]; ok && v.DataType() == events.DataTypeString {
		return v.String()
	}
	return ""
}
