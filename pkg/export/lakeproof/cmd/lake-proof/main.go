// Command lake-proof proves the analytics lake end to end on this machine:
// ./scripts/lake-proof builds and runs it (see pkg/export/lakeproof).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/refx-dev/refx/pkg/ddblocal"
	"github.com/refx-dev/refx/pkg/export/lakeproof"
)

func main() {
	events := flag.Int("events", 10_000, "distinct events the clients record")
	workers := flag.Int("workers", 16, "concurrent clients")
	report := flag.String("report", "", "write the Markdown report to this file (default: standard output)")
	dataDir := flag.String("data-dir", "", "keep the run's data (DynamoDB Local, the bucket) in this empty directory (default: a temporary one, removed)")
	flag.Parse()
	if err := run(*events, *workers, *report, *dataDir); err != nil {
		fmt.Fprintln(os.Stderr, "lake-proof:", err)
		os.Exit(1)
	}
}

func run(events, workers int, report, dataDir string) error {
	root, err := ddblocal.RepoRoot()
	if err != nil {
		return err
	}
	if dataDir == "" {
		if dataDir, err = os.MkdirTemp("", "refx-lake-proof-"); err != nil {
			return err
		}
		defer os.RemoveAll(dataDir)
	} else if entries, err := os.ReadDir(dataDir); err == nil && len(entries) > 0 {
		return fmt.Errorf("--data-dir %s is not empty: the proof counts every file it finds there", dataDir)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := lakeproof.Run(ctx, lakeproof.Config{
		Events: events, Workers: workers, DataDir: dataDir,
		SchemaDir: filepath.Join(root, "schema", "athena"), Out: os.Stderr,
		Logger: slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if rep != nil {
		if err := write(report, rep.Markdown()); err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	if !rep.OK() {
		return fmt.Errorf("the proof fails: %d problems (see the report)", len(rep.Problems))
	}
	return nil
}

func write(path, md string) error {
	if path == "" {
		_, err := fmt.Print(md)
		return err
	}
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "lake-proof: report written to", path)
	return nil
}
