package growthbook_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/bucket"
	"github.com/refx-dev/refx/pkg/growthbook"
	"github.com/refx-dev/refx/pkg/refx"
)

// wantFieldError checks that err is an invalid_argument error about field
// whose message contains reason.
func wantFieldError(t *testing.T, err error, field, reason string) {
	t.Helper()
	var e *refx.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want a *refx.Error about %s", err, field)
	}
	if e.Code != refx.EINVALID || e.Field != field || !strings.Contains(e.Message, reason) {
		t.Fatalf("error = {%s %s %q}, want {%s %s ...%q...}", e.Code, e.Field, e.Message, refx.EINVALID, field, reason)
	}
}

func TestParseConditionRefuses(t *testing.T) {
	tests := []struct {
		name, cond, field, reason string
	}{
		{"NotJSON", `{"a":`, "condition", "not valid JSON"},
		{"NotObject", `["a"]`, "condition", "must be a JSON object"},
		{"UnknownOperator", `{"a": {"$regx": "b"}}`, "condition.a.$regx", `unknown operator "$regx"`},
		{"UnknownOperatorDeep", `{"$or": [{"a": 1}, {"b": {"$not": {"$gtt": 1}}}]}`, "condition.$or[1].b.$not.$gtt", "unknown operator"},
		{"MixedKeys", `{"a": {"$in": [1], "b": 2}}`, "condition.a", "mixes operators"},
		{"InNotArray", `{"a": {"$in": "US"}}`, "condition.a.$in", "must be an array"},
		{"AllNotArray", `{"a": {"$all": 1}}`, "condition.a.$all", "must be an array"},
		{"EqObject", `{"a": {"$eq": [1]}}`, "condition.a.$eq", "must be a string, number, boolean or null"},
		{"BadRegex", `{"a": {"$regex": "(?=x)"}}`, "condition.a.$regex", "invalid regular expression"},
		{"RegexNotString", `{"a": {"$regexi": 3}}`, "condition.a.$regexi", "must be a regular expression"},
		{"RegexTooLong", `{"a": {"$regex": "` + strings.Repeat("a", 1025) + `"}}`, "condition.a.$regex", "longer than 1024 bytes"},
		{"ExistsNotBool", `{"a": {"$exists": 1}}`, "condition.a.$exists", "must be true or false"},
		{"TypeUnknown", `{"a": {"$type": "int"}}`, "condition.a.$type", "must be one of"},
		{"SizeString", `{"a": {"$size": "3"}}`, "condition.a.$size", "must be a number"},
		{"ElemMatchScalar", `{"a": {"$elemMatch": 1}}`, "condition.a.$elemMatch", "must be an object"},
		{"GroupNotString", `{"a": {"$inGroup": 1}}`, "condition.a.$inGroup", "saved group id"},
		{"VersionBool", `{"a": {"$vgt": true}}`, "condition.a.$vgt", "version"},
		{"OrNotArray", `{"$or": {"a": 1}}`, "condition.$or", "array of conditions"},
		{"AndItemNotObject", `{"$and": [{"a": 1}, 2]}`, "condition.$and[1]", "condition object"},
		{"NotNotObject", `{"$not": [1]}`, "condition.$not", "condition object"},
		{"TooDeep", strings.Repeat(`{"$not": `, 40) + `{}` + strings.Repeat(`}`, 40), "condition" + strings.Repeat(".$not", 33), "nested deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := growthbook.ParseCondition(json.RawMessage(tt.cond))
			if err == nil {
				t.Fatalf("ParseCondition(%s) = %s, want an error", tt.cond, c)
			}
			wantFieldError(t, err, tt.field, tt.reason)
		})
	}
}

// TestConditionEdgeCases pins JavaScript behaviours that GrowthBook's cases
// do not all cover and that a Go port easily gets wrong.
func TestConditionEdgeCases(t *testing.T) {
	tests := []struct {
		name, cond, attrs string
		want              bool
	}{
		{"MissingEqualsZero", `{"n": 0}`, `{}`, true},                   // null * 1 === 0
		{"MissingIsNullString", `{"s": "null"}`, `{}`, true},            // null + "" === "null"
		{"NumberAsString", `{"n": "10"}`, `{"n": 10}`, true},            // 10 + "" === "10"
		{"StringAsNumber", `{"n": 10}`, `{"n": " 1e1 "}`, true},         // " 1e1 " * 1 === 10
		{"HexString", `{"n": 255}`, `{"n": "0xff"}`, true},              // Number("0xff")
		{"NotANumber", `{"n": 0}`, `{"n": "1_0"}`, false},               // NaN
		{"BigNumberString", `{"n": "1e+21"}`, `{"n": 1e21}`, true},      // String(1e21)
		{"SmallNumberString", `{"n": "1e-7"}`, `{"n": 1e-7}`, true},     // String(1e-7)
		{"FixedNumberString", `{"n": "0.000001"}`, `{"n": 1e-6}`, true}, // String(1e-6)
		{"ArrayAsString", `{"a": "1,,x"}`, `{"a": [1, null, "x"]}`, true},
		{"ObjectAsString", `{"o": "[object Object]"}`, `{"o": {}}`, true},
		{"MissingLessThan", `{"n": {"$lt": 1}}`, `{}`, true}, // null < 1
		{"StringsCompareAsStrings", `{"s": {"$gt": "9"}}`, `{"s": "10"}`, false},
		{"MixedCompareAsNumbers", `{"s": {"$gt": 9}}`, `{"s": "10"}`, true},
		{"NaNComparisonsFalse", `{"s": {"$lte": 1}}`, `{"s": "x"}`, false},
		{"ArrayLength", `{"l.length": 2}`, `{"l": [1, 2]}`, true},
		{"ArrayIndex", `{"l.1": "b"}`, `{"l": ["a", "b"]}`, true},
		{"NonCanonicalIndex", `{"l.01": {"$exists": true}}`, `{"l": ["a", "b"]}`, false},
		{"InIntersectsArrays", `{"l": {"$in": ["x", "b"]}}`, `{"l": ["a", "b"]}`, true},
		{"InIsStrict", `{"n": {"$in": ["1"]}}`, `{"n": 1}`, false},
		{"EmptyNorNeverMatches", `{"$nor": []}`, `{}`, false},
		{"EmptyOrMatches", `{"$or": []}`, `{}`, true},
		{"ElemMatchSkipsFalsy", `{"l": {"$elemMatch": {"$lt": 1}}}`, `{"l": [0, null, ""]}`, false},
		{"RegexOnNumber", `{"n": {"$regex": "^4"}}`, `{"n": 42}`, true},
		{"RegexOnMissing", `{"n": {"$regex": "^nu"}}`, `{}`, true}, // String(null)
		{"ObjectLiteralIgnoresKeyOrder", `{"o": {"a": 1, "b": 2}}`, `{"o": {"b": 2, "a": 1}}`, true},
		{"EmptyObjectLiteral", `{"o": {}}`, `{"o": {}}`, true},
		{"VersionPrerelease", `{"v": {"$vlt": "1.0.0"}}`, `{"v": "1.0.0-beta"}`, true},
		{"VersionNumeric", `{"v": {"$vgt": "1.9.0"}}`, `{"v": "v1.10.0+build.7"}`, true},
		{"AlliFolds", `{"l": {"$alli": ["A", "b"]}}`, `{"l": ["a", "B"]}`, true},
		{"BoolTruthiness", `{"b": true}`, `{"b": "yes"}`, true},
		{"BoolFalseNotMissing", `{"b": false}`, `{}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := growthbook.ParseCondition(json.RawMessage(tt.cond))
			if err != nil {
				t.Fatal(err)
			}
			var attrs growthbook.Attributes
			if err := json.Unmarshal([]byte(tt.attrs), &attrs); err != nil {
				t.Fatal(err)
			}
			if got := c.Eval(attrs, nil); got != tt.want {
				t.Errorf("Eval(%s) on %s = %v, want %v", tt.cond, tt.attrs, got, tt.want)
			}
		})
	}
}

func TestParseFeatureRefuses(t *testing.T) {
	tests := []struct {
		name, feature, field, reason string
	}{
		{"BadCondition", `{"rules": [{"force": 1}, {"force": 2, "condition": {"a": {"$in": 1}}}]}`, "rules[1].condition.a.$in", "must be an array"},
		{"Prerequisite", `{"rules": [{"parentConditions": [{"id": "x", "condition": {"value": true}}]}]}`, "rules[0].parentConditions", "not supported"},
		{"Bandit", `{"rules": [{"contextualBanditRef": "b", "contextualVariations": [1, 2]}]}`, "rules[0].contextualBanditRef", "not supported"},
		{"CoverageString", `{"rules": [{"force": 1, "coverage": "50%"}]}`, "rules[0].coverage", "must be a JSON number"},
		{"CoverageNull", `{"rules": [{"force": 1, "coverage": null}]}`, "rules[0].coverage", "must be a number"},
		{"RangeShort", `{"rules": [{"force": 1, "range": [0.5]}]}`, "rules[0]", "[start, end]"},
		{"RulesNotArray", `{"rules": {}}`, "rules", "must be a JSON array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := growthbook.ParseFeature(json.RawMessage(tt.feature))
			if err == nil {
				t.Fatalf("ParseFeature(%s) = %+v, want an error", tt.feature, f)
			}
			wantFieldError(t, err, tt.field, tt.reason)
		})
	}
}

// TestForceNull checks that "force": null forces null rather than making the
// rule an experiment or a skipped rule, as GrowthBook's `"force" in rule`.
func TestForceNull(t *testing.T) {
	f := mustFeature(t, `{"defaultValue": 1, "rules": [{"force": null}]}`)
	got := growthbook.EvalFeature("f", f, nil, nil)
	if got.Source != growthbook.SourceForce || string(got.Value) != "null" || got.On() {
		t.Fatalf("EvalFeature = %+v, want a forced null", got)
	}
	// And it survives a JSON round trip of the parsed feature.
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	again := mustFeature(t, string(b))
	if got := growthbook.EvalFeature("f", again, nil, nil); got.Source != growthbook.SourceForce {
		t.Fatalf("after round trip %s: %+v", b, got)
	}
}

// TestRolloutCoverageInclusive: a rollout covers users whose hash equals the
// coverage (GrowthBook's n <= coverage), unlike experiment ranges, which are
// half-open.
func TestRolloutCoverageInclusive(t *testing.T) {
	f := mustFeature(t, `{"defaultValue": 0, "rules": [{"force": 1, "coverage": 0.5}]}`)
	for i := range 100000 {
		id := strconv.Itoa(i)
		if n, _ := bucket.HashVersion("f", id, 1); n != 0.5 {
			continue
		}
		if got := growthbook.EvalFeature("f", f, growthbook.Attributes{"id": id}, nil); got.Source != growthbook.SourceForce {
			t.Fatalf("user %s hashing to exactly 0.5: %+v, want forced", id, got)
		}
		return
	}
	t.Fatal("no id hashes to 0.5")
}
