package lakeproof

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/refx-dev/refx/pkg/export"
)

// Athena's price: $5 per TB scanned, each query billed at least 10 MB.
const (
	athenaUSDPerTB     = 5.0
	athenaTB           = 1e12
	athenaMinimumBytes = 10 << 20
)

// DashboardSources are what one refresh of the QuickSight dashboard runs:
// the datasets of schema/athena/README.md ("QuickSight"), a named query
// (queries/<name>.sql) or a view (views/<name>.sql) each.
var DashboardSources = []string{
	"queries/experiment_results", "queries/daily_conversions", "queries/referral_funnel",
	"views/events_unique", "views/assignments_unique", "views/experiments_latest",
}

// fromRE finds the relations a statement reads.
var fromRE = regexp.MustCompile(`(?i)\b(?:FROM|JOIN)\s+([a-z_][a-z0-9_]*)`)

// tablesRead returns the exported tables a query or view file reads,
// through the views it uses, sorted. CTE names and functions are not
// tables or views, and are skipped.
func tablesRead(schemaDir, source string) ([]string, error) {
	tables := map[string]bool{}
	for _, t := range export.Tables() {
		tables[t.Name] = true
	}
	seen := map[string]bool{}
	var out []string
	var walk func(file string) error
	walk = func(file string) error {
		b, err := os.ReadFile(filepath.Join(schemaDir, file+".sql"))
		if err != nil {
			return fmt.Errorf("lakeproof: dashboard source %s: %w", file, err)
		}
		for _, m := range fromRE.FindAllStringSubmatch(stripComments(string(b)), -1) {
			name := strings.ToLower(m[1])
			switch {
			case seen[name]:
			case tables[name]:
				seen[name] = true
				out = append(out, name)
			default:
				if _, err := os.Stat(filepath.Join(schemaDir, "views", name+".sql")); err == nil {
					seen[name] = true
					if err := walk("views/" + name); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if err := walk(source); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

func stripComments(sql string) string {
	lines := strings.Split(sql, "\n")
	for i, l := range lines {
		if j := strings.Index(l, "--"); j >= 0 {
			lines[i] = l[:j]
		}
	}
	return strings.Join(lines, "\n")
}

// QueryCost is what one dashboard source scans and costs in Athena.
type QueryCost struct {
	Source string
	Tables []string
	// Bytes is the run's compacted bytes of the tables read: an upper
	// bound, as Athena reads only the columns a query uses.
	Bytes int64
	// Month and Week are Bytes extrapolated to 30 days at RateEvents
	// events a second, read whole and with a 7-day dt filter.
	Month, Week float64
}

// Cost is the Athena cost of one dashboard refresh.
type Cost struct {
	Queries []QueryCost
	// RateEvents is the extrapolation's event rate (events a second).
	RateEvents float64
}

// dollars prices one query of bytes scanned.
func dollars(bytes float64) float64 {
	return max(bytes, athenaMinimumBytes) / athenaTB * athenaUSDPerTB
}

// Run is a refresh's cost at this run's size.
func (c *Cost) Run() (usd float64) {
	for _, q := range c.Queries {
		usd += dollars(float64(q.Bytes))
	}
	return usd
}

// Month is a refresh's cost over 30 days of data, no dt filter.
func (c *Cost) Month() (usd float64) {
	for _, q := range c.Queries {
		usd += dollars(q.Month)
	}
	return usd
}

// Week is a refresh's cost with a dt filter of 7 days.
func (c *Cost) Week() (usd float64) {
	for _, q := range c.Queries {
		usd += dollars(q.Week)
	}
	return usd
}

// adminTables grow with the experiments' changes, not with traffic: the
// estimate keeps their size as it is.
var adminTables = map[string]bool{
	"experiments": true, "experiment_variants": true, "experiment_goals": true,
	"experiment_ratio_metrics": true, "audit": true,
}

// estimateCost prices a dashboard refresh from inv (the compacted lake)
// holding events events: each traffic table's bytes per event, scaled to
// rate events a second (assignments and referrals grow with users rather
// than events: scaled alike, an overestimate), the admin tables as they
// are.
func estimateCost(schemaDir string, inv Inventory, events int64, rate float64) (*Cost, error) {
	c := &Cost{RateEvents: rate}
	month := rate * 30 * 24 * 3600
	for _, src := range DashboardSources {
		tables, err := tablesRead(schemaDir, src)
		if err != nil {
			return nil, err
		}
		q := QueryCost{Source: src, Tables: tables}
		for _, t := range tables {
			_, b := inv.Totals(t)
			q.Bytes += b
			if adminTables[t] {
				q.Month += float64(b)
				q.Week += float64(b)
				continue
			}
			perEvent := float64(b) / float64(events)
			q.Month += perEvent * month
			q.Week += perEvent * month * 7 / 30
		}
		c.Queries = append(c.Queries, q)
	}
	return c, nil
}
