package growthbook_test

import (
	"encoding/json"
	"testing"

	"github.com/refx-dev/refx/pkg/growthbook"
)

// FuzzParseCondition checks that no input makes parsing panic, and that a
// condition that parses evaluates without panicking on any attributes.
func FuzzParseCondition(f *testing.F) {
	seeds := [][2]string{
		{`{"country": {"$in": ["US", "CA"]}, "browser": "firefox"}`, `{"country": "US", "browser": "firefox"}`},
		{`{"$or": [{"a.b": {"$gt": 1}}, {"$nor": []}], "$not": {"x": null}}`, `{"a": {"b": 2}}`},
		{`{"tags": {"$elemMatch": {"name": {"$regexi": "^a"}}, "$size": {"$gte": 1}}}`, `{"tags": [{"name": "Ab"}, 0, null]}`},
		{`{"v": {"$vgt": "1.2.3-rc.1+b"}, "n": {"$all": [1, {"$lt": 3}]}, "t": {"$type": "array"}}`, `{"v": "v1.10", "n": [1, "2"]}`},
		{`{"id": {"$inGroup": "g", "$ne": 3}, "l.length": 2, "l.0": [1]}`, `{"id": 1e300, "l": [[1], 2]}`},
		{`{"s": {"$ini": ["A"], "$exists": true}, "z": {}}`, `{"s": ["a"], "z": {}}`},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	groups := growthbook.SavedGroups{"g": {1.0, "2", nil}}
	f.Fuzz(func(t *testing.T, cond, attrs string) {
		c, err := growthbook.ParseCondition(json.RawMessage(cond))
		if err != nil {
			return
		}
		var a growthbook.Attributes
		if json.Unmarshal([]byte(attrs), &a) != nil {
			a = growthbook.Attributes{"value": attrs}
		}
		first := c.Eval(a, groups)
		if c.Eval(a, groups) != first {
			t.Fatalf("Eval(%s) on %s is not deterministic", cond, attrs)
		}
		// A parsed condition round-trips.
		again, err := growthbook.ParseCondition(json.RawMessage(c.String()))
		if err != nil || again.Eval(a, groups) != first {
			t.Fatalf("condition %s does not round-trip: %v", cond, err)
		}
	})
}
