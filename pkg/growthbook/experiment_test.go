package growthbook_test

import (
	"encoding/json"
	"testing"

	"github.com/refx-dev/refx/pkg/growthbook"
)

func mustExperiment(tb testing.TB, s string) *growthbook.Experiment {
	tb.Helper()
	e, err := growthbook.ParseExperiment(json.RawMessage(s))
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func TestParseExperimentRefuses(t *testing.T) {
	tests := []struct {
		name, exp, field, reason string
	}{
		{"Prerequisite", `{"key": "e", "variations": [0, 1], "parentConditions": [{"id": "f", "condition": {"value": true}}]}`, "experiment.parentConditions", "not supported"},
		{"URL", `{"key": "e", "variations": [0, 1], "url": "^/checkout"}`, "experiment.url", "not supported"},
		{"URLPatterns", `{"key": "e", "variations": [0, 1], "urlPatterns": [{"type": "simple", "pattern": "/x"}]}`, "experiment.urlPatterns", "not supported"},
		{"Groups", `{"key": "e", "variations": [0, 1], "groups": ["beta"]}`, "experiment.groups", "not supported"},
		{"ForceNull", `{"key": "e", "variations": [0, 1], "force": null}`, "experiment.force", "must be a number"},
		{"ForceString", `{"key": "e", "variations": [0, 1], "force": "1"}`, "experiment.force", "must be a JSON number"},
		{"CoverageNull", `{"key": "e", "variations": [0, 1], "coverage": null}`, "experiment.coverage", "must be a number"},
		{"BadCondition", `{"key": "e", "variations": [0, 1], "condition": {"a": {"$in": 1}}}`, "experiment.condition.a.$in", "must be an array"},
		{"BucketVersionString", `{"key": "e", "variations": [0, 1], "bucketVersion": "2"}`, "experiment.bucketVersion", "must be a JSON number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := growthbook.ParseExperiment(json.RawMessage(tt.exp))
			if err == nil {
				t.Fatalf("ParseExperiment(%s) = %+v, want an error", tt.exp, e)
			}
			wantFieldError(t, err, tt.field, tt.reason)
		})
	}
}

// TestRunExperimentStatus pins GrowthBook's order of checks, which the
// conformance cases do not cover: a draft is skipped before anything else,
// a stopped experiment only after a forced variation has been returned.
func TestRunExperimentStatus(t *testing.T) {
	attrs := growthbook.Attributes{"id": "1"} // variation 1 of "my-test" (conformance case "default weights - 1")
	tests := []struct {
		name, exp    string
		value        string
		in, hashUsed bool
	}{
		{"Running", `{"key": "my-test", "variations": [0, 1], "status": "running"}`, "1", true, true},
		{"Draft", `{"key": "my-test", "variations": [0, 1], "status": "draft"}`, "0", false, false},
		{"DraftForced", `{"key": "my-test", "variations": [0, 1], "status": "draft", "force": 1}`, "0", false, false},
		{"Stopped", `{"key": "my-test", "variations": [0, 1], "status": "stopped"}`, "0", false, false},
		{"StoppedForced", `{"key": "my-test", "variations": [0, 1], "status": "stopped", "force": 1}`, "1", true, false},
		{"Inactive", `{"key": "my-test", "variations": [0, 1], "active": false, "force": 1}`, "0", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := growthbook.RunExperiment(mustExperiment(t, tt.exp), attrs, nil)
			if string(got.Value) != tt.value || got.InExperiment != tt.in || got.HashUsed != tt.hashUsed {
				t.Fatalf("RunExperiment(%s) = value %s, in %v, hashUsed %v; want %s, %v, %v",
					tt.exp, got.Value, got.InExperiment, got.HashUsed, tt.value, tt.in, tt.hashUsed)
			}
		})
	}
}

// TestRunExperimentPassthrough: RunExperiment reports a passthrough
// variation, which feature evaluation skips.
func TestRunExperimentPassthrough(t *testing.T) {
	const exp = `{"key": "holdout", "variations": ["held", "on"], "weights": [1, 0], "meta": [{"key": "h", "passthrough": true}, {"key": "o"}]}`
	got := growthbook.RunExperiment(mustExperiment(t, exp), growthbook.Attributes{"id": "u1"}, nil)
	if !got.InExperiment || !got.Passthrough || got.VariationKey != "h" {
		t.Fatalf("RunExperiment = %+v, want a passthrough enrolment in h", got)
	}
	f := mustFeature(t, `{"defaultValue": "off", "rules": [{"key": "holdout", "variations": ["held", "on"], "weights": [1, 0], "meta": [{"key": "h", "passthrough": true}, {"key": "o"}]}]}`)
	if res := growthbook.EvalFeature("f", f, growthbook.Attributes{"id": "u1"}, nil); res.Source != growthbook.SourceDefaultValue {
		t.Fatalf("EvalFeature = %+v, want the default value after a passthrough", res)
	}
}
