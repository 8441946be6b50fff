package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/childproc"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/installtest"
	"github.com/refx-dev/refx/pkg/refx"
)

// ofFlags are the flags the OpenFeature SDK tests evaluate, besides gbFlag
// (a force rule, then a rule linking gbExperiment): one per value type and
// reason.
var ofFlags = []string{
	`{"key":"new-checkout","kind":"release","value_type":"boolean","default_value":false,
	  "environments":{"production":{"enabled":true,"rules":[
	    {"id":"pro-na","force":true,"condition":{"plan":"pro","country":{"$in":["CA","US"]}}}]}}}`,
	`{"key":"banner","kind":"release","value_type":"string","default_value":"none",
	  "environments":{"production":{"enabled":true,"rules":[{"id":"spring","force":"spring-sale","coverage":0.5}]}}}`,
	`{"key":"max-items","kind":"operational","value_type":"number","default_value":10,
	  "environments":{"production":{"enabled":true,"rules":[{"id":"big","force":25,"condition":{"tier":{"$gte":2}}}]}}}`,
	`{"key":"limits","kind":"permission","value_type":"json","default_value":{"rate":5},
	  "environments":{"production":{"enabled":true,"rules":[{"id":"pro","force":{"rate":50,"burst":100},"condition":{"plan":"pro"}}]}}}`,
	`{"key":"motd","kind":"operational","value_type":"string","default_value":"hello",
	  "environments":{"production":{"enabled":true,"rules":[]}}}`,
	`{"key":"legacy-nav","kind":"release","value_type":"boolean","default_value":true,
	  "environments":{"production":{"enabled":false,"rules":[]}}}`,
}

// MustOpenFeatureAPI returns an API holding gbExperiment (running), gbFlag
// and ofFlags, whose CORS allows origin, with a production secret key and a
// production client key bound to origin.
func MustOpenFeatureAPI(t *testing.T, origin string) (a *api, secret, client string) {
	t.Helper()
	a = MustAPIWith(t, func(s *httpapi.Server) {
		s.Flags = s.Experiments.(refx.FlagService)
		s.AllowedOrigins = []string{origin}
	})
	a.mustDo("POST", "/v1/experiments", gbExperiment, true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments/gb-parity/start", "", true, http.StatusOK)
	for _, f := range append([]string{gbFlag}, ofFlags...) {
		a.mustDo("POST", "/v1/flags", f, true, http.StatusCreated)
	}
	return a, a.mustKey("secret"), a.mustKey("client", origin)
}

// ofRead is one evaluation by an SDK: Type picks the getter
// (getBooleanDetails, getStringDetails, getNumberDetails, getObjectDetails).
type ofRead struct {
	Flag    string `json:"flag"`
	Type    string `json:"type"`
	Default any    `json:"default"`
}

// ofStep is a context and the reads made with it. The server SDK passes
// the context to each read; the web SDK sets it as the global context,
// which makes its provider evaluate every flag again.
type ofStep struct {
	Context map[string]any `json:"context"`
	Reads   []ofRead       `json:"reads"`
}

// ofDetails is the SDKs' EvaluationDetails.
type ofDetails struct {
	FlagKey      string          `json:"flagKey"`
	Value        json.RawMessage `json:"value"`
	Variant      string          `json:"variant"`
	Reason       string          `json:"reason"`
	ErrorCode    string          `json:"errorCode"`
	ErrorMessage string          `json:"errorMessage"`
	FlagMetadata map[string]any  `json:"flagMetadata"`
}

// ofCase is one read and the details the SDK must return.
type ofCase struct {
	name    string
	context map[string]any
	read    ofRead
	want    ofDetails // Value as compact JSON
	// serverOnly: the web SDK evaluates every flag for a context at once,
	// so a context refx refuses fails all its reads, not one.
	serverOnly bool
}

// ofCases covers each value type, reason and error of the protocol, as the
// SDKs report them.
func ofCases() []ofCase {
	ctx := func(kv ...any) map[string]any {
		m := map[string]any{"targetingKey": "alice"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	want := func(value, variant, reason string) ofDetails {
		return ofDetails{Value: json.RawMessage(value), Variant: variant, Reason: reason}
	}
	failed := func(value, code string) ofDetails {
		return ofDetails{Value: json.RawMessage(value), Reason: "ERROR", ErrorCode: code}
	}
	return []ofCase{
		{name: "BooleanTargetingMatch", context: ctx("plan", "pro", "country", "CA"),
			read: ofRead{"new-checkout", "boolean", false}, want: want(`true`, "pro-na", "TARGETING_MATCH")},
		{name: "BooleanDefault", context: ctx("plan", "pro", "country", "FR"),
			read: ofRead{"new-checkout", "boolean", true}, want: want(`false`, "default", "DEFAULT")},
		{name: "NumberTargetingMatch", context: ctx("tier", 3),
			read: ofRead{"max-items", "number", 0}, want: want(`25`, "big", "TARGETING_MATCH")},
		{name: "NumberDefault", context: ctx("tier", 1),
			read: ofRead{"max-items", "number", 0}, want: want(`10`, "default", "DEFAULT")},
		{name: "ObjectTargetingMatch", context: ctx("plan", "pro"),
			read: ofRead{"limits", "object", map[string]any{}}, want: want(`{"burst":100,"rate":50}`, "pro", "TARGETING_MATCH")},
		{name: "ObjectDefault", context: ctx("plan", "free"),
			read: ofRead{"limits", "object", map[string]any{}}, want: want(`{"rate":5}`, "default", "DEFAULT")},
		{name: "Static", context: ctx(),
			read: ofRead{"motd", "string", "fallback"}, want: want(`"hello"`, "default", "STATIC")},
		{name: "Disabled", context: ctx(),
			read: ofRead{"legacy-nav", "boolean", false}, want: want(`true`, "default", "DISABLED")},
		{name: "LinkedFlagForceRule", context: ctx("plan", "vip"),
			read: ofRead{"button-color", "string", "fallback"}, want: want(`"gold"`, "vip", "TARGETING_MATCH")},
		{name: "ErrFlagNotFound", context: ctx(),
			read: ofRead{"no-such-flag", "boolean", false}, want: failed(`false`, "FLAG_NOT_FOUND")},
		{name: "ErrTypeMismatch", context: ctx(),
			read: ofRead{"motd", "boolean", false}, want: failed(`false`, "TYPE_MISMATCH")},
		{name: "ErrTargetingKeyMissing", context: map[string]any{"plan": "pro"},
			read: ofRead{"motd", "string", "fallback"}, want: failed(`"fallback"`, "TARGETING_KEY_MISSING"), serverOnly: true},
	}
}

// checkDetails compares what an SDK returned with want: the value (as
// JSON), variant, reason and error code.
func checkDetails(t *testing.T, name string, got, want ofDetails) {
	t.Helper()
	var gv, wv any
	json.Unmarshal(got.Value, &gv)
	json.Unmarshal(want.Value, &wv)
	gj, _ := json.Marshal(gv)
	wj, _ := json.Marshal(wv)
	if string(gj) != string(wj) || got.Variant != want.Variant || got.Reason != want.Reason || got.ErrorCode != want.ErrorCode {
		t.Errorf("%s: value %s variant %q reason %q error %q (%s), want value %s variant %q reason %q error %q",
			name, gj, got.Variant, got.Reason, got.ErrorCode, got.ErrorMessage, wj, want.Variant, want.Reason, want.ErrorCode)
	}
}

// gbPayloads are the payloads of gbExperiment's variants.
var gbPayloads = map[string]string{"control": "blue", "green": "green", "red": "red"}

// mustMatchLinked checks the SDK's evaluations of gbFlag (its linked rule:
// the users have no plan) and of the banner rollout for ids, then requires
// the linked experiment's arms to be /v1/assign's. exposed tells whether
// the evaluations were exposures: a server SDK's single evaluations are, and
// enrolled every user in the experiment, so /v1/assign must enrol no one
// again; a web SDK's bulk evaluations are not (the page enrols the user
// when it shows the value), so /v1/assign must enrol each of them.
func mustMatchLinked(t *testing.T, a *api, key string, ids []string, linked, banner []ofDetails, exposed bool) {
	t.Helper()
	arms := map[string]*int{}
	spring, bad := 0, 0
	fail := func(format string, args ...any) {
		if bad++; bad > 5 {
			t.Fatalf("more than 5 unexpected evaluations")
		}
		t.Errorf(format, args...)
	}
	for i, id := range ids {
		d := linked[i]
		switch {
		case d.Reason == "SPLIT" && string(d.Value) == `"`+gbPayloads[d.Variant]+`"`:
			v := slices.Index(gbVariants, d.Variant)
			arms[id] = &v
		case d.Reason == "DEFAULT" && string(d.Value) == `"blue"` && d.Variant == "default":
			arms[id] = nil // outside the experiment's coverage
		default:
			fail("%s: button-color = value %s variant %q reason %q error %q (%s), want a variant's payload (SPLIT) or the default (DEFAULT)",
				id, d.Value, d.Variant, d.Reason, d.ErrorCode, d.ErrorMessage)
		}
		switch b := banner[i]; {
		case b.Reason == "SPLIT" && string(b.Value) == `"spring-sale"` && b.Variant == "spring":
			spring++
		case b.Reason == "DEFAULT" && string(b.Value) == `"none"` && b.Variant == "default":
		default:
			fail("%s: banner = value %s variant %q reason %q error %q (%s), want the rollout's value (SPLIT) or the default (DEFAULT)",
				id, b.Value, b.Variant, b.Reason, b.ErrorCode, b.ErrorMessage)
		}
	}
	// A 50% rollout: a hash that covered everyone or no one would pass the
	// per-user checks.
	if n := len(ids); spring < n*35/100 || spring > n*65/100 {
		t.Errorf("the 50%% rollout covered %d of %d users", spring, n)
	}
	in := 0
	for _, arm := range arms {
		if arm != nil {
			in++
		}
	}
	enrolled := mustMatchAssign(t, a, key, ids, arms)
	if exposed && enrolled != 0 {
		t.Errorf("/v1/assign enrolled %d users after their flag evaluations, want 0: each evaluation was the exposure", enrolled)
	}
	if !exposed && enrolled != in {
		t.Errorf("/v1/assign enrolled %d users after their flag evaluations, want the %d in the experiment: a bulk evaluation enrols no one", enrolled, in)
	}
}

// linkedSteps returns a step per user of ids reading gbFlag and banner.
func linkedSteps(ids []string) []ofStep {
	steps := make([]ofStep, len(ids))
	for i, id := range ids {
		steps[i] = ofStep{Context: map[string]any{"targetingKey": id}, Reads: []ofRead{
			{"button-color", "string", "fallback"}, {"banner", "string", "fallback"},
		}}
	}
	return steps
}

// openFeatureSDKs installs the OpenFeature SDKs (scripts/install-openfeature)
// and returns the directory holding their server/ and web/ npm prefixes.
func openFeatureSDKs(t *testing.T) string {
	t.Helper()
	dir := installtest.Script(t, "scripts/install-openfeature")
	return dir
}

// TestOpenFeatureServerSDK runs the real OpenFeature server SDK, npm
// @openfeature/server-sdk@1.23.0 with @openfeature/ofrep-provider@0.1.3 in
// node, against refx's OFREP routes with a secret key: each value type,
// reason and error as the SDK reports it, then 200 users whose linked
// experiment's arm must be the one /v1/assign persists.
func TestOpenFeatureServerSDK(t *testing.T) {
	t.Parallel()
	sdks := openFeatureSDKs(t)
	a, secret, _ := MustOpenFeatureAPI(t, "https://shop.example")

	cases := ofCases()
	ids := make([]string, 200)
	for i := range ids {
		ids[i] = fmt.Sprintf("of-user-%03d", i)
	}
	var steps []ofStep
	for _, c := range cases {
		steps = append(steps, ofStep{Context: c.context, Reads: []ofRead{c.read}})
	}
	steps = append(steps, linkedSteps(ids)...)
	in, _ := json.Marshal(steps)

	start := time.Now()
	out := installtest.RunNode(t, in, filepath.Join("testdata", "openfeature", "server.js"), filepath.Join(sdks, "server", "node_modules"), a.URL, secret)
	var got [][]ofDetails
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(steps) {
		t.Fatalf("node's output (%d steps, want %d): %v\n%s", len(got), len(steps), err, childproc.Tail(out, 2048))
	}
	t.Logf("node evaluated %d flags in %v", len(cases)+2*len(ids), time.Since(start).Round(time.Millisecond))
	for i, c := range cases {
		checkDetails(t, c.name, got[i][0], c.want)
	}
	if md := got[0][0].FlagMetadata; md["kind"] != "release" || md["version"] == nil {
		t.Errorf("flagMetadata = %v, want refx's kind and payload version", md)
	}
	linked, banner := make([]ofDetails, len(ids)), make([]ofDetails, len(ids))
	for i := range ids {
		d := got[len(cases)+i]
		linked[i], banner[i] = d[0], d[1]
	}
	mustMatchLinked(t, a, secret, ids, linked, banner, true)
}
