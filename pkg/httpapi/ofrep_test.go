package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
)

// ofrepFlags are created through the admin routes: one per reason, one
// disabled in production and one enabled in dev only.
var ofrepFlags = []string{
	`{"key":"checkout","kind":"release","value_type":"boolean","default_value":false,
	  "environments":{"production":{"enabled":true,"rules":[
	    {"id":"pro","force":true,"condition":{"plan":"pro"}},
	    {"force":true,"coverage":1,"condition":{"country":"CA"}}]}}}`,
	`{"key":"theme","kind":"operational","value_type":"string","default_value":"blue",
	  "environments":{"production":{"enabled":true,"rules":[]}}}`,
	`{"key":"layout","kind":"experiment","value_type":"string","default_value":"a",
	  "environments":{"production":{"enabled":true,"rules":[{"variations":["a","b"],"weights":[0.5,0.5],"key":"layout-test"}]}}}`,
	`{"key":"off","kind":"release","value_type":"boolean","default_value":true,
	  "environments":{"production":{"enabled":false,"rules":[]}}}`,
	`{"key":"devonly","kind":"release","value_type":"number","default_value":3,
	  "environments":{"dev":{"enabled":true,"rules":[]},"production":{"enabled":false,"rules":[]}}}`,
}

// payloadReads counts the payload reads of a real flag store, and its
// reads of linked experiments.
type payloadReads struct {
	refx.FlagService
	n      atomic.Int64
	linked atomic.Int64
}

func (p *payloadReads) LinkedExperiment(ctx context.Context, id string) (*refx.Experiment, error) {
	p.linked.Add(1)
	return p.FlagService.LinkedExperiment(ctx, id)
}

func (p *payloadReads) FlagPayload(ctx context.Context, env string) (*refx.FlagPayload, error) {
	p.n.Add(1)
	return p.FlagService.FlagPayload(ctx, env)
}

// MustOFREPAPI returns an API with the flags of ofrepFlags, a production
// secret key, a production client key, a dev secret key, the server's
// clock and its count of payload reads.
func MustOFREPAPI(t *testing.T) (a *api, clock *testClock, reads *payloadReads, secret, client, dev string) {
	t.Helper()
	clock = &testClock{t: time.Now()}
	a = MustAPIWith(t, func(s *httpapi.Server) {
		c, table := dynamotest.NewTable(t)
		reads = &payloadReads{FlagService: dynamo.New(c, table, dynamo.Options{})}
		s.Flags = reads
		s.Now = clock.now
	})
	for _, f := range ofrepFlags {
		a.mustDo("POST", "/v1/flags", f, true, http.StatusCreated)
	}
	secret = a.mustKey("secret")
	client = a.mustKey("client", "https://shop.example")
	res := a.mustDo("POST", "/v1/keys", `{"name":"dev","kind":"secret","environment":"dev"}`, true, http.StatusCreated)
	dev, _ = res.Body["key"].(string)
	return a, clock, reads, secret, client, dev
}

// TestOFREPEvaluate evaluates single flags as an OpenFeature server-side
// provider does (Authorization: Bearer), with each reason and error shape.
func TestOFREPEvaluate(t *testing.T) {
	t.Parallel()
	a, _, _, secret, client, dev := MustOFREPAPI(t)
	bearer := func(key string) []string { return []string{"Authorization", "Bearer " + key} }
	tests := []struct {
		name, flag, body string
		headers          []string
		status           int
		// want holds the answer's fields that must be as given; a missing
		// "value" must be absent.
		want map[string]any
	}{
		{"TargetingMatch", "checkout", `{"context":{"targetingKey":"u1","plan":"pro"}}`, bearer(secret), 200,
			map[string]any{"key": "checkout", "value": true, "reason": "TARGETING_MATCH", "variant": "pro"}},
		{"SplitRollout", "checkout", `{"context":{"targetingKey":"u1","country":"CA"}}`, bearer(secret), 200,
			map[string]any{"value": true, "reason": "SPLIT", "variant": "rule-1"}},
		{"Default", "checkout", `{"context":{"targetingKey":"u1","country":"FR"}}`, bearer(secret), 200,
			map[string]any{"value": false, "reason": "DEFAULT", "variant": "default"}},
		{"Static", "theme", `{"context":{"targetingKey":"u1"}}`, bearer(secret), 200,
			map[string]any{"value": "blue", "reason": "STATIC", "variant": "default"}},
		{"ClientKeyHeader", "theme", `{"context":{"targetingKey":"u1"}}`, []string{httpapi.KeyHeader, client}, 200,
			map[string]any{"value": "blue", "reason": "STATIC"}},
		{"DevKey", "devonly", `{"context":{"targetingKey":"u1"}}`, bearer(dev), 200,
			map[string]any{"value": 3.0, "reason": "STATIC"}},
		// A flag off in the key's environment answers its default value.
		{"DevFlagInProduction", "devonly", `{"context":{"targetingKey":"u1"}}`, bearer(secret), 200,
			map[string]any{"key": "devonly", "value": 3.0, "reason": "DISABLED", "variant": "default"}},
		{"ProductionFlagInDev", "checkout", `{"context":{"targetingKey":"u1","plan":"pro"}}`, bearer(dev), 200,
			map[string]any{"key": "checkout", "value": false, "reason": "DISABLED"}},
		{"Disabled", "off", `{"context":{"targetingKey":"u1"}}`, bearer(secret), 200,
			map[string]any{"key": "off", "value": true, "reason": "DISABLED"}},
		{"ErrUnknownFlag", "nope", `{"context":{"targetingKey":"u1"}}`, bearer(secret), 404,
			map[string]any{"key": "nope", "errorCode": "FLAG_NOT_FOUND"}},
		{"ErrMalformed", "checkout", `{"context":`, bearer(secret), 400,
			map[string]any{"key": "checkout", "errorCode": "PARSE_ERROR"}},
		{"ErrUnknownField", "checkout", `{"ctx":{"targetingKey":"u1"}}`, bearer(secret), 400,
			map[string]any{"key": "checkout", "errorCode": "PARSE_ERROR"}},
		{"ErrNoContext", "checkout", `{}`, bearer(secret), 400,
			map[string]any{"key": "checkout", "errorCode": "INVALID_CONTEXT"}},
		{"ErrContextNotObject", "checkout", `{"context":["u1"]}`, bearer(secret), 400,
			map[string]any{"errorCode": "INVALID_CONTEXT"}},
		{"ErrTargetingKeyMissing", "checkout", `{"context":{"plan":"pro"}}`, bearer(secret), 400,
			map[string]any{"key": "checkout", "errorCode": "TARGETING_KEY_MISSING"}},
		{"ErrTargetingKeyNotString", "checkout", `{"context":{"targetingKey":7}}`, bearer(secret), 400,
			map[string]any{"errorCode": "INVALID_CONTEXT"}},
		{"ErrNoKey", "checkout", `{"context":{"targetingKey":"u1"}}`, nil, 401, nil},
		{"ErrUnknownKey", "checkout", `{"context":{"targetingKey":"u1"}}`, bearer(secret[:len(secret)-4] + "0000"), 401, nil},
		{"ErrAdminKey", "checkout", `{"context":{"targetingKey":"u1"}}`, bearer(adminKey), 401, nil},
		{"ErrTooLarge", "checkout", `{"context":{"targetingKey":"u1","blob":"` + strings.Repeat("x", 1<<20) + `"}}`, bearer(secret), 413, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := a.send("POST", "/ofrep/v1/evaluate/flags/"+tt.flag, tt.body, tt.headers...)
			if res.Status != tt.status {
				t.Fatalf("status = %d %s, want %d", res.Status, res.Raw, tt.status)
			}
			for k, v := range tt.want {
				if res.Body[k] != v {
					t.Errorf("%s = %v, want %v in %s", k, res.Body[k], v, res.Raw)
				}
			}
			if tt.status >= 400 && tt.want == nil && res.errorCode() == "" {
				t.Errorf("refusal without refx's error shape: %s", res.Raw)
			}
			if tt.status == 200 && res.Body["metadata"].(map[string]any)["version"] == nil {
				t.Errorf("no payload version in metadata: %s", res.Raw)
			}
		})
	}

	t.Run("Split", func(t *testing.T) {
		// Each user gets one of the experiment's variations, the variant
		// naming its index, and the same one every time.
		seen := map[string]bool{}
		for _, user := range []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"} {
			body := `{"context":{"targetingKey":"` + user + `"}}`
			res := a.send("POST", "/ofrep/v1/evaluate/flags/layout", body, bearer(secret)...)
			again := a.send("POST", "/ofrep/v1/evaluate/flags/layout", body, bearer(secret)...)
			variant, _ := res.Body["variant"].(string)
			want := map[string]string{"0": "a", "1": "b"}[variant]
			if res.Status != 200 || res.Body["reason"] != "SPLIT" || res.Body["value"] != want || want == "" || again.Raw != res.Raw {
				t.Fatalf("%s: %d %s, then %s", user, res.Status, res.Raw, again.Raw)
			}
			seen[variant] = true
		}
		if len(seen) != 2 {
			t.Fatalf("8 users all got variant %v", seen)
		}
	})

	t.Run("ErrRevokedKey", func(t *testing.T) {
		// A new key, so that no earlier request cached it as valid.
		key := a.mustKey("secret")
		id := strings.Split(strings.TrimPrefix(key, "rfx_sec_"), "_")[0]
		a.mustDo("DELETE", "/v1/keys/"+id, "", true, http.StatusOK)
		res := a.send("POST", "/ofrep/v1/evaluate/flags/theme", `{"context":{"targetingKey":"u1"}}`, bearer(key)...)
		if res.Status != 401 || !strings.Contains(res.Raw, "revoked") {
			t.Fatalf("revoked key = %d %s", res.Status, res.Raw)
		}
	})
}

// TestOFREPBulk evaluates every flag as a client-side provider does, and
// revalidates with If-None-Match.
func TestOFREPBulk(t *testing.T) {
	t.Parallel()
	a, clock, reads, secret, client, _ := MustOFREPAPI(t)
	const body = `{"context":{"targetingKey":"u1","plan":"pro"}}`
	res := a.send("POST", "/ofrep/v1/evaluate/flags", body, httpapi.KeyHeader, client)
	etag := res.Header.Get("ETag")
	if res.Status != 200 || etag == "" {
		t.Fatalf("bulk = %d %s (ETag %q)", res.Status, res.Raw, etag)
	}
	var got struct {
		Flags    []ofrepFlag
		Metadata map[string]any
	}
	if err := json.Unmarshal([]byte(res.Raw), &got); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, f := range got.Flags {
		keys = append(keys, f.Key)
	}
	// Production's flags, sorted, the disabled ones with their defaults.
	if strings.Join(keys, ",") != "checkout,devonly,layout,off,theme" || got.Flags[0].Reason != "TARGETING_MATCH" || got.Flags[0].Value != true ||
		got.Flags[1].Reason != "DISABLED" || got.Flags[1].Value != 3.0 || got.Flags[4].Value != "blue" || got.Metadata["environment"] != "production" {
		t.Fatalf("bulk = %s", res.Raw)
	}

	t.Run("NotModified", func(t *testing.T) {
		status, raw, _ := ofrepRaw(t, a, body, client, etag)
		if status != http.StatusNotModified || raw != "" {
			t.Fatalf("If-None-Match %s = %d %q, want 304 without a body", etag, status, raw)
		}
		if status, _, _ := ofrepRaw(t, a, body, client, `"other", W/`+etag); status != http.StatusNotModified {
			t.Fatalf("weak ETag in a list = %d, want 304", status)
		}
	})
	t.Run("OtherContext", func(t *testing.T) {
		status, _, tag := ofrepRaw(t, a, `{"context":{"targetingKey":"u2"}}`, client, etag)
		if status != 200 || tag == etag {
			t.Fatalf("another context = %d with ETag %s, want 200 and a new ETag", status, tag)
		}
	})
	t.Run("ErrTargetingKeyMissing", func(t *testing.T) {
		res := a.send("POST", "/ofrep/v1/evaluate/flags", `{"context":{}}`, httpapi.KeyHeader, secret)
		if res.Status != 400 || res.Body["errorCode"] != "TARGETING_KEY_MISSING" || res.Body["key"] != nil {
			t.Fatalf("bulk without a targeting key = %d %s", res.Status, res.Raw)
		}
	})
	t.Run("ErrNoKey", func(t *testing.T) {
		if res := a.send("POST", "/ofrep/v1/evaluate/flags", body); res.Status != 401 {
			t.Fatalf("bulk without a key = %d %s", res.Status, res.Raw)
		}
	})
	t.Run("OneReadPerEnvironmentAndTTL", func(t *testing.T) {
		clock.advance(6 * time.Second)
		before := reads.n.Load()
		for range 20 {
			a.send("POST", "/ofrep/v1/evaluate/flags/theme", body, httpapi.KeyHeader, secret)
			ofrepRaw(t, a, body, client, "")
		}
		if n := reads.n.Load() - before; n != 1 {
			t.Fatalf("40 evaluations in one environment read the payload %d times, want 1", n)
		}
	})
	t.Run("ChangeVisibleAfterTheCache", func(t *testing.T) {
		a.mustDo("PATCH", "/v1/flags/theme", `{"version":1,"default_value":"green"}`, true, http.StatusOK)
		// Within the 5 s the payload is cached, the ETag still holds.
		if status, _, _ := ofrepRaw(t, a, body, client, etag); status != http.StatusNotModified {
			t.Fatalf("within the cache = %d, want 304", status)
		}
		clock.advance(6 * time.Second)
		status, raw, tag := ofrepRaw(t, a, body, client, etag)
		if status != 200 || tag == etag || !strings.Contains(raw, `"green"`) {
			t.Fatalf("after the cache = %d %s (ETag %s)", status, raw, tag)
		}
	})
}

// ofrepFlag is one flag of a bulk evaluation's answer.
type ofrepFlag struct {
	Key, Reason, Variant, ErrorCode string
	Value                           any
	Metadata                        map[string]any
}

// ofrepRaw sends a bulk evaluation with If-None-Match and returns the status,
// the raw body (empty for 304) and the ETag.
func ofrepRaw(t *testing.T, a *api, body, key, ifNoneMatch string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", a.URL+"/ofrep/v1/evaluate/flags", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(httpapi.KeyHeader, key)
	req.Header.Set("If-None-Match", ifNoneMatch)
	res, err := a.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(raw), res.Header.Get("ETag")
}

// TestOFREPLinkedExperiment evaluates a flag whose rule links a running
// refx experiment: the value is the payload of the variant /v1/assign
// persists, and the first evaluation is the user's enrolment.
func TestOFREPLinkedExperiment(t *testing.T) {
	t.Parallel()
	a, _, clock, _ := MustGrowthBookAPI(t, true)
	secret := a.mustKey("secret")
	eval := func(ctx string) response {
		t.Helper()
		res := a.send("POST", "/ofrep/v1/evaluate/flags/button-color", `{"context":`+ctx+`}`, httpapi.KeyHeader, secret)
		if res.Status != http.StatusOK {
			t.Fatalf("evaluate %s = %d %s", ctx, res.Status, res.Raw)
		}
		return res
	}
	assign := func(user string) response {
		t.Helper()
		res := a.send("POST", "/v1/assign", `{"experiment":"gb-parity","user":"`+user+`"}`, httpapi.KeyHeader, secret)
		if res.Status != http.StatusOK {
			t.Fatalf("assign %s = %d %s", user, res.Status, res.Raw)
		}
		return res
	}
	inside, outside := 0, 0
	for i := range 200 {
		user := fmt.Sprintf("ofrep-user-%d", i)
		res := eval(`{"targetingKey":"` + user + `"}`)
		a2 := assign(user)
		if a2.Body["enrolled"] == true {
			t.Fatalf("%s: /v1/assign enrolled the user after OFREP evaluated the flag: %s", user, a2.Raw)
		}
		if a2.Body["in_experiment"] != true {
			// Outside the 80 % coverage: the rules after the link, none here.
			if res.Body["reason"] != "DEFAULT" || res.Body["value"] != "blue" {
				t.Fatalf("%s outside the experiment: %s", user, res.Raw)
			}
			outside++
			continue
		}
		meta, _ := res.Body["metadata"].(map[string]any)
		if res.Body["reason"] != "SPLIT" || res.Body["variant"] != a2.Body["variant"] || res.Body["value"] != a2.Body["payload"] ||
			meta["experimentKey"] != "gb-parity" || meta["rule"] != 1.0 || meta["enrolled"] != true {
			t.Fatalf("%s: OFREP %s, /v1/assign %s", user, res.Raw, a2.Raw)
		}
		inside++
	}
	if inside < 120 || outside < 10 {
		t.Fatalf("%d users inside, %d outside an 80%% coverage", inside, outside)
	}

	t.Run("ForceRuleFirst", func(t *testing.T) {
		res := eval(`{"targetingKey":"ofrep-vip","plan":"vip"}`)
		if res.Body["value"] != "gold" || res.Body["reason"] != "TARGETING_MATCH" || res.Body["variant"] != "vip" {
			t.Fatalf("vip = %s", res.Raw)
		}
		// The force rule applied before the link: no exposure.
		if a2 := assign("ofrep-vip"); a2.Body["enrolled"] != true {
			t.Fatalf("a user the force rule served was enrolled: %s", a2.Raw)
		}
	})
	t.Run("BulkReadsTheArmWithoutEnrolling", func(t *testing.T) {
		// A page's bulk evaluation serves flags it may never show: it
		// answers the arm and leaves the enrolment to the client.
		inside := 0
		for i := range 40 {
			user := fmt.Sprintf("ofrep-bulk-%d", i)
			status, raw, _ := ofrepRaw(t, a, `{"context":{"targetingKey":"`+user+`"}}`, secret, "")
			var bulk struct{ Flags []ofrepFlag }
			if err := json.Unmarshal([]byte(raw), &bulk); status != 200 || err != nil || len(bulk.Flags) != 1 {
				t.Fatalf("%s: bulk %d %s", user, status, raw)
			}
			got := bulk.Flags[0]
			a2 := assign(user)
			if a2.Body["in_experiment"] != true {
				if got.Reason != "DEFAULT" {
					t.Fatalf("%s outside the experiment: bulk %s", user, raw)
				}
				continue
			}
			inside++
			if a2.Body["enrolled"] != true {
				t.Fatalf("%s: the bulk evaluation enrolled the user: /v1/assign %s", user, a2.Raw)
			}
			if got.Reason != "SPLIT" || got.Variant != a2.Body["variant"] || got.Value != a2.Body["payload"] ||
				got.Metadata["experimentKey"] != "gb-parity" || got.Metadata["enrolled"] != false {
				t.Fatalf("%s: bulk %s, /v1/assign %s", user, raw, a2.Raw)
			}
		}
		if inside < 20 {
			t.Fatalf("%d of 40 users inside an 80%% coverage", inside)
		}
	})
	t.Run("Stopped", func(t *testing.T) {
		a.mustDo("POST", "/v1/experiments/gb-parity/stop", "", true, http.StatusOK)
		clock.advance(time.Minute) // past the instance's experiment cache
		res := eval(`{"targetingKey":"ofrep-user-1"}`)
		if res.Body["reason"] != "DEFAULT" || res.Body["value"] != "blue" {
			t.Fatalf("after the stop = %s", res.Raw)
		}
	})
}
