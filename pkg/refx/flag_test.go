package refx_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
)

// mustFlag builds the flag of a create body.
func mustFlag(tb testing.TB, body string) *refx.Flag {
	tb.Helper()
	var n refx.NewFlag
	if err := json.Unmarshal([]byte(body), &n); err != nil {
		tb.Fatal(err)
	}
	f, err := n.Build(time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

func TestNewFlag(t *testing.T) {
	f := mustFlag(t, `{"key":"new-checkout","kind":"release","value_type":"boolean","default_value":false,
		"environments":{"production":{"enabled":true,"rules":[{"force":true,"coverage":0.1}]}}}`)
	if f.Version != 1 || len(f.Environments) != 2 || f.Environments[refx.EnvDev].Enabled || f.Environments[refx.EnvDev].Rules == nil {
		t.Fatalf("built %+v", f)
	}
	// The rules read back in GrowthBook's shape.
	b, _ := json.Marshal(f.Environments[refx.EnvProduction])
	if string(b) != `{"enabled":true,"rules":[{"force":true,"coverage":0.1}]}` {
		t.Fatalf("production = %s", b)
	}
}

func TestNewFlagRefusals(t *testing.T) {
	const ok = `"key":"f","kind":"release","value_type":"boolean","default_value":false`
	rule := func(r string) string {
		return `{` + ok + `,"environments":{"production":{"enabled":true,"rules":[` + r + `]}}}`
	}
	tests := []struct {
		name, body, code, field string
	}{
		{"Key", `{"key":"a#b","kind":"release","value_type":"boolean","default_value":false}`, refx.EINVALID, "key"},
		{"Kind", `{"key":"f","kind":"toggle","value_type":"boolean","default_value":false}`, refx.EINVALID, "kind"},
		{"ValueType", `{"key":"f","kind":"release","value_type":"bool","default_value":false}`, refx.EINVALID, "value_type"},
		{"NoDefault", `{"key":"f","kind":"release","value_type":"boolean"}`, refx.EINVALID, "default_value"},
		{"DefaultType", `{"key":"f","kind":"release","value_type":"number","default_value":"1"}`, refx.EINVALID, "default_value"},
		{"DefaultNull", `{"key":"f","kind":"release","value_type":"json","default_value":null}`, refx.EINVALID, "default_value"},
		{"Tags", `{` + ok + `,"tags":["a","a"]}`, refx.EINVALID, "tags"},
		{"EnvName", `{` + ok + `,"environments":{"Prod":{"enabled":true}}}`, refx.EINVALID, "environments"},
		{"ForceType", rule(`{"force":"yes"}`), refx.EINVALID, "environments.production.rules[0].force"},
		{"NoKind", rule(`{"coverage":0.5}`), refx.EINVALID, "environments.production.rules[0]"},
		{"TwoKinds", rule(`{"force":true,"variations":[true,false]}`), refx.EINVALID, "environments.production.rules[0]"},
		{"Coverage", rule(`{"force":true,"coverage":1.5}`), refx.EINVALID, "environments.production.rules[0].coverage"},
		{"ConditionArray", rule(`{"force":true,"condition":[1]}`), refx.EINVALID, "environments.production.rules[0].condition"},
		{"ConditionString", rule(`{"force":true,"condition":"country = FR"}`), refx.EINVALID, "environments.production.rules[0].condition"},
		{"VariationType", rule(`{"variations":[true,1]}`), refx.EINVALID, "environments.production.rules[0].variations[1]"},
		{"OneVariation", rule(`{"variations":[true]}`), refx.EINVALID, "environments.production.rules[0].variations"},
		{"WeightsSum", rule(`{"variations":[true,false],"weights":[0.5,0.4]}`), refx.EINVALID, "environments.production.rules[0].weights"},
		{"WeightsCount", rule(`{"variations":[true,false],"weights":[1]}`), refx.EINVALID, "environments.production.rules[0].weights"},
		{"Namespace", rule(`{"variations":[true,false],"namespace":["ns",0.5,0.5]}`), refx.EINVALID, "environments.production.rules[0].namespace"},
		{"ForceWeights", rule(`{"force":true,"weights":[1]}`), refx.EINVALID, "environments.production.rules[0]"},
		{"ExperimentID", rule(`{"experiment":"CTA test"}`), refx.EINVALID, "environments.production.rules[0].experiment"},
		{"ExperimentCoverage", rule(`{"experiment":"cta","coverage":0.5}`), refx.EINVALID, "environments.production.rules[0]"},
		{"Segments", rule(`{"force":true,"segments":["beta","beta"]}`), refx.EINVALID, "environments.production.rules[0].segments"},
		{"HashVersion", rule(`{"force":true,"coverage":0.5,"hashVersion":3}`), refx.EINVALID, "environments.production.rules[0].hashVersion"},
		{"RuleID", rule(`{"id":"r","force":true},{"id":"r","force":false}`), refx.EINVALID, "environments.production.rules[1].id"},
		{"TooManyRules", rule(strings.Repeat(`{"force":true},`, refx.MaxRules) + `{"force":true}`), refx.EINVALID, "environments.production.rules"},
		{"TooLarge", `{` + ok + `,"description":"x","environments":{"production":{"enabled":true,"rules":[` +
			strings.Repeat(`{"force":true,"condition":{"id":"`+strings.Repeat("u", 1500)+`"}},`, 45) + `{"force":true}]}}}`, refx.ETOOLARGE, "environments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n refx.NewFlag
			if err := json.Unmarshal([]byte(tt.body), &n); err != nil {
				t.Fatal(err)
			}
			_, err := n.Build(time.Now())
			if refx.ErrorCode(err) != tt.code || refx.ErrorField(err) != tt.field {
				t.Fatalf("error = %v (field %q), want %s on %q", err, refx.ErrorField(err), tt.code, tt.field)
			}
		})
	}
}

func TestFlagApply(t *testing.T) {
	f := mustFlag(t, `{"key":"f","kind":"operational","value_type":"boolean","default_value":true,
		"environments":{"production":{"enabled":true,"rules":[{"force":false,"condition":{"country":"FR"}}]},"staging":{"enabled":true}}}`)
	off := false
	t.Run("EnabledKeepsRules", func(t *testing.T) {
		next, err := f.Apply(refx.FlagPatch{Version: 1, Environments: map[string]*refx.FlagEnvironmentPatch{refx.EnvProduction: {Enabled: &off}}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if p := next.Environments[refx.EnvProduction]; p.Enabled || len(p.Rules) != 1 || next.Version != 2 || !f.Environments[refx.EnvProduction].Enabled {
			t.Fatalf("patched %+v (original %+v)", next, f)
		}
	})
	t.Run("RemoveEnvironment", func(t *testing.T) {
		next, err := f.Apply(refx.FlagPatch{Version: 1, Environments: map[string]*refx.FlagEnvironmentPatch{"staging": nil}}, time.Now())
		if err != nil || len(next.Environments) != 2 || len(f.Environments) != 3 {
			t.Fatalf("patched %+v, %v", next, err)
		}
	})
	for _, tt := range []struct {
		name        string
		p           refx.FlagPatch
		code, field string
	}{
		{"ErrStale", refx.FlagPatch{Version: 2}, refx.ECONFLICT, ""},
		{"ErrRemoveProduction", refx.FlagPatch{Version: 1, Environments: map[string]*refx.FlagEnvironmentPatch{refx.EnvProduction: nil}}, refx.EINVALID, "environments.production"},
		// The rules' values must follow a change of value type.
		{"ErrValueType", refx.FlagPatch{Version: 1, ValueType: ptr(refx.ValueString), DefaultValue: json.RawMessage(`"on"`)}, refx.EINVALID, "environments.production.rules[0].force"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.Apply(tt.p, time.Now())
			if refx.ErrorCode(err) != tt.code || refx.ErrorField(err) != tt.field {
				t.Fatalf("error = %v, want %s on %q", err, tt.code, tt.field)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestFlagPayload(t *testing.T) {
	seg := &refx.Segment{Key: "beta", Condition: json.RawMessage(`{"beta":true}`)}
	set := refx.FlagSet{
		Flags: map[string]*refx.Flag{
			"on": mustFlag(t, `{"key":"on","kind":"release","value_type":"string","default_value":"a",
				"environments":{"production":{"enabled":true,"rules":[
					{"force":"b","condition":{"country":"FR"},"segments":["beta"]},
					{"force":"c","segments":["beta"]},
					{"variations":["x","y"],"weights":[0.5,0.5],"namespace":["ns",0,0.5],"hashAttribute":"device"}]}}}`),
			"off": mustFlag(t, `{"key":"off","kind":"permission","value_type":"boolean","default_value":false}`),
		},
		Segments: map[string]*refx.Segment{"beta": seg},
	}
	p, raw, err := set.Payload(refx.EnvProduction, 7, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"environment":"production","version":7,"updated_at":"2026-01-02T03:04:05Z","features":{` +
		`"off":{"defaultValue":false,"valueType":"boolean","kind":"permission","disabled":true},"on":{"defaultValue":"a","rules":[` +
		`{"condition":{"$and":[{"country":"FR"},{"beta":true}]},"force":"b"},` +
		`{"condition":{"beta":true},"force":"c"},` +
		`{"hashAttribute":"device","variations":["x","y"],"weights":[0.5,0.5],"namespace":["ns",0,0.5]}],"valueType":"string","kind":"release"}}}`
	if string(raw) != want {
		t.Fatalf("payload\n got %s\nwant %s", raw, want)
	}
	if !p.Features["off"].Disabled || p.Features["on"].Disabled {
		t.Fatal("the disabled flag is not marked so, or the enabled one is")
	}
	// Both flags are off in dev: there, without their rules.
	if dev, _, _ := set.Payload(refx.EnvDev, 7, time.Now()); len(dev.Features) != 2 || !dev.Features["on"].Disabled || dev.Features["on"].Rules != nil {
		t.Fatalf("dev payload = %+v", dev)
	}
	t.Run("ErrUnknownSegment", func(t *testing.T) {
		bad := refx.FlagSet{Flags: set.Flags}
		err := bad.Validate()
		if refx.ErrorCode(err) != refx.EINVALID || refx.ErrorField(err) != "environments.production.rules[0].segments" {
			t.Fatalf("error = %v", err)
		}
	})
	if users := set.SegmentUsers("beta"); len(users) != 1 || users[0] != "on" {
		t.Fatalf("segment users = %v", users)
	}
}

func TestFlagCheckLinks(t *testing.T) {
	f := mustFlag(t, `{"key":"reward","kind":"experiment","value_type":"number","default_value":10,
		"environments":{"production":{"enabled":true,"rules":[{"experiment":"cta"}]}}}`)
	exp := func(payload string) func(context.Context, string) (*refx.Experiment, error) {
		return func(_ context.Context, id string) (*refx.Experiment, error) {
			if id != "cta" {
				return nil, refx.Errorf(refx.ENOTFOUND, "no")
			}
			return &refx.Experiment{ID: id, Variants: []refx.Variant{{Key: "a", Payload: json.RawMessage(`10`)}, {Key: "b", Payload: json.RawMessage(payload)}}}, nil
		}
	}
	if err := f.CheckLinks(context.Background(), exp(`20`)); err != nil {
		t.Fatal(err)
	}
	for _, payload := range []string{`"20"`, ``} {
		if err := f.CheckLinks(context.Background(), exp(payload)); refx.ErrorField(err) != "environments.production.rules[0].experiment" {
			t.Fatalf("payload %q: error = %v", payload, err)
		}
	}
	f.Environments[refx.EnvProduction].Rules[0].Experiment = "gone"
	if err := f.CheckLinks(context.Background(), exp(`20`)); refx.ErrorCode(err) != refx.EINVALID {
		t.Fatalf("missing experiment: error = %v", err)
	}
}
