package refx_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
)

func TestAudienceBuild(t *testing.T) {
	big := `{"plan":"` + strings.Repeat("x", refx.MaxAudienceBytes) + `"}`
	tests := []struct {
		name     string
		audience string
		referral bool
		want     string // the stored audience
		field    string // the refused field, "" when accepted
	}{
		{"OK", `{"country":{"$in":["NL","BE"]}}`, false, `{"country":{"$in":["NL","BE"]}}`, ""},
		{"NoneIsNil", ``, false, ``, ""},
		{"NullIsNone", `null`, false, ``, ""},
		{"EmptyObjectIsNone", ` { } `, false, ``, ""},
		{"ErrArray", `["country"]`, false, ``, "audience"},
		{"ErrString", `"NL"`, false, ``, "audience"},
		{"ErrTooLarge", big, false, ``, "audience"},
		{"ErrReferral", `{"country":"NL"}`, true, ``, "audience"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := refx.NewExperiment{
				ID:       "exp",
				Variants: []refx.Variant{{Key: "control", Weight: 1}, {Key: "bold", Weight: 1}},
				Goals:    []refx.Goal{{Key: "purchase", Kind: refx.GoalBinomial}},
				Audience: json.RawMessage(tt.audience),
			}
			if tt.referral {
				n.Referral = &refx.ReferralConfig{LandingURL: "https://example.com/"}
			}
			e, err := n.Build(time.Now())
			if tt.field != "" {
				if refx.ErrorCode(err) != refx.EINVALID || refx.ErrorField(err) != tt.field {
					t.Fatalf("Build: %v (field %q), want invalid %s", err, refx.ErrorField(err), tt.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(e.Audience) != tt.want {
				t.Fatalf("audience = %s, want %s", e.Audience, tt.want)
			}
		})
	}
}

func TestAudienceApply(t *testing.T) {
	audience := json.RawMessage(`{"country":"NL"}`)
	tests := []struct {
		name     string
		status   refx.Status
		audience json.RawMessage
		want     string
		code     string
	}{
		{"DraftSets", refx.StatusDraft, audience, `{"country":"NL"}`, ""},
		// A running experiment's audience may only let everyone in: any
		// other change mixes users who entered under two audiences.
		{"ErrRunningSets", refx.StatusRunning, audience, ``, refx.ECONFLICT},
		{"RunningKeeps", refx.StatusRunning, json.RawMessage(`{ "plan": "pro" }`), `{ "plan": "pro" }`, ""},
		{"RunningRemovesWithNull", refx.StatusRunning, json.RawMessage(`null`), ``, ""},
		{"RunningRemovesWithEmpty", refx.StatusRunning, json.RawMessage(`{}`), ``, ""},
		{"DraftMalformed", refx.StatusDraft, json.RawMessage(`[1]`), ``, refx.EINVALID},
		{"ErrStopped", refx.StatusStopped, audience, ``, refx.ECONFLICT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := draft(t)
			e.Status = tt.status
			e.Audience = json.RawMessage(`{"plan":"pro"}`)
			next, err := e.Apply(refx.ExperimentPatch{Version: 1, Audience: tt.audience}, time.Now())
			if refx.ErrorCode(err) != tt.code {
				t.Fatalf("Apply: %v, want code %q", err, tt.code)
			}
			if err != nil {
				if refx.ErrorField(err) != "audience" {
					t.Fatalf("field = %q, want audience", refx.ErrorField(err))
				}
				return
			}
			if string(next.Audience) != tt.want {
				t.Fatalf("audience = %s, want %s", next.Audience, tt.want)
			}
			if string(e.Audience) != `{"plan":"pro"}` {
				t.Fatal("Apply changed its receiver")
			}
		})
	}
	t.Run("AbsentKeeps", func(t *testing.T) {
		e := draft(t)
		e.Audience = audience
		name := "renamed"
		next, err := e.Apply(refx.ExperimentPatch{Version: 1, Name: &name}, time.Now())
		if err != nil || string(next.Audience) != string(audience) {
			t.Fatalf("Apply: %v, audience %s", err, next.Audience)
		}
	})
}

func TestAdmits(t *testing.T) {
	var seen map[string]any
	inNL := func(attrs map[string]any) bool {
		seen = attrs
		return attrs["country"] == "NL"
	}
	e := draft(t)
	if !e.Admits("alice", nil) {
		t.Fatal("an experiment without an audience refused a user")
	}
	e.Audience = json.RawMessage(`{"country":"NL"}`)
	if e.Admits("alice", map[string]any{"country": "NL"}) {
		t.Fatal("an uncompiled audience admitted a user")
	}
	e.SetAudienceMatcher(inNL)
	attrs := map[string]any{"country": "NL"}
	if !e.Admits("alice", attrs) || seen["id"] != "alice" {
		t.Fatalf("Admits: matcher saw %v, want country NL and id alice", seen)
	}
	if _, ok := attrs["id"]; ok {
		t.Fatal("Admits changed the caller's attributes")
	}
	if e.Admits("bob", map[string]any{"country": "BE", "id": "robert"}) || seen["id"] != "robert" {
		t.Fatalf("Admits: matcher saw %v, want country BE refused with the given id", seen)
	}
	next, err := e.Apply(refx.ExperimentPatch{Version: 1, Audience: json.RawMessage(`{"country":"BE"}`)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if next.Admits("alice", map[string]any{"country": "NL"}) {
		t.Fatal("a changed audience kept the old one's matcher")
	}
}
