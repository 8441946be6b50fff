package growthbook_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/refx-dev/refx/pkg/growthbook"
	"github.com/refx-dev/refx/pkg/installtest"
)

// parityScenario is one evaluation, run by the real SDK
// (testdata/sdk-parity.js) and by refx.
type parityScenario struct {
	Attributes growthbook.Attributes      `json:"attributes"`
	Features   map[string]json.RawMessage `json:"features,omitempty"`
	Feature    string                     `json:"feature,omitempty"`
	Sticky     bool                       `json:"sticky,omitempty"`
	Docs       growthbook.StickyDocs      `json:"docs,omitempty"`
	Experiment json.RawMessage            `json:"experiment,omitempty"`
}

type parityResult struct {
	Value            any                   `json:"value"`
	Source           string                `json:"source,omitempty"`
	InExperiment     bool                  `json:"inExperiment"`
	HashUsed         bool                  `json:"hashUsed"`
	VariationID      int                   `json:"variationId"`
	StickyBucketUsed bool                  `json:"stickyBucketUsed"`
	Docs             growthbook.StickyDocs `json:"docs,omitempty"`
}

// TestSDKParity runs randomly generated experiments, users and stored sticky
// bucket documents through npm @growthbook/growthbook@1.8.0 in node and
// through refx (EvalFeature, EvalFeatureSticky, RunExperiment), and requires
// the same value, enrolment, variation and, with sticky bucketing, the same
// documents afterwards. The conformance cases hold one example of each rule;
// this covers their combinations (versions, fallbacks, passthroughs, stored
// keys of removed variations, targeting that no longer matches).
func TestSDKParity(t *testing.T) {
	t.Parallel()
	sdk := installtest.Script(t, "scripts/install-growthbook")
	rng := rand.New(rand.NewPCG(13, 2026))
	var scenarios []parityScenario
	for range 2000 {
		scenarios = append(scenarios, randomFeatureScenario(rng))
	}
	for range 2000 {
		scenarios = append(scenarios, randomRunScenario(rng))
	}
	in, err := json.Marshal(scenarios)
	if err != nil {
		t.Fatal(err)
	}
	out := installtest.RunNode(t, in, filepath.Join("testdata", "sdk-parity.js"), sdk)
	var want []parityResult
	if err := json.Unmarshal(out, &want); err != nil || len(want) != len(scenarios) {
		t.Fatalf("node's output (%d results for %d scenarios): %v", len(want), len(scenarios), err)
	}
	counts := map[string]int{}
	failures := 0
	for i, s := range scenarios {
		got := runParity(t, s)
		if !reflect.DeepEqual(got, want[i]) {
			failures++
			if failures <= 5 {
				scenario, _ := json.Marshal(s)
				t.Errorf("scenario %d %s:\nrefx %+v\nSDK  %+v", i, scenario, got, want[i])
			}
			continue
		}
		switch {
		case got.StickyBucketUsed && got.InExperiment:
			counts["from a stored sticky bucket"]++
		case got.InExperiment:
			counts["enrolled by the hash"]++
		case got.Source == string(growthbook.SourceForce):
			counts["forced by a rollout"]++
		default:
			counts["not enrolled"]++
		}
	}
	if failures > 0 {
		t.Fatalf("%d/%d scenarios differ from the SDK", failures, len(scenarios))
	}
	t.Logf("%d scenarios agree with @growthbook/growthbook 1.8.0: %v", len(scenarios), counts)
}

func runParity(t *testing.T, s parityScenario) parityResult {
	t.Helper()
	if s.Experiment != nil {
		e, err := growthbook.ParseExperiment(s.Experiment)
		if err != nil {
			t.Fatalf("ParseExperiment(%s): %v", s.Experiment, err)
		}
		res := growthbook.RunExperiment(e, s.Attributes, nil)
		return parityResult{Value: decodeValue(t, res.Value), InExperiment: res.InExperiment, HashUsed: res.HashUsed,
			VariationID: res.VariationID, StickyBucketUsed: res.StickyBucketUsed}
	}
	f, err := growthbook.ParseFeature(s.Features[s.Feature])
	if err != nil {
		t.Fatalf("ParseFeature(%s): %v", s.Features[s.Feature], err)
	}
	var (
		res  growthbook.Result
		docs growthbook.StickyDocs
	)
	if s.Sticky {
		var changed growthbook.StickyDocs
		res, changed = growthbook.EvalFeatureSticky(s.Feature, f, s.Attributes, nil, s.Docs)
		docs = maps.Clone(s.Docs)
		if docs == nil {
			docs = growthbook.StickyDocs{}
		}
		maps.Copy(docs, changed)
	} else {
		res = growthbook.EvalFeature(s.Feature, f, s.Attributes, nil)
	}
	out := parityResult{Value: decodeValue(t, res.Value), Source: string(res.Source), Docs: docs}
	if res.Source == growthbook.SourceExperiment {
		out.InExperiment, out.HashUsed, out.VariationID, out.StickyBucketUsed = res.InExperiment, res.HashUsed, res.VariationID, res.StickyBucketUsed
	}
	return out
}

func decodeValue(t *testing.T, raw json.RawMessage) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("value %q: %v", raw, err)
	}
	return v
}

// pick returns one of options at random.
func pick[T any](rng *rand.Rand, options ...T) T { return options[rng.IntN(len(options))] }

// randomAttributes draws a user from a small set of values, so that stored
// documents often belong to the user; "company" may be a number, and any
// attribute may be missing or empty.
func randomAttributes(rng *rand.Rand) growthbook.Attributes {
	attrs := growthbook.Attributes{"country": pick(rng, "FR", "DE")}
	if v := pick[any](rng, nil, "", "u1", "u2", "u3"); v != nil {
		attrs["id"] = v
	}
	if v := pick[any](rng, nil, "c1", 7.0); v != nil {
		attrs["company"] = v
	}
	if v := pick[any](rng, nil, "a1", "a2"); v != nil {
		attrs["anon"] = v
	}
	return attrs
}

// randomExperimentFields draws the fields feature rules and inline
// experiments share.
func randomExperimentFields(rng *rand.Rand, m map[string]any) {
	n := pick(rng, 2, 2, 3, 1)
	variations := make([]any, n)
	meta := make([]any, n)
	for i := range variations {
		variations[i] = fmt.Sprintf("v%d", i)
		meta[i] = map[string]any{"key": fmt.Sprintf("k%d", i), "passthrough": rng.IntN(10) == 0}
	}
	m["variations"] = variations
	if rng.IntN(5) > 0 {
		m["meta"] = meta // without meta keys, no assignment is ever read back
	}
	m["key"] = pick(rng, "e1", "e2")
	if rng.IntN(2) == 0 {
		w := make([]float64, n)
		w[rng.IntN(n)] = 1 // one variation takes everyone: a change of weights moves users
		m["weights"] = w
	}
	if rng.IntN(3) == 0 {
		m["coverage"] = pick(rng, 0.0, 0.3, 1.0)
	}
	if rng.IntN(4) == 0 {
		m["condition"] = map[string]any{"country": "FR"}
	}
	if rng.IntN(6) == 0 {
		m["namespace"] = []any{"ns", 0.0, pick(rng, 0.3, 1.0)}
	}
	if rng.IntN(6) == 0 {
		m["filters"] = []any{map[string]any{"seed": "s", "attribute": pick(rng, "id", "anon"), "ranges": [][2]float64{{0, 0.5}}}}
	}
	if rng.IntN(6) == 0 {
		m["ranges"] = [][2]float64{{0, 0.5}, {0.5, 1}, {0, 0}}[:n]
	}
	if v := pick(rng, "", "id", "company"); v != "" {
		m["hashAttribute"] = v
	}
	if v := pick(rng, "", "anon"); v != "" {
		m["fallbackAttribute"] = v
	}
	m["hashVersion"] = pick(rng, 1, 2)
	if rng.IntN(3) == 0 {
		m["seed"] = "s"
	}
	if rng.IntN(3) == 0 {
		m["bucketVersion"] = 1 + rng.IntN(2)
	}
	if rng.IntN(4) == 0 {
		m["minBucketVersion"] = 1 + rng.IntN(2)
	}
	if rng.IntN(5) == 0 {
		m["disableStickyBucketing"] = true
	}
}

func randomFeatureScenario(rng *rand.Rand) parityScenario {
	var rules []any
	for range 1 + rng.IntN(3) {
		r := map[string]any{}
		randomExperimentFields(rng, r)
		if rng.IntN(4) == 0 { // a rollout instead: keep its targeting and hashing fields
			for _, k := range []string{"variations", "meta", "weights", "ranges", "namespace", "key"} {
				delete(r, k)
			}
			r["force"] = "forced"
		}
		rules = append(rules, r)
	}
	feature, _ := json.Marshal(map[string]any{"defaultValue": "default", "rules": rules})
	s := parityScenario{
		Attributes: randomAttributes(rng),
		Features:   map[string]json.RawMessage{"f": feature},
		Feature:    "f",
		Sticky:     rng.IntN(4) > 0,
	}
	if s.Sticky {
		s.Docs = growthbook.StickyDocs{}
		for _, id := range []struct{ name, value string }{{"id", "u1"}, {"id", "u2"}, {"anon", "a1"}, {"company", "c1"}, {"company", "7"}} {
			if rng.IntN(3) == 0 {
				continue
			}
			assignments := map[string]string{}
			for _, key := range []string{"e1__0", "e1__1", "e1__2", "e2__0", "e2__1", "e2__2"} {
				if rng.IntN(2) == 0 {
					assignments[key] = pick(rng, "k0", "k1", "k2", "gone")
				}
			}
			s.Docs[growthbook.StickyKey(id.name, id.value)] = growthbook.StickyDoc{AttributeName: id.name, AttributeValue: id.value, Assignments: assignments}
		}
	}
	return s
}

func randomRunScenario(rng *rand.Rand) parityScenario {
	e := map[string]any{}
	randomExperimentFields(rng, e)
	if rng.IntN(6) == 0 {
		e["active"] = rng.IntN(2) == 0
	}
	if rng.IntN(6) == 0 {
		e["status"] = pick(rng, "draft", "running", "stopped")
	}
	if rng.IntN(6) == 0 {
		e["force"] = pick(rng, -1, 0, 1, 5)
	}
	raw, _ := json.Marshal(e)
	return parityScenario{Attributes: randomAttributes(rng), Experiment: raw}
}
