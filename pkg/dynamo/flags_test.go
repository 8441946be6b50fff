package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/refx"
)

// MustFlag builds the flag of a create body.
func MustFlag(tb testing.TB, body string) *refx.Flag {
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

// payloadFeatures returns the keys of the flags enabled in an
// environment's payload (the disabled ones are there without rules) and the
// payload itself.
func payloadFeatures(tb testing.TB, s *dynamo.Store, env string) (string, *refx.FlagPayload) {
	tb.Helper()
	p, err := s.FlagPayload(context.Background(), env)
	if err != nil {
		tb.Fatal(err)
	}
	var keys []string
	for k, f := range p.Features {
		if f.Disabled && (f.Rules != nil || f.DefaultValue == nil) {
			tb.Fatalf("%s: disabled flag %s has rules, or no default value", env, k)
		}
		if !f.Disabled {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return strings.Join(keys, ","), p
}

func TestFlagLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	if _, err := s.FlagPayload(ctx, refx.EnvProduction); refx.ErrorCode(err) != refx.ENOTFOUND {
		t.Fatalf("payload before any flag: %v", err)
	}
	seg, err := refx.NewSegment{Key: "beta", Condition: json.RawMessage(`{"beta": true}`)}.Build(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	checkout := MustFlag(t, `{"key":"new-checkout","kind":"release","value_type":"boolean","default_value":false,"tags":["web"],
		"environments":{"production":{"enabled":true,"rules":[{"id":"beta","force":true,"segments":["beta"]},{"force":true,"coverage":0.1}]},
		"staging":{"enabled":true}}}`)
	banner := MustFlag(t, `{"key":"banner","kind":"operational","value_type":"string","default_value":"none",
		"environments":{"dev":{"enabled":true}}}`)

	// Each step is followed by the payloads it must leave: the features
	// of dev, production and staging ("-": no payload item).
	steps := []struct {
		name               string
		do                 func() error
		code               string
		dev, prod, staging string
	}{
		{"CreateSegment", func() error { return s.CreateSegment(ctx, seg) }, "", "", "", "-"},
		{"ErrSegmentExists", func() error { return s.CreateSegment(ctx, seg) }, refx.ECONFLICT, "", "", "-"},
		{"CreateFlag", func() error { return s.CreateFlag(ctx, checkout) }, "", "", "new-checkout", "new-checkout"},
		{"ErrFlagExists", func() error { return s.CreateFlag(ctx, checkout) }, refx.ECONFLICT, "", "new-checkout", "new-checkout"},
		{"CreateSecond", func() error { return s.CreateFlag(ctx, banner) }, "", "banner", "new-checkout", "new-checkout"},
		{"ErrSegmentInUse", func() error { return s.DeleteSegment(ctx, "beta") }, refx.ECONFLICT, "banner", "new-checkout", "new-checkout"},
		{"Disable", func() error {
			off := false
			_, err := s.UpdateFlag(ctx, "new-checkout", refx.FlagPatch{Version: 1, Environments: map[string]*refx.FlagEnvironmentPatch{"production": {Enabled: &off}}})
			return err
		}, "", "banner", "", "new-checkout"},
		{"ErrStale", func() error {
			lost := "lost"
			_, err := s.UpdateFlag(ctx, "new-checkout", refx.FlagPatch{Version: 1, Owner: &lost})
			return err
		}, refx.ECONFLICT, "banner", "", "new-checkout"},
		{"RemoveStaging", func() error {
			_, err := s.UpdateFlag(ctx, "new-checkout", refx.FlagPatch{Version: 2, Environments: map[string]*refx.FlagEnvironmentPatch{"staging": nil}})
			return err
		}, "", "banner", "", "-"},
		{"ErrUpdateMissing", func() error {
			_, err := s.UpdateFlag(ctx, "nope", refx.FlagPatch{Version: 1})
			return err
		}, refx.ENOTFOUND, "banner", "", "-"},
		{"DeleteFlag", func() error { return s.DeleteFlag(ctx, "banner") }, "", "", "", "-"},
		{"ErrDeleteMissing", func() error { return s.DeleteFlag(ctx, "banner") }, refx.ENOTFOUND, "", "", "-"},
		{"DeleteFlagUsingSegment", func() error { return s.DeleteFlag(ctx, "new-checkout") }, "", "", "", "-"},
		{"DeleteSegment", func() error { return s.DeleteSegment(ctx, "beta") }, "", "", "", "-"},
	}
	var version int64
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			wantCode(t, step.do(), step.code)
			for env, want := range map[string]string{"dev": step.dev, "production": step.prod, "staging": step.staging} {
				if want == "-" {
					if _, err := s.FlagPayload(ctx, env); refx.ErrorCode(err) != refx.ENOTFOUND {
						t.Errorf("%s: payload exists (%v), want none", env, err)
					}
					continue
				}
				got, p := payloadFeatures(t, s, env)
				if got != want {
					t.Errorf("%s payload features = %q, want %q", env, got, want)
				}
				// The version moves with every change, and only then.
				if env == "dev" {
					if moved := p.Version != version; moved != (step.code == "") {
						t.Errorf("payload version %d after %d", p.Version, version)
					}
					version = p.Version
				}
			}
		})
	}
}

func TestFlagReadBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	f := MustFlag(t, `{"key":"reward","description":"Reward shown","owner":"growth","kind":"experiment","value_type":"json",
		"default_value":{"amount":10},"tags":["a","b"],"environments":{"production":{"enabled":true,"rules":[
		{"id":"r1","condition":{"country":{"$in":["FR","DE"]}},"force":{"amount":20},"coverage":0.5,"hashAttribute":"device"},
		{"variations":[{"amount":1},{"amount":2}],"weights":[0.25,0.75],"key":"exp","seed":"s","namespace":["n",0,0.5],"hashVersion":2}]}}}`)
	if err := s.CreateFlag(ctx, f); err != nil {
		t.Fatal(err)
	}
	got, err := s.Flag(ctx, "reward")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(f)
	if b, _ := json.Marshal(got); string(b) != string(want) {
		t.Fatalf("read back\n%s\nwant\n%s", b, want)
	}
	all, err := s.Flags(ctx)
	if err != nil || len(all) != 1 || all[0].Key != "reward" {
		t.Fatalf("listing = %v, %v", all, err)
	}
	_, err = s.Flag(ctx, "nope")
	wantCode(t, err, refx.ENOTFOUND)
	seg, _ := refx.NewSegment{Key: "fr", Description: "France", Condition: json.RawMessage(`{"country":"FR"}`)}.Build(time.Now())
	if err := s.CreateSegment(ctx, seg); err != nil {
		t.Fatal(err)
	}
	up, err := s.UpdateSegment(ctx, "fr", refx.SegmentPatch{Version: 1, Condition: json.RawMessage(`{"country":"BE"}`)})
	if err != nil || up.Version != 2 {
		t.Fatalf("updated %+v, %v", up, err)
	}
	_, err = s.UpdateSegment(ctx, "fr", refx.SegmentPatch{Version: 1})
	wantCode(t, err, refx.ECONFLICT)
	segs, err := s.Segments(ctx)
	if err != nil || len(segs) != 1 || string(segs[0].Condition) != `{"country":"BE"}` || segs[0].Description != "France" {
		t.Fatalf("segments = %+v, %v", segs, err)
	}
}

// TestFlagRefusals: each refusal names the field and why, and stores
// nothing: neither the flag nor a new payload.
func TestFlagRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	e := MustRunning(t, s, newExperiment("cta")) // payloads {"reward":10}, {"reward":20}
	if err := s.CreateFlag(ctx, MustFlag(t, `{"key":"base","kind":"release","value_type":"boolean","default_value":false}`)); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 60<<10)
	tests := []struct {
		name        string
		flag        func() *refx.Flag
		code, field string
	}{
		{"UnknownSegment", func() *refx.Flag {
			return MustFlag(t, `{"key":"f","kind":"release","value_type":"boolean","default_value":false,
				"environments":{"production":{"enabled":true,"rules":[{"force":true},{"force":true,"segments":["nope"]}]}}}`)
		}, refx.EINVALID, "environments.production.rules[1].segments"},
		{"MalformedCondition", func() *refx.Flag {
			return MustFlag(t, `{"key":"f","kind":"release","value_type":"boolean","default_value":false,
				"environments":{"staging":{"enabled":true,"rules":[{"force":true,"condition":{"$or":[{"a":1},{"country":{"$in":"FR"}}]}}]}}}`)
		}, refx.EINVALID, "environments.staging.rules[0].condition.$or[1].country.$in"},
		{"MissingExperiment", func() *refx.Flag {
			return MustFlag(t, `{"key":"f","kind":"experiment","value_type":"json","default_value":{},
				"environments":{"dev":{"enabled":true,"rules":[{"experiment":"gone"}]}}}`)
		}, refx.EINVALID, "environments.dev.rules[0].experiment"},
		{"ExperimentPayloadType", func() *refx.Flag {
			return MustFlag(t, `{"key":"f","kind":"experiment","value_type":"number","default_value":1,
				"environments":{"dev":{"enabled":true,"rules":[{"experiment":"`+e.ID+`"}]}}}`)
		}, refx.EINVALID, "environments.dev.rules[0].experiment"},
		{"PayloadTooLarge", func() *refx.Flag {
			// Four flags of 60 KiB enabled in production fit in the
			// 300 KiB payload; the store refuses a fifth.
			return MustFlag(t, `{"key":"f","kind":"release","value_type":"string","default_value":"`+big+`",
				"environments":{"production":{"enabled":true}}}`)
		}, refx.ELIMIT, ""},
	}
	for i := range 4 {
		if err := s.CreateFlag(ctx, MustFlag(t, fmt.Sprintf(`{"key":"big%d","kind":"release","value_type":"string","default_value":"%s",
			"environments":{"production":{"enabled":true}}}`, i, big))); err != nil {
			t.Fatal(err)
		}
	}
	_, before := payloadFeatures(t, s, refx.EnvProduction)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.CreateFlag(ctx, tt.flag())
			if refx.ErrorCode(err) != tt.code || refx.ErrorField(err) != tt.field {
				t.Fatalf("error = %v (field %q), want %s on %q", err, refx.ErrorField(err), tt.code, tt.field)
			}
			_, err = s.Flag(ctx, "f")
			wantCode(t, err, refx.ENOTFOUND)
			if _, after := payloadFeatures(t, s, refx.EnvProduction); after.Version != before.Version {
				t.Fatalf("payload version %d, was %d", after.Version, before.Version)
			}
		})
	}
	t.Run("SegmentCondition", func(t *testing.T) {
		seg, err := refx.NewSegment{Key: "s", Condition: json.RawMessage(`{"plan":{"$bogus":1}}`)}.Build(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		err = s.CreateSegment(ctx, seg)
		if refx.ErrorCode(err) != refx.EINVALID || refx.ErrorField(err) != "condition.plan.$bogus" {
			t.Fatalf("error = %v (field %q)", err, refx.ErrorField(err))
		}
		_, err = s.Segment(ctx, "s")
		wantCode(t, err, refx.ENOTFOUND)
	})
	t.Run("ExperimentLinked", func(t *testing.T) {
		f := MustFlag(t, `{"key":"reward","kind":"experiment","value_type":"json","default_value":{"reward":0},
			"environments":{"production":{"enabled":true,"rules":[{"experiment":"`+e.ID+`"}]}}}`)
		if err := s.CreateFlag(ctx, f); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFlagConcurrentWrites: flags created, patched and deleted at once, from
// several stores (as from several Lambdas), all end up in the payload: no
// write is lost to another's rebuild.
func TestFlagConcurrentWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	others := []*dynamo.Store{s, dynamo.New(s.Client(), s.Table(), dynamo.Options{}), dynamo.New(s.Client(), s.Table(), dynamo.Options{})}
	const n = 12
	if err := s.CreateFlag(ctx, MustFlag(t, `{"key":"doomed","kind":"release","value_type":"boolean","default_value":false,"environments":{"production":{"enabled":true}}}`)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n+1)
	for i := range n {
		wg.Go(func() {
			errs <- others[i%len(others)].CreateFlag(ctx, MustFlag(t, fmt.Sprintf(`{"key":"f%02d","kind":"release","value_type":"number","default_value":%d,
				"environments":{"production":{"enabled":true}}}`, i, i)))
		})
	}
	wg.Go(func() { errs <- others[1].DeleteFlag(ctx, "doomed") })
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d concurrent flag writes from %d stores in %v", n+1, len(others), time.Since(start))
	got, p := payloadFeatures(t, s, refx.EnvProduction)
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("f%02d", i))
	}
	if got != strings.Join(want, ",") {
		t.Fatalf("production payload = %s, want %s", got, strings.Join(want, ","))
	}
	if p.Version != n+2 {
		t.Fatalf("payload version %d, want %d (one per change)", p.Version, n+2)
	}
	if string(p.Features["f07"].DefaultValue) != "7" {
		t.Fatalf("f07 = %s", p.Features["f07"].DefaultValue)
	}
}
