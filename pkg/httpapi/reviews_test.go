package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/refx"
)

// TestBlocksAndReviews drives the review and block routes as an admin and
// a landing page see them: a blocked code's link leads to the fallback and
// its code is not valid, its signups are refused (blocked); a flagged
// signup is queued, approved once, and a contrary decision is a conflict.
func TestBlocksAndReviews(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.mustDo("POST", "/v1/experiments", referralExperiment, true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments/give-get/start", "", true, http.StatusOK)
	code := a.mustDo("POST", "/v1/referrals", `{"experiment":"give-get","referrer":"alice"}`, false, http.StatusOK).Body["code"].(string)
	other := a.mustDo("POST", "/v1/referrals", `{"experiment":"give-get","referrer":"bob"}`, false, http.StatusOK).Body["code"].(string)

	// Blocks.
	block := a.mustDo("POST", "/v1/blocks", `{"code":"`+code+`","reason":"coupon site"}`, true, http.StatusCreated)
	if block.Body["kind"] != "code" || block.Body["id"] != code {
		t.Fatalf("block = %s", block.Raw)
	}
	res, err := noRedirects(t).Get(a.URL + "/r/" + code)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/r" {
		t.Fatalf("blocked link: %d Location %q, want the fallback", res.StatusCode, res.Header.Get("Location"))
	}
	if info := a.mustDo("GET", "/v1/referrals/"+code, "", false, http.StatusOK); info.Body["valid"] != false {
		t.Fatalf("blocked code info = %s", info.Raw)
	}
	if s := a.mustDo("POST", "/v1/referrals/"+code+"/signups", `{"referee":"carol"}`, false, http.StatusOK); s.Body["status"] != "refused" || s.Body["reasons"].([]any)[0] != "blocked" {
		t.Fatalf("signup through a blocked code = %s", s.Raw)
	}
	if list := a.mustDo("GET", "/v1/blocks", "", true, http.StatusOK); len(list.Body["blocks"].([]any)) != 1 {
		t.Fatalf("blocks = %s", list.Raw)
	}
	a.mustDo("POST", "/v1/blocks", `{"code":"`+code+`","referrer":"alice"}`, true, http.StatusBadRequest)
	a.mustDo("POST", "/v1/blocks", `{"referrer":""}`, true, http.StatusBadRequest)
	mustDelete(t, a, "/v1/blocks/ip/1.2.3.4", http.StatusNotFound)
	mustDelete(t, a, "/v1/blocks/code/"+code, http.StatusNoContent)
	mustDelete(t, a, "/v1/blocks/code/"+code, http.StatusNotFound)
	if info := a.mustDo("GET", "/v1/referrals/"+code, "", false, http.StatusOK); info.Body["valid"] != true {
		t.Fatalf("code info after the block was lifted = %s", info.Raw)
	}

	// Reviews.
	// Two signups from one address through bob's code: the second is
	// flagged repeated_ip.
	secret := a.mustKey("secret")
	a.doKey("POST", "/v1/referrals/"+other+"/signups", `{"referee":"dave","ip":"203.0.113.9"}`, secret)
	flagged := a.doKey("POST", "/v1/referrals/"+other+"/signups", `{"referee":"erin","ip":"203.0.113.9"}`, secret)
	if flagged.Body["status"] != "flagged" {
		t.Fatalf("second signup from one address = %s", flagged.Raw)
	}
	queue := a.mustDo("GET", "/v1/reviews?experiment=give-get", "", true, http.StatusOK)
	if refs := queue.Body["referrals"].([]any); len(refs) != 1 || refs[0].(map[string]any)["referee"] != "erin" {
		t.Fatalf("queue = %s", queue.Raw)
	}
	a.mustDo("GET", "/v1/reviews", "", true, http.StatusBadRequest)
	approved := a.mustDo("POST", "/v1/reviews/erin/approve", `{"note":"household"}`, true, http.StatusOK)
	if approved.Body["status"] != "attributed" || approved.Body["review"].(map[string]any)["note"] != "household" {
		t.Fatalf("approved = %s", approved.Raw)
	}
	a.mustDo("POST", "/v1/reviews/erin/approve", `{"note":"household"}`, true, http.StatusOK) // retried
	a.mustDo("POST", "/v1/reviews/erin/reject", "", true, http.StatusConflict)
	a.mustDo("POST", "/v1/reviews/nobody/reject", "", true, http.StatusNotFound)
	a.mustDo("POST", "/v1/reviews/dave/approve", "", true, http.StatusConflict) // never flagged
	a.mustDo("POST", "/v1/reviews/dave/reject", `{"note":"x","extra":1}`, true, http.StatusBadRequest)
	if rejected := a.mustDo("POST", "/v1/reviews/dave/reject", `{"note":"fraud found later"}`, true, http.StatusOK); rejected.Body["status"] != "rejected" {
		t.Fatalf("rejected = %s", rejected.Raw)
	}
	if queue := a.mustDo("GET", "/v1/reviews?experiment=give-get", "", true, http.StatusOK); len(queue.Body["referrals"].([]any)) != 0 {
		t.Fatalf("queue after the decisions = %s", queue.Raw)
	}
}

// mustDelete sends an admin DELETE, whose answer may have no body.
func mustDelete(t *testing.T, a *api, path string, status int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodDelete, a.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	res, err := a.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != status {
		t.Fatalf("DELETE %s = %d, want %d", path, res.StatusCode, status)
	}
}

// mustFlaggedSignups starts referral experiment exp and signs referees up
// through one code without an address: each is flagged ip_missing.
func mustFlaggedSignups(tb testing.TB, store *dynamo.Store, exp string, referees ...string) {
	tb.Helper()
	ctx := context.Background()
	e, err := refx.NewExperiment{ID: exp, Name: "Review", Owner: "growth",
		Variants: []refx.Variant{{Key: "control", Weight: 50}, {Key: "double", Weight: 50}},
		Goals:    []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial}},
		Referral: &refx.ReferralConfig{LandingURL: "https://shop.example/welcome"}}.Build(time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	if err := store.CreateExperiment(ctx, e); err != nil {
		tb.Fatal(err)
	}
	if _, err := store.SetStatus(ctx, e.ID, refx.StatusRunning); err != nil {
		tb.Fatal(err)
	}
	link, err := store.CreateReferral(ctx, exp, "flag-referrer")
	if err != nil {
		tb.Fatal(err)
	}
	for _, referee := range referees {
		if res, err := store.Attribute(ctx, refx.Signup{Code: link.Code, Referee: referee}); err != nil || res.Status != refx.AttributionFlagged {
			tb.Fatalf("signup %s = %+v, %v", referee, res, err)
		}
	}
}
