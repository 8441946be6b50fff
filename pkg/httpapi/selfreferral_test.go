package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestSelfReferralAddress runs the self-referral guards through the
// handler: the referrer asks for the link from one address, with an e-mail
// in another spelling than the signups'; the address compared is the
// connection's, never X-Forwarded-For, which a client writes as it likes.
func TestSelfReferralAddress(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.mustDo("POST", "/v1/experiments", referralExperiment, true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments/give-get/start", "", true, http.StatusOK)
	const referrerAddr = "198.51.100.7"

	for _, tc := range []struct {
		name, body, ip string
		status         int
		code, field    string
	}{
		{"LinkBadEmail", `{"experiment":"give-get","referrer":"alice","email":"alice at example.com"}`, referrerAddr, 400, "invalid_argument", "email"},
		{"LinkClientClaimsAnAddress", `{"experiment":"give-get","referrer":"alice","ip":"203.0.113.1"}`, referrerAddr, 403, "forbidden", "ip"},
		{"LinkLongDevice", `{"experiment":"give-get","referrer":"alice","device":"` + strings.Repeat("d", 513) + `"}`, referrerAddr, 400, "invalid_argument", "device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := a.send("POST", "/v1/referrals", tc.body, peerHeader, tc.ip+":4000")
			if res.Status != tc.status || res.errorCode() != tc.code || res.errorField() != tc.field {
				t.Fatalf("= %d %s, want %d %s field %q", res.Status, res.Raw, tc.status, tc.code, tc.field)
			}
		})
	}

	link := a.send("POST", "/v1/referrals", `{"experiment":"give-get","referrer":"alice","email":" Alice@Example.com"}`, peerHeader, referrerAddr+":4000")
	if link.Status != http.StatusOK {
		t.Fatalf("link = %d %s", link.Status, link.Raw)
	}
	for _, secret := range []string{referrerAddr, "Example.com", "hash"} {
		if strings.Contains(link.Raw, secret) {
			t.Fatalf("the link's answer shows %q of what it stores of the referrer: %s", secret, link.Raw)
		}
	}
	signups := "/v1/referrals/" + link.Body["code"].(string) + "/signups"
	for _, tc := range []struct {
		name, body, peer, forwardedFor string
		status                         int
		want                           string // the attribution's status and reasons, or the error code and field
	}{
		{"SameAddress", `{"referee":"ann"}`, referrerAddr + ":5000", "203.0.113.9", 200, "flagged [self_referral_ip]"},
		{"ForwardedForIsNotTrusted", `{"referee":"ben"}`, "192.0.2.50:5000", referrerAddr, 200, "attributed []"},
		{"SameEmail", `{"referee":"cat","email":"ALICE@example.COM "}`, "192.0.2.51:5000", "", 200, "refused [self_referral]"},
		{"OtherEmail", `{"referee":"dan","email":"dan@example.com"}`, "192.0.2.52:5000", "", 200, "attributed []"},
		{"BadEmail", `{"referee":"eve","email":"eve@"}`, "192.0.2.53:5000", "", 400, "invalid_argument email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			headers := []string{peerHeader, tc.peer}
			if tc.forwardedFor != "" {
				headers = append(headers, "X-Forwarded-For", tc.forwardedFor)
			}
			res := a.send("POST", signups, tc.body, headers...)
			got := fmt.Sprintf("%s %s", res.errorCode(), res.errorField())
			if res.Status == http.StatusOK {
				got = fmt.Sprintf("%v %v", res.Body["status"], res.Body["reasons"])
				if res.Body["reasons"] == nil {
					got = fmt.Sprintf("%v []", res.Body["status"])
				}
			}
			if res.Status != tc.status || got != tc.want {
				t.Fatalf("= %d %s (%s), want %d %s", res.Status, got, res.Raw, tc.status, tc.want)
			}
		})
	}

	// The flagged signup waits for a reviewer.
	reviews := a.mustDo("GET", "/v1/reviews?experiment=give-get", "", true, http.StatusOK)
	if queue, _ := reviews.Body["referrals"].([]any); len(queue) != 1 || queue[0].(map[string]any)["referee"] != "ann" {
		t.Fatalf("review queue = %s, want ann's signup", reviews.Raw)
	}
}
