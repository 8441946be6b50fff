package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/httpapi"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

const adminKey = "test-admin-key-0123456789"

// api is a running API on a fresh table.
type api struct {
	*httptest.Server
	tb testing.TB
}

func MustAPI(tb testing.TB) *api {
	tb.Helper()
	// Keys are required unless keyless; keys_test.go covers them.
	return MustAPIWith(tb, func(s *httpapi.Server) { s.Keyless = true })
}

// MustAPIWith is MustAPI with the server configured by configure.
func MustAPIWith(tb testing.TB, configure func(*httpapi.Server)) *api {
	tb.Helper()
	client, table := dynamotest.NewTable(tb)
	store := dynamo.New(client, table, dynamo.Options{})
	srv := &httpapi.Server{
		Experiments: store, Assignments: store, Events: store, Results: store, Referrals: store, Lamed: store,
		Ping: store.Ping, AdminKey: adminKey, HashKey: []byte("test-hash-key"), Keys: store,
	}
	configure(srv)
	ts := httptest.NewServer(withPeer(dynamotest.Counting(tb, store, srv.Handler(httpapi.AllRoutes))))
	tb.Cleanup(ts.Close)
	return &api{Server: ts, tb: tb}
}

// peerHeader sends a test's request as if from another address (host:port).
// The server reads only the connection's address, as API Gateway's
// sourceIp gives it (forwarded headers are forgeable), and a test client on
// loopback cannot choose its own.
const peerHeader = "Test-Peer-Addr"

func withPeer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if peer := r.Header.Get(peerHeader); peer != "" {
			r.RemoteAddr = peer
			r.Header.Del(peerHeader)
		}
		h.ServeHTTP(w, r)
	})
}

// mustLink asks for the referrer's link from the referrer's own address,
// not the test client's: the referees' signups from the client would else
// be flagged as the referrer's own (self_referral_ip).
func (a *api) mustLink(experiment, referrer string) response {
	a.tb.Helper()
	res := a.send("POST", "/v1/referrals", fmt.Sprintf(`{"experiment":%q,"referrer":%q}`, experiment, referrer), peerHeader, "198.51.100.200:443")
	if res.Status != http.StatusOK {
		a.tb.Fatalf("link of %s in %s = %d %s", referrer, experiment, res.Status, res.Raw)
	}
	return res
}

// response is a decoded answer.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func (r response) errorCode() string {
	e, _ := r.Body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func (r response) errorField() string {
	e, _ := r.Body["error"].(map[string]any)
	field, _ := e["field"].(string)
	return field
}

// do sends a request; admin adds the admin key.
func (a *api) do(method, path, body string, admin bool) response {
	a.tb.Helper()
	if admin {
		return a.send(method, path, body, "Authorization", "Bearer "+adminKey)
	}
	return a.send(method, path, body)
}

// send sends a JSON request with extra headers (pairs of name, value) and
// decodes the answer.
func (a *api) send(method, path, body string, headers ...string) response {
	a.tb.Helper()
	req, err := http.NewRequest(method, a.URL+path, strings.NewReader(body))
	if err != nil {
		a.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := a.Client().Do(req)
	if err != nil {
		a.tb.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	if err := json.Unmarshal(raw, &out.Body); err != nil {
		a.tb.Fatalf("%s %s: body is not a JSON object: %q", method, path, raw)
	}
	return out
}

func (a *api) mustDo(method, path, body string, admin bool, status int) response {
	a.tb.Helper()
	res := a.do(method, path, body, admin)
	if res.Status != status {
		a.tb.Fatalf("%s %s = %d %s, want %d", method, path, res.Status, res.Raw, status)
	}
	return res
}

const experimentBody = `{"id":"cta-test","name":"CTA","hypothesis":"Bold wins","owner":"growth",
"variants":[{"key":"control","weight":50},{"key":"bold","weight":50,"payload":{"reward":20}}],
"control":"control","coverage":1.0,"goals":[{"key":"signup","kind":"binomial"},{"key":"purchase","kind":"value"}]}`

func TestFlow(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	created := a.mustDo("POST", "/v1/experiments", experimentBody, true, http.StatusCreated)
	if created.Header.Get("Location") != "/v1/experiments/cta-test" || created.Body["status"] != "draft" {
		t.Fatalf("create = %v", created.Raw)
	}
	a.mustDo("POST", "/v1/experiments/cta-test/start", "", true, http.StatusOK)
	assigned := a.mustDo("POST", "/v1/assign", `{"experiment":"cta-test","user":"alice"}`, false, http.StatusOK)
	if assigned.Body["in_experiment"] != true || assigned.Body["enrolled"] != true {
		t.Fatalf("assign = %s", assigned.Raw)
	}
	variant := assigned.Body["variant"].(string)

	event := `{"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"purchase","user":"alice","value":12.5}`
	rec := a.mustDo("POST", "/v1/events", event, false, http.StatusAccepted)
	if rec.Body["status"] != "recorded" {
		t.Fatalf("event = %s", rec.Raw)
	}
	dup := a.mustDo("POST", "/v1/events", event, false, http.StatusOK)
	if dup.Body["status"] != "duplicate" {
		t.Fatalf("retry = %s", dup.Raw)
	}
	reused := a.mustDo("POST", "/v1/events", strings.Replace(event, "12.5", "13", 1), false, http.StatusUnprocessableEntity)
	if reused.errorCode() != "idempotency_key_reused" {
		t.Fatalf("reuse = %s", reused.Raw)
	}
	batch := `{"events":[{"id":"11111111-2222-4333-8444-555555555555","type":"signup","user":"alice"},
		{"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"purchase","user":"alice","value":12.5}]}`
	got := a.mustDo("POST", "/v1/events:batch", batch, false, http.StatusOK)
	results := got.Body["results"].([]any)
	if len(results) != 2 || results[0].(map[string]any)["status"] != "recorded" || results[1].(map[string]any)["status"] != "duplicate" {
		t.Fatalf("batch = %s", got.Raw)
	}

	res := a.mustDo("GET", "/v1/experiments/cta-test/results", "", true, http.StatusOK)
	var shaped struct {
		Experiment string `json:"experiment"`
		Variants   []struct {
			Key          string `json:"key"`
			Participants int64  `json:"participants"`
			Goals        map[string]struct {
				Users      int64       `json:"users"`
				Events     int64       `json:"events"`
				ValueSum   json.Number `json:"value_sum"`
				ValueSumSq json.Number `json:"value_sum_sq"`
			} `json:"goals"`
		} `json:"variants"`
	}
	if err := json.Unmarshal([]byte(res.Raw), &shaped); err != nil {
		t.Fatal(err)
	}
	for _, v := range shaped.Variants {
		wantParticipants, wantPurchases, wantSum := int64(0), int64(0), json.Number("0")
		if v.Key == variant {
			wantParticipants, wantPurchases, wantSum = 1, 1, "12.5"
		}
		p := v.Goals["purchase"]
		if v.Participants != wantParticipants || p.Events != wantPurchases || p.Users != wantPurchases || p.ValueSum != wantSum {
			t.Fatalf("results for %s = %+v", v.Key, v)
		}
	}
	if shaped.Experiment != "cta-test" || len(shaped.Variants) != 2 {
		t.Fatalf("results = %s", res.Raw)
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	for _, header := range []string{"", "Bearer wrong-key", "Basic " + adminKey, "Bearer " + adminKey + "x", adminKey} {
		req, _ := http.NewRequest("POST", a.URL+"/v1/experiments", strings.NewReader(experimentBody))
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		res, err := a.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("Authorization %q: status %d, want 401", header, res.StatusCode)
		}
	}
	// Nothing was created by the refused requests.
	a.mustDo("GET", "/v1/experiments/cta-test", "", true, http.StatusNotFound)
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.mustDo("POST", "/v1/experiments", experimentBody, true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments/cta-test/start", "", true, http.StatusOK)
	uuid := "6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90"
	future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name, method, path, body string
		admin                    bool
		status                   int
		code, field              string
	}{
		// assign
		{"AssignMalformed", "POST", "/v1/assign", `{"experiment":`, false, 400, "invalid_argument", ""},
		{"AssignEmpty", "POST", "/v1/assign", ``, false, 400, "invalid_argument", ""},
		{"AssignArray", "POST", "/v1/assign", `[]`, false, 400, "invalid_argument", ""},
		{"AssignUnknownField", "POST", "/v1/assign", `{"experiment":"cta-test","user":"a","variant":"bold"}`, false, 400, "invalid_argument", "variant"},
		{"AssignTrailing", "POST", "/v1/assign", `{"experiment":"cta-test","user":"a"} {}`, false, 400, "invalid_argument", ""},
		{"AssignBadExperiment", "POST", "/v1/assign", `{"experiment":"CTA TEST","user":"a"}`, false, 400, "invalid_argument", "experiment"},
		{"AssignNoUser", "POST", "/v1/assign", `{"experiment":"cta-test"}`, false, 400, "invalid_argument", "user"},
		{"AssignControlCharUser", "POST", "/v1/assign", `{"experiment":"cta-test","user":"a\u0000b"}`, false, 400, "invalid_argument", "user"},
		{"AssignLongUser", "POST", "/v1/assign", `{"experiment":"cta-test","user":"` + strings.Repeat("u", 257) + `"}`, false, 400, "invalid_argument", "user"},
		{"AssignWrongType", "POST", "/v1/assign", `{"experiment":"cta-test","user":42}`, false, 400, "invalid_argument", "user"},
		{"AssignUnknownExperiment", "POST", "/v1/assign", `{"experiment":"nope","user":"a"}`, false, 404, "not_found", ""},
		{"AssignTooLarge", "POST", "/v1/assign", `{"experiment":"cta-test","user":"` + strings.Repeat("u", 70<<10) + `"}`, false, 413, "payload_too_large", ""},
		// events
		{"EventNoID", "POST", "/v1/events", `{"type":"signup","user":"a"}`, false, 400, "invalid_argument", "id"},
		{"EventBadID", "POST", "/v1/events", `{"id":"not-a-uuid","type":"signup","user":"a"}`, false, 400, "invalid_argument", "id"},
		{"EventBadType", "POST", "/v1/events", `{"id":"` + uuid + `","type":"sign up","user":"a"}`, false, 400, "invalid_argument", "type"},
		{"EventValueString", "POST", "/v1/events", `{"id":"` + uuid + `","type":"purchase","user":"a","value":"12"}`, false, 400, "invalid_argument", "value"},
		{"EventValuePrecision", "POST", "/v1/events", `{"id":"` + uuid + `","type":"purchase","user":"a","value":1.23456}`, false, 400, "invalid_argument", "value"},
		{"EventValueHuge", "POST", "/v1/events", `{"id":"` + uuid + `","type":"purchase","user":"a","value":1e300}`, false, 400, "invalid_argument", "value"},
		{"EventFuture", "POST", "/v1/events", `{"id":"` + uuid + `","type":"signup","user":"a","occurred_at":"` + future + `"}`, false, 400, "invalid_argument", "occurred_at"},
		{"EventAncient", "POST", "/v1/events", `{"id":"` + uuid + `","type":"signup","user":"a","occurred_at":"2001-01-01T00:00:00Z"}`, false, 400, "invalid_argument", "occurred_at"},
		{"EventBadTime", "POST", "/v1/events", `{"id":"` + uuid + `","type":"signup","user":"a","occurred_at":"yesterday"}`, false, 400, "invalid_argument", ""},
		{"EventBigProperties", "POST", "/v1/events", `{"id":"` + uuid + `","type":"signup","user":"a","properties":{"x":"` + strings.Repeat("p", 5000) + `"}}`, false, 400, "invalid_argument", "properties"},
		{"EventPropertiesNotObject", "POST", "/v1/events", `{"id":"` + uuid + `","type":"signup","user":"a","properties":[1]}`, false, 400, "invalid_argument", "properties"},
		{"EventUnknownField", "POST", "/v1/events", `{"id":"` + uuid + `","type":"signup","user":"a","variant":"bold"}`, false, 400, "invalid_argument", "variant"},
		{"BatchEmpty", "POST", "/v1/events:batch", `{"events":[]}`, false, 400, "invalid_argument", "events"},
		{"BatchTooMany", "POST", "/v1/events:batch", `{"events":[` + strings.TrimSuffix(strings.Repeat(`{"id":"`+uuid+`","type":"signup","user":"a"},`, 26), ",") + `]}`, false, 400, "invalid_argument", "events"},
		{"BatchOneBad", "POST", "/v1/events:batch", `{"events":[{"id":"` + uuid + `","type":"signup","user":"a"},{"id":"x","type":"signup","user":"a"}]}`, false, 400, "invalid_argument", "events[1].id"},
		// admin
		{"CreateBadID", "POST", "/v1/experiments", strings.Replace(experimentBody, `"cta-test"`, `"CTA!"`, 1), true, 400, "invalid_argument", "id"},
		{"CreateOneVariant", "POST", "/v1/experiments", `{"id":"x","variants":[{"key":"a","weight":1}],"goals":[{"key":"s","kind":"binomial"}]}`, true, 400, "invalid_argument", "variants"},
		{"CreateDuplicateVariant", "POST", "/v1/experiments", `{"id":"x","variants":[{"key":"a","weight":1},{"key":"a","weight":1}],"goals":[{"key":"s","kind":"binomial"}]}`, true, 400, "invalid_argument", "variants"},
		{"CreateNegativeWeight", "POST", "/v1/experiments", `{"id":"x","variants":[{"key":"a","weight":-1},{"key":"b","weight":1}],"goals":[{"key":"s","kind":"binomial"}]}`, true, 400, "invalid_argument", "variants"},
		{"CreateZeroWeights", "POST", "/v1/experiments", `{"id":"x","variants":[{"key":"a","weight":0},{"key":"b","weight":0}],"goals":[{"key":"s","kind":"binomial"}]}`, true, 400, "invalid_argument", "variants"},
		{"CreateBadControl", "POST", "/v1/experiments", strings.Replace(experimentBody, `"control":"control"`, `"control":"nobody"`, 1), true, 400, "invalid_argument", "control"},
		{"CreateCoverage", "POST", "/v1/experiments", strings.Replace(experimentBody, `"coverage":1.0`, `"coverage":1.5`, 1), true, 400, "invalid_argument", "coverage"},
		{"CreateNoGoals", "POST", "/v1/experiments", `{"id":"x","variants":[{"key":"a","weight":1},{"key":"b","weight":1}],"goals":[]}`, true, 400, "invalid_argument", "goals"},
		{"CreateBadGoalKind", "POST", "/v1/experiments", `{"id":"x","variants":[{"key":"a","weight":1},{"key":"b","weight":1}],"goals":[{"key":"s","kind":"count"}]}`, true, 400, "invalid_argument", "goals"},
		{"CreateShards", "POST", "/v1/experiments", `{"id":"x","variants":[{"key":"a","weight":1},{"key":"b","weight":1}],"goals":[{"key":"s","kind":"binomial"}],"counter_shards":0}`, true, 400, "invalid_argument", "counter_shards"},
		{"CreateUnknownField", "POST", "/v1/experiments", `{"id":"x","status":"running"}`, true, 400, "invalid_argument", "status"},
		{"CreateDuplicate", "POST", "/v1/experiments", experimentBody, true, 409, "conflict", ""},
		{"ListBadStatus", "GET", "/v1/experiments?status=paused", "", true, 400, "invalid_argument", "status"},
		{"ListBadLimit", "GET", "/v1/experiments?limit=0", "", true, 400, "invalid_argument", "limit"},
		{"ListBadCursor", "GET", "/v1/experiments?cursor=%21%21", "", true, 400, "invalid_argument", "cursor"},
		{"GetBadID", "GET", "/v1/experiments/BAD!", "", true, 400, "invalid_argument", "id"},
		{"GetMissing", "GET", "/v1/experiments/missing", "", true, 404, "not_found", ""},
		{"PatchNoVersion", "PATCH", "/v1/experiments/cta-test", `{"name":"x"}`, true, 400, "invalid_argument", "version"},
		{"PatchStale", "PATCH", "/v1/experiments/cta-test", `{"version":1,"name":"x"}`, true, 409, "conflict", ""},
		{"PatchMissing", "PATCH", "/v1/experiments/missing", `{"version":1}`, true, 404, "not_found", ""},
		{"StartMissing", "POST", "/v1/experiments/missing/start", "", true, 404, "not_found", ""},
		{"ResultsMissing", "GET", "/v1/experiments/missing/results", "", true, 404, "not_found", ""},
		// referrals
		{"ReferralBadExperiment", "POST", "/v1/referrals", `{"experiment":"BAD","referrer":"a"}`, false, 400, "invalid_argument", "experiment"},
		{"ReferralNoReferrer", "POST", "/v1/referrals", `{"experiment":"cta-test"}`, false, 400, "invalid_argument", "referrer"},
		{"ReferralUnknownField", "POST", "/v1/referrals", `{"experiment":"cta-test","referrer":"a","code":"X"}`, false, 400, "invalid_argument", "code"},
		{"ReferralNotReferralExperiment", "POST", "/v1/referrals", `{"experiment":"cta-test","referrer":"a"}`, false, 409, "conflict", ""},
		{"ReferralMissingExperiment", "POST", "/v1/referrals", `{"experiment":"missing","referrer":"a"}`, false, 404, "not_found", ""},
		{"SignupBadCode", "POST", "/v1/referrals/no!/signups", `{"referee":"a"}`, false, 400, "invalid_argument", "code"},
		{"SignupUnknownCode", "POST", "/v1/referrals/ZZZZZZZZ/signups", `{"referee":"a"}`, false, 404, "not_found", ""},
		{"SignupNoReferee", "POST", "/v1/referrals/ZZZZZZZZ/signups", `{}`, false, 400, "invalid_argument", "referee"},
		{"SignupBadVisitor", "POST", "/v1/referrals/ZZZZZZZZ/signups", `{"referee":"a","visitor":"short"}`, false, 400, "invalid_argument", "visitor"},
		{"SignupLongDevice", "POST", "/v1/referrals/ZZZZZZZZ/signups", `{"referee":"a","device":"` + strings.Repeat("d", 513) + `"}`, false, 400, "invalid_argument", "device"},
		{"EventBadReferralCode", "POST", "/v1/events", `{"id":"` + uuid + `","type":"signup","user":"a","referral_code":"no!"}`, false, 400, "invalid_argument", "referral_code"},
		{"CreateBadLandingURL", "POST", "/v1/experiments", strings.Replace(experimentBody, `"id":"cta-test"`, `"id":"r1","referral":{"landing_url":"javascript:alert(1)"}`, 1), true, 400, "invalid_argument", "referral.landing_url"},
		{"CreateBadWindow", "POST", "/v1/experiments", strings.Replace(experimentBody, `"id":"cta-test"`, `"id":"r2","referral":{"landing_url":"https://x.example","window_days":400}`, 1), true, 400, "invalid_argument", "referral.window_days"},
		{"ReferrersNoAuth", "GET", "/v1/referrers/alice/referrals", "", false, 401, "unauthorized", ""},
		{"ReferrersBadLimit", "GET", "/v1/referrers/alice/referrals?limit=500", "", true, 400, "invalid_argument", "limit"},
		{"ReferrersBadCursor", "GET", "/v1/referrers/alice/referrals?cursor=abc", "", true, 400, "invalid_argument", "cursor"},
		// strict input: text encoding/json would rewrite or resolve
		// silently, invisible characters in ids, huge exponents
		{"AssignBidiUser", "POST", "/v1/assign", `{"experiment":"cta-test","user":"\u202egnp.exe"}`, false, 400, "invalid_argument", "user"},
		{"AssignIsolateUser", "POST", "/v1/assign", `{"experiment":"cta-test","user":"\u2067a\u2069"}`, false, 400, "invalid_argument", "user"},
		{"AssignZeroWidthUser", "POST", "/v1/assign", `{"experiment":"cta-test","user":"a\u200bb"}`, false, 400, "invalid_argument", "user"},
		{"AssignLoneSurrogateUser", "POST", "/v1/assign", `{"experiment":"cta-test","user":"a\ud800"}`, false, 400, "invalid_argument", "user"},
		{"AssignInvalidUTF8User", "POST", "/v1/assign", `{"experiment":"cta-test","user":"a` + "\xff" + `b"}`, false, 400, "invalid_argument", "user"},
		{"AssignDuplicateUser", "POST", "/v1/assign", `{"experiment":"cta-test","user":"a","user":"b"}`, false, 400, "invalid_argument", "user"},
		{"AssignDuplicateUserOtherCase", "POST", "/v1/assign", `{"experiment":"cta-test","user":"a","User":"b"}`, false, 400, "invalid_argument", "User"},
		{"EventValueHugeExponent", "POST", "/v1/events", `{"id":"` + uuid + `","type":"purchase","user":"a","value":1e999999}`, false, 400, "invalid_argument", "value"},
		{"EventValueZeroHugeExponent", "POST", "/v1/events", `{"id":"` + uuid + `","type":"purchase","user":"a","value":0e999999}`, false, 400, "invalid_argument", "value"},
		{"EventDuplicateID", "POST", "/v1/events", `{"id":"` + uuid + `","type":"signup","user":"a","id":"11111111-2222-4333-8444-555555555555"}`, false, 400, "invalid_argument", "id"},
		{"EventDuplicateProperty", "POST", "/v1/events", `{"id":"` + uuid + `","type":"signup","user":"a","properties":{"plan":"free","plan":"pro"}}`, false, 400, "invalid_argument", "properties.plan"},
		{"EventLoneSurrogateProperty", "POST", "/v1/events", `{"id":"` + uuid + `","type":"signup","user":"a","properties":{"a":["\udc00"]}}`, false, 400, "invalid_argument", "properties.a[0]"},
		{"EventBidiUser", "POST", "/v1/events", `{"id":"` + uuid + `","type":"signup","user":"\u200fa"}`, false, 400, "invalid_argument", "user"},
		{"EventTagCharactersUser", "POST", "/v1/events", `{"id":"` + uuid + `","type":"signup","user":"a\udb40\udc41"}`, false, 400, "invalid_argument", "user"},
		{"BatchDuplicateUser", "POST", "/v1/events:batch", `{"events":[{"id":"` + uuid + `","type":"signup","user":"a"},{"id":"` + uuid + `","type":"signup","user":"a","user":"b"}]}`, false, 400, "invalid_argument", "events[1].user"},
		{"BatchBidiUser", "POST", "/v1/events:batch", `{"events":[{"id":"` + uuid + `","type":"signup","user":"\u061ca"}]}`, false, 400, "invalid_argument", "events[0].user"},
		{"ReferralBidiReferrer", "POST", "/v1/referrals", `{"experiment":"cta-test","referrer":"\u202aa"}`, false, 400, "invalid_argument", "referrer"},
		{"SignupLoneSurrogateReferee", "POST", "/v1/referrals/ZZZZZZZZ/signups", `{"referee":"\udbff"}`, false, 400, "invalid_argument", "referee"},
		{"SignupBidiReferee", "POST", "/v1/referrals/ZZZZZZZZ/signups", `{"referee":"\u202ba"}`, false, 400, "invalid_argument", "referee"},
		{"ReferrersBidiUser", "GET", "/v1/referrers/%E2%80%AEa/referrals", "", true, 400, "invalid_argument", "user"},
		{"IdentifyBidiUser", "POST", "/v1/identify", `{"anonymous":"a","user":"\u202db"}`, false, 400, "invalid_argument", "user"},
		{"IdentifyDuplicateAnonymous", "POST", "/v1/identify", `{"anonymous":"a","anonymous":"b","user":"c"}`, false, 400, "invalid_argument", "anonymous"},
		{"LamedTrackBidiUUID", "GET", "/lamed/track?experiment=e&variant=v&event=participate&uuid=%E2%80%AEa", "", false, 400, "invalid_argument", "uuid"},
		{"LamedTrackInvalidUTF8", "GET", "/lamed/track?experiment=e%FF&variant=v&event=participate&uuid=a", "", false, 400, "invalid_argument", "experiment"},
		{"NoRoute", "GET", "/v1/nothing", "", false, 404, "not_found", ""},
		{"WrongMethod", "DELETE", "/v1/assign", "", false, 404, "not_found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := a.do(tt.method, tt.path, tt.body, tt.admin)
			if res.Status != tt.status || res.errorCode() != tt.code || res.errorField() != tt.field {
				t.Fatalf("%s %s = %d %s, want %d %s field %q", tt.method, tt.path, res.Status, res.Raw, tt.status, tt.code, tt.field)
			}
			if e := res.Body["error"].(map[string]any); e["message"] == "" || e["request_id"] == "" {
				t.Fatalf("error lacks message or request id: %s", res.Raw)
			}
		})
	}
	// None of the refused events was counted.
	res := a.mustDo("GET", "/v1/experiments/cta-test/results", "", true, http.StatusOK)
	if strings.Contains(res.Raw, `"events":1`) {
		t.Fatalf("a refused event was counted: %s", res.Raw)
	}
	if !bytes.Contains([]byte(res.Raw), []byte(`"participants":0`)) {
		t.Fatalf("unexpected participants: %s", res.Raw)
	}
}

// mustKey creates a key of kind ("client" or "secret") through the admin
// route and returns it; a client key is bound to origins.
func (a *api) mustKey(kind string, origins ...string) string {
	a.tb.Helper()
	body, _ := json.Marshal(map[string]any{"name": "test " + kind, "kind": kind, "origins": origins})
	res := a.mustDo("POST", "/v1/keys", string(body), true, http.StatusCreated)
	key, _ := res.Body["key"].(string)
	return key
}

// doKey sends a request with a key in the X-Refx-Key header (none when
// key is "") and extra headers (pairs of name, value).
func (a *api) doKey(method, path, body, key string, headers ...string) response {
	a.tb.Helper()
	if key != "" {
		headers = append([]string{httpapi.KeyHeader, key}, headers...)
	}
	return a.send(method, path, body, headers...)
}
