package lakeproof

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// DatedCheck is the proof that a dt filter on the views reads only that
// day's files: with an undecodable file planted in another day of every
// table a *_unique view de-duplicates, the dated counts still run and
// equal the undated counts taken before, and an undated count fails on
// the planted file. The erasures table is left alone: every view reads it
// whole (erased_ids), as an erasure applies to the rows of every earlier
// day.
type DatedCheck struct {
	// Days are the days holding the proof's data; Planted is the day of
	// the corrupt files.
	Days    []string
	Planted string
	// Undated and Dated are each *_unique view's rows before planting and
	// summed over Days' dated counts after.
	Undated, Dated map[string]int64
	// UndatedError is what the undated count answered with the corrupt
	// files in place ("" if it succeeded, which fails the check).
	UndatedError string
	Problems     []string
}

// corruptName is the planted file's name in each table's partition.
const corruptName = "lakeproof-corrupt.parquet"

// checkDated runs the check and removes the planted files.
func checkDated(ctx context.Context, root, schemaDir string, inv Inventory) (*DatedCheck, error) {
	views, err := uniqueViews(schemaDir)
	if err != nil {
		return nil, err
	}
	c := &DatedCheck{Dated: map[string]int64{}}
	for _, p := range inv {
		if !slices.Contains(c.Days, p.DT) {
			c.Days = append(c.Days, p.DT)
		}
	}
	if len(c.Days) == 0 {
		return nil, fmt.Errorf("lakeproof: no exported file to query")
	}
	slices.Sort(c.Days)
	// The day before the data: older partitions are where a bad file
	// would sit in a real lake.
	first, err := time.Parse(time.DateOnly, c.Days[0])
	if err != nil {
		return nil, fmt.Errorf("lakeproof: partition dt=%s: %w", c.Days[0], err)
	}
	c.Planted = first.AddDate(0, 0, -1).Format(time.DateOnly)

	db, err := openLake(ctx, root, schemaDir)
	if err != nil {
		return nil, err
	}
	c.Undated, err = viewCounts(ctx, db, views)
	db.Close()
	if err != nil {
		return nil, err
	}

	var planted []string
	defer func() {
		// The planted day held nothing before: remove it whole.
		for _, f := range planted {
			os.RemoveAll(filepath.Dir(filepath.Dir(f)))
		}
	}()
	for _, v := range views {
		t := tableOfView(v)
		if t == nil {
			return nil, fmt.Errorf("lakeproof: view %s de-duplicates no exported table", v)
		}
		dir := filepath.Join(root, filepath.FromSlash(Prefix), t.Name, "dt="+c.Planted, "hour=00")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		f := filepath.Join(dir, corruptName)
		// Parquet's magic at both ends around garbage: a reader that
		// opens the file fails on its footer.
		if err := os.WriteFile(f, []byte("PAR1 this is not a Parquet file; a dated query must not open it PAR1"), 0o644); err != nil {
			return nil, err
		}
		planted = append(planted, f)
	}
	db, err = openLake(ctx, root, schemaDir)
	if err != nil {
		return nil, fmt.Errorf("lakeproof: opening the lake with a corrupt file in dt=%s: %w", c.Planted, err)
	}
	defer db.Close()
	for _, v := range views {
		for _, day := range c.Days {
			n, err := count(ctx, db, "SELECT count(*) FROM "+v+" WHERE dt = ?", day)
			if err != nil {
				c.Problems = append(c.Problems, fmt.Sprintf("%s WHERE dt = '%s' read another day's file: %v", v, day, err))
				continue
			}
			c.Dated[v] += n
		}
		if c.Dated[v] != c.Undated[v] {
			c.Problems = append(c.Problems, fmt.Sprintf("%s: %d rows by day, %d undated", v, c.Dated[v], c.Undated[v]))
		}
	}
	if _, err := count(ctx, db, "SELECT count(*) FROM events_unique"); err != nil {
		c.UndatedError = err.Error()
	} else {
		c.Problems = append(c.Problems, "an undated query on events_unique succeeded with a corrupt file planted: the check proves nothing")
	}
	return c, nil
}
