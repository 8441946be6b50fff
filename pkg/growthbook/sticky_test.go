package growthbook_test

import (
	"maps"
	"reflect"
	"testing"

	"github.com/refx-dev/refx/pkg/growthbook"
)

// stickyUser evaluates features for one user the way an SDK with a sticky
// bucket service does: changed documents are merged before the next
// evaluation.
type stickyUser struct {
	attrs growthbook.Attributes
	docs  growthbook.StickyDocs
}

func (u *stickyUser) eval(t *testing.T, f *growthbook.Feature) (growthbook.Result, growthbook.StickyDocs) {
	t.Helper()
	res, changed := growthbook.EvalFeatureSticky("f", f, u.attrs, nil, u.docs)
	if u.docs == nil {
		u.docs = growthbook.StickyDocs{}
	}
	maps.Copy(u.docs, changed)
	return res, changed
}

// TestEvalFeatureStickyKeepsVariation walks an experiment through the changes
// sticky bucketing exists for: the user keeps the stored variation when the
// weights move and when the targeting no longer matches; a new bucket version
// re-buckets; a minimum bucket version above the stored one takes the user
// out.
func TestEvalFeatureStickyKeepsVariation(t *testing.T) {
	const (
		first   = `{"defaultValue": "off", "rules": [{"key": "exp", "condition": {"country": "FR"}, "variations": ["a", "b"], "weights": [1, 0], "meta": [{"key": "A"}, {"key": "B"}], "hashVersion": 2}]}`
		moved   = `{"defaultValue": "off", "rules": [{"key": "exp", "condition": {"country": "DE"}, "variations": ["a", "b"], "weights": [0, 1], "meta": [{"key": "A"}, {"key": "B"}], "hashVersion": 2}]}`
		bumped  = `{"defaultValue": "off", "rules": [{"key": "exp", "variations": ["a", "b"], "weights": [0, 1], "meta": [{"key": "A"}, {"key": "B"}], "hashVersion": 2, "bucketVersion": 1}]}`
		blocked = `{"defaultValue": "off", "rules": [{"key": "exp", "variations": ["a", "b"], "weights": [0, 1], "meta": [{"key": "A"}, {"key": "B"}], "hashVersion": 2, "bucketVersion": 1, "minBucketVersion": 1}]}`
	)
	u := &stickyUser{attrs: growthbook.Attributes{"id": "u1", "country": "FR"}}
	steps := []struct {
		name, feature, value string
		stickyUsed           bool
		changed              growthbook.StickyDocs
	}{
		{"Assigned", first, `"a"`, false, growthbook.StickyDocs{"id||u1": {AttributeName: "id", AttributeValue: "u1", Assignments: map[string]string{"exp__0": "A"}}}},
		{"WeightsAndConditionChanged", moved, `"a"`, true, nil},
		{"NewBucketVersion", bumped, `"b"`, false, growthbook.StickyDocs{"id||u1": {AttributeName: "id", AttributeValue: "u1", Assignments: map[string]string{"exp__0": "A", "exp__1": "B"}}}},
		{"StoredVersionBlocked", blocked, `"off"`, false, nil},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			f := mustFeature(t, s.feature)
			res, changed := u.eval(t, f)
			if string(res.Value) != s.value || res.StickyBucketUsed != s.stickyUsed {
				t.Errorf("EvalFeatureSticky = value %s, sticky %v; want %s, %v", res.Value, res.StickyBucketUsed, s.value, s.stickyUsed)
			}
			if !reflect.DeepEqual(changed, s.changed) {
				t.Errorf("changed = %v, want %v", changed, s.changed)
			}
		})
	}
	// Without sticky bucketing the moved experiment does not enrol the user.
	if res := growthbook.EvalFeature("f", mustFeature(t, moved), u.attrs, nil); res.Source != growthbook.SourceDefaultValue {
		t.Errorf("EvalFeature(moved) = %+v, want the default value", res)
	}
}

// TestEvalFeatureStickyTwoRulesOneDocument: a passthrough holdout and the
// experiment after it both store their assignment in the user's "id"
// document; the second must build on the first's, not on the stored one.
func TestEvalFeatureStickyTwoRulesOneDocument(t *testing.T) {
	f := mustFeature(t, `{"defaultValue": "off", "rules": [
		{"key": "holdout", "variations": ["held", "on"], "weights": [1, 0], "meta": [{"key": "h", "passthrough": true}, {"key": "o"}]},
		{"key": "exp", "variations": ["a", "b"], "weights": [0, 1], "meta": [{"key": "A"}, {"key": "B"}]}
	]}`)
	stored := growthbook.StickyDocs{"id||u1": {AttributeName: "id", AttributeValue: "u1", Assignments: map[string]string{"other__0": "x"}}}
	res, changed := growthbook.EvalFeatureSticky("f", f, growthbook.Attributes{"id": "u1"}, nil, stored)
	if string(res.Value) != `"b"` {
		t.Fatalf("value = %s, want \"b\"", res.Value)
	}
	want := growthbook.StickyDocs{"id||u1": {AttributeName: "id", AttributeValue: "u1", Assignments: map[string]string{"other__0": "x", "holdout__0": "h", "exp__0": "B"}}}
	if !reflect.DeepEqual(changed, want) {
		t.Fatalf("changed = %v, want %v", changed, want)
	}
	if len(stored["id||u1"].Assignments) != 1 {
		t.Fatalf("the stored document was modified: %v", stored)
	}
}

// TestEvalFeatureStickyRolloutFallback: a rollout hashes users without its
// hash attribute by its fallback attribute only with sticky bucketing, as in
// GrowthBook.
func TestEvalFeatureStickyRolloutFallback(t *testing.T) {
	tests := []struct {
		name, rule string
		want       growthbook.Source
	}{
		{"Fallback", `{"force": true, "coverage": 1, "hashAttribute": "id", "fallbackAttribute": "anonId"}`, growthbook.SourceForce},
		{"NoFallback", `{"force": true, "coverage": 1, "hashAttribute": "id"}`, growthbook.SourceDefaultValue},
		{"Disabled", `{"force": true, "coverage": 1, "hashAttribute": "id", "fallbackAttribute": "anonId", "disableStickyBucketing": true}`, growthbook.SourceDefaultValue},
	}
	attrs := growthbook.Attributes{"anonId": "a1"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustFeature(t, `{"defaultValue": false, "rules": [`+tt.rule+`]}`)
			if got, _ := growthbook.EvalFeatureSticky("f", f, attrs, nil, nil); got.Source != tt.want {
				t.Errorf("EvalFeatureSticky = %+v, want source %s", got, tt.want)
			}
			if got := growthbook.EvalFeature("f", f, attrs, nil); got.Source != growthbook.SourceDefaultValue {
				t.Errorf("EvalFeature = %+v, want the default value", got)
			}
		})
	}
}

func TestStickyKeys(t *testing.T) {
	features := map[string]*growthbook.Feature{
		"a": mustFeature(t, `{"rules": [
			{"force": 1, "hashAttribute": "deviceId", "coverage": 0.5},
			{"key": "e1", "variations": [0, 1], "hashAttribute": "companyId", "fallbackAttribute": "anonId"}
		]}`),
		"b": mustFeature(t, `{"rules": [{"key": "e2", "variations": [0, 1]}]}`),
	}
	tests := []struct {
		name  string
		attrs growthbook.Attributes
		want  []string
	}{
		{"All", growthbook.Attributes{"id": "u1", "companyId": 42.0, "anonId": "a1", "deviceId": "d1"}, []string{"anonId||a1", "companyId||42", "id||u1"}},
		{"FalsyLeftOut", growthbook.Attributes{"id": "", "companyId": 0.0, "anonId": "a1"}, []string{"anonId||a1"}},
		{"None", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := growthbook.StickyKeys(features, tt.attrs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("StickyKeys = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestEvalFeatureStickyIDDocument: with no fallbackAttribute, GrowthBook
// still reads the user's "id" document under the hash attribute's, so an
// assignment stored there wins over the hash (checked against
// @growthbook/growthbook 1.8.0, which also saves the companyId document).
func TestEvalFeatureStickyIDDocument(t *testing.T) {
	f := mustFeature(t, `{"defaultValue": "off", "rules": [{"key": "exp", "hashAttribute": "companyId", "variations": ["a", "b"], "weights": [1, 0], "meta": [{"key": "A"}, {"key": "B"}]}]}`)
	stored := growthbook.StickyDocs{"id||u1": {AttributeName: "id", AttributeValue: "u1", Assignments: map[string]string{"exp__0": "B"}}}
	res, changed := growthbook.EvalFeatureSticky("f", f, growthbook.Attributes{"id": "u1", "companyId": "c1"}, nil, stored)
	if string(res.Value) != `"b"` || !res.StickyBucketUsed {
		t.Errorf("EvalFeatureSticky = value %s, sticky %v; want \"b\" from the id document", res.Value, res.StickyBucketUsed)
	}
	want := growthbook.StickyDocs{"companyId||c1": {AttributeName: "companyId", AttributeValue: "c1", Assignments: map[string]string{"exp__0": "B"}}}
	if !reflect.DeepEqual(changed, want) {
		t.Errorf("changed = %v, want %v", changed, want)
	}
}
