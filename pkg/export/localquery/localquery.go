package localquery

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/refx-dev/refx/pkg/export"
)

// Options configure Open.
type Options struct {
	// Root is the directory holding the bucket's objects as files, like
	// .data/s3/buckets/refx-analytics.
	Root string
	// Prefix is the exporter's key prefix ("" or ending in "/"):
	// export.DefaultPrefix for what ./scripts/dev and AWS write.
	Prefix string
	// SchemaDir is schema/athena (views/ and queries/ under it).
	SchemaDir string
}

// DB is an in-memory DuckDB with the exported tables and the Athena views.
type DB struct {
	db    *sql.DB
	empty string
}

// Open creates the tables and views over the files as they are now; files
// written later need a new DB.
func Open(ctx context.Context, opts Options) (*DB, error) {
	if opts.Root == "" || opts.SchemaDir == "" {
		return nil, errors.New("localquery.Open: Root and SchemaDir are required")
	}
	if opts.Prefix != "" && !strings.HasSuffix(opts.Prefix, "/") {
		return nil, fmt.Errorf("localquery.Open: prefix %q must end with /", opts.Prefix)
	}
	empty, err := os.MkdirTemp("", "refx-localquery-")
	if err != nil {
		return nil, fmt.Errorf("localquery.Open: %w", err)
	}
	sqlDB, err := sql.Open("duckdb", "")
	if err != nil {
		os.RemoveAll(empty)
		return nil, fmt.Errorf("localquery.Open: %w", err)
	}
	// One connection: the settings below hold per connection.
	sqlDB.SetMaxOpenConns(1)
	d := &DB{db: sqlDB, empty: empty}
	if err := d.setup(ctx, opts); err != nil {
		d.Close()
		return nil, fmt.Errorf("localquery.Open: %w", err)
	}
	return d, nil
}

func (d *DB) setup(ctx context.Context, opts Options) error {
	// Timestamps are UTC instants; dates of them are UTC dates, as in Athena.
	if _, err := d.db.ExecContext(ctx, "SET TimeZone = 'UTC'"); err != nil {
		return err
	}
	// Athena's (Trino's) to_utf8 and sha256 work on varbinary, which the
	// views hash user ids with; DuckDB's sha256 returns hex text. These
	// macros give DuckDB Trino's signatures, so the views run unchanged.
	for _, m := range athenaMacros {
		if _, err := d.db.ExecContext(ctx, m); err != nil {
			return err
		}
	}
	for _, t := range export.Tables() {
		files, err := filepath.Glob(filepath.Join(opts.Root, filepath.FromSlash(opts.Prefix), t.Name, "dt=*", "hour=*", "*.parquet"))
		if err != nil {
			return err
		}
		sort.Strings(files)
		// DuckDB binds read_parquet to the schema of its first file, whose
		// footer it reads on every query before pruning the rest by dt and
		// hour. An empty file of the exporter's schema, dated 1970-01-01,
		// comes first: a query gets the code's columns without reading a
		// data file, and a dt filter reads no file outside its days.
		empty, err := d.emptyFile(t)
		if err != nil {
			return err
		}
		files = append([]string{empty}, files...)
		quoted := make([]string, len(files))
		for i, f := range files {
			quoted[i] = quote(f)
		}
		stmt := fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM read_parquet([%s], hive_partitioning = true, hive_types = {'dt': VARCHAR, 'hour': VARCHAR})",
			t.Name, strings.Join(quoted, ", "))
		if _, err := d.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("table %s: %w", t.Name, err)
		}
	}
	return d.createViews(ctx, filepath.Join(opts.SchemaDir, "views"))
}

// athenaMacros are the Trino functions the views use that DuckDB names or
// types differently.
var athenaMacros = []string{
	"CREATE MACRO to_utf8(s) AS encode(s)",
	"CREATE MACRO sha256(b) AS unhex(system.main.sha256(b))",
}

// emptyFile writes an empty Parquet file of t's schema, in a Hive layout so
// that the view has dt and hour too.
func (d *DB) emptyFile(t *export.Table) (string, error) {
	body, err := t.Encode(nil)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(d.empty, t.Name, "dt=1970-01-01", "hour=00")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	f := filepath.Join(dir, "empty.parquet")
	return f, os.WriteFile(f, body, 0o644)
}

// createViews runs every views/*.sql. A view may use another: those that
// fail are retried after the others, until a round makes no progress.
func (d *DB) createViews(ctx context.Context, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no views in %s: SchemaDir must be schema/athena", dir)
	}
	pending := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		pending[f] = string(b)
	}
	for len(pending) > 0 {
		before := len(pending)
		failures := map[string]error{}
		for f, stmt := range pending {
			if _, err := d.db.ExecContext(ctx, stmt); err != nil {
				failures[f] = err
				continue
			}
			delete(pending, f)
		}
		if len(failures) == before {
			var errs []error
			for f, err := range failures {
				errs = append(errs, fmt.Errorf("%s: %w", filepath.Base(f), err))
			}
			return errors.Join(errs...)
		}
	}
	return nil
}

// Result is a query's answer: column names and rows of Go values. Decimals
// are *big.Rat (exact), timestamps time.Time, NULL nil.
type Result struct {
	Columns []string
	Rows    [][]any
}

// Maps gives one map per row, keyed by column: what a comparison by
// column name reads.
func (r *Result) Maps() []map[string]any {
	out := make([]map[string]any, len(r.Rows))
	for i, row := range r.Rows {
		out[i] = make(map[string]any, len(r.Columns))
		for j, c := range r.Columns {
			out[i][c] = row[j]
		}
	}
	return out
}

// Query runs one SQL statement.
func (d *DB) Query(ctx context.Context, query string, args ...any) (*Result, error) {
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("localquery.Query: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("localquery.Query: %w", err)
	}
	res := &Result{Columns: cols}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("localquery.Query: %w", err)
		}
		for i, v := range vals {
			vals[i] = normalize(v)
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("localquery.Query: %w", err)
	}
	return res, nil
}

// QueryFile runs the SQL statement in a file, such as
// schema/athena/queries/experiment_results.sql.
func (d *DB) QueryFile(ctx context.Context, path string, args ...any) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("localquery.QueryFile: %w", err)
	}
	return d.Query(ctx, string(b), args...)
}

// Close releases the database and its temporary files.
func (d *DB) Close() error {
	err := d.db.Close()
	os.RemoveAll(d.empty)
	return err
}

func normalize(v any) any {
	switch v := v.(type) {
	case duckdb.Decimal:
		r := new(big.Rat).SetInt(v.Value)
		return r.Quo(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(v.Scale)), nil)))
	case time.Time:
		return v.UTC()
	}
	return v
}

// Format renders a value as text: decimals exactly, without trailing zeros.
func Format(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case *big.Rat:
		s := v.FloatString(12)
		if strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		if s == "-0" {
			s = "0"
		}
		return s
	case time.Time:
		return v.Format("2006-01-02 15:04:05.000")
	case []byte:
		return string(v)
	}
	return fmt.Sprint(v)
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
