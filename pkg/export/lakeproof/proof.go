package lakeproof

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/refx-dev/refx/pkg/export/backfill"
	"github.com/refx-dev/refx/pkg/export/compact"
	"github.com/refx-dev/refx/pkg/refx"
)

// Config configures Run.
type Config struct {
	// Events is how many distinct events the clients record (default
	// 10,000); retries, enrolments, links, clicks and signups come on top.
	Events int
	// Workers is how many clients send at once (default 16).
	Workers int
	// DataDir holds the stack's data (DynamoDB Local's files, the bucket);
	// it should be empty: the proof counts what it finds there.
	DataDir string
	// SchemaDir is schema/athena.
	SchemaDir string
	// ExportTimeout bounds the wait for the export to catch up (default
	// 10 minutes).
	ExportTimeout time.Duration
	// Out receives a line per step; Logger the stack's JSON logs.
	Out    io.Writer
	Logger *slog.Logger
}

// Report is what the proof measured and found.
type Report struct {
	Events, Workers int
	// Machine is the CPUs and load the rate was measured at.
	Machine string
	Traffic *Traffic
	// Raw is the lake as the exporter wrote it, Compacted after the
	// compaction.
	Raw, Compacted Inventory
	// Results compares the queries with the API on the raw files.
	Results []Comparison
	Dated   *DatedCheck
	// Unique is each *_unique view's row count on the raw files.
	Unique map[string]int64
	// Stages are the checks after each later stage (compaction, replay,
	// backfill, compaction again).
	Stages []Stage
	// Cost is the Athena cost of a dashboard refresh.
	Cost *Cost
	// Compaction and Recompaction are what the compactions did, before
	// and after the replay and the backfill; Recompacted is the lake after.
	Compaction, Recompaction *compact.Report
	Recompacted              Inventory
	Replay                   *ReplayRun
	Backfill                 *backfill.Report
	Steps                    []Step
	// Problems lists every way the lake differed from what it must be;
	// none means the proof holds.
	Problems []string
}

// Stage is the views' row counts and the comparisons with the API after
// one stage of the proof.
type Stage struct {
	Name    string
	Unique  map[string]int64
	Results []Comparison
}

// Step is one timed step of the proof.
type Step struct {
	Name    string
	Elapsed time.Duration
}

// OK says whether the proof found nothing wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// scaleEventsPerSecond is the rate issue 17 sizes the lake for, which the
// cost estimate extrapolates to.
const scaleEventsPerSecond = 1000

func (c *Config) defaults() error {
	if c.Events == 0 {
		c.Events = 10_000
	}
	if c.Workers == 0 {
		c.Workers = 16
	}
	if c.ExportTimeout == 0 {
		c.ExportTimeout = 10 * time.Minute
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	switch {
	case c.Events < 100:
		return fmt.Errorf("lakeproof: %d events: at least 100, so that every experiment and the referral funnel get traffic", c.Events)
	case c.Workers < 1:
		return fmt.Errorf("lakeproof: %d workers", c.Workers)
	case c.DataDir == "":
		return errors.New("lakeproof: a data directory is required")
	}
	if _, err := os.Stat(filepath.Join(c.SchemaDir, "queries", "experiment_results.sql")); err != nil {
		return fmt.Errorf("lakeproof: SchemaDir %q is not schema/athena: %w", c.SchemaDir, err)
	}
	return nil
}

// Run starts the local stack in cfg.DataDir, sends the traffic, waits for
// the export, and checks the lake step by step. The error is for what
// kept the proof from running; what the proof found wrong is in
// Report.Problems.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	rep := &Report{Events: cfg.Events, Workers: cfg.Workers}
	say := func(format string, args ...any) { fmt.Fprintf(cfg.Out, "lake-proof: "+format+"\n", args...) }
	step := func(name string, f func() error) error {
		say("%s…", name)
		start := time.Now()
		err := f()
		rep.Steps = append(rep.Steps, Step{name, time.Since(start)})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}

	started := time.Now()
	var stack *Stack
	if err := step("start the local stack", func() (err error) {
		stack, err = StartStack(ctx, cfg.DataDir, cfg.Logger)
		return err
	}); err != nil {
		return rep, err
	}
	defer stack.Stop()
	say("API %s, DynamoDB %s, S3 %s, files in %s", stack.URL, stack.DynamoDBEndpoint, stack.S3Endpoint, stack.BucketDir)
	c := newClient(stack, cfg.Workers)

	if err := step("create and start the experiments", func() error { return c.createExperiments(ctx) }); err != nil {
		return rep, err
	}
	jobs := plan(cfg.Events)
	rep.Machine = machine()
	if err := step(fmt.Sprintf("send %d events from %d clients", cfg.Events, cfg.Workers), func() (err error) {
		last := time.Now()
		rep.Traffic, err = c.drive(ctx, jobs, cfg.Workers, func(done, total int) {
			if time.Since(last) > 5*time.Second || done == total {
				last = time.Now()
				say("  %d of %d users", done, total)
			}
		})
		return err
	}); err != nil {
		return rep, err
	}
	tr := rep.Traffic
	say("%d events recorded (%d retries answered duplicate) in %v: %.0f events/s, %.0f requests/s",
		tr.Recorded, tr.Duplicates, tr.Elapsed.Round(time.Millisecond), tr.EventsPerSecond(), tr.RequestsPerSecond())
	if tr.Recorded != int64(cfg.Events) {
		rep.Problems = append(rep.Problems, fmt.Sprintf("the API recorded %d events, %d were sent", tr.Recorded, cfg.Events))
	}

	api := map[string]*refx.Results{}
	if err := step("read the results API once counted", func() error {
		for _, id := range Experiments {
			res, err := c.results(ctx, id, tr.End)
			if err != nil {
				return err
			}
			api[id] = res
		}
		return nil
	}); err != nil {
		return rep, err
	}

	if err := step("wait for the export", func() (err error) {
		rep.Raw, err = waitExported(ctx, stack.BucketDir, cfg.SchemaDir, tr.Recorded, cfg.ExportTimeout, 3*time.Second, say)
		return err
	}); err != nil {
		return rep, err
	}
	files, bytes := rep.Raw.Totals("")
	say("raw lake: %d files, %d bytes", files, bytes)

	if err := step("compare the queries with the results API (raw files)", func() (err error) {
		rep.Results, rep.Unique, err = verify(ctx, stack.BucketDir, cfg.SchemaDir, api)
		return err
	}); err != nil {
		return rep, err
	}
	rep.problems("raw", rep.Results)

	if err := step("dated queries with a corrupt file in another day", func() (err error) {
		rep.Dated, err = checkDated(ctx, stack.BucketDir, cfg.SchemaDir, rep.Raw)
		return err
	}); err != nil {
		return rep, err
	}
	rep.Problems = append(rep.Problems, rep.Dated.Problems...)

	if err := step("compact every hour", func() error {
		cr, err := compactAll(ctx, stack, cfg.Logger)
		if err != nil {
			return err
		}
		say("compaction: %s", cr)
		rep.Compaction = cr
		if rep.Compacted, err = takeInventory(stack.BucketDir); err != nil {
			return err
		}
		return rep.stage(ctx, "compacted", stack.BucketDir, cfg.SchemaDir, api)
	}); err != nil {
		return rep, err
	}
	files, bytes = rep.Compacted.Totals("")
	say("compacted lake: %d files, %d bytes", files, bytes)

	if err := step("replay the whole stream from on-failure pointers", func() error {
		run, err := replayAll(ctx, stack, cfg.Logger)
		if err != nil {
			return err
		}
		say("replay: %d pointers, %d records, %d batches, %d rows in %d objects", run.Pointers, run.Report.Records, run.Report.Batches, run.Report.Rows, run.Report.Objects)
		rep.Replay = run
		if run.Report.Records == 0 {
			rep.Problems = append(rep.Problems, "the replay read no stream record")
		}
		return rep.stage(ctx, "replay", stack.BucketDir, cfg.SchemaDir, api)
	}); err != nil {
		return rep, err
	}
	if err := step("backfill the whole range from the table", func() error {
		br, err := backfillAll(ctx, stack, started.Add(-time.Hour), time.Now().Add(time.Hour), cfg.Logger)
		if err != nil {
			return err
		}
		say("backfill: %d items scanned (%.0f read units), %d rows, %d already exported, %d written in %d objects",
			br.Items, br.ReadUnits, br.Rows, br.Existing, br.Written, br.Objects)
		rep.Backfill = br
		return rep.stage(ctx, "backfill", stack.BucketDir, cfg.SchemaDir, api)
	}); err != nil {
		return rep, err
	}
	if err := step("compact again", func() error {
		cr, err := compactAll(ctx, stack, cfg.Logger)
		if err != nil {
			return err
		}
		say("compaction: %s", cr)
		rep.Recompaction = cr
		if rep.Recompacted, err = takeInventory(stack.BucketDir); err != nil {
			return err
		}
		return rep.stage(ctx, "compacted again", stack.BucketDir, cfg.SchemaDir, api)
	}); err != nil {
		return rep, err
	}

	cost, err := estimateCost(cfg.SchemaDir, rep.Compacted, tr.Recorded, scaleEventsPerSecond)
	if err != nil {
		return rep, err
	}
	rep.Cost = cost

	if err := step("stop the local stack", stack.Stop); err != nil {
		return rep, err
	}
	return rep, nil
}

// verify compares every experiment's queries with the API's results and
// counts the *_unique views.
func verify(ctx context.Context, root, schemaDir string, api map[string]*refx.Results) ([]Comparison, map[string]int64, error) {
	db, err := openLake(ctx, root, schemaDir)
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	var out []Comparison
	for _, id := range Experiments {
		c, err := Compare(ctx, db, schemaDir, api[id])
		if err != nil {
			return nil, nil, err
		}
		out = append(out, c)
	}
	views, err := uniqueViews(schemaDir)
	if err != nil {
		return nil, nil, err
	}
	counts, err := viewCounts(ctx, db, views)
	return out, counts, err
}

// stage checks the lake after a stage that must change no query result:
// the queries against the API and the views' counts against the raw ones.
func (r *Report) stage(ctx context.Context, name, root, schemaDir string, api map[string]*refx.Results) error {
	cs, counts, err := verify(ctx, root, schemaDir, api)
	if err != nil {
		return err
	}
	r.problems(name, cs)
	r.Stages = append(r.Stages, Stage{name, counts, cs})
	for _, v := range sortedKeys(r.Unique) {
		if counts[v] != r.Unique[v] {
			r.Problems = append(r.Problems, fmt.Sprintf("%s: %s holds %d rows, %d before", name, v, counts[v], r.Unique[v]))
		}
	}
	return nil
}

func (r *Report) problems(stage string, cs []Comparison) {
	for _, c := range cs {
		for _, m := range c.Mismatches {
			r.Problems = append(r.Problems, fmt.Sprintf("%s %s: %s", stage, c.Experiment, m))
		}
		if c.Rows == 0 {
			r.Problems = append(r.Problems, fmt.Sprintf("%s %s: no variant goal to compare", stage, c.Experiment))
		}
	}
}

// machine describes the CPUs and, where Linux tells, the load average.
func machine() string {
	s := fmt.Sprintf("%d CPUs", runtime.NumCPU())
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			s += fmt.Sprintf(", load average %s %s %s at the start", f[0], f[1], f[2])
		}
	}
	return s
}
