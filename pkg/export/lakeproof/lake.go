package lakeproof

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/refx-dev/refx/pkg/export"
	"github.com/refx-dev/refx/pkg/export/localquery"
)

// Prefix is where the exporter writes, locally as deployed.
const Prefix = export.DefaultPrefix

// Partition is one table's files in one hour partition.
type Partition struct {
	Table, DT, Hour string
	Files           int
	Bytes           int64
}

// Inventory is the lake's files: every table's partitions, in order.
type Inventory []Partition

// Totals sums files and bytes, over every table or (table != "") one.
func (inv Inventory) Totals(table string) (files int, bytes int64) {
	for _, p := range inv {
		if table == "" || p.Table == table {
			files += p.Files
			bytes += p.Bytes
		}
	}
	return files, bytes
}

// Tables returns the tables that have files, in order.
func (inv Inventory) Tables() []string {
	var out []string
	for _, p := range inv {
		if !slices.Contains(out, p.Table) {
			out = append(out, p.Table)
		}
	}
	return out
}

// takeInventory walks root/Prefix: <table>/dt=…/hour=…/*.parquet.
func takeInventory(root string) (Inventory, error) {
	byKey := map[[3]string]*Partition{}
	base := filepath.Join(root, filepath.FromSlash(Prefix))
	err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && path == base {
				return fs.SkipDir
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".parquet") {
			return nil
		}
		rel, err := filepath.Rel(base, path)
		if err != nil {
			return err
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) != 4 || !strings.HasPrefix(parts[1], "dt=") || !strings.HasPrefix(parts[2], "hour=") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		k := [3]string{parts[0], strings.TrimPrefix(parts[1], "dt="), strings.TrimPrefix(parts[2], "hour=")}
		p := byKey[k]
		if p == nil {
			p = &Partition{Table: k[0], DT: k[1], Hour: k[2]}
			byKey[k] = p
		}
		p.Files++
		p.Bytes += info.Size()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lakeproof: inventory of %s: %w", base, err)
	}
	inv := make(Inventory, 0, len(byKey))
	for _, p := range byKey {
		inv = append(inv, *p)
	}
	slices.SortFunc(inv, func(a, b Partition) int {
		return strings.Compare(a.Table+"/"+a.DT+"/"+a.Hour, b.Table+"/"+b.DT+"/"+b.Hour)
	})
	return inv, nil
}

// openLake opens the local query engine over the lake as it is now.
func openLake(ctx context.Context, root, schemaDir string) (*localquery.DB, error) {
	return localquery.Open(ctx, localquery.Options{Root: root, Prefix: Prefix, SchemaDir: schemaDir})
}

// count runs a query whose answer is one integer.
func count(ctx context.Context, db *localquery.DB, query string, args ...any) (int64, error) {
	res, err := db.Query(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		return 0, fmt.Errorf("lakeproof: %q answered %d rows", query, len(res.Rows))
	}
	switch v := res.Rows[0][0].(type) {
	case int64:
		return v, nil
	case int32:
		return int64(v), nil
	}
	return 0, fmt.Errorf("lakeproof: %q answered %T, not an integer", query, res.Rows[0][0])
}

// waitExported polls the lake until events_unique holds want events and
// then until no file has been added for settle: the exporter writes a
// poll interval (a second) after the writes, and the tables written from
// later stream records (clicks, attributions, ...) follow the events.
func waitExported(ctx context.Context, root, schemaDir string, want int64, timeout, settle time.Duration, say func(string, ...any)) (Inventory, error) {
	deadline := time.Now().Add(timeout)
	var got int64 = -1
	for got != want {
		db, err := openLake(ctx, root, schemaDir)
		if err != nil {
			return nil, err
		}
		n, err := count(ctx, db, "SELECT count(*) FROM events_unique")
		db.Close()
		if err != nil {
			return nil, err
		}
		if n != got {
			say("export: %d of %d events in events_unique", n, want)
		}
		got = n
		if got > want {
			return nil, fmt.Errorf("lakeproof: events_unique holds %d events, more than the %d recorded", got, want)
		}
		if got == want {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("lakeproof: events_unique holds %d of %d events after %v", got, want, timeout)
		}
		if err := sleep(ctx, time.Second); err != nil {
			return nil, err
		}
	}
	prev, err := takeInventory(root)
	if err != nil {
		return nil, err
	}
	stable := time.Now()
	for time.Since(stable) < settle {
		if err := sleep(ctx, settle/4); err != nil {
			return nil, err
		}
		inv, err := takeInventory(root)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(inv, prev) {
			prev, stable = inv, time.Now()
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("lakeproof: the exporter still writes files after %v", timeout)
		}
	}
	return prev, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// uniqueViews are the views that drop copies, by the names of their files
// in schema/athena/views.
func uniqueViews(schemaDir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(schemaDir, "views", "*_unique.sql"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("lakeproof: no *_unique view in %s", filepath.Join(schemaDir, "views"))
	}
	views := make([]string, len(files))
	for i, f := range files {
		views[i] = strings.TrimSuffix(filepath.Base(f), ".sql")
	}
	return views, nil
}

// viewCounts counts each *_unique view's rows.
func viewCounts(ctx context.Context, db *localquery.DB, views []string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, v := range views {
		n, err := count(ctx, db, "SELECT count(*) FROM "+v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v, err)
		}
		out[v] = n
	}
	return out, nil
}

// tableOfView is the exported table a *_unique view de-duplicates.
func tableOfView(view string) *export.Table {
	name := strings.TrimSuffix(view, "_unique")
	for _, t := range export.Tables() {
		if t.Name == name {
			return t
		}
	}
	return nil
}
