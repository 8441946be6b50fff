// Command query runs an Athena query of schema/athena on this machine, with
// DuckDB, over the Parquet files the local stack exported under the
// deployed prefix, export/ (pkg/export/localquery). ./scripts/query builds
// and runs it:
//
//	./scripts/query schema/athena/queries/experiment_results.sql
//	./scripts/query -e "SELECT type, count(*) FROM events_unique GROUP BY type"
package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/refx-dev/refx/pkg/ddblocal"
	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/localquery"
	"github.com/refx-dev/refx/pkg/s3local"
)

func main() {
	data := flag.String("data", "", "directory of the exported bucket (default <repo>/.data/s3/buckets/"+s3local.DefaultBucket+")")
	prefix := flag.String("prefix", export.DefaultPrefix, "the exporter's key prefix (\"\" for the bucket's root)")
	expr := flag.String("e", "", "SQL to run instead of a file")
	format := flag.String("format", "table", "output: table or csv")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: ./scripts/query [--data DIR] [--prefix P] [--format table|csv] FILE.sql | -e SQL")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*data, *prefix, *expr, *format, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "query:", err)
		os.Exit(1)
	}
}

func run(data, prefix, expr, format string, args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root, err := ddblocal.RepoRoot()
	if err != nil {
		return err
	}
	if data == "" {
		data = filepath.Join(root, ".data", "s3", "buckets", s3local.DefaultBucket)
	}
	query := expr
	switch {
	case expr == "" && len(args) == 1:
		b, err := os.ReadFile(args[0])
		if err != nil {
			return err
		}
		query = string(b)
	case expr == "" || len(args) > 0:
		flag.Usage()
		return fmt.Errorf("give one .sql file or -e SQL")
	}
	if _, err := os.Stat(filepath.Join(data, filepath.FromSlash(prefix))); err != nil {
		if _, err := os.Stat(filepath.Join(data, export.Events.Name)); err == nil {
			return fmt.Errorf("no exported data under %s in %s, but files at its root (exported before the local stack used the deployed prefix): add --prefix ''", prefix, data)
		}
		return fmt.Errorf("no exported data under %s in %s: run ./scripts/dev (without --in-memory) and send some events", prefix, data)
	}
	db, err := localquery.Open(ctx, localquery.Options{Root: data, Prefix: prefix, SchemaDir: filepath.Join(root, "schema", "athena")})
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := db.Query(ctx, query)
	if err != nil {
		return err
	}
	if format == "csv" {
		w := csv.NewWriter(os.Stdout)
		w.Write(res.Columns)
		for _, r := range res.Rows {
			w.Write(cells(r))
		}
		w.Flush()
		return w.Error()
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(res.Columns, "\t"))
	for _, r := range res.Rows {
		fmt.Fprintln(w, strings.Join(cells(r), "\t"))
	}
	fmt.Fprintf(w, "(%d rows)\n", len(res.Rows))
	return w.Flush()
}

func cells(row []any) []string {
	out := make([]string, len(row))
	for i, v := range row {
		out[i] = localquery.Format(v)
	}
	return out
}
