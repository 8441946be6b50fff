package refx_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
)

func TestAAExperiment(t *testing.T) {
	now := time.Unix(1700000000, 0)
	build := func(aa bool, a, b string) (*refx.Experiment, error) {
		return refx.NewExperiment{
			ID: "aa", AA: aa,
			Variants: []refx.Variant{{Key: "a", Weight: 1, Payload: json.RawMessage(a)}, {Key: "b", Weight: 3, Payload: json.RawMessage(b)}},
			Goals:    []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial}},
		}.Build(now)
	}
	for _, tc := range []struct {
		name string
		aa   bool
		a, b string
		want string
	}{
		{"OK", true, `{"color": "red"}`, `{"color":"red"}`, ""},
		{"OKNoPayloads", true, ``, ``, ""},
		{"OKABTest", false, `{"color":"red"}`, `{"color":"blue"}`, ""},
		{"ErrDifferentPayloads", true, `{"color":"red"}`, `{"color":"blue"}`, refx.EINVALID},
		{"ErrOnePayload", true, `{"color":"red"}`, ``, refx.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := build(tc.aa, tc.a, tc.b)
			if got := refx.ErrorCode(err); got != tc.want {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if err == nil && e.AA != tc.aa {
				t.Errorf("aa %v, want %v", e.AA, tc.aa)
			}
			if err != nil && refx.ErrorField(err) != "variants" {
				t.Errorf("field %q, want variants", refx.ErrorField(err))
			}
		})
	}
	t.Run("Patch", func(t *testing.T) {
		e, err := build(false, `{"x":1}`, `{"x":1}`)
		if err != nil {
			t.Fatal(err)
		}
		yes := true
		next, err := e.Apply(refx.ExperimentPatch{Version: e.Version, AA: &yes}, now)
		if err != nil || !next.AA {
			t.Fatalf("a draft made A/A: %v, aa %v", err, next != nil && next.AA)
		}
		running := *next
		running.Status = refx.StatusRunning
		no := false
		if _, err := running.Apply(refx.ExperimentPatch{Version: running.Version, AA: &no}, now); refx.ErrorCode(err) != refx.ECONFLICT {
			t.Errorf("running experiment stops being A/A: %v, want conflict", err)
		}
		if _, err := next.Apply(refx.ExperimentPatch{Version: next.Version, Variants: &[]refx.Variant{{Key: "a", Weight: 1, Payload: json.RawMessage(`{"x":1}`)}, {Key: "b", Weight: 1, Payload: json.RawMessage(`{"x":2}`)}}}, now); refx.ErrorCode(err) != refx.EINVALID {
			t.Errorf("an A/A draft given different payloads: %v, want invalid", err)
		}
	})
}
