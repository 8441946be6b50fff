package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/refx-dev/refx/pkg/httpapi"
)

// TestRefundRoute: POST /v1/events of type refund, alone and in a batch,
// from a secret key: recorded once (202), its retry and a second refund of
// the same event duplicates (200), the purchase's counts gone; bad refunds
// refused with a stable code, field and status, never a 500.
func TestRefundRoute(t *testing.T) {
	t.Parallel()
	a := MustAPIWith(t, func(*httpapi.Server) {})
	a.mustDo("POST", "/v1/experiments", experimentBody, true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments/cta-test/start", "", true, http.StatusOK)
	secret := a.mustKey("secret")
	client := a.mustKey("client", "https://shop.example")
	for _, u := range []string{"alice", "bob"} {
		if res := a.doKey("POST", "/v1/assign", fmt.Sprintf(`{"experiment":"cta-test","user":%q}`, u), secret); res.Status != http.StatusOK {
			t.Fatalf("assign %s: %s", u, res.Raw)
		}
	}
	const (
		buy    = "6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90"
		buy2   = "7f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90"
		refund = "11111111-2222-4333-8444-555555555555"
	)
	for _, id := range []string{buy, buy2} {
		ev := fmt.Sprintf(`{"id":%q,"type":"purchase","user":"alice","value":12.5}`, id)
		if res := a.doKey("POST", "/v1/events", ev, secret); res.Status != http.StatusAccepted {
			t.Fatalf("purchase: %s", res.Raw)
		}
	}
	body := func(id, user, of string) string {
		return fmt.Sprintf(`{"id":%q,"type":"refund","user":%q,"refund":%q}`, id, user, of)
	}
	for _, tt := range []struct {
		name         string
		body, key    string
		status       int
		code, field  string
		resultStatus string
	}{
		{"OK", body(refund, "alice", buy), secret, http.StatusAccepted, "", "", "recorded"},
		{"Retry", body(refund, "alice", buy), secret, http.StatusOK, "", "", "duplicate"},
		{"SecondRefund", body("21111111-2222-4333-8444-555555555555", "alice", buy), secret, http.StatusOK, "", "", "duplicate"},
		{"ErrKeyReused", body(refund, "alice", buy2), secret, http.StatusUnprocessableEntity, "idempotency_key_reused", "id", ""},
		{"ErrNotFound", body("31111111-2222-4333-8444-555555555555", "alice", "41111111-2222-4333-8444-555555555555"), secret, http.StatusNotFound, "not_found", "refund", ""},
		{"ErrOtherUser", body("51111111-2222-4333-8444-555555555555", "bob", buy2), secret, http.StatusConflict, "conflict", "refund", ""},
		{"ErrRefundOfRefund", body("61111111-2222-4333-8444-555555555555", "alice", refund), secret, http.StatusBadRequest, "invalid_argument", "refund", ""},
		{"ErrClientKey", body("71111111-2222-4333-8444-555555555555", "alice", buy2), client, http.StatusForbidden, "forbidden", "type", ""},
		// Without a target, type refund is an ordinary event (a goal may
		// be named refund).
		{"NoTargetIsAnEvent", `{"id":"81111111-2222-4333-8444-555555555555","type":"refund","user":"alice"}`, secret, http.StatusAccepted, "", "", "recorded"},
		{"ErrNotUUID", body("91111111-2222-4333-8444-555555555555", "alice", "order-17"), secret, http.StatusBadRequest, "invalid_argument", "refund", ""},
		{"ErrSelf", body(refund, "alice", refund), secret, http.StatusBadRequest, "invalid_argument", "refund", ""},
		{"ErrRefundOnPurchase", `{"id":"a1111111-2222-4333-8444-555555555555","type":"purchase","user":"alice","refund":"` + buy + `"}`, secret, http.StatusBadRequest, "invalid_argument", "refund", ""},
		{"ErrValue", `{"id":"b1111111-2222-4333-8444-555555555555","type":"refund","user":"alice","refund":"` + buy2 + `","value":3}`, secret, http.StatusBadRequest, "invalid_argument", "type", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var origin []string
			if tt.key == client {
				origin = []string{"Origin", "https://shop.example"}
			}
			res := a.doKey("POST", "/v1/events", tt.body, tt.key, origin...)
			if res.Status != tt.status || res.errorCode() != tt.code || res.errorField() != tt.field {
				t.Fatalf("%d %s, want %d %s field %q", res.Status, res.Raw, tt.status, tt.code, tt.field)
			}
			if tt.resultStatus != "" && res.Body["status"] != tt.resultStatus {
				t.Fatalf("status %v, want %s: %s", res.Body["status"], tt.resultStatus, res.Raw)
			}
		})
	}
	batch := fmt.Sprintf(`{"events":[%s,%s]}`, body("c1111111-2222-4333-8444-555555555555", "alice", buy2),
		body("d1111111-2222-4333-8444-555555555555", "alice", "e1111111-2222-4333-8444-555555555555"))
	res := a.doKey("POST", "/v1/events:batch", batch, secret)
	results, _ := res.Body["results"].([]any)
	if res.Status != http.StatusOK || len(results) != 2 {
		t.Fatalf("batch: %s", res.Raw)
	}
	first, _ := results[0].(map[string]any)
	second, _ := results[1].(map[string]any)
	if first["status"] != "recorded" || second["error"].(map[string]any)["code"] != "not_found" {
		t.Fatalf("batch results: %s", res.Raw)
	}
	results2 := a.mustDo("GET", "/v1/experiments/cta-test/results", "", true, http.StatusOK)
	for _, v := range results2.Body["variants"].([]any) {
		goals, _ := v.(map[string]any)["goals"].(map[string]any)
		if p, ok := goals["purchase"].(map[string]any); ok && (p["events"] != 0.0 || p["users"] != 0.0) {
			t.Errorf("purchase counts after both purchases' refunds: %v", p)
		}
	}
}
