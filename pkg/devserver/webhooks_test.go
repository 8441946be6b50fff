package devserver_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/devserver"
	"github.com/refx-dev/refx/pkg/refx"
)

// TestWebhookEndToEnd: on the local stack, a signup through a referral
// code reaches the local receiver as a verified referral.attributed
// webhook, from the stream through the aggregator's reactor and the local
// queue, and the subscription's delivery log records the delivery.
func TestWebhookEndToEnd(t *testing.T) {
	stack := MustStack(t)
	post := func(path, body string, out any) {
		t.Helper()
		res, err := stack.Post(path, body)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode/100 != 2 || json.Unmarshal(raw, out) != nil {
			t.Fatalf("POST %s = %d %s", path, res.StatusCode, raw)
		}
	}
	var link refx.ReferralLink
	post("/v1/referrals", `{"experiment":"`+devserver.DemoReferralExperiment+`","referrer":"webhook-referrer"}`, &link)
	var signup refx.AttributionResult
	post("/v1/referrals/"+link.Code+"/signups", `{"referee":"webhook-referee","ip":"203.0.113.7"}`, &signup)
	if signup.Status != refx.AttributionAttributed {
		t.Fatalf("signup %+v", signup)
	}

	var got devserver.ReceivedWebhook
	deadline := time.Now().Add(60 * time.Second)
	for got.ID == "" {
		if time.Now().After(deadline) {
			t.Fatal("no referral.attributed webhook reached the local receiver")
		}
		time.Sleep(200 * time.Millisecond)
		res, err := http.Get(stack.URL + devserver.WebhookReceiverPath)
		if err != nil {
			t.Fatal(err)
		}
		var list struct{ Events []devserver.ReceivedWebhook }
		err = json.NewDecoder(res.Body).Decode(&list)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range list.Events {
			var a refx.Attribution
			if e.Event != nil && json.Unmarshal(e.Event.Data, &a) == nil && a.Referee == "webhook-referee" {
				got = e
			}
		}
	}
	if !got.Verified || got.Type != refx.EventReferralAttributed || got.Event.ID != got.ID {
		t.Fatalf("received %+v", got)
	}
	var hooks refx.WebhookPage
	adminGet(t, stack.URL, "/v1/webhooks", &hooks)
	if len(hooks.Webhooks) != 1 {
		t.Fatalf("subscriptions %+v", hooks.Webhooks)
	}
	var log refx.WebhookDeliveryPage
	adminGet(t, stack.URL, "/v1/webhooks/"+hooks.Webhooks[0].ID+"/deliveries", &log)
	// Other events (a reward of the demo's plan) may be logged too; this
	// one was delivered at its first attempt.
	var attempts []*refx.WebhookDelivery
	for _, d := range log.Deliveries {
		if d.Event == got.ID {
			attempts = append(attempts, d)
		}
	}
	if len(attempts) != 1 || !attempts[0].Delivered || attempts[0].Attempt != 1 || attempts[0].StatusCode != http.StatusNoContent {
		t.Fatalf("delivery log of %s: %+v", got.ID, attempts)
	}
}
