package openfeature_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/openfeature"
)

// TestProvider runs the OpenFeature Go SDK against the provider and a
// running refx: values, reasons, variants and errors per flag type.
func TestProvider(t *testing.T) {
	t.Parallel()
	s := MustRefx(t)
	c := MustClient(t, openfeature.New(s.URL, s.Client))
	user := func(id string, attrs map[string]any) of.EvaluationContext { return of.NewEvaluationContext(id, attrs) }

	for _, tt := range []struct {
		name, typ, flag string
		def             any
		ctx             of.EvaluationContext
		want            result
	}{
		{"Static", "string", "banner", "x", user("u1", nil), result{"hello", of.StaticReason, "default", ""}},
		{"ForceMatch", "bool", "new-checkout", false, user("u1", map[string]any{"beta": true}), result{true, of.TargetingMatchReason, "beta", ""}},
		{"UnnamedRule", "float", "max-items", 0.0, user("u1", map[string]any{"plan": "pro"}), result{10.0, of.TargetingMatchReason, "rule-0", ""}},
		{"Default", "int", "max-items", int64(0), user("u1", map[string]any{"plan": "free"}), result{int64(3), of.DefaultReason, "default", ""}},
		{"IntOfForce", "int", "max-items", int64(0), user("u1", map[string]any{"plan": "pro"}), result{int64(10), of.TargetingMatchReason, "rule-0", ""}},
		{"Float", "float", "ratio", 0.0, user("u1", nil), result{2.5, of.StaticReason, "default", ""}},
		{"Object", "object", "layout", nil, user("u1", nil), result{map[string]any{"cols": 2.0, "tags": []any{"a"}}, of.StaticReason, "default", ""}},
		{"ObjectOfString", "object", "banner", nil, user("u1", nil), result{"hello", of.StaticReason, "default", ""}},
		{"TargetingKeyIsID", "bool", "staff", false, user("u-staff", nil), result{true, of.TargetingMatchReason, "staff", ""}},
		{"ContextID", "bool", "staff", false, user("u1", map[string]any{"id": "u-staff"}), result{true, of.TargetingMatchReason, "staff", ""}},
		{"ContextIDWins", "bool", "staff", false, user("u-staff", map[string]any{"id": "u1"}), result{false, of.DefaultReason, "default", ""}},
		{"IntAttribute", "bool", "adult", false, user("u1", map[string]any{"age": 30}), result{true, of.TargetingMatchReason, "age", ""}},
		{"Int64AttributeNoMatch", "bool", "adult", false, user("u1", map[string]any{"age": int64(12)}), result{false, of.DefaultReason, "default", ""}},
		{"ErrTypeBoolOfString", "bool", "banner", true, user("u1", nil), result{true, of.ErrorReason, "", of.TypeMismatchCode}},
		{"ErrTypeStringOfBool", "string", "new-checkout", "x", user("u1", nil), result{"x", of.ErrorReason, "", of.TypeMismatchCode}},
		{"ErrTypeIntOfFraction", "int", "ratio", int64(7), user("u1", nil), result{int64(7), of.ErrorReason, "", of.TypeMismatchCode}},
		{"ErrTypeFloatOfJSON", "float", "layout", 1.5, user("u1", nil), result{1.5, of.ErrorReason, "", of.TypeMismatchCode}},
		{"ErrFlagNotFound", "bool", "no-such-flag", true, user("u1", nil), result{true, of.ErrorReason, "", of.FlagNotFoundCode}},
		{"ErrDisabled", "bool", "old-banner", false, user("u1", nil), result{false, of.ErrorReason, "", of.FlagNotFoundCode}},
		{"ErrTargetingKeyMissing", "string", "banner", "x", of.NewTargetlessEvaluationContext(map[string]any{"id": "u1"}), result{"x", of.ErrorReason, "", of.TargetingKeyMissingCode}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := evaluate(t, c, tt.typ, tt.flag, tt.def, tt.ctx)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s %s = %#v, want %#v", tt.typ, tt.flag, got, tt.want)
			}
		})
	}

	t.Run("Metadata", func(t *testing.T) {
		d, err := c.StringValueDetails(context.Background(), "button-color", "", user("u1", map[string]any{"plan": "vip"}))
		if err != nil || d.Value != "gold" || d.FlagMetadata["rule"] != 0 {
			t.Errorf("vip: %+v, %v", d, err)
		}
	})
}

// TestProviderMatchesOFREP requires the provider's value, reason and
// variant to equal what refx's bulk OFREP route answers, for 100 users with
// varied attributes and every flag enabled in production, the linked
// experiment's included.
func TestProviderMatchesOFREP(t *testing.T) {
	t.Parallel()
	s := MustRefx(t)
	c := MustClient(t, openfeature.New(s.URL, s.Client))
	flags := []struct{ typ, flag string }{
		{"string", "banner"}, {"bool", "new-checkout"}, {"bool", "staff"}, {"bool", "adult"},
		{"float", "max-items"}, {"float", "ratio"}, {"object", "layout"}, {"string", "button-color"},
	}
	defaults := map[string]any{"string": "", "bool": false, "float": 0.0, "object": nil}
	reasons := map[of.Reason]int{}
	for i := range 100 {
		attrs := map[string]any{"beta": i%7 == 0, "plan": []string{"free", "pro", "vip"}[i%3], "age": float64(10 + i%20)}
		if i%10 == 3 {
			attrs["id"] = "u-staff"
		}
		id := fmt.Sprintf("user-%d", i)
		ctx := map[string]any{"targetingKey": id}
		for k, v := range attrs {
			ctx[k] = v
		}
		body, _ := json.Marshal(map[string]any{"context": ctx})
		res, raw := s.send(t, "POST", "/ofrep/v1/evaluate/flags", string(body), httpapi.KeyHeader, s.Client)
		var bulk struct {
			Flags []struct {
				Key     string `json:"key"`
				Value   any    `json:"value"`
				Reason  string `json:"reason"`
				Variant string `json:"variant"`
			} `json:"flags"`
		}
		if err := json.Unmarshal(raw, &bulk); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("OFREP: %d %s", res.StatusCode, raw)
		}
		answers := map[string]result{}
		for _, f := range bulk.Flags {
			answers[f.Key] = result{Value: f.Value, Reason: of.Reason(f.Reason), Variant: f.Variant}
		}
		for _, f := range flags {
			got := evaluate(t, c, f.typ, f.flag, defaults[f.typ], of.NewEvaluationContext(id, attrs))
			if want, ok := answers[f.flag]; !ok || !reflect.DeepEqual(got, want) {
				t.Errorf("%s for %s %v: provider %+v, OFREP %+v", f.flag, id, attrs, got, want)
			}
			reasons[got.Reason]++
		}
	}
	// Every reason the flags can give was compared, the rollout's and the
	// experiment's both ways.
	for _, r := range []of.Reason{of.StaticReason, of.DefaultReason, of.TargetingMatchReason, of.SplitReason} {
		if reasons[r] == 0 {
			t.Errorf("no evaluation gave %s: %v", r, reasons)
		}
	}
}

// TestProviderExperimentParity: for 500 users, the provider picks the arm
// POST /v1/assign persists, or leaves the user out exactly when refx does;
// WithExposure reports each exposed user once, and WithAssign enrols them
// in refx (so that /v1/assign finds them enrolled already). The experiment
// has an audience (country NL), which the payload's rule carries and
// WithAssign's attributes satisfy; half the users are from elsewhere.
func TestProviderExperimentParity(t *testing.T) {
	t.Parallel()
	s := mustRefxAudience(t, `{"country":"NL"}`)
	country := func(i int) string { return []string{"NL", "US"}[i%2] }
	var mu sync.Mutex
	exposed := map[string]openfeature.Exposure{}
	var dups int
	p := openfeature.New(s.URL, s.Client, openfeature.WithAssign(), openfeature.WithExposure(func(_ context.Context, e openfeature.Exposure) {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := exposed[e.User]; ok {
			dups++
		}
		exposed[e.User] = e
	}))
	c := MustClient(t, p)
	const users = 500
	got := make([]result, users)
	for i := range users {
		for range 2 { // the second evaluation must not report again
			got[i] = evaluate(t, c, "string", "button-color", "", of.NewEvaluationContext(fmt.Sprintf("user-%d", i), map[string]any{"country": country(i)}))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.ShutdownWithContext(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	payloads := map[string]string{"control": "blue", "green": "green", "red": "red"}
	in, arms := 0, map[string]int{}
	for i := range users {
		id := fmt.Sprintf("user-%d", i)
		a := s.assign(t, "color-test", id)
		g := got[i]
		e, wasExposed := exposed[id]
		switch {
		case !a.InExperiment:
			if g.Reason == of.SplitReason || g.Value != "blue" || wasExposed {
				t.Errorf("%s: refx leaves them out, provider %+v (exposed %v)", id, g, wasExposed)
			}
		case g.Reason != of.SplitReason || g.Variant != a.Variant || g.Value != payloads[a.Variant]:
			t.Errorf("%s: refx assigns %s, provider %+v", id, a.Variant, g)
		case a.Enrolled:
			t.Errorf("%s: WithAssign did not enrol them (/v1/assign enrolled them now)", id)
		case !reflect.DeepEqual(e, openfeature.Exposure{Flag: "button-color", Experiment: "color-test", Variant: a.Variant, User: id,
			Attributes: map[string]any{"targetingKey": id, "id": id, "country": country(i)}}):
			t.Errorf("%s: exposure %+v", id, e)
		default:
			in++
			arms[a.Variant]++
		}
	}
	if dups != 0 || len(exposed) != in {
		t.Errorf("%d exposures for %d users in the experiment, %d repeated", len(exposed), in, dups)
	}
	// Half the users in the audience, coverage 0.8 and weights 50/30/20:
	// every arm and the gap are hit.
	if in < users*7/20 || in > users*9/20 || len(arms) != 3 {
		t.Errorf("%d of %d users in the experiment, arms %v", in, users, arms)
	}
	t.Logf("%d of %d users in the experiment, arms %v", in, users, arms)
}

// TestProviderRefresh: the provider revalidates with If-None-Match (304s
// while nothing changes), sees a flag change after refx's payload cache
// ends, reports it as PROVIDER_CONFIGURATION_CHANGED, and keeps serving the
// last payload while refx fails.
func TestProviderRefresh(t *testing.T) {
	t.Parallel()
	s := MustRefx(t)
	c := MustClient(t, openfeature.New(s.URL, s.Client, openfeature.WithInterval(20*time.Millisecond)))
	events := make(chan of.EventDetails, 16)
	for _, typ := range []of.EventType{of.ProviderConfigChange, of.ProviderStale, of.ProviderReady} {
		cb := func(d of.EventDetails) { events <- d }
		c.AddHandler(typ, &cb)
	}
	banner := func() string {
		v, _ := c.StringValue(context.Background(), "banner", "", of.NewEvaluationContext("u1", nil))
		return v
	}
	// waitEvent waits for an event of typ; the SDK's details carry no type,
	// so the handlers' order of registration is no help: match on content.
	waitEvent := func(what string, ok func(of.EventDetails) bool) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case d := <-events:
				if ok(d) {
					return
				}
			case <-deadline:
				t.Fatalf("no %s event", what)
			}
		}
	}
	eventually := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not happen", what)
			}
		}
	}

	eventually("three revalidations", func() bool { return s.payloadAnswers(http.StatusNotModified) >= 3 })
	if n := s.payloadAnswers(http.StatusOK); n != 1 {
		t.Errorf("payload read in full %d times while nothing changed, want 1", n)
	}

	s.mustDo(t, "PATCH", "/v1/flags/banner", `{"version":1,"default_value":"bye"}`, http.StatusOK)
	s.clock.advance(6 * time.Second) // past refx's payload cache
	eventually("the change", func() bool { return banner() == "bye" })
	waitEvent("configuration change", func(d of.EventDetails) bool {
		return reflect.DeepEqual(d.FlagChanges, []string{"banner"})
	})

	s.fail.Store(true)
	waitEvent("stale", func(d of.EventDetails) bool { return d.Message != "" })
	if got := banner(); got != "bye" {
		t.Errorf("while refx fails: %q, want the last payload's bye", got)
	}
	s.fail.Store(false)
	waitEvent("ready", func(d of.EventDetails) bool { return d.Message == "" && len(d.FlagChanges) == 0 })
	if got := banner(); got != "bye" {
		t.Errorf("after recovery: %q", got)
	}
}

// TestProviderParseError: a feature refx's evaluator refuses (here a
// GrowthBook prerequisite, which refx does not implement) answers
// PARSE_ERROR and leaves the payload's other flags working. The payload is
// served as is, since refx's own API would refuse to store it.
func TestProviderParseError(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":200,"features":{
			"ok":{"defaultValue":true},
			"bad":{"defaultValue":true,"rules":[{"force":false,"parentConditions":[{"id":"ok","condition":{"value":true}}]}]}}}`)
	}))
	t.Cleanup(ts.Close)
	c := MustClient(t, openfeature.New(ts.URL, "rfx_pub_test"))
	ec := of.NewEvaluationContext("u1", nil)
	if got := evaluate(t, c, "bool", "bad", false, ec); got != (result{false, of.ErrorReason, "", of.ParseErrorCode}) {
		t.Errorf("bad = %+v", got)
	}
	if got := evaluate(t, c, "bool", "ok", false, ec); got != (result{true, of.StaticReason, "default", ""}) {
		t.Errorf("ok = %+v", got)
	}
}

// TestProviderInitError: a key refx refuses fails SetProviderAndWait with
// refx's answer; a start during an outage fails, then recovers
// (PROVIDER_READY) when refx answers again.
func TestProviderInitError(t *testing.T) {
	t.Parallel()
	s := MustRefx(t)
	t.Run("ErrUnknownKey", func(t *testing.T) {
		p := openfeature.New(s.URL, s.Client[:len(s.Client)-2]+"zz")
		t.Cleanup(p.Shutdown)
		err := of.SetNamedProviderAndWait(t.Name(), p)
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("SetProviderAndWait with an unknown key: %v, want refx's 401", err)
		}
	})
	t.Run("Recovers", func(t *testing.T) {
		s.fail.Store(true)
		p := openfeature.New(s.URL, s.Client, openfeature.WithInterval(20*time.Millisecond))
		t.Cleanup(p.Shutdown)
		if err := of.SetNamedProviderAndWait(t.Name(), p); err == nil {
			t.Fatal("SetProviderAndWait succeeded while refx fails")
		}
		c := of.NewClient(t.Name())
		if got := evaluate(t, c, "string", "banner", "x", of.NewEvaluationContext("u1", nil)); got.ErrorCode == "" {
			t.Errorf("before any payload: %+v, want an error", got)
		}
		s.fail.Store(false)
		for deadline := time.Now().Add(10 * time.Second); c.State() != of.ReadyState; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("state %s, want READY once refx answers", c.State())
			}
		}
		if got := evaluate(t, c, "string", "banner", "x", of.NewEvaluationContext("u1", nil)); got != (result{"hello", of.StaticReason, "default", ""}) {
			t.Errorf("after recovery: %+v", got)
		}
	})
}

// TestProviderNumbers: a number resolves as an integer only when it is
// integral and fits, exactly past 2^53.
func TestProviderNumbers(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"features":{"three":{"defaultValue":3.0},"exp":{"defaultValue":1e3},"big":{"defaultValue":9007199254740993},
			"neg":{"defaultValue":-42},"half":{"defaultValue":0.5},"huge":{"defaultValue":1e19},"str":{"defaultValue":"3"}}}`)
	}))
	t.Cleanup(ts.Close)
	c := MustClient(t, openfeature.New(ts.URL, "rfx_pub_test"))
	ec := of.NewEvaluationContext("u1", nil)
	for _, tt := range []struct {
		flag string
		want any
	}{
		{"three", int64(3)}, {"exp", int64(1000)}, {"big", int64(9007199254740993)}, {"neg", int64(-42)},
		{"half", of.TypeMismatchCode}, {"huge", of.TypeMismatchCode}, {"str", of.TypeMismatchCode},
	} {
		t.Run(tt.flag, func(t *testing.T) {
			got := evaluate(t, c, "int", tt.flag, int64(-1), ec)
			if code, ok := tt.want.(of.ErrorCode); ok {
				if got.ErrorCode != code || got.Value != int64(-1) {
					t.Errorf("int %s = %+v, want %s and the default", tt.flag, got, code)
				}
			} else if got.Value != tt.want || got.ErrorCode != "" {
				t.Errorf("int %s = %+v, want %v", tt.flag, got, tt.want)
			}
		})
	}
}

// BenchmarkProviderBoolean measures evaluations of a 2-rule flag (a
// condition, a 50% rollout) for 1,024 users in turn: through the SDK's
// client (SDK), and the provider's own share, called as the SDK calls it
// (Provider).
func BenchmarkProviderBoolean(b *testing.B) {
	s := MustRefx(b)
	p := openfeature.New(s.URL, s.Client)
	c := MustClient(b, p)
	attrs := make([]map[string]any, 1024)
	for i := range attrs {
		attrs[i] = map[string]any{"beta": i%10 == 0, "plan": "free"}
	}
	ctx := context.Background()
	b.Run("SDK", func(b *testing.B) {
		ecs := make([]of.EvaluationContext, len(attrs))
		for i := range ecs {
			ecs[i] = of.NewEvaluationContext(fmt.Sprintf("user-%d", i), attrs[i])
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := c.BooleanValue(ctx, "new-checkout", false, ecs[i%len(ecs)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evals/s")
	})
	b.Run("Provider", func(b *testing.B) {
		flat := make([]of.FlattenedContext, len(attrs))
		for i := range flat {
			flat[i] = of.FlattenedContext{of.TargetingKey: fmt.Sprintf("user-%d", i)}
			for k, v := range attrs[i] {
				flat[i][k] = v
			}
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if d := p.BooleanEvaluation(ctx, "new-checkout", false, flat[i%len(flat)]); d.Error() != nil {
				b.Fatal(d.Error())
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evals/s")
	})
}
