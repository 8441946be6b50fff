package lakeproof

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Markdown renders the report: the traffic and its rate, the lake's
// files and bytes per table and hour before and after compaction, the
// comparisons, the dated check, the views' counts through replay and
// backfill, the timings and the Athena cost of a dashboard refresh.
func (r *Report) Markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	verdict := "holds"
	if !r.OK() {
		verdict = "FAILS"
	}
	p("# Lake proof: %s", verdict)
	p("")
	p("Run at %s with %d events (`./scripts/lake-proof`, pkg/export/lakeproof): the local stack of `./scripts/dev`,", time.Now().UTC().Format(time.RFC3339), r.Events)
	p("%d concurrent clients, the export to Parquet under `%s`, DuckDB over the files with the Athena views.", r.Workers, Prefix)
	if t := r.Traffic; t != nil {
		p("")
		p("## Traffic")
		p("")
		p("| events | retries (duplicate) | users | referrers | clicks | signups | requests | elapsed | events/s | requests/s |")
		p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		p("| %d | %d | %d | %d | %d | %d | %d | %v | %.0f | %.0f |", t.Recorded, t.Duplicates, t.Users, t.Referrers, t.Clicks, t.Signups,
			t.Requests, t.Elapsed.Round(time.Millisecond), t.EventsPerSecond(), t.RequestsPerSecond())
		p("")
		p("Measured on %s: the API, DynamoDB Local (a JVM), the stream pollers and the clients share the machine.", r.Machine)
	}
	if r.Raw != nil {
		p("")
		p("## Files and bytes per table and hour")
		p("")
		p("Raw: what the exporter wrote (one object per table, partition and stream batch).")
		p("")
		writeInventory(&b, r.Raw)
		p("")
		p("| table | raw files | raw bytes | compacted files | compacted bytes |")
		p("|---|---:|---:|---:|---:|")
		for _, t := range r.Raw.Tables() {
			rf, rb := r.Raw.Totals(t)
			cf, cb := "–", "–"
			if r.Compacted != nil {
				f, n := r.Compacted.Totals(t)
				cf, cb = fmt.Sprint(f), fmt.Sprint(n)
			}
			p("| %s | %d | %d | %s | %s |", t, rf, rb, cf, cb)
		}
		rf, rb := r.Raw.Totals("")
		cf, cb := "–", "–"
		if r.Compacted != nil {
			f, n := r.Compacted.Totals("")
			cf, cb = fmt.Sprint(f), fmt.Sprint(n)
		}
		p("| **all** | %d | %d | %s | %s |", rf, rb, cf, cb)
	}
	if r.Compacted != nil {
		p("")
		p("Compacted:")
		p("")
		writeInventory(&b, r.Compacted)
		if r.Traffic != nil && r.Traffic.Recorded > 0 {
			perHour := scaleEventsPerSecond * 3600.0
			p("")
			p("At %d events/s an hour holds %.1f million events; compacted at this run's bytes per event, each traffic table's file of an hour would be:", scaleEventsPerSecond, perHour/1e6)
			var sizes []string
			for _, t := range r.Compacted.Tables() {
				if adminTables[t] {
					continue
				}
				_, n := r.Compacted.Totals(t)
				sizes = append(sizes, fmt.Sprintf("%s %s", t, human(float64(n)/float64(r.Traffic.Recorded)*perHour)))
			}
			p("%s.", strings.Join(sizes, ", "))
		}
	}
	if len(r.Results) > 0 {
		p("")
		p("## experiment_results.sql and referral_funnel.sql = GET /v1/experiments/{id}/results")
		p("")
		p("Field by field, exactly: participants, users, events, Σ value, Σ value² per variant and goal; every funnel count.")
		p("")
		head, rule := "| experiment | variant goals | funnel variants | raw", "|---|---:|---:|---"
		for _, st := range r.Stages {
			head += " | " + st.Name
			rule += "|---"
		}
		p("%s |", head)
		p("%s|", rule)
		for i, c := range r.Results {
			row := fmt.Sprintf("| %s | %d | %d | %s", c.Experiment, c.Rows, c.Funnel, yesNo(c.Equal()))
			for _, st := range r.Stages {
				row += " | " + yesNo(i < len(st.Results) && st.Results[i].Equal())
			}
			p("%s |", row)
		}
	}
	if d := r.Dated; d != nil {
		p("")
		p("## Dated queries read only their partitions")
		p("")
		p("An undecodable `.parquet` planted in `dt=%s/hour=00` of every table a *_unique view reads by day (not erasures:", d.Planted)
		p("erased_ids reads it whole, an erasure applies to every earlier day). Data in dt = %s.", strings.Join(d.Days, ", "))
		p("")
		p("| view | undated rows (before planting) | rows by `WHERE dt = …` (corrupt file present) |")
		p("|---|---:|---:|")
		for _, v := range sortedKeys(d.Undated) {
			p("| %s | %d | %d |", v, d.Undated[v], d.Dated[v])
		}
		p("")
		if d.UndatedError != "" {
			p("The undated count on events_unique failed on the planted file, as it must: `%s`", oneLine(d.UndatedError, 200))
		} else {
			p("The undated count on events_unique did **not** fail: the check proves nothing.")
		}
	}
	if len(r.Unique) > 0 {
		p("")
		p("## *_unique views: rows")
		p("")
		writeStages(&b, r.Unique, r.Stages)
	}
	if r.Compaction != nil || r.Replay != nil || r.Backfill != nil {
		p("")
		p("## Compaction, replay, backfill")
		p("")
		if c := r.Compaction; c != nil {
			p("- compaction (every hour closed, no grace): %s", c)
		}
		if rp := r.Replay; rp != nil {
			p("- replay (`replay.Run`, one on-failure pointer per shard covering all of it, every record exported already): %d pointers, %d records,", rp.Pointers, rp.Report.Records)
			p("  %d batches, %d rows written again in %d objects, %d records skipped, %d undecodable", rp.Report.Batches, rp.Report.Rows, rp.Report.Objects, rp.Report.Skipped, rp.Report.Undecodable)
		}
		if b := r.Backfill; b != nil {
			p("- backfill (`backfill.Run` over the whole run, at most %d read units/s): %d pages, %d items (%d in range), %.0f read units;", backfillRate, b.Pages, b.Items, b.InRange, b.ReadUnits)
			p("  %d rows, %d already in the lake, %d written in %d objects; %d undecodable, %d undated", b.Rows, b.Existing, b.Written, b.Objects, b.Undecodable, b.Undated)
		}
		if c := r.Recompaction; c != nil {
			files, bytes := r.Recompacted.Totals("")
			p("- compaction again: %s; the lake then holds %d files, %d bytes", c, files, bytes)
		}
	}
	if c := r.Cost; c != nil {
		p("")
		p("## Athena cost per dashboard refresh")
		p("")
		p("$5 per TB scanned (1 TB = 10¹² bytes), at least 10 MB per query. A source scans at most the compacted bytes of the tables it reads")
		p("(Athena reads only the columns used, so these are upper bounds). Extrapolated to %.0f events/s over 30 days", c.RateEvents)
		p("by bytes per event (the experiments' own tables kept as they are); the named queries carry no dt filter today,")
		p("the last column is with one of 7 days.")
		p("")
		p("| source | tables read | bytes (this run) | $ (this run) | bytes (30 days) | $ (30 days, no filter) | bytes (dt 7 days) | $ (dt 7 days) |")
		p("|---|---|---:|---:|---:|---:|---:|---:|")
		for _, q := range c.Queries {
			p("| %s | %s | %d | %.6f | %s | %.4f | %s | %.4f |", q.Source, strings.Join(q.Tables, ", "), q.Bytes, dollars(float64(q.Bytes)),
				human(q.Month), dollars(q.Month), human(q.Week), dollars(q.Week))
		}
		p("| **refresh** | | | %.6f | | %.4f | | %.4f |", c.Run(), c.Month(), c.Week())
		var month, week []string
		for _, q := range c.Queries {
			if q.Month > workgroupCutoff {
				month = append(month, q.Source)
			}
			if q.Week > workgroupCutoff {
				week = append(week, q.Source)
			}
		}
		if len(month) > 0 || len(week) > 0 {
			p("")
			p("Past the workgroup's 10 GiB per-query cutoff (by these upper bounds): over 30 days unfiltered %s; with a 7-day dt filter %s.",
				orNone(month), orNone(week))
		}
	}
	if len(r.Steps) > 0 {
		p("")
		p("## Timings")
		p("")
		p("| step | elapsed |")
		p("|---|---:|")
		for _, s := range r.Steps {
			p("| %s | %v |", s.Name, s.Elapsed.Round(time.Millisecond))
		}
	}
	if len(r.Problems) > 0 {
		p("")
		p("## Problems")
		p("")
		for _, pr := range r.Problems {
			p("- %s", pr)
		}
	}
	return b.String()
}

func writeInventory(b *strings.Builder, inv Inventory) {
	fmt.Fprintln(b, "| table | dt | hour | files | bytes | bytes/file |")
	fmt.Fprintln(b, "|---|---|---|---:|---:|---:|")
	for _, p := range inv {
		fmt.Fprintf(b, "| %s | %s | %s | %d | %d | %d |\n", p.Table, p.DT, p.Hour, p.Files, p.Bytes, p.Bytes/int64(max(p.Files, 1)))
	}
}

// writeStages tabulates the views' counts at each stage.
func writeStages(b *strings.Builder, first map[string]int64, later []Stage) {
	head, rule := "| view | raw", "|---|---:"
	for _, s := range later {
		head += " | " + s.Name
		rule += "|---:"
	}
	fmt.Fprintln(b, head+" |")
	fmt.Fprintln(b, rule+"|")
	for _, v := range sortedKeys(first) {
		row := fmt.Sprintf("| %s | %d", v, first[v])
		for _, s := range later {
			row += fmt.Sprintf(" | %d", s.Unique[v])
		}
		fmt.Fprintln(b, row+" |")
	}
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// human writes bytes in decimal units.
func human(bytes float64) string {
	for _, u := range []string{"B", "kB", "MB", "GB", "TB"} {
		if bytes < 1000 || u == "TB" {
			return fmt.Sprintf("%.1f %s", bytes, u)
		}
		bytes /= 1000
	}
	return ""
}

// workgroupCutoff is the Athena workgroup's per-query scan limit
// (infra/export.go: BytesScannedCutoffPerQuery, 10 GiB).
const workgroupCutoff = 10 << 30

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
