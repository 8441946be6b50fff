package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/httpapi"
)

// TestCodesAndChannels: a vanity code requested through POST /v1/referrals,
// refused ones with clear 400s and a 409, links opened through three
// channels, the referees' signups and a purchase, and what that gives in
// the results' channels, the code's stats and the leaderboard.
func TestCodesAndChannels(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.mustDo("POST", "/v1/experiments", referralExperiment, true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments/give-get/start", "", true, http.StatusOK)

	jane := a.mustDo("POST", "/v1/referrals", `{"experiment":"give-get","referrer":"jane","code":"jane10"}`, false, http.StatusOK)
	token, _ := jane.Body["stats_token"].(string)
	if jane.Body["code"] != "JANE10" || jane.Body["url"] != a.URL+"/r/JANE10" || token == "" {
		t.Fatalf("vanity link = %s", jane.Raw)
	}
	for _, tc := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"experiment":"give-get","referrer":"bob","code":"JANE10"}`, http.StatusConflict, "conflict"},
		{`{"experiment":"give-get","referrer":"bob","code":"admin"}`, http.StatusBadRequest, "invalid_argument"},
		{`{"experiment":"give-get","referrer":"bob","code":"fuck-you"}`, http.StatusBadRequest, "invalid_argument"},
		{`{"experiment":"give-get","referrer":"bob","code":"no spaces"}`, http.StatusBadRequest, "invalid_argument"},
		{`{"experiment":"give-get","referrer":"bob","code":"AB"}`, http.StatusBadRequest, "invalid_argument"},
	} {
		res := a.do("POST", "/v1/referrals", tc.body, false)
		if res.Status != tc.status || res.errorCode() != tc.code || res.errorField() != "code" {
			t.Errorf("%s = %d %s, want %d %s on field code", tc.body, res.Status, res.Raw, tc.status, tc.code)
		}
	}
	if res := a.do("POST", "/v1/referrals", `{"experiment":"give-get","referrer":"bob","code":"JANE10"}`, false); !strings.Contains(res.Raw, "code_taken") {
		t.Errorf("taken = %s, want code_taken", res.Raw)
	}
	bob := a.mustDo("POST", "/v1/referrals", `{"experiment":"give-get","referrer":"bob"}`, false, http.StatusOK)

	secret := a.mustKey("secret")
	// Three visitors open jane's link (lower case, as typed) through email,
	// WhatsApp (utm_source only) and no channel; one opens bob's by email.
	visit := func(path, referee string, buy bool) {
		t.Helper()
		browser := noRedirects(t)
		res, err := browser.Get(a.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), "https://shop.example/welcome?ref=") {
			t.Fatalf("%s: %d Location %q", path, res.StatusCode, res.Header.Get("Location"))
		}
		code := strings.TrimPrefix(res.Header.Get("Location"), "https://shop.example/welcome?ref=")
		var visitor string
		for _, c := range res.Cookies() {
			if c.Name == httpapi.VisitorCookie {
				visitor = c.Value
			}
		}
		// The shop's backend reports the signup with the referee's own
		// address: every visitor here comes from 127.0.0.1, which the
		// repeated-IP guard would flag.
		body := fmt.Sprintf(`{"referee":%q,"visitor":%q,"ip":"192.0.2.%d"}`, referee, visitor, len(referee))
		if res := a.doKey("POST", "/v1/referrals/"+code+"/signups", body, secret); res.Status != http.StatusOK || res.Body["status"] != "attributed" {
			t.Fatalf("signup of %s: %d %s", referee, res.Status, res.Raw)
		}
		if buy {
			a.mustDo("POST", "/v1/events", fmt.Sprintf(`{"id":"%s","type":"purchase","user":"%s","value":40}`, uuidFor(referee), referee), false, http.StatusAccepted)
		}
	}
	visit("/r/jane10?channel=Email&utm_source=newsletter&utm_medium=email&utm_campaign=spring", "r-email", true)
	visit("/r/JANE10?utm_source=whatsapp&utm_campaign="+strings.Repeat("x", 100), "r-whatsapp", false)
	visit("/r/JANE10", "r-direct", false)
	visit("/r/"+bob.Body["code"].(string)+"?channel=carrier-pigeon", "r-bob", false)

	results := a.mustDo("GET", "/v1/experiments/give-get/results", "", true, http.StatusOK)
	var parsed struct {
		Variants []struct {
			Key      string `json:"key"`
			Referral struct {
				Channels map[string]struct {
					Clicks, Signups, Conversions int64
					Value                        json.Number
				} `json:"channels"`
			} `json:"referral"`
		} `json:"variants"`
	}
	if err := json.Unmarshal([]byte(results.Raw), &parsed); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, v := range parsed.Variants {
		for ch, c := range v.Referral.Channels {
			got[v.Key+"/"+ch] = fmt.Sprintf("%d %d %d %s", c.Clicks, c.Signups, c.Conversions, c.Value)
		}
	}
	jv, bv := jane.Body["variant"].(string), bob.Body["variant"].(string)
	want := map[string]string{jv + "/email": "1 1 1 40", jv + "/whatsapp": "1 1 0 0", jv + "/direct": "1 1 0 0", bv + "/other": "1 1 0 0"}
	if jv == bv {
		want[jv+"/other"] = want[bv+"/other"]
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("channels = %v, want %v", got, want)
	}

	t.Run("Stats", func(t *testing.T) {
		client := a.mustKey("client", "https://shop.example")
		path := "/v1/referrals/jane10/stats"
		for name, tc := range map[string]struct {
			query, key string
			headers    []string
			status     int
		}{
			"NoToken":     {"", "", nil, http.StatusUnauthorized},
			"ClientKey":   {"", client, nil, http.StatusUnauthorized},
			"WrongToken":  {"", "", []string{"Authorization", "Bearer " + bob.Body["stats_token"].(string)}, http.StatusForbidden},
			"WrongQuery":  {"?token=rst_nope", "", nil, http.StatusForbidden},
			"BearerToken": {"", "", []string{"Authorization", "Bearer " + token}, http.StatusOK},
			"QueryToken":  {"?token=" + token, "", nil, http.StatusOK},
			"SecretKey":   {"", secret, nil, http.StatusOK},
		} {
			t.Run(name, func(t *testing.T) {
				res := a.doKey("GET", path+tc.query, "", tc.key, tc.headers...)
				if res.Status != tc.status {
					t.Fatalf("%d %s, want %d", res.Status, res.Raw, tc.status)
				}
				if tc.status != http.StatusOK {
					return
				}
				if res.Body["clicks"] != 3.0 || res.Body["signups"] != 3.0 || res.Body["conversions"] != 1.0 || res.Body["value"] != 40.0 {
					t.Fatalf("stats = %s", res.Raw)
				}
				if ch := res.Body["channels"].(map[string]any)["email"].(map[string]any); ch["conversions"] != 1.0 {
					t.Fatalf("email channel = %v", ch)
				}
			})
		}
	})
	t.Run("Leaderboard", func(t *testing.T) {
		board := a.mustDo("GET", "/v1/experiments/give-get/leaderboard?by=signups&limit=5", "", true, http.StatusOK)
		entries := board.Body["entries"].([]any)
		first := entries[0].(map[string]any)
		if len(entries) != 2 || first["referrer"] != "jane" || first["code"] != "JANE10" || first["signups"] != 3.0 {
			t.Fatalf("leaderboard = %s", board.Raw)
		}
		if res := a.do("GET", "/v1/experiments/give-get/leaderboard?by=clicks", "", true); res.Status != http.StatusBadRequest || res.errorField() != "by" {
			t.Fatalf("by=clicks = %d %s", res.Status, res.Raw)
		}
		if res := a.do("GET", "/v1/experiments/give-get/leaderboard?limit=1000", "", true); res.Status != http.StatusBadRequest || res.errorField() != "limit" {
			t.Fatalf("limit=1000 = %d %s", res.Status, res.Raw)
		}
		a.mustDo("GET", "/v1/experiments/give-get/leaderboard", "", false, http.StatusUnauthorized)
	})
	t.Run("AdminCode", func(t *testing.T) {
		at := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		res := a.mustDo("POST", "/v1/codes", `{"experiment":"give-get","referrer":"vip","code":"VIP-2026","expires_at":"`+at+`"}`, true, http.StatusOK)
		if res.Body["code"] != "VIP-2026" || res.Body["expires_at"] != at {
			t.Fatalf("admin code = %s", res.Raw)
		}
		if res := a.do("POST", "/v1/codes", `{"experiment":"give-get","referrer":"vip2","code":"VIP-2026"}`, true); res.Status != http.StatusConflict {
			t.Fatalf("taken = %d %s", res.Status, res.Raw)
		}
		if res := a.do("POST", "/v1/referrals", `{"experiment":"give-get","referrer":"vip3","expires_at":"`+at+`"}`, false); res.Status != http.StatusBadRequest {
			t.Fatalf("a referrer's expires_at = %d %s, want 400", res.Status, res.Raw)
		}
	})
}

// uuidFor is a stable event id per name.
func uuidFor(name string) string {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 1099511628211
	}
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(h>>32), h&0xffffffffffff)
}
