package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/webhook"
)

// TestWebhooksAPI walks the subscription routes on a production policy:
// the secret shown once (never by a read, a listing or the audit trail),
// private and plain-http URLs refused with 400 on field url, bad events and
// stale versions refused, the delivery log readable.
func TestWebhooksAPI(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	created := a.mustDo("POST", "/v1/webhooks", `{"url":"https://93.184.215.14/hooks","events":["referral.attributed","reward.approved"],"description":"payouts"}`, true, http.StatusCreated)
	id, _ := created.Body["id"].(string)
	secret, _ := created.Body["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || !strings.HasPrefix(id, "wh_") || created.Header.Get("Location") != "/v1/webhooks/"+id {
		t.Fatalf("created %s", created.Raw)
	}
	for _, tc := range []struct {
		name, body, field string
	}{
		{"ErrLoopback", `{"url":"https://127.0.0.1/hooks","events":["reward.approved"]}`, "url"},
		{"ErrLocalhost", `{"url":"https://localhost/hooks","events":["reward.approved"]}`, "url"},
		{"ErrMetadata", `{"url":"https://169.254.169.254/latest","events":["reward.approved"]}`, "url"},
		{"ErrPrivate", `{"url":"https://192.168.1.10/hooks","events":["reward.approved"]}`, "url"},
		{"ErrHTTP", `{"url":"http://93.184.215.14/hooks","events":["reward.approved"]}`, "url"},
		{"ErrNoURL", `{"events":["reward.approved"]}`, "url"},
		{"ErrNoEvents", `{"url":"https://93.184.215.14/hooks","events":[]}`, "events"},
		{"ErrUnknownEvent", `{"url":"https://93.184.215.14/hooks","events":["reward.paid"]}`, "events"},
		{"ErrTwice", `{"url":"https://93.184.215.14/hooks","events":["reward.approved","reward.approved"]}`, "events"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := a.mustDo("POST", "/v1/webhooks", tc.body, true, http.StatusBadRequest)
			if res.errorCode() != "invalid_argument" || res.errorField() != tc.field {
				t.Fatalf("%s: %s", tc.body, res.Raw)
			}
		})
	}
	got := a.mustDo("GET", "/v1/webhooks/"+id, "", true, http.StatusOK)
	list := a.mustDo("GET", "/v1/webhooks", "", true, http.StatusOK)
	if strings.Contains(got.Raw+list.Raw, secret) || strings.Contains(got.Raw, "secret") || len(list.Body["webhooks"].([]any)) != 1 {
		t.Fatalf("read %s, list %s", got.Raw, list.Raw)
	}
	a.mustDo("PATCH", "/v1/webhooks/"+id, `{"version":1,"url":"https://10.0.0.1/x"}`, true, http.StatusBadRequest)
	a.mustDo("PATCH", "/v1/webhooks/"+id, `{"version":1,"disabled":true}`, true, http.StatusOK)
	a.mustDo("PATCH", "/v1/webhooks/"+id, `{"version":1,"disabled":false}`, true, http.StatusConflict)
	rotated := a.mustDo("POST", "/v1/webhooks/"+id+"/rotate-secret", "", true, http.StatusOK)
	if s, _ := rotated.Body["secret"].(string); !strings.HasPrefix(s, "whsec_") || s == secret {
		t.Fatalf("rotated %s", rotated.Raw)
	}
	audit := a.mustDo("GET", "/v1/audit?resource=webhook&limit=200", "", true, http.StatusOK)
	if strings.Contains(audit.Raw, secret) || strings.Contains(audit.Raw, rotated.Body["secret"].(string)) || len(audit.Body["entries"].([]any)) != 3 {
		t.Fatalf("audit %s", audit.Raw)
	}
	deliveries := a.mustDo("GET", "/v1/webhooks/"+id+"/deliveries?limit=10", "", true, http.StatusOK)
	if ds, ok := deliveries.Body["deliveries"].([]any); !ok || len(ds) != 0 {
		t.Fatalf("deliveries %s", deliveries.Raw)
	}
	a.mustDo("GET", "/v1/webhooks/"+id+"/deliveries?cursor=bogus", "", true, http.StatusBadRequest)
	a.mustDo("GET", "/v1/webhooks/wh_nonexistentxxxxx", "", true, http.StatusNotFound)
	a.mustDo("GET", "/v1/webhooks/..", "", true, http.StatusNotFound)
	del, _ := http.NewRequest("DELETE", a.URL+"/v1/webhooks/"+id, nil)
	del.Header.Set("Authorization", "Bearer "+adminKey)
	if res, err := a.Client().Do(del); err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %v %v", res, err)
	}
	a.mustDo("GET", "/v1/webhooks/"+id+"/deliveries", "", true, http.StatusNotFound)
}

// TestWebhooksAllowPrivate: a deployment allowing private targets (local
// runs) takes a loopback http receiver.
func TestWebhooksAllowPrivate(t *testing.T) {
	t.Parallel()
	a := MustAPIWith(t, func(s *httpapi.Server) { s.Keyless, s.WebhookPolicy = true, webhook.Policy{AllowPrivate: true} })
	a.mustDo("POST", "/v1/webhooks", `{"url":"http://127.0.0.1:9/hooks","events":["referral.flagged"]}`, true, http.StatusCreated)
}
