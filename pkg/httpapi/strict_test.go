package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestOneSpelling: ids that differ only in spelling are one id. The attack
// it guards against: an upper-case copy of a purchase's UUID counted the
// purchase again. Likewise a user id sent decomposed (NFD) is the user who
// was assigned composed (NFC), in events and in assignment.
func TestOneSpelling(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.mustDo("POST", "/v1/experiments", experimentBody, true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments/cta-test/start", "", true, http.StatusOK)
	const composed, decomposed = "Jos\u00e9", "Jose\u0301"
	variant := a.mustDo("POST", "/v1/assign", `{"experiment":"cta-test","user":"`+composed+`"}`, false, http.StatusOK).Body["variant"]
	again := a.mustDo("POST", "/v1/assign", `{"experiment":"cta-test","user":"Jose\u0301"}`, false, http.StatusOK)
	if again.Body["variant"] != variant || again.Body["enrolled"] == true {
		t.Fatalf("assign of the NFD spelling = %s, want the NFC user's variant %v, not a new enrollment", again.Raw, variant)
	}

	const id = "6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90"
	event := func(id, user string) string {
		return `{"id":"` + id + `","type":"purchase","user":"` + user + `","value":12.5}`
	}
	rec := a.mustDo("POST", "/v1/events", event(id, decomposed), false, http.StatusAccepted)
	if rec.Body["status"] != "recorded" || rec.Body["id"] != id {
		t.Fatalf("event = %s", rec.Raw)
	}
	for _, tt := range []struct{ name, body string }{
		{"UpperCaseID", event(strings.ToUpper(id), decomposed)},
		{"MixedCaseID", event(strings.ToUpper(id[:18])+id[18:], decomposed)},
		{"UpperCaseIDComposedUser", event(strings.ToUpper(id), composed)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dup := a.mustDo("POST", "/v1/events", tt.body, false, http.StatusOK)
			if dup.Body["status"] != "duplicate" || dup.Body["id"] != id {
				t.Fatalf("retry = %s, want a duplicate of %s", dup.Raw, id)
			}
		})
	}
	batch := `{"events":[` + event(strings.ToUpper(id), composed) + `]}`
	if got := a.mustDo("POST", "/v1/events:batch", batch, false, http.StatusOK); !strings.Contains(got.Raw, `"status":"duplicate"`) {
		t.Fatalf("batch = %s, want the upper-case id a duplicate", got.Raw)
	}

	// Counted once, for the assigned user's variant.
	res := a.mustDo("GET", "/v1/experiments/cta-test/results", "", true, http.StatusOK)
	var shaped struct {
		Variants []struct {
			Key   string `json:"key"`
			Goals map[string]struct {
				Users    int64       `json:"users"`
				Events   int64       `json:"events"`
				ValueSum json.Number `json:"value_sum"`
			} `json:"goals"`
		} `json:"variants"`
	}
	if err := json.Unmarshal([]byte(res.Raw), &shaped); err != nil {
		t.Fatal(err)
	}
	for _, v := range shaped.Variants {
		p := v.Goals["purchase"]
		wantEvents, wantSum := int64(0), json.Number("0")
		if v.Key == variant {
			wantEvents, wantSum = 1, "12.5"
		}
		if p.Events != wantEvents || p.Users != wantEvents || p.ValueSum != wantSum {
			t.Fatalf("purchase results for %s = %+v; the purchase must count once, for %v", v.Key, p, variant)
		}
	}
}

// TestLamedOneSpelling: a Lamed experiment tracked under one spelling of its
// name is listed, scoped and deleted under another.
func TestLamedOneSpelling(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	call := func(method, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, a.URL+path, nil)
		req.Header.Set("x-api-key", adminKey)
		res, err := a.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	// "café" composed in the namespace and the name; decomposed below.
	for _, event := range []string{"participate", "signup"} {
		if status, body := call("GET", "/lamed/track?namespace=caf%C3%A9&experiment=caf%C3%A9&variant=a&uuid=v1&event="+event); status != http.StatusOK {
			t.Fatalf("track = %d %s", status, body)
		}
	}
	const nfd = "cafe%CC%81"
	status, body := call("GET", "/lamed/experiments?namespace="+nfd+"&scope="+nfd)
	if status != http.StatusOK || !strings.Contains(body, `"experiment":"café","goals":[{"goal":"signup"`) {
		t.Fatalf("experiments under the NFD spelling = %d %s", status, body)
	}
	if status, body := call("DELETE", "/lamed/delete?namespace="+nfd+"&experiment="+nfd); status != http.StatusOK {
		t.Fatalf("delete = %d %s", status, body)
	}
	if _, body := call("GET", "/lamed/experiments?namespace=caf%C3%A9"); strings.Contains(body, `"experiment"`) {
		t.Fatalf("after deleting under the NFD spelling: %s", body)
	}
}
