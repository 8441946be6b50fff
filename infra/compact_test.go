package main

import (
	"testing"
)

// TestCompaction: the compaction lists the export bucket only under the
// export prefix, runs hourly with the export's bucket and prefix, and has
// the memory and time an hour at 1,000 events/s needs.
func TestCompaction(t *testing.T) {
	s := mustSynth(t, devContext)
	role := s.logicalID(t, "AWS::IAM::Role", functionID("compact")+"Role")
	var listed bool
	for _, p := range s.resources("AWS::IAM::Policy") {
		if canonical(props(p)["Roles"]) != canonical([]any{ref(role)}) {
			continue
		}
		for _, raw := range props(p)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			st := raw.(map[string]any)
			if st["Sid"] != "ListExport" {
				continue
			}
			listed = true
			want := map[string]any{"StringLike": map[string]any{"s3:prefix": exportPrefix + "*"}}
			if canonical(st["Condition"]) != canonical(want) {
				t.Errorf("ListExport condition %s, want %s", canonical(st["Condition"]), canonical(want))
			}
		}
	}
	if !listed {
		t.Error("the compaction cannot list the export")
	}
	fn := props(s.resources("AWS::Lambda::Function")[s.logicalID(t, "AWS::Lambda::Function", functionID("compact")+"Function")])
	env := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
	if env[envExportPrefix] != exportPrefix || env[envExportBucket] == nil {
		t.Errorf("environment %s: want the export's bucket and prefix", canonical(env))
	}
	if fn["MemorySize"] != float64(10240) || fn["Timeout"] != float64(900) {
		t.Errorf("memory %v MB, timeout %v s; want 10240, 900", fn["MemorySize"], fn["Timeout"])
	}
}
