package growthbook_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/refx-dev/refx/pkg/bucket"
	"github.com/refx-dev/refx/pkg/growthbook"
)

// cases is GrowthBook's cross-SDK suite, testdata/cases.json (see
// testdata/README.md), keyed by section, each a list of rows.
var cases = sync.OnceValues(func() (map[string][]json.RawMessage, error) {
	data, err := os.ReadFile(filepath.Join("testdata", "cases.json"))
	if err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	out := map[string][]json.RawMessage{}
	for k, v := range raw {
		var rows []json.RawMessage
		if json.Unmarshal(v, &rows) == nil {
			out[k] = rows
		}
	}
	return out, nil
})

// unsupportedSections are the sections of cases.json that refx does not run,
// with the reason; TestConformanceSectionsAccounted fails when upstream adds a
// section that is neither run nor listed here.
var unsupportedSections = map[string]string{
	"getQueryStringOverride": "query-string overrides are a browser SDK feature",
	"decrypt":                "encrypted payloads: refx serves its own flags over its authenticated API",
	"urlRedirect":            "URL redirect experiments are a browser SDK feature",
	"contextualBandit":       "contextual bandits: not implemented",
}

// supportedSections are run by the tests named next to them.
var supportedSections = map[string]string{
	"evalCondition":   "TestConformanceEvalCondition",
	"feature":         "TestConformanceFeature",
	"hash":            "TestConformanceBucketing",
	"getBucketRange":  "TestConformanceBucketing",
	"chooseVariation": "TestConformanceBucketing",
	"getEqualWeights": "TestConformanceBucketing",
	"inNamespace":     "TestConformanceBucketing",
	"run":             "TestConformanceRun",
	"stickyBucket":    "TestConformanceStickyBucket",
}

func loadSection(t *testing.T, name string) []json.RawMessage {
	t.Helper()
	all, err := cases()
	if err != nil {
		t.Fatalf("testdata/cases.json: %v", err)
	}
	rows := all[name]
	if len(rows) == 0 {
		t.Fatalf("testdata/cases.json has no %q section", name)
	}
	return rows
}

// decodeRow unmarshals the fields of one row into dst, one pointer per field;
// a row may be longer than dst only by trailing optional fields.
func decodeRow(t *testing.T, row json.RawMessage, dst ...any) int {
	t.Helper()
	var fields []json.RawMessage
	if err := json.Unmarshal(row, &fields); err != nil {
		t.Fatalf("row %s: %v", row, err)
	}
	if len(fields) < len(dst) {
		dst = dst[:len(fields)]
	}
	for i := range dst {
		if err := json.Unmarshal(fields[i], dst[i]); err != nil {
			t.Fatalf("field %d of row %s: %v", i, row, err)
		}
	}
	return len(fields)
}

func TestConformanceSectionsAccounted(t *testing.T) {
	all, err := cases()
	if err != nil {
		t.Fatal(err)
	}
	for name := range all {
		_, ok1 := supportedSections[name]
		_, ok2 := unsupportedSections[name]
		if !ok1 && !ok2 {
			t.Errorf("cases.json section %q (%d cases) is neither tested nor listed as unsupported", name, len(all[name]))
		}
	}
	for name, reason := range unsupportedSections {
		t.Logf("unsupported section %s (%d cases): %s", name, len(all[name]), reason)
	}
}

func TestConformanceEvalCondition(t *testing.T) {
	var passed, refused int
	rows := loadSection(t, "evalCondition")
	for _, row := range rows {
		var (
			name   string
			cond   json.RawMessage
			attrs  growthbook.Attributes
			want   bool
			groups growthbook.SavedGroups
		)
		decodeRow(t, row, &name, &cond, &attrs, &want, &groups)
		t.Run(name, func(t *testing.T) {
			c, err := growthbook.ParseCondition(cond)
			if err != nil {
				// refx refuses some conditions when they are written that
				// GrowthBook accepts and evaluates as false at run time
				// (an invalid regular expression): that is a pass only if
				// GrowthBook's answer is false for this case.
				if want {
					t.Fatalf("ParseCondition(%s) refused a condition GrowthBook matches: %v", cond, err)
				}
				refused++
				t.Logf("refused at parse time (GrowthBook: false): %v", err)
				return
			}
			if got := c.Eval(attrs, groups); got != want {
				t.Fatalf("Eval(%s) on %s = %v, want %v", cond, row, got, want)
			}
			passed++
		})
	}
	t.Logf("evalCondition: %d/%d pass (%d of them by refusing the condition at parse time, where GrowthBook evaluates false)",
		passed+refused, len(rows), refused)
}

// featureContext is the part of a "feature" case's context that refx reads;
// the others are recorded to explain why a case is skipped.
type featureContext struct {
	Attributes        growthbook.Attributes      `json:"attributes"`
	Features          map[string]json.RawMessage `json:"features"`
	SavedGroups       growthbook.SavedGroups     `json:"savedGroups"`
	ForcedVariations  json.RawMessage            `json:"forcedVariations"`
	ContextualBandits json.RawMessage            `json:"contextualBandits"`
}

type featureWant struct {
	Value            any                   `json:"value"`
	On               bool                  `json:"on"`
	Off              bool                  `json:"off"`
	Source           string                `json:"source"`
	RuleID           string                `json:"ruleId"`
	Experiment       *struct{ Key string } `json:"experiment"`
	ExperimentResult *experimentWant       `json:"experimentResult"`
}

type experimentWant struct {
	Value         any      `json:"value"`
	VariationID   int      `json:"variationId"`
	InExperiment  bool     `json:"inExperiment"`
	HashUsed      bool     `json:"hashUsed"`
	HashAttribute string   `json:"hashAttribute"`
	HashValue     any      `json:"hashValue"`
	Bucket        *float64 `json:"bucket"`
	Key           string   `json:"key"`
	Name          string   `json:"name"`
}

func TestConformanceFeature(t *testing.T) {
	rows := loadSection(t, "feature")
	var passed int
	skipped := map[string]int{}
	for _, row := range rows {
		var (
			name string
			ctx  featureContext
			key  string
			want featureWant
		)
		decodeRow(t, row, &name, &ctx, &key, &want)
		t.Run(name, func(t *testing.T) {
			switch {
			case ctx.ForcedVariations != nil:
				skipped["forcedVariations (a developer override in the SDK's context)"]++
				return
			case ctx.ContextualBandits != nil:
				skipped["contextual bandits"]++
				return
			}
			var f *growthbook.Feature
			if raw, ok := ctx.Features[key]; ok {
				var err error
				f, err = growthbook.ParseFeature(raw)
				if err != nil {
					// A rule GrowthBook reads and refx does not implement must
					// be refused, never silently ignored.
					if bytes.Contains(raw, []byte(`"parentConditions"`)) && strings.Contains(err.Error(), "parentConditions: not supported") {
						skipped["prerequisite flags (parentConditions), refused by ParseFeature"]++
						return
					}
					t.Fatalf("ParseFeature(%s): %v", raw, err)
				}
			}
			got := growthbook.EvalFeature(key, f, ctx.Attributes, ctx.SavedGroups)
			checkFeature(t, got, want)
			if !t.Failed() {
				passed++
			}
		})
	}
	logSkipped(t, "feature", passed, len(rows), skipped)
}

func checkFeature(t *testing.T, got growthbook.Result, want featureWant) {
	t.Helper()
	var value any
	if err := json.Unmarshal(got.Value, &value); err != nil {
		t.Fatalf("Value %q is not JSON: %v", got.Value, err)
	}
	if !reflect.DeepEqual(value, want.Value) {
		t.Errorf("Value = %s, want %v", got.Value, want.Value)
	}
	if got.On() != want.On || want.On == want.Off {
		t.Errorf("On() = %v, want on=%v off=%v", got.On(), want.On, want.Off)
	}
	if string(got.Source) != want.Source || got.RuleID != want.RuleID {
		t.Errorf("Source, RuleID = %q, %q; want %q, %q", got.Source, got.RuleID, want.Source, want.RuleID)
	}
	er := want.ExperimentResult
	if er == nil {
		if got.InExperiment || got.ExperimentKey != "" {
			t.Errorf("experiment %q, in=%v; want none", got.ExperimentKey, got.InExperiment)
		}
		return
	}
	if want.Experiment != nil && got.ExperimentKey != want.Experiment.Key {
		t.Errorf("ExperimentKey = %q, want %q", got.ExperimentKey, want.Experiment.Key)
	}
	if got.VariationID != er.VariationID || got.VariationKey != er.Key || got.VariationName != er.Name ||
		got.InExperiment != er.InExperiment || got.HashUsed != er.HashUsed || got.HashAttribute != er.HashAttribute {
		t.Errorf("experiment result = %+v, want %+v", got, *er)
	}
	if !reflect.DeepEqual(got.HashValue, er.HashValue) {
		t.Errorf("HashValue = %#v, want %#v", got.HashValue, er.HashValue)
	}
	if er.Bucket != nil && got.Bucket != *er.Bucket {
		t.Errorf("Bucket = %v, want %v", got.Bucket, *er.Bucket)
	}
}

// TestConformanceBucketing runs the hashing and bucketing sections through
// pkg/bucket, which feature evaluation uses; getBucketRange is also checked
// against ChooseWeighted, the allocation-free form EvalFeature calls.
func TestConformanceBucketing(t *testing.T) {
	t.Run("hash", func(t *testing.T) {
		rows := loadSection(t, "hash")
		for _, row := range rows {
			var (
				seed, value string
				version     int
				want        *float64
			)
			decodeRow(t, row, &seed, &value, &version, &want)
			got, ok := bucket.HashVersion(seed, value, version)
			if ok != (want != nil) || ok && got != *want {
				t.Errorf("HashVersion(%q, %q, %d) = %v, %v; want %v", seed, value, version, got, ok, want)
			}
		}
		logPass(t, "hash", rows)
	})
	t.Run("getBucketRange", func(t *testing.T) {
		rows := loadSection(t, "getBucketRange")
		for _, row := range rows {
			var (
				name string
				args []json.RawMessage
				want []bucket.Range
			)
			decodeRow(t, row, &name, &args, &want)
			var (
				numVariations int
				coverage      float64
				weights       []float64
			)
			decodeRow(t, mustJSON(t, args), &numVariations, &coverage, &weights)
			got := bucket.BucketRanges(numVariations, coverage, weights)
			if len(got) != len(want) {
				t.Fatalf("%s: BucketRanges = %v, want %v", name, got, want)
			}
			for i := range want {
				if math.Abs(got[i].Start-want[i].Start) > 1e-9 || math.Abs(got[i].End-want[i].End) > 1e-9 {
					t.Errorf("%s: BucketRanges[%d] = %v, want %v", name, i, got[i], want[i])
				}
			}
			for n := 0.0; n < 1; n += 0.0001 {
				if a, b := bucket.ChooseWeighted(n, numVariations, coverage, weights), bucket.Choose(n, got); a != b {
					t.Fatalf("%s: ChooseWeighted(%v) = %d, Choose(BucketRanges) = %d", name, n, a, b)
				}
			}
		}
		logPass(t, "getBucketRange", rows)
	})
	t.Run("chooseVariation", func(t *testing.T) {
		rows := loadSection(t, "chooseVariation")
		for _, row := range rows {
			var (
				name   string
				n      float64
				ranges []bucket.Range
				want   int
			)
			decodeRow(t, row, &name, &n, &ranges, &want)
			if got := bucket.Choose(n, ranges); got != want {
				t.Errorf("%s: Choose(%v, %v) = %d, want %d", name, n, ranges, got, want)
			}
		}
		logPass(t, "chooseVariation", rows)
	})
	t.Run("getEqualWeights", func(t *testing.T) {
		rows := loadSection(t, "getEqualWeights")
		for _, row := range rows {
			var (
				n    int
				want []float64
			)
			decodeRow(t, row, &n, &want)
			got := bucket.EqualWeights(n)
			if len(got) != len(want) {
				t.Fatalf("EqualWeights(%d) = %v, want %v", n, got, want)
			}
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-8 { // upstream rounds to 8 decimals
					t.Errorf("EqualWeights(%d)[%d] = %v, want %v", n, i, got[i], want[i])
				}
			}
		}
		logPass(t, "getEqualWeights", rows)
	})
	t.Run("inNamespace", func(t *testing.T) {
		rows := loadSection(t, "inNamespace")
		for _, row := range rows {
			var (
				name, id string
				ns       growthbook.Namespace
				want     bool
			)
			decodeRow(t, row, &name, &id, &ns, &want)
			if got := bucket.InNamespace(id, ns.ID, ns.Start, ns.End); got != want {
				t.Errorf("%s: InNamespace(%q, %+v) = %v, want %v", name, id, ns, got, want)
			}
		}
		logPass(t, "inNamespace", rows)
	})
}

// logPass reports a section's count; it runs after the section's checks, so
// any failure has already failed the test.
func logPass(t *testing.T, section string, rows []json.RawMessage) {
	t.Helper()
	if !t.Failed() {
		t.Logf("%s: %d/%d pass", section, len(rows), len(rows))
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runContext is a "run" case's SDK context; the fields after SavedGroups are
// SDK context options that RunExperiment does not take, recorded to explain
// why a case is skipped.
type runContext struct {
	Attributes       growthbook.Attributes  `json:"attributes"`
	SavedGroups      growthbook.SavedGroups `json:"savedGroups"`
	Enabled          *bool                  `json:"enabled"`
	URL              *string                `json:"url"`
	ForcedVariations json.RawMessage        `json:"forcedVariations"`
	QAMode           *bool                  `json:"qaMode"`
}

// unsupported names the context option a case depends on, or "".
func (c runContext) unsupported() string {
	switch {
	case c.Enabled != nil:
		return "the SDK context's enabled switch"
	case c.URL != nil:
		return "query-string forced variations (the page URL)"
	case c.ForcedVariations != nil:
		return "forcedVariations (a developer override in the SDK's context)"
	case c.QAMode != nil:
		return "QA mode (an SDK context option)"
	}
	return ""
}

func TestConformanceRun(t *testing.T) {
	rows := loadSection(t, "run")
	var passed int
	skipped := map[string]int{}
	for _, row := range rows {
		var (
			name               string
			ctx                runContext
			raw                json.RawMessage
			value              any
			inExp, wantHashUse bool
		)
		decodeRow(t, row, &name, &ctx, &raw, &value, &inExp, &wantHashUse)
		t.Run(name, func(t *testing.T) {
			if reason := ctx.unsupported(); reason != "" {
				skipped[reason]++
				return
			}
			e, err := growthbook.ParseExperiment(raw)
			if err != nil {
				if bytes.Contains(raw, []byte(`"parentConditions"`)) && strings.Contains(err.Error(), "parentConditions: not supported") {
					skipped["prerequisite flags (parentConditions), refused by ParseExperiment"]++
					return
				}
				t.Fatalf("ParseExperiment(%s): %v", raw, err)
			}
			got := growthbook.RunExperiment(e, ctx.Attributes, ctx.SavedGroups)
			var gotValue any
			if err := json.Unmarshal(got.Value, &gotValue); err != nil {
				t.Fatalf("Value %q is not JSON: %v", got.Value, err)
			}
			if !reflect.DeepEqual(gotValue, value) || got.InExperiment != inExp || got.HashUsed != wantHashUse {
				t.Fatalf("RunExperiment(%s) = value %s, in %v, hashUsed %v; want %v, %v, %v",
					raw, got.Value, got.InExperiment, got.HashUsed, value, inExp, wantHashUse)
			}
			passed++
		})
	}
	logSkipped(t, "run", passed, len(rows), skipped)
}

// logSkipped reports a section's pass count among the cases refx supports
// and the reasons for the others.
func logSkipped(t *testing.T, section string, passed, all int, skipped map[string]int) {
	t.Helper()
	total := 0
	for reason, n := range skipped {
		t.Logf("%s: %d cases unsupported: %s", section, n, reason)
		total += n
	}
	t.Logf("%s: %d/%d supported cases pass (%d unsupported, %d in all)", section, passed, all-total, total, all)
}

type stickyWant struct {
	experimentWant
	FeatureID        string `json:"featureId"`
	StickyBucketUsed bool   `json:"stickyBucketUsed"`
}

// TestConformanceStickyBucket runs each case as GrowthBook's SDK does with a
// sticky bucket service holding the case's documents: the documents of the
// user's identifying attributes (StickyKeys) are loaded, the feature
// evaluated, the changed documents saved back; the expected documents are
// the user's after the evaluation.
func TestConformanceStickyBucket(t *testing.T) {
	rows := loadSection(t, "stickyBucket")
	var passed int
	for _, row := range rows {
		var (
			name     string
			ctx      featureContext
			stored   []growthbook.StickyDoc
			key      string
			want     *stickyWant
			wantDocs growthbook.StickyDocs
		)
		decodeRow(t, row, &name, &ctx, &stored, &key, &want, &wantDocs)
		t.Run(name, func(t *testing.T) {
			features := map[string]*growthbook.Feature{}
			for k, raw := range ctx.Features {
				f, err := growthbook.ParseFeature(raw)
				if err != nil {
					t.Fatalf("ParseFeature(%s): %v", raw, err)
				}
				features[k] = f
			}
			store := growthbook.StickyDocs{}
			for _, d := range stored {
				store[growthbook.StickyKey(d.AttributeName, d.AttributeValue)] = d
			}
			docs := growthbook.StickyDocs{}
			for _, k := range growthbook.StickyKeys(features, ctx.Attributes) {
				if d, ok := store[k]; ok {
					docs[k] = d
				}
			}
			before := maps.Clone(docs)
			got, changed := growthbook.EvalFeatureSticky(key, features[key], ctx.Attributes, ctx.SavedGroups, docs)
			if !reflect.DeepEqual(docs, before) {
				t.Errorf("EvalFeatureSticky modified its docs: %v, was %v", docs, before)
			}
			maps.Copy(docs, changed)
			if !reflect.DeepEqual(docs, wantDocs) {
				t.Errorf("documents after evaluation = %v, want %v", docs, wantDocs)
			}
			if want == nil {
				if got.InExperiment || got.Source == growthbook.SourceExperiment {
					t.Errorf("EvalFeatureSticky = %+v, want no experiment result", got)
				}
			} else {
				on := want.Value != nil && want.Value != false && want.Value != 0.0 && want.Value != ""
				checkFeature(t, got, featureWant{
					Value: want.Value, On: on, Off: !on, Source: string(growthbook.SourceExperiment),
					ExperimentResult: &want.experimentWant,
				})
				if got.StickyBucketUsed != want.StickyBucketUsed || want.FeatureID != key {
					t.Errorf("StickyBucketUsed = %v, want %v (featureId %q)", got.StickyBucketUsed, want.StickyBucketUsed, want.FeatureID)
				}
			}
			if !t.Failed() {
				passed++
			}
		})
	}
	t.Logf("stickyBucket: %d/%d pass", passed, len(rows))
}
