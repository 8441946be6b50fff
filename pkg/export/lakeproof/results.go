package lakeproof

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"path/filepath"

	"github.com/refx-dev/refx/pkg/export/localquery"
	"github.com/refx-dev/refx/pkg/refx"
)

// Comparison is one experiment's query results against the results API.
type Comparison struct {
	Experiment string
	// Rows counts the (variant, goal) rows compared, Funnel the referral
	// funnel's variants.
	Rows, Funnel int
	// Mismatches lists every difference; none means equal.
	Mismatches []string
}

// Equal says whether the query equalled the API in every field.
func (c Comparison) Equal() bool { return len(c.Mismatches) == 0 && c.Rows > 0 }

// Compare runs experiment_results.sql (and referral_funnel.sql for a
// referral experiment) of schemaDir and compares them field by field with
// the API's results of the phase they report: participants, users,
// events, Σ value, Σ value² per variant and goal, exactly; each funnel
// count. The export's own tests assert with it too, so the proof and the
// tests hold the queries to one definition of "equal".
func Compare(ctx context.Context, db *localquery.DB, schemaDir string, api *refx.Results) (Comparison, error) {
	c := Comparison{Experiment: api.Experiment}
	if len(api.Variants) == 0 {
		c.Mismatches = append(c.Mismatches, "the API's results have no variant")
		return c, nil
	}
	res, err := db.QueryFile(ctx, filepath.Join(schemaDir, "queries", "experiment_results.sql"))
	if err != nil {
		return c, err
	}
	got := map[string]map[string]any{}
	for _, r := range res.Maps() {
		if r["experiment"] == api.Experiment && fmt.Sprint(r["phase"]) == fmt.Sprint(max(api.Phase, 1)) {
			got[fmt.Sprint(r["variant"])+"/"+fmt.Sprint(r["goal"])] = r
		}
	}
	for _, v := range api.Variants {
		for goal, gc := range v.Goals {
			c.Rows++
			where := v.Key + "/" + goal
			r := got[where]
			if r == nil {
				c.Mismatches = append(c.Mismatches, where+": no row in experiment_results")
				continue
			}
			delete(got, where)
			c.check(where, "participants", r["participants"], v.Participants)
			c.check(where, "users", r["users"], gc.Users)
			c.check(where, "events", r["events"], gc.Events)
			c.check(where, "value_sum", r["value_sum"], gc.ValueSum)
			c.check(where, "value_sum_sq", r["value_sum_sq"], gc.ValueSumSq)
		}
	}
	for where := range got {
		c.Mismatches = append(c.Mismatches, where+": a row the API does not have")
	}
	if api.Variants[0].Referral == nil {
		return c, nil
	}
	funnel, err := db.QueryFile(ctx, filepath.Join(schemaDir, "queries", "referral_funnel.sql"))
	if err != nil {
		return c, err
	}
	rows := map[string]map[string]any{}
	for _, r := range funnel.Maps() {
		if r["experiment"] == api.Experiment {
			rows[fmt.Sprint(r["variant"])] = r
		}
	}
	for _, v := range api.Variants {
		c.Funnel++
		r, rc := rows[v.Key], v.Referral
		if r == nil || rc == nil {
			c.Mismatches = append(c.Mismatches, v.Key+": no referral_funnel row or no API referral counts")
			continue
		}
		where := v.Key + " funnel"
		refused := int64(0)
		for _, n := range rc.Refused {
			refused += n
		}
		for _, f := range []struct {
			name string
			want any
		}{
			{"participants", v.Participants}, {"referrers", rc.Referrers}, {"sharing_referrers", rc.SharingReferrers},
			{"clicks", rc.Clicks}, {"unique_visitors", rc.UniqueVisitors}, {"signups", rc.Signups},
			{"converting_referees", rc.ConvertingReferees}, {"conversions", rc.Conversions},
			{"conversion_value", rc.ConversionValue}, {"refused_signups", refused},
		} {
			c.check(where, f.name, r[f.name], f.want)
		}
	}
	return c, nil
}

// check records a mismatch unless the query's value equals the API's
// exactly (as rationals: 12.5000 equals 12.5).
func (c *Comparison) check(where, field string, query, api any) {
	q, qok := rat(query)
	a, aok := rat(api)
	if !qok || !aok || q.Cmp(a) != 0 {
		c.Mismatches = append(c.Mismatches, fmt.Sprintf("%s %s: query %v, API %v", where, field, localquery.Format(query), api))
	}
}

// rat reads a query's or the API's number exactly.
func rat(v any) (*big.Rat, bool) {
	switch v := v.(type) {
	case *big.Rat:
		return v, true
	case *big.Int:
		return new(big.Rat).SetInt(v), true
	case int64:
		return new(big.Rat).SetInt64(v), true
	case int32:
		return new(big.Rat).SetInt64(int64(v)), true
	case json.Number:
		if v == "" {
			return new(big.Rat), true
		}
		return new(big.Rat).SetString(string(v))
	}
	return nil, false
}
