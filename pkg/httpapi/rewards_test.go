package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/refx"
)

// mustHeldRewards starts a referral experiment exp whose offer pays the
// referrer 10 USD and the referee 5 USD on signup, each held 14 days,
// signs referee up through referrer's link and counts the stream: it
// returns the ids of the two pending rewards.
func mustHeldRewards(tb testing.TB, store *dynamo.Store, exp, referrer, referee string) (referrerReward, refereeReward string) {
	tb.Helper()
	ctx := context.Background()
	plan := &refx.RewardPlan{
		Referrer: &refx.RewardRule{Amount: "10", Currency: "USD", On: refx.RewardOnSignup, HoldDays: 14},
		Referee:  &refx.RewardRule{Amount: "5", Currency: "USD", On: refx.RewardOnSignup, HoldDays: 14},
	}
	e, err := refx.NewExperiment{ID: exp, Name: "Give 10 get 5", Owner: "growth",
		Variants: []refx.Variant{{Key: "control", Weight: 50, Rewards: plan}, {Key: "double", Weight: 50, Rewards: plan}},
		Goals:    []refx.Goal{{Key: "purchase", Kind: refx.GoalValue}},
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
	link, err := store.CreateReferral(ctx, exp, referrer)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := store.Attribute(ctx, refx.Signup{Code: link.Code, Referee: referee, IPHash: "ip-" + referee})
	if err != nil || res.Status != refx.AttributionAttributed {
		tb.Fatalf("signup = %+v, %v", res, err)
	}
	dynamotest.MustCount(tb, store)
	q := refx.SignupQualifying(referee)
	return refx.RewardID(q, refx.RewardReferrer), refx.RewardID(q, refx.RewardReferee)
}

func TestRewardRoutes(t *testing.T) {
	t.Parallel()
	a := mustRolesAPI(t)
	mine, theirs := mustHeldRewards(t, a.store, "give-get", "alice", "rita")
	viewer := a.mustAdminKey("vic", refx.RoleViewer)
	editor := a.mustAdminKey("eda", refx.RoleEditor)
	secret := a.mustDo("POST", "/v1/keys", `{"kind":"secret","name":"shop backend"}`, true, http.StatusCreated)
	secretToken, _ := secret.Body["key"].(string)
	secretID, _ := secret.Body["id"].(string)

	t.Run("Read", func(t *testing.T) {
		res := a.as(viewer.token, "GET", "/v1/rewards?status=pending&experiment=give-get", "")
		rewards, _ := res.Body["rewards"].([]any)
		if res.Status != http.StatusOK || len(rewards) != 2 {
			t.Fatalf("pending = %d %s", res.Status, res.Raw)
		}
		res = a.as(viewer.token, "GET", "/v1/rewards?beneficiary=alice", "")
		if rewards, _ = res.Body["rewards"].([]any); len(rewards) != 1 || rewards[0].(map[string]any)["id"] != mine {
			t.Fatalf("alice's = %s", res.Raw)
		}
		res = a.as(viewer.token, "GET", "/v1/rewards/"+mine, "")
		if res.Status != http.StatusOK || res.Body["amount"] != "10" || res.Body["currency"] != "USD" || res.Body["hold_until"] == nil {
			t.Fatalf("reward = %d %s", res.Status, res.Raw)
		}
		for _, c := range []struct{ path, code, field string }{
			{"/v1/rewards/not!an!id", refx.EINVALID, "id"},
			{"/v1/rewards/" + refx.RewardID(refx.EventQualifying("nope"), refx.RewardReferee), refx.ENOTFOUND, ""},
			{"/v1/rewards?status=paid", refx.EINVALID, "status"},
			{"/v1/rewards?limit=0", refx.EINVALID, "limit"},
			{"/v1/rewards?cursor=junk", refx.EINVALID, "cursor"},
		} {
			res := a.as(viewer.token, "GET", c.path, "")
			if res.errorCode() != c.code || res.errorField() != c.field {
				t.Errorf("GET %s = %d %s, want %s field %q", c.path, res.Status, res.Raw, c.code, c.field)
			}
		}
		link, err := a.store.CreateReferral(context.Background(), "give-get", "alice")
		if err != nil {
			t.Fatal(err)
		}
		res = a.do("GET", "/v1/referrals/"+link.Code, "", false)
		if plan, _ := res.Body["rewards"].(map[string]any); plan["referrer"] == nil || plan["referee"] == nil {
			t.Fatalf("code info = %s, want the offer's rewards", res.Raw)
		}
		if res := a.as(viewer.token, "POST", "/v1/rewards/"+mine+"/approve", ""); res.Status != http.StatusForbidden {
			t.Fatalf("viewer's approve = %d %s", res.Status, res.Raw)
		}
	})

	t.Run("Moves", func(t *testing.T) {
		for _, step := range []struct {
			token, action, body string
			status              int
			want                string // the status after, the error field, or what a conflict says
		}{
			{editor.token, "issue", `{"reference":"po-1"}`, http.StatusConflict, "issue moves a reward that is approved"}, // still pending
			{editor.token, "approve", "", http.StatusOK, refx.RewardApproved},
			{editor.token, "approve", "", http.StatusOK, refx.RewardApproved}, // a retry: unchanged
			{editor.token, "issue", "", http.StatusBadRequest, "reference"},
			{editor.token, "issue", `{"reference":"po-1","surprise":1}`, http.StatusBadRequest, "surprise"},
			{secretToken, "issue", `{"reference":"po-1"}`, http.StatusOK, refx.RewardIssued},
			{secretToken, "issue", `{"reference":"po-1"}`, http.StatusOK, refx.RewardIssued},
			{secretToken, "issue", `{"reference":"po-2"}`, http.StatusConflict, "another reference (po-1)"},
			{editor.token, "reject", "", http.StatusConflict, "reject moves a reward that is pending or approved"},
			{secretToken, "reject", "", http.StatusUnauthorized, ""}, // only admins reject
			{secretToken, "reverse", `{"note":"chargeback"}`, http.StatusOK, refx.RewardReversed},
		} {
			res := a.as(step.token, "POST", "/v1/rewards/"+mine+"/"+step.action, step.body)
			switch {
			case res.Status != step.status:
				t.Fatalf("%s %s = %d %s, want %d", step.action, step.body, res.Status, res.Raw, step.status)
			case step.status == http.StatusOK && res.Body["status"] != step.want:
				t.Fatalf("%s = %s, want status %s", step.action, res.Raw, step.want)
			case step.status == http.StatusBadRequest && res.errorField() != step.want:
				t.Fatalf("%s %s = %s, want field %s", step.action, step.body, res.Raw, step.want)
			case step.status == http.StatusConflict && !strings.Contains(res.Raw, step.want):
				t.Fatalf("%s = %s: the conflict should say %q", step.action, res.Raw, step.want)
			}
		}
		res := a.as(viewer.token, "GET", "/v1/rewards/"+mine, "")
		by, _ := res.Body["by"].(map[string]any)
		if res.Body["issued_ref"] != "po-1" || res.Body["reason"] != "chargeback" || by["id"] != "secret:"+secretID {
			t.Fatalf("after the moves: %s", res.Raw)
		}
		if res := a.as(editor.token, "POST", "/v1/rewards/"+theirs+"/reject", `{"note":"fraud"}`); res.Body["status"] != refx.RewardRejected {
			t.Fatalf("reject = %s", res.Raw)
		}
	})
}

// TestRewardPlanValidation: a bad reward plan is refused with the field
// naming the variant, the role and the attribute.
func TestRewardPlanValidation(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	const tmpl = `{"id":"plan-%s","name":"Plan","owner":"growth","referral":{"landing_url":"https://shop.example/"},"goals":[{"key":"purchase","kind":"value"}],
		"variants":[{"key":"control","weight":50,"rewards":{"referrer":RULE}},{"key":"double","weight":50}]}`
	for _, c := range []struct{ name, rule, field string }{
		{"UnknownCurrency", `{"amount":"10","currency":"XYZ","on":"signup"}`, "variants.control.rewards.referrer.currency"},
		{"LowercaseCurrency", `{"amount":"10","currency":"usd","on":"signup"}`, "variants.control.rewards.referrer.currency"},
		{"NegativeAmount", `{"amount":"-10","currency":"USD","on":"signup"}`, "variants.control.rewards.referrer.amount"},
		{"ZeroAmount", `{"amount":"0","currency":"USD","on":"signup"}`, "variants.control.rewards.referrer.amount"},
		{"CentsOfYen", `{"amount":"10.5","currency":"JPY","on":"signup"}`, "variants.control.rewards.referrer.amount"},
		{"AmountAndPercent", `{"amount":"10","percent":"5","currency":"USD","on":"purchase"}`, "variants.control.rewards.referrer.amount"},
		{"Neither", `{"currency":"USD","on":"signup"}`, "variants.control.rewards.referrer.amount"},
		{"PercentOver100", `{"percent":"100.5","currency":"USD","on":"purchase"}`, "variants.control.rewards.referrer.percent"},
		{"PercentOfSignup", `{"percent":"10","currency":"USD","on":"signup"}`, "variants.control.rewards.referrer.percent"},
		{"UnknownOn", `{"amount":"10","currency":"USD","on":"checkout"}`, "variants.control.rewards.referrer.on"},
		{"NegativeHold", `{"amount":"10","currency":"USD","on":"signup","hold_days":-1}`, "variants.control.rewards.referrer.hold_days"},
		{"NegativeCap", `{"amount":"10","currency":"USD","on":"signup","cap_per_month":-2}`, "variants.control.rewards.referrer.cap_per_month"},
		{"BadMinValue", `{"amount":"10","currency":"USD","on":"purchase","min_value":"lots"}`, "variants.control.rewards.referrer.min_value"},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := strings.NewReplacer("%s", strings.ToLower(c.name), "RULE", c.rule).Replace(tmpl)
			res := a.do("POST", "/v1/experiments", body, true)
			if res.Status != http.StatusBadRequest || res.errorField() != c.field {
				t.Fatalf("= %d %s, want 400 with field %s", res.Status, res.Raw, c.field)
			}
		})
	}
	t.Run("NotReferral", func(t *testing.T) {
		res := a.do("POST", "/v1/experiments", `{"id":"plain","name":"Plain","owner":"growth","goals":[{"key":"purchase","kind":"value"}],
			"variants":[{"key":"control","weight":50,"rewards":{"referee":{"amount":"1","currency":"EUR","on":"signup"}}},{"key":"b","weight":50}]}`, true)
		if res.Status != http.StatusBadRequest || res.errorField() != "variants.control.rewards" {
			t.Fatalf("= %d %s", res.Status, res.Raw)
		}
	})
	t.Run("OK", func(t *testing.T) {
		body := strings.NewReplacer("%s", "ok", "RULE", `{"percent":"12.5","currency":"EUR","on":"purchase","min_value":"20","hold_days":14,"cap_per_month":5,"cap_lifetime":50}`).Replace(tmpl)
		res := a.mustDo("POST", "/v1/experiments", body, true, http.StatusCreated)
		variants, _ := res.Body["variants"].([]any)
		rewards, _ := variants[0].(map[string]any)["rewards"].(map[string]any)
		if rule, _ := rewards["referrer"].(map[string]any); rule["percent"] != "12.5" || rule["cap_lifetime"] != float64(50) {
			t.Fatalf("stored plan = %s", res.Raw)
		}
	})
}
