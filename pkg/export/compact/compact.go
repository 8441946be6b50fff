package compact

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/refx-dev/refx/pkg/export"
)

// Client is the part of the S3 API compaction uses; *s3.Client implements it.
type Client interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

var _ Client = (*s3.Client)(nil)

// The defaults of the scheduled function and ./scripts/compact.
const (
	// DefaultSettle leaves an hour alone until 15 minutes after it ended:
	// the exporter's batching window is a minute and its retries of a
	// failing batch take minutes more.
	DefaultSettle = 15 * time.Minute
	// DefaultGrace keeps superseded files an hour: Athena's workgroup
	// stops a query long before (and QuickSight refreshes run minutes).
	DefaultGrace = time.Hour
	// DefaultLookback examines two days of partitions, so that a late
	// batch file (a replay within the stream's 24 hours) is merged.
	DefaultLookback = 48 * time.Hour
	// DefaultTargetBytes is the size of a compacted file: Athena splits
	// Parquet by row group, and files of 64 MB or more make the per-file
	// overhead negligible.
	DefaultTargetBytes = 128 << 20
)

// Config says where the export is and what to compact.
type Config struct {
	S3     Client
	Bucket string
	// Prefix is the exporter's key prefix ("" or ending in "/").
	Prefix string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Settle is how long after its end an hour is closed (0:
	// DefaultSettle).
	Settle time.Duration
	// Grace is how long after the compacted files were written the files
	// they supersede are deleted; 0 deletes them at once, for a run no
	// other run overlaps (./scripts/compact): a concurrent run of the same
	// hour that fails deletes the compacted files it wrote, the same names
	// this one wrote, which only the superseded files then back.
	Grace time.Duration
	// Lookback is how far back from Now partitions are examined; 0
	// examines every partition.
	Lookback time.Duration
	// TargetBytes is the size of a compacted file (0: DefaultTargetBytes).
	TargetBytes int64
	// Logger receives a line per partition changed (default slog.Default()).
	Logger *slog.Logger
}

// Report says what a run did.
type Report struct {
	// Partitions were examined (closed, with files), Compacted rewritten,
	// Skipped left as they are (files of an older schema).
	Partitions, Compacted, Skipped int
	// The live files read and the rows in them.
	InputFiles  int
	InputBytes  int64
	InputRows   int
	OutputFiles int
	OutputBytes int64
	OutputRows  int
	// Duplicates are the rows dropped as exact copies of another.
	Duplicates int
	// Deleted are the superseded files deleted; Pending those kept until
	// their Grace has passed.
	Deleted, Pending int
	// Unfinished is set when the run stopped early, to end before its
	// context's deadline; the next run goes on from there.
	Unfinished bool
}

func (r *Report) String() string {
	return fmt.Sprintf("partitions examined %d, compacted %d, skipped %d; read %d files (%d bytes, %d rows); "+
		"wrote %d files (%d bytes, %d rows); duplicates dropped %d; superseded files deleted %d, pending %d%s",
		r.Partitions, r.Compacted, r.Skipped, r.InputFiles, r.InputBytes, r.InputRows,
		r.OutputFiles, r.OutputBytes, r.OutputRows, r.Duplicates, r.Deleted, r.Pending,
		map[bool]string{true: "; stopped before the deadline, the next run goes on"}[r.Unfinished])
}

// deadlineReserve is the time a partition is given at most: a run does not
// start one closer than this to its context's deadline (the Lambda's
// timeout), which would be cut short and redone. An hour of events at
// 1,000 events/s takes about two minutes (TestCompactionFigures).
const deadlineReserve = 3 * time.Minute

// errOldSchema marks a file without exactly its table's columns.
var errOldSchema = errors.New("written with another schema")

// partitionLayout is the exporter's partition directory.
const partitionLayout = "dt=2006-01-02/hour=15"

// Run compacts the closed partitions of the lookback window and deletes
// the files earlier runs superseded once their grace has passed. A
// partition that fails is reported in the error and the others proceed.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	switch {
	case cfg.S3 == nil:
		return nil, errors.New("compact.Run: no S3 client")
	case cfg.Bucket == "":
		return nil, errors.New("compact.Run: no bucket")
	case cfg.Prefix != "" && !strings.HasSuffix(cfg.Prefix, "/"):
		return nil, fmt.Errorf("compact.Run: prefix %q must end with /", cfg.Prefix)
	case cfg.Settle < 0 || cfg.Grace < 0 || cfg.Lookback < 0 || cfg.TargetBytes < 0:
		return nil, errors.New("compact.Run: Settle, Grace, Lookback and TargetBytes cannot be negative")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Settle = cmp.Or(cfg.Settle, DefaultSettle)
	cfg.TargetBytes = cmp.Or(cfg.TargetBytes, DefaultTargetBytes)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &run{Config: cfg, now: cfg.Now().UTC(), rep: &Report{}}
	var errs []error
	for _, r := range readers {
		parts, err := c.partitions(ctx, r.table)
		if err != nil {
			return c.rep, errors.Join(append(errs, err)...)
		}
		for _, p := range parts {
			if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < deadlineReserve {
				// A backlog (the first run after deploying, or after
				// an outage) takes several runs.
				c.rep.Unfinished = true
				c.Logger.WarnContext(ctx, "compact: stopping before the deadline; the next run goes on", "next", p.dir)
				return c.rep, errors.Join(errs...)
			}
			c.rep.Partitions++
			err := c.partition(ctx, r, p)
			switch {
			case errors.Is(err, errOldSchema):
				c.rep.Skipped++
				c.Logger.WarnContext(ctx, "compact: partition left as it is", "dir", p.dir, "err", err)
			case err != nil:
				c.Logger.ErrorContext(ctx, "compact: partition failed", "dir", p.dir, "err", err)
				errs = append(errs, fmt.Errorf("compact %s: %w", p.dir, err))
			}
			if ctx.Err() != nil {
				return c.rep, errors.Join(append(errs, ctx.Err())...)
			}
		}
	}
	return c.rep, errors.Join(errs...)
}

// run is one Run's state.
type run struct {
	Config
	now time.Time
	rep *Report
}

// object is an object of a partition, named relative to its directory.
type object struct {
	name string
	size int64
}

// partition is a partition of a table: its directory (a key prefix ending
// in "/") and objects there, and the directory of its manifests and the
// manifests there.
type partition struct {
	dir, manifestDir string
	objects          []object
	manifests        []object
}

// manifestsDir holds the manifests of the compactions, by table and
// partition, outside every table's location: Athena, localquery, the purge
// and the backfill read every object under a table as Parquet.
const manifestsDir = "_compaction/"

// partitions lists the closed partitions of table in the lookback window
// (one listing per hour, or one of the whole table without a lookback),
// and every partition with a manifest (one listing of the table's
// manifests), whose superseded files wait for deletion.
func (c *run) partitions(ctx context.Context, table *export.Table) ([]partition, error) {
	base := c.Prefix + table.Name + "/"
	manifestBase := c.Prefix + manifestsDir + table.Name + "/"
	// The latest hour that ended at least Settle ago.
	last := c.now.Add(-c.Settle - time.Hour).Truncate(time.Hour)
	byPart := map[string]*partition{}
	get := func(part string) *partition {
		p := byPart[part]
		if p == nil {
			p = &partition{dir: base + part + "/", manifestDir: manifestBase + part + "/"}
			byPart[part] = p
		}
		return p
	}
	// group files objects listed under a table by partition, leaving out
	// what is not a closed partition of the exporter's.
	group := func(objs []object, add func(p *partition, o object)) {
		for _, o := range objs {
			i := strings.LastIndexByte(o.name, '/')
			if i < 0 {
				continue
			}
			hour, err := time.Parse(partitionLayout, o.name[:i])
			if err != nil || hour.After(last) {
				continue
			}
			add(get(o.name[:i]), object{name: o.name[i+1:], size: o.size})
		}
	}
	if c.Lookback > 0 {
		for h := c.now.Add(-c.Lookback).Truncate(time.Hour); !h.After(last); h = h.Add(time.Hour) {
			part := h.Format(partitionLayout)
			objs, err := c.list(ctx, base+part+"/")
			if err != nil {
				return nil, err
			}
			if len(objs) > 0 {
				get(part).objects = objs
			}
		}
	} else {
		objs, err := c.list(ctx, base)
		if err != nil {
			return nil, err
		}
		group(objs, func(p *partition, o object) { p.objects = append(p.objects, o) })
	}
	manifests, err := c.list(ctx, manifestBase)
	if err != nil {
		return nil, err
	}
	group(manifests, func(p *partition, o object) { p.manifests = append(p.manifests, o) })
	out := make([]partition, 0, len(byPart))
	for _, p := range byPart {
		if p.objects == nil && p.manifests != nil {
			// A partition before the lookback whose superseded files
			// still wait for deletion.
			objs, err := c.list(ctx, p.dir)
			if err != nil {
				return nil, err
			}
			p.objects = objs
		}
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b partition) int { return strings.Compare(a.dir, b.dir) })
	return out, nil
}

// list returns the objects under prefix, named relative to it. It pages
// by hand rather than with the SDK's paginator so that infra's
// TestGrantsMatchCode sees the ListObjectsV2 call.
func (c *run) list(ctx context.Context, prefix string) ([]object, error) {
	var out []object
	in := &s3.ListObjectsV2Input{Bucket: aws.String(c.Bucket), Prefix: aws.String(prefix)}
	for {
		page, err := c.S3.ListObjectsV2(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("compact: list %s: %w", prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, object{name: strings.TrimPrefix(aws.ToString(o.Key), prefix), size: aws.ToInt64(o.Size)})
		}
		if !aws.ToBool(page.IsTruncated) || page.NextContinuationToken == nil {
			return out, nil
		}
		in.ContinuationToken = page.NextContinuationToken
	}
}

// manifest records a compaction: the outputs written and the inputs they
// supersede, by name within the partition.
type manifest struct {
	name      string
	WrittenAt time.Time `json:"written_at"`
	Inputs    []string  `json:"inputs"`
	Outputs   []string  `json:"outputs"`
	Rows      int       `json:"rows"`
	// Duplicates were dropped from the inputs' rows.
	Duplicates int `json:"duplicates"`
}

// compactedPrefix starts the name of a compacted file.
const compactedPrefix = "compacted-"

// partition compacts one partition if it has more than one live file or
// a batch file, then deletes what manifests past their grace supersede.
func (c *run) partition(ctx context.Context, r reader, p partition) error {
	var manifests []*manifest
	var files []object
	present := map[string]bool{}
	for _, o := range p.manifests {
		if strings.Contains(o.name, "/") || !strings.HasSuffix(o.name, ".json") {
			continue
		}
		m, err := c.readManifest(ctx, p.manifestDir, o.name)
		if err != nil {
			return err
		}
		manifests = append(manifests, m)
	}
	for _, o := range p.objects {
		if !strings.Contains(o.name, "/") && strings.HasSuffix(o.name, ".parquet") {
			files = append(files, o)
			present[o.name] = true
		}
	}
	superseded := map[string]bool{}
	for _, m := range manifests {
		for _, in := range m.Inputs {
			superseded[in] = true
		}
	}
	// A manifest whose outputs are gone, neither present nor superseded by
	// a later compaction (a concurrent run of the same inputs that failed
	// deleted the files both wrote), protects nothing: its inputs hold the
	// rows, so they are live again, and it is deleted.
	var valid []*manifest
	for _, m := range manifests {
		if !slices.ContainsFunc(m.Outputs, func(out string) bool { return !present[out] && !superseded[out] }) {
			valid = append(valid, m)
			continue
		}
		c.Logger.WarnContext(ctx, "compact: manifest without its outputs deleted; its inputs are live again", "dir", p.dir, "manifest", m.name)
		if err := c.delete(ctx, p.manifestDir+m.name); err != nil {
			return err
		}
	}
	if len(valid) < len(manifests) {
		manifests = valid
		clear(superseded)
		for _, m := range manifests {
			for _, in := range m.Inputs {
				superseded[in] = true
			}
		}
	}
	// A partition is compacted when it holds a batch file, or the files
	// of more than one compaction; the several files of one large hour's
	// compaction stay as they are.
	var live []object
	batchFiles := 0
	compactions := map[string]bool{}
	for _, f := range files {
		if superseded[f.name] {
			continue
		}
		live = append(live, f)
		if digest, ok := compactionOf(f.name); ok {
			compactions[digest] = true
		} else {
			batchFiles++
		}
	}
	if batchFiles > 0 || len(compactions) > 1 {
		m, err := c.rewrite(ctx, r, p, live)
		if err != nil {
			return err
		}
		manifests = append(manifests, m)
	}
	return c.cleanUp(ctx, p, manifests, present)
}

// compactionOf returns the digest of a compacted file's name.
func compactionOf(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, compactedPrefix)
	if !ok {
		return "", false
	}
	digest, _, ok := strings.Cut(rest, "-")
	return digest, ok
}

// rewrite writes the live files' rows without duplicates as compacted
// files, then the manifest superseding the live files.
func (c *run) rewrite(ctx context.Context, r reader, p partition, live []object) (*manifest, error) {
	start := time.Now()
	dir := p.dir
	// Earlier compacted files first: they hold the partition's earliest
	// rows. Then batch files, named by their first sequence number.
	slices.SortFunc(live, func(a, b object) int {
		ac, bc := strings.HasPrefix(a.name, compactedPrefix), strings.HasPrefix(b.name, compactedPrefix)
		if ac != bc {
			if ac {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	names := make([]string, len(live))
	for i, o := range live {
		names[i] = o.name
	}
	sorted := slices.Sorted(slices.Values(names))
	sum := sha256.Sum256([]byte(strings.Join(sorted, "\n")))
	digest := hex.EncodeToString(sum[:16])
	m := &manifest{name: digest + ".json", Inputs: sorted}

	var (
		seen    = map[rowHash]struct{}{}
		buf     []any
		bufIn   int64
		ratio   = 1.0 // output bytes per input byte, as last measured
		written []string
		inBytes int64
		inRows  int
		outSize int64
	)
	// A failure leaves outputs no manifest names: delete them, as nothing
	// refers to them and the inputs they copy stay live.
	fail := func(err error) (*manifest, error) {
		for _, name := range written {
			if _, derr := c.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(c.Bucket), Key: aws.String(dir + name)}); derr != nil {
				err = errors.Join(err, fmt.Errorf("delete unfinished %s: %w", name, derr))
			}
		}
		return nil, err
	}
	flush := func(final bool) error {
		if len(buf) == 0 {
			return nil
		}
		slices.SortStableFunc(buf, func(a, b any) int { return strings.Compare(r.sequence(a), r.sequence(b)) })
		body, err := r.table.Encode(buf)
		if err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		ratio = float64(len(body)) / float64(max(bufIn, 1))
		if !final && int64(len(body)) < c.TargetBytes/2 {
			// The estimate was low (small batch files compress worse
			// than one large file): read on.
			return nil
		}
		name := fmt.Sprintf("%s%s-%d.parquet", compactedPrefix, digest, len(m.Outputs))
		if err := c.put(ctx, dir+name, body, "application/vnd.apache.parquet"); err != nil {
			return err
		}
		written = append(written, name)
		m.Outputs = append(m.Outputs, name)
		m.Rows += len(buf)
		outSize += int64(len(body))
		buf, bufIn = nil, 0
		return nil
	}
	for _, o := range live {
		body, err := c.get(ctx, dir+o.name)
		if err != nil {
			return fail(err)
		}
		rows, err := r.readFile(body)
		if err != nil {
			return fail(fmt.Errorf("%s: %w", o.name, err))
		}
		for _, row := range rows {
			h, err := hashRow(row)
			if err != nil {
				return fail(err)
			}
			if _, dup := seen[h]; dup {
				m.Duplicates++
				continue
			}
			seen[h] = struct{}{}
			buf = append(buf, row)
		}
		bufIn += int64(len(body))
		inBytes += int64(len(body))
		inRows += len(rows)
		if float64(bufIn)*ratio >= float64(c.TargetBytes) {
			if err := flush(false); err != nil {
				return fail(err)
			}
		}
	}
	if err := flush(true); err != nil {
		return fail(err)
	}
	m.WrittenAt = c.now
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fail(err)
	}
	if err := c.put(ctx, p.manifestDir+m.name, body, "application/json"); err != nil {
		return fail(err)
	}
	rep := c.rep
	rep.Compacted++
	rep.InputFiles += len(live)
	rep.InputBytes += inBytes
	rep.InputRows += inRows
	rep.OutputFiles += len(m.Outputs)
	rep.OutputBytes += outSize
	rep.OutputRows += m.Rows
	rep.Duplicates += m.Duplicates
	c.Logger.InfoContext(ctx, "compact: partition compacted", "dir", dir,
		"input_files", len(live), "input_bytes", inBytes, "input_rows", inRows,
		"output_files", len(m.Outputs), "output_bytes", outSize, "output_rows", m.Rows,
		"duplicates", m.Duplicates, "duration_ms", time.Since(start).Milliseconds())
	return m, nil
}

// cleanUp deletes, oldest manifest first, the inputs of each manifest whose
// grace has passed, then the manifest. Every manifest here has its outputs
// (partition dropped the others), so the rows stay in live files. Oldest
// first: a later manifest's inputs may be an earlier one's outputs, which
// must exist while the earlier one's inputs are deleted.
func (c *run) cleanUp(ctx context.Context, p partition, manifests []*manifest, present map[string]bool) error {
	dir := p.dir
	slices.SortFunc(manifests, func(a, b *manifest) int {
		return cmp.Or(a.WrittenAt.Compare(b.WrittenAt), strings.Compare(a.name, b.name))
	})
	for _, m := range manifests {
		if c.now.Before(m.WrittenAt.Add(c.Grace)) {
			for _, in := range m.Inputs {
				if present[in] {
					c.rep.Pending++
				}
			}
			continue
		}
		deleted := 0
		for _, in := range m.Inputs {
			if !present[in] {
				continue
			}
			if err := c.delete(ctx, dir+in); err != nil {
				return err
			}
			present[in] = false
			deleted++
		}
		if err := c.delete(ctx, p.manifestDir+m.name); err != nil {
			return err
		}
		c.rep.Deleted += deleted
		if deleted > 0 {
			c.Logger.InfoContext(ctx, "compact: superseded files deleted", "dir", dir, "manifest", m.name, "files", deleted)
		}
	}
	return nil
}

func (c *run) readManifest(ctx context.Context, dir, name string) (*manifest, error) {
	body, err := c.get(ctx, dir+name)
	if err != nil {
		return nil, err
	}
	m := &manifest{name: name}
	if err := json.Unmarshal(body, m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", name, err)
	}
	for _, n := range slices.Concat(m.Inputs, m.Outputs) {
		// Names are within the partition: a manifest never makes a run
		// delete elsewhere.
		if n == "" || strings.ContainsAny(n, "/\\") || !strings.HasSuffix(n, ".parquet") {
			return nil, fmt.Errorf("manifest %s: %q is not a Parquet file of the partition", name, n)
		}
	}
	if m.WrittenAt.IsZero() {
		return nil, fmt.Errorf("manifest %s: no written_at", name)
	}
	return m, nil
}

func (c *run) get(ctx context.Context, key string) ([]byte, error) {
	return export.GetObject(ctx, c.S3, c.Bucket, key)
}

func (c *run) put(ctx context.Context, key string, body []byte, contentType string) error {
	_, err := c.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(c.Bucket), Key: aws.String(key), Body: bytes.NewReader(body), ContentType: aws.String(contentType),
	})
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

func (c *run) delete(ctx context.Context, key string) error {
	if _, err := c.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(c.Bucket), Key: aws.String(key)}); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}
