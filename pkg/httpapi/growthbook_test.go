package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/installtest"
	"github.com/refx-dev/refx/pkg/refx"
)

// gbExperiment has 3 variants of unequal weights and 80% coverage, so that
// the ranges, the coverage gap and the seed all matter.
const gbExperiment = `{"id":"gb-parity","name":"GrowthBook parity","seed":"gb-seed-7",
"variants":[{"key":"control","weight":50,"payload":"blue"},{"key":"green","weight":30,"payload":"green"},{"key":"red","weight":20,"payload":"red"}],
"control":"control","coverage":0.8,"goals":[{"key":"signup","kind":"binomial"}]}`

// gbVariants are gbExperiment's variants in order: a GrowthBook SDK's
// variation index is the index of /v1/assign's variant here.
var gbVariants = []string{"control", "green", "red"}

// gbFlag links gbExperiment in production, after a force rule for one
// plan: the SDK must skip the force rule and run the experiment.
const gbFlag = `{"key":"button-color","kind":"experiment","value_type":"string","default_value":"blue",
"environments":{"production":{"enabled":true,"rules":[
  {"id":"vip","force":"gold","condition":{"plan":"vip"}},
  {"id":"exp","experiment":"gb-parity"}]}}}`

// MustGrowthBookAPI returns an API whose flags and experiments share one
// store (a flag's experiment rule must find its experiment), with
// gbExperiment created (started when start is set), gbFlag and a client
// key of production; and the server's clock and count of reads.
func MustGrowthBookAPI(t *testing.T, start bool) (a *api, client string, clock *testClock, reads *payloadReads) {
	t.Helper()
	clock = &testClock{t: time.Now()}
	a = MustAPIWith(t, func(s *httpapi.Server) {
		reads = &payloadReads{FlagService: s.Experiments.(refx.FlagService)}
		s.Flags = reads
		s.Now = clock.now
		s.AllowedOrigins = []string{"https://shop.example"}
	})
	a.mustDo("POST", "/v1/experiments", gbExperiment, true, http.StatusCreated)
	if start {
		a.mustDo("POST", "/v1/experiments/gb-parity/start", "", true, http.StatusOK)
	}
	a.mustDo("POST", "/v1/flags", gbFlag, true, http.StatusCreated)
	return a, a.mustKey("client", "https://shop.example"), clock, reads
}

// TestGrowthBookFeatures checks the payload's shape, the experiment rule
// built from the experiment, and the key, cache and ETag behaviour.
func TestGrowthBookFeatures(t *testing.T) {
	t.Parallel()
	a, client, clock, reads := MustGrowthBookAPI(t, true)
	secret := a.mustKey("secret")

	t.Run("OK", func(t *testing.T) {
		res := a.send("GET", "/api/features/"+client, "")
		if res.Status != http.StatusOK {
			t.Fatalf("status %d %s", res.Status, res.Raw)
		}
		if got := res.Header.Get("Cache-Control"); got != "public, max-age=5" {
			t.Errorf("Cache-Control = %q", got)
		}
		var body struct {
			Features map[string]struct {
				DefaultValue json.RawMessage  `json:"defaultValue"`
				Rules        []map[string]any `json:"rules"`
			} `json:"features"`
			DateUpdated time.Time `json:"dateUpdated"`
		}
		if err := json.Unmarshal([]byte(res.Raw), &body); err != nil {
			t.Fatal(err)
		}
		f := body.Features["button-color"]
		if string(f.DefaultValue) != `"blue"` || len(f.Rules) != 2 || body.DateUpdated.IsZero() {
			t.Fatalf("feature = %s", res.Raw)
		}
		got, _ := json.Marshal(f.Rules[1])
		want := `{"coverage":0.8,"hashAttribute":"id","hashVersion":2,"id":"exp","key":"gb-parity",` +
			`"meta":[{"key":"control"},{"key":"green"},{"key":"red"}],"name":"GrowthBook parity",` +
			`"ranges":[[0,0.4],[0.5,0.74],[0.8,0.9600000000000001]],"seed":"gb-seed-7",` +
			`"variations":["blue","green","red"],"weights":[0.5,0.3,0.2]}`
		if string(got) != want {
			t.Errorf("experiment rule =\n%s\nwant\n%s", got, want)
		}
	})

	t.Run("NotModified", func(t *testing.T) {
		etag := a.send("GET", "/api/features/"+client, "").Header.Get("ETag")
		if etag == "" {
			t.Fatal("no ETag")
		}
		// Not a.send, which requires a JSON body.
		req, _ := http.NewRequest("GET", a.URL+"/api/features/"+client, nil)
		req.Header.Set("If-None-Match", etag)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusNotModified || len(body) != 0 || res.Header.Get("ETag") != etag {
			t.Errorf("If-None-Match: %d %q ETag %s, want 304 without a body, ETag %s", res.StatusCode, body, res.Header.Get("ETag"), etag)
		}
		if res := a.send("GET", "/api/features/"+client, "", "If-None-Match", `"other"`); res.Status != http.StatusOK {
			t.Errorf("another ETag: %d, want 200", res.Status)
		}
	})

	t.Run("OneBuildPerEnvironmentAndTTL", func(t *testing.T) {
		clock.advance(6 * time.Second)
		payloads, linked := reads.n.Load(), reads.linked.Load()
		for range 40 {
			a.send("GET", "/api/features/"+client, "")
		}
		if p, l := reads.n.Load()-payloads, reads.linked.Load()-linked; p != 1 || l != 1 {
			t.Fatalf("40 requests in one environment read the payload %d times and the experiment %d times, want 1 and 1", p, l)
		}
	})

	// allowOrigin is the CORS header a browser page needs to read the
	// answer: the browser SDK runs on the customer's pages.
	for _, tt := range []struct {
		name, key   string
		headers     []string
		status      int
		allowOrigin string
	}{
		{"ErrSecretKeyInPath", secret, nil, http.StatusForbidden, ""},
		{"ErrNotAKey", "sdk-abc123", nil, http.StatusUnauthorized, ""},
		{"ErrUnknownKey", client[:len(client)-2] + "zz", nil, http.StatusUnauthorized, ""},
		{"ErrOrigin", client, []string{"Origin", "https://evil.example"}, http.StatusForbidden, ""},
		{"BoundOrigin", client, []string{"Origin", "https://shop.example"}, http.StatusOK, "https://shop.example"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := a.send("GET", "/api/features/"+tt.key, "", tt.headers...)
			if res.Status != tt.status {
				t.Errorf("status %d %s, want %d", res.Status, res.Raw, tt.status)
			}
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != tt.allowOrigin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.allowOrigin)
			}
		})
	}
}

// TestGrowthBookFeaturesExperimentNotRunning: a draft or stopped
// experiment's rule is left out, so the SDK serves the default to everyone,
// as /v1/assign serves control.
func TestGrowthBookFeaturesExperimentNotRunning(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		start bool
		stop  bool
	}{
		{"Draft", false, false},
		{"Stopped", true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, client, _, _ := MustGrowthBookAPI(t, tt.start)
			if tt.stop {
				a.mustDo("POST", "/v1/experiments/gb-parity/stop", "", true, http.StatusOK)
			}
			res := a.send("GET", "/api/features/"+client, "")
			if res.Status != http.StatusOK {
				t.Fatalf("status %d %s", res.Status, res.Raw)
			}
			f, _ := res.Body["features"].(map[string]any)["button-color"].(map[string]any)
			if rules, _ := f["rules"].([]any); len(rules) != 1 {
				t.Errorf("rules = %v, want the force rule only", f["rules"])
			}
		})
	}
}

// TestGrowthBookSDKParity runs the real GrowthBook SDK, npm
// @growthbook/growthbook@1.8.0 in node, against the endpoint and requires
// it to pick, for each of 1,000 users, the arm POST /v1/assign persists
// (or to leave the user out exactly when refx does).
func TestGrowthBookSDKParity(t *testing.T) {
	t.Parallel()
	a, client, _, _ := MustGrowthBookAPI(t, true)
	ids := gbUsers(1000)
	source, arms := growthbookArms(t, a, client, "button-color", ids)
	if source != "network" || len(arms) != len(ids) {
		t.Fatalf("the SDK loaded from %q and evaluated %d users, want network and %d", source, len(arms), len(ids))
	}
	mustMatchAssign(t, a, client, ids, arms)
}

// growthbookArms evaluates flag with the real GrowthBook SDK in node
// (testdata/growthbook-parity.js) for users (ids, or attributes with an id)
// and returns where the SDK loaded the payload from and each user's
// variation index, nil when not in the experiment.
func growthbookArms(t *testing.T, a *api, client, flag string, users any) (source string, arms map[string]*int) {
	t.Helper()
	sdk := installtest.Script(t, "scripts/install-growthbook")
	in, err := json.Marshal(users)
	if err != nil {
		t.Fatal(err)
	}
	out := installtest.RunNode(t, in, filepath.Join("testdata", "growthbook-parity.js"), sdk, a.URL, client, flag)
	var res struct {
		Source string          `json:"source"`
		Arms   map[string]*int `json:"arms"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("node's output: %v\n%s", err, out)
	}
	return res.Source, res.Arms
}

// gbUsers returns n user ids for the parity tests. ASCII: refx hashes
// UTF-8, the JavaScript SDK UTF-16 code units.
func gbUsers(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("user-%04d", i)
	}
	return ids
}

// mustMatchAssign requires the arms a GrowthBook SDK chose for gbExperiment
// (the variation index per user, nil when not in the experiment) to be the
// ones POST /v1/assign gives with key, and the split to look like the
// experiment's. It returns how many of those calls enrolled their user (only
// a user's first assignment does).
func mustMatchAssign(t *testing.T, a *api, key string, ids []string, arms map[string]*int) (enrolled int) {
	t.Helper()
	matched, outside := 0, 0
	perArm := make([]int, len(gbVariants))
	for _, id := range ids {
		res := a.doKey("POST", "/v1/assign", `{"experiment":"gb-parity","user":"`+id+`"}`, key)
		if res.Status != http.StatusOK {
			t.Fatalf("assign %s: %d %s", id, res.Status, res.Raw)
		}
		if e, _ := res.Body["enrolled"].(bool); e {
			enrolled++
		}
		var want *int
		if in, _ := res.Body["in_experiment"].(bool); in {
			v, _ := res.Body["variant"].(string)
			i := slices.Index(gbVariants, v)
			if i < 0 {
				t.Fatalf("assign %s: variant %q is not one of %q", id, v, gbVariants)
			}
			want = &i
			perArm[i]++
		} else {
			outside++
		}
		got := arms[id]
		if (got == nil) != (want == nil) || got != nil && *got != *want {
			t.Errorf("%s: the SDK chose %s, /v1/assign %s", id, arm(got), arm(want))
			continue
		}
		matched++
	}
	t.Logf("%d/%d users matched; /v1/assign: %v per arm, %d outside the 80%% coverage", matched, len(ids), perArm, outside)
	// The split must look like the experiment's, or a degenerate payload
	// (everyone outside, everyone in one arm) could match by accident.
	if n := len(ids); outside < n*12/100 || outside > n*28/100 || perArm[0] < n*30/100 || perArm[1] < n*16/100 || perArm[2] < n*9/100 {
		t.Errorf("split %v with %d outside is not 40/24/16/20%% of %d", perArm, outside, n)
	}
	return enrolled
}

func arm(i *int) string {
	if i == nil {
		return "none"
	}
	return fmt.Sprint(*i)
}
