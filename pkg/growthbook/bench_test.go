package growthbook_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/growthbook"
)

// typicalFeature is the "typical 3-rule flag" of issue 13: a force rule for
// two attributes, a 50% rollout, then an experiment.
const typicalFeature = `{
	"defaultValue": false,
	"rules": [
		{"id": "staff", "condition": {"email": {"$regex": "@refx\\.dev$"}, "country": {"$in": ["FR", "DE"]}}, "force": true},
		{"id": "rollout", "coverage": 0.5, "hashVersion": 2, "force": true},
		{"id": "test", "key": "checkout-v2", "variations": [false, true], "weights": [0.5, 0.5], "hashVersion": 2}
	]
}`

func mustFeature(tb testing.TB, s string) *growthbook.Feature {
	tb.Helper()
	f, err := growthbook.ParseFeature(json.RawMessage(s))
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// BenchmarkEvalFeature evaluates the typical flag for users who fail the
// force rule (half of them after running its regular expression), so that
// half reach the experiment: the common, slowest path.
func BenchmarkEvalFeature(b *testing.B) {
	f := mustFeature(b, typicalFeature)
	users := make([]growthbook.Attributes, 1024)
	for i := range users {
		users[i] = growthbook.Attributes{"id": "user-" + strconv.Itoa(i), "email": "u" + strconv.Itoa(i) + "@example.com", "country": []string{"US", "FR"}[i%2]}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		growthbook.EvalFeature("checkout", f, users[i%len(users)], nil)
	}
}

func BenchmarkCondition(b *testing.B) {
	benches := []struct {
		name, cond string
		attrs      growthbook.Attributes
	}{
		{"equal", `{"country": "US"}`, growthbook.Attributes{"country": "US"}},
		{"in+regex", `{"country": {"$in": ["FR", "DE", "US"]}, "email": {"$regex": "@refx\\.dev$"}}`,
			growthbook.Attributes{"country": "US", "email": "a@refx.dev"}},
		{"nested-or", `{"$or": [{"plan.tier": {"$gte": 2}}, {"tags": {"$elemMatch": {"$eq": "beta"}}}]}`,
			growthbook.Attributes{"plan": map[string]any{"tier": 1.0}, "tags": []any{"a", "beta"}}},
		{"version", `{"appVersion": {"$vgte": "2.10.0"}}`, growthbook.Attributes{"appVersion": "2.9.3"}},
	}
	for _, bb := range benches {
		c, err := growthbook.ParseCondition(json.RawMessage(bb.cond))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.Eval(bb.attrs, nil)
			}
		})
	}
}

// TestEvalFeatureAllocs holds the hot path to zero allocations when the
// hash attribute and the attributes conditions read are strings.
func TestEvalFeatureAllocs(t *testing.T) {
	f := mustFeature(t, typicalFeature)
	attrs := growthbook.Attributes{"id": "user-7", "email": "x@example.com", "country": "US"}
	if n := testing.AllocsPerRun(100, func() { growthbook.EvalFeature("checkout", f, attrs, nil) }); n != 0 {
		t.Errorf("EvalFeature allocates %v times per run, want 0", n)
	}
}

// BenchmarkEvalFeatureSticky evaluates the typical flag, its variations
// given meta keys (GrowthBook reads no assignment back without them), with
// sticky bucketing for users who already hold their assignment: the steady
// state, with nothing to store.
func BenchmarkEvalFeatureSticky(b *testing.B) {
	f := mustFeature(b, strings.Replace(typicalFeature, `"hashVersion": 2}`, `"hashVersion": 2, "meta": [{"key": "off"}, {"key": "on"}]}`, 1))
	if len(f.Rules[2].Meta) != 2 {
		b.Fatal("typicalFeature's experiment rule has changed")
	}
	type user struct {
		attrs growthbook.Attributes
		docs  growthbook.StickyDocs
	}
	users := make([]user, 1024)
	for i := range users {
		attrs := growthbook.Attributes{"id": "user-" + strconv.Itoa(i), "email": "u" + strconv.Itoa(i) + "@example.com", "country": []string{"US", "FR"}[i%2]}
		_, docs := growthbook.EvalFeatureSticky("checkout", f, attrs, nil, nil)
		users[i] = user{attrs, docs}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		u := users[i%len(users)]
		growthbook.EvalFeatureSticky("checkout", f, u.attrs, nil, u.docs)
	}
}
