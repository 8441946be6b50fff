package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/httpapi"
)

const referralExperiment = `{"id":"give-get","variants":[{"key":"control","weight":50,"payload":{"offer":"$10"}},
{"key":"pct","weight":50,"payload":{"offer":"20%"}}],"goals":[{"key":"signup","kind":"binomial"}],
"referral":{"landing_url":"https://shop.example/welcome","conversion_goal":"purchase"}}`

// noRedirects is a client with a cookie jar that stops at the first redirect,
// like a browser's view of one hop.
func noRedirects(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestReferralLinks(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.mustDo("POST", "/v1/experiments", referralExperiment, true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments/give-get/start", "", true, http.StatusOK)
	link := a.mustLink("give-get", "alice")
	code := link.Body["code"].(string)
	if link.Body["url"] != a.URL+"/r/"+code || link.Body["payload"] == nil {
		t.Fatalf("link = %s", link.Raw)
	}
	if again := a.mustDo("POST", "/v1/referrals", `{"experiment":"give-get","referrer":"alice"}`, false, http.StatusOK); again.Body["code"] != code {
		t.Fatalf("second link = %s, want code %s", again.Raw, code)
	}

	browser := noRedirects(t)
	var visitor string
	for visit := range 2 {
		res, err := browser.Get(a.URL + "/r/" + code)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "https://shop.example/welcome?ref="+code {
			t.Fatalf("visit %d: %d Location %q", visit, res.StatusCode, res.Header.Get("Location"))
		}
		cookies := res.Cookies()
		switch {
		case visit == 0 && (len(cookies) != 1 || cookies[0].Name != httpapi.VisitorCookie || !cookies[0].HttpOnly):
			t.Fatalf("first visit cookies = %v, want the visitor cookie", cookies)
		case visit == 0:
			visitor = cookies[0].Value
		case len(cookies) != 0:
			t.Fatalf("second visit set cookies again: %v", cookies)
		}
	}
	if visitor == "" {
		t.Fatal("no visitor id")
	}
	for _, path := range []string{"/r/ZZZZZZZZ", "/r/not-a-code"} {
		res, err := browser.Get(a.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/r" {
			t.Fatalf("%s: %d Location %q, want the fallback", path, res.StatusCode, res.Header.Get("Location"))
		}
	}
	fallback, err := http.Get(a.URL + "/r")
	if err != nil {
		t.Fatal(err)
	}
	fallback.Body.Close()
	if fallback.StatusCode != http.StatusOK || !strings.HasPrefix(fallback.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("fallback page: %d %s", fallback.StatusCode, fallback.Header.Get("Content-Type"))
	}

	if info := a.mustDo("GET", "/v1/referrals/"+code, "", false, http.StatusOK); info.Body["valid"] != true || info.Body["payload"] == nil {
		t.Fatalf("code info = %s", info.Raw)
	}
	if info := a.mustDo("GET", "/v1/referrals/ZZZZZZZZ", "", false, http.StatusOK); info.Body["valid"] != false {
		t.Fatalf("unknown code info = %s", info.Raw)
	}

	// The referee signs up on the landing page: the browser's cookie goes
	// along, so the click is found.
	req, _ := http.NewRequest("POST", a.URL+"/v1/events", strings.NewReader(
		`{"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"signup","user":"carol","referral_code":"`+code+`"}`))
	res, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var signup struct {
		Status      string `json:"status"`
		Attribution struct {
			Status string `json:"status"`
		} `json:"attribution"`
	}
	json.NewDecoder(res.Body).Decode(&signup)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted || signup.Attribution.Status != "attributed" {
		t.Fatalf("signup event: %d %+v", res.StatusCode, signup)
	}
	dup := a.mustDo("POST", "/v1/referrals/"+code+"/signups", `{"referee":"carol"}`, false, http.StatusOK)
	if dup.Body["status"] != "duplicate" {
		t.Fatalf("signup again = %s", dup.Raw)
	}
	self := a.mustDo("POST", "/v1/referrals/"+code+"/signups", `{"referee":"alice"}`, false, http.StatusOK)
	if self.Body["status"] != "refused" {
		t.Fatalf("self-referral = %s", self.Raw)
	}
	purchase := a.mustDo("POST", "/v1/events", `{"id":"11111111-2222-4333-8444-555555555555","type":"purchase","user":"carol","value":25}`, false, http.StatusAccepted)
	if !strings.Contains(purchase.Raw, `"referrer":"alice"`) {
		t.Fatalf("purchase = %s", purchase.Raw)
	}

	results := a.mustDo("GET", "/v1/experiments/give-get/results", "", true, http.StatusOK)
	variant := link.Body["variant"].(string)
	var parsed struct {
		Variants []struct {
			Key      string `json:"key"`
			Referral struct {
				Referrers        int64            `json:"referrers"`
				SharingReferrers int64            `json:"sharing_referrers"`
				Clicks           int64            `json:"clicks"`
				UniqueVisitors   int64            `json:"unique_visitors"`
				Signups          int64            `json:"signups"`
				Conversions      int64            `json:"conversions"`
				ConversionValue  json.Number      `json:"conversion_value"`
				Refused          map[string]int64 `json:"refused"`
			} `json:"referral"`
		} `json:"variants"`
	}
	if err := json.Unmarshal([]byte(results.Raw), &parsed); err != nil {
		t.Fatal(err)
	}
	checked := false
	for _, v := range parsed.Variants {
		if v.Key != variant {
			continue
		}
		checked = true
		r := v.Referral
		if r.Referrers != 1 || r.SharingReferrers != 1 || r.Clicks != 1 || r.UniqueVisitors != 1 || r.Signups != 1 ||
			r.Conversions != 1 || r.ConversionValue != "25" || r.Refused["self_referral"] != 1 {
			t.Fatalf("referral results = %s", results.Raw)
		}
	}
	if !checked {
		t.Fatalf("no results for variant %s: %s", variant, results.Raw)
	}
	referees := a.mustDo("GET", "/v1/referrers/alice/referrals", "", true, http.StatusOK)
	if !strings.Contains(referees.Raw, `"referee":"carol"`) {
		t.Fatalf("alice's referrals = %s", referees.Raw)
	}
}
