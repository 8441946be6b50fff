package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestProgramsAPI walks the program routes and a code's life past its
// experiment: bad input refused with its field, a code shared during the
// test still redirecting and valid after the stop under the program's
// default offer, a signup and a purchase after the stop counted in the
// program's results and not the experiment's, and a ship conclusion
// changing the offer GET /v1/referrals/{code} shows.
func TestProgramsAPI(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	for _, tt := range []struct{ body, field string }{
		{`{"id":"Give Get","landing_url":"https://shop.example/invite"}`, "id"},
		{`{"id":"give-get","landing_url":"ftp://shop.example/invite"}`, "landing_url"},
		{`{"id":"give-get","landing_url":"https://shop.example/invite","default_offer":{"payload":"` + strings.Repeat("x", 5000) + `"}}`, "default_offer.payload"},
	} {
		if res := a.mustDo("POST", "/v1/programs", tt.body, true, http.StatusBadRequest); res.errorField() != tt.field {
			t.Fatalf("POST %s = %s, want an error on %s", tt.body[:40], res.Raw, tt.field)
		}
	}
	a.mustDo("POST", "/v1/programs", `{"id":"give-get","landing_url":"https://shop.example/invite","default_offer":{"payload":{"offer":"$5"}}}`, true, http.StatusCreated)
	a.mustDo("POST", "/v1/programs", `{"id":"give-get","landing_url":"https://shop.example/other"}`, true, http.StatusConflict)
	a.mustDo("PATCH", "/v1/programs/give-get", `{"version":1,"name":"Give and get"}`, true, http.StatusOK)
	a.mustDo("PATCH", "/v1/programs/give-get", `{"version":1,"name":"stale"}`, true, http.StatusConflict)
	a.mustDo("GET", "/v1/programs/missing", "", true, http.StatusNotFound)
	a.mustDo("GET", "/v1/programs/missing/results", "", true, http.StatusNotFound)
	if list := a.mustDo("GET", "/v1/programs", "", true, http.StatusOK); len(list.Body["programs"].([]any)) != 1 {
		t.Fatalf("programs = %s", list.Raw)
	}

	orphan := strings.Replace(referralExperiment, `"conversion_goal"`, `"program":"nope","conversion_goal"`, 1)
	if res := a.mustDo("POST", "/v1/experiments", orphan, true, http.StatusBadRequest); res.errorField() != "referral.program" {
		t.Fatalf("experiment of a missing program = %s", res.Raw)
	}
	a.mustDo("POST", "/v1/experiments", strings.Replace(orphan, "nope", "give-get", 1), true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments/give-get/start", "", true, http.StatusOK)
	code := a.mustLink("give-get", "alice").Body["code"].(string)
	a.mustDo("POST", "/v1/experiments/give-get/stop", "", true, http.StatusOK)

	info := a.mustDo("GET", "/v1/referrals/"+code, "", false, http.StatusOK)
	if info.Body["valid"] != true || info.Body["program"] != "give-get" || info.Body["variant"] != "default" ||
		!strings.Contains(info.Raw, `"payload":{"offer":"$5"}`) {
		t.Fatalf("code after the stop = %s", info.Raw)
	}
	res, err := noRedirects(t).Get(a.URL + "/r/" + code)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "https://shop.example/invite?ref="+code {
		t.Fatalf("link after the stop: %d Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	signup := a.mustDo("POST", "/v1/referrals/"+code+"/signups", `{"referee":"carol"}`, false, http.StatusOK)
	if !strings.Contains(signup.Raw, `"program":"give-get"`) {
		t.Fatalf("signup after the stop = %s", signup.Raw)
	}
	a.mustDo("POST", "/v1/events", `{"id":"11111111-2222-4333-8444-555555555555","type":"purchase","user":"carol","value":25}`, false, http.StatusAccepted)

	results := a.mustDo("GET", "/v1/programs/give-get/results", "", true, http.StatusOK)
	if results.Raw != `{"program":"give-get","clicks":1,"signups":1,"conversions":1,"converting_referees":1,"value":"25"}`+"\n" {
		t.Fatalf("program results = %s", results.Raw)
	}
	if exp := a.mustDo("GET", "/v1/experiments/give-get/results", "", true, http.StatusOK); strings.Contains(exp.Raw, `"signups":1`) {
		t.Fatalf("the stopped experiment counted the signup: %s", exp.Raw)
	}

	a.mustDo("POST", "/v1/experiments/give-get/conclude", `{"decision":"ship:pct"}`, true, http.StatusOK)
	info = a.mustDo("GET", "/v1/referrals/"+code, "", false, http.StatusOK)
	if info.Body["variant"] != "pct" || !strings.Contains(info.Raw, `"payload":{"offer":"20%"}`) {
		t.Fatalf("code after ship:pct = %s", info.Raw)
	}
	p := a.mustDo("GET", "/v1/programs/give-get", "", true, http.StatusOK)
	if offer := p.Body["current_offer"].(map[string]any); offer["source"] != "experiment:give-get/pct" {
		t.Fatalf("program after ship:pct = %s", p.Raw)
	}
}
