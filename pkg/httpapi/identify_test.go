package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
)

// MustIdentifyAPI is MustAPI with the identity service.
func MustIdentifyAPI(tb testing.TB) *api {
	tb.Helper()
	client, table := dynamotest.NewTable(tb)
	store := dynamo.New(client, table, dynamo.Options{})
	srv := &httpapi.Server{
		Experiments: store, Assignments: store, Events: store, Results: store, Referrals: store, Identities: store,
		Ping: store.Ping, AdminKey: adminKey, HashKey: []byte("test-hash-key"), Keys: store, Keyless: true,
	}
	ts := httptest.NewServer(dynamotest.Counting(tb, store, srv.Handler(httpapi.AllRoutes)))
	tb.Cleanup(ts.Close)
	return &api{Server: ts, tb: tb}
}

func TestIdentify(t *testing.T) {
	t.Parallel()
	a := MustIdentifyAPI(t)
	a.mustDo("POST", "/v1/experiments", experimentBody, true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments/cta-test/start", "", true, http.StatusOK)

	anon := "0b7e3c1d-5a6f-4e2b-9c8d-1f2e3d4c5b6a"
	seen := a.mustDo("POST", "/v1/assign", `{"experiment":"cta-test","user":"`+anon+`"}`, false, http.StatusOK).Body["variant"]
	// A user id the hash puts in the other arm, so that keeping the
	// anonymous variant is identify's doing.
	var exp refx.Experiment
	if err := json.Unmarshal([]byte(a.mustDo("GET", "/v1/experiments/cta-test", "", true, http.StatusOK).Raw), &exp); err != nil {
		t.Fatal(err)
	}
	user := ""
	for i := 0; user == "" && i < 1000; i++ {
		if v, ok := exp.Bucket(fmt.Sprintf("member-%d", i)); ok && v.Key != seen {
			user = fmt.Sprintf("member-%d", i)
		}
	}
	body := `{"anonymous":"` + anon + `","user":"` + user + `"}`
	res := a.mustDo("POST", "/v1/identify", body, false, http.StatusOK)
	links, _ := res.Body["assignments"].([]any)
	if len(links) != 1 {
		t.Fatalf("identify = %s", res.Raw)
	}
	link := links[0].(map[string]any)
	if link["experiment"] != "cta-test" || link["variant"] != seen || link["status"] != "linked" {
		t.Fatalf("link = %v, want cta-test %v linked", link, seen)
	}
	got := a.mustDo("POST", "/v1/assign", `{"experiment":"cta-test","user":"`+user+`"}`, false, http.StatusOK)
	if got.Body["variant"] != seen || got.Body["enrolled"] != false {
		t.Fatalf("the user's assignment after identify = %s, want %v, not enrolled", got.Raw, seen)
	}
	if again := a.mustDo("POST", "/v1/identify", body, false, http.StatusOK); again.Raw != res.Raw {
		t.Fatalf("repeated identify = %s, want %s", again.Raw, res.Raw)
	}
}

func TestIdentifyBadInput(t *testing.T) {
	t.Parallel()
	h := (&httpapi.Server{Keyless: true}).Handler(httpapi.AllRoutes)
	long := strings.Repeat("u", 257)
	tests := []struct{ name, body, field string }{
		{"Empty", ``, ""},
		{"Malformed", `{"anonymous":`, ""},
		{"UnknownField", `{"anonymous":"a","user":"b","experiment":"x"}`, "experiment"},
		{"NoAnonymous", `{"user":"b"}`, "anonymous"},
		{"NoUser", `{"anonymous":"a"}`, "user"},
		{"Same", `{"anonymous":"a","user":"a"}`, "user"},
		{"LongUser", `{"anonymous":"a","user":"` + long + `"}`, "user"},
		{"ControlChar", `{"anonymous":"a\u0007","user":"b"}`, "anonymous"},
		{"WrongType", `{"anonymous":"a","user":7}`, "user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/identify", strings.NewReader(tt.body)))
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"field":"`+tt.field+`"`) && tt.field != "" {
				t.Fatalf("= %d %s, want 400 with field %q", rec.Code, rec.Body, tt.field)
			}
		})
	}
}
