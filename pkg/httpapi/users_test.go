package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
)

func TestEraseUser(t *testing.T) {
	a := MustAPIWith(t, func(s *httpapi.Server) {
		s.Keyless = true
		s.Privacy = s.Experiments.(refx.PrivacyService)
	})
	a.mustDo(http.MethodPost, "/v1/experiments", experimentBody, true, http.StatusCreated)
	a.mustDo(http.MethodPost, "/v1/experiments/cta-test/start", "", true, http.StatusOK)
	for i, u := range []string{"leaving@example.com", "staying"} {
		a.mustDo(http.MethodPost, "/v1/assign", `{"experiment":"cta-test","user":"`+u+`"}`, false, http.StatusOK)
		a.mustDo(http.MethodPost, "/v1/events", fmt.Sprintf(`{"id":"00000000-0000-4000-8000-%012d","type":"signup","user":%q}`, i+1, u), false, http.StatusAccepted)
	}
	participants := func() float64 {
		t.Helper()
		res := a.mustDo(http.MethodGet, "/v1/experiments/cta-test/results", "", true, http.StatusOK)
		n := 0.0
		for _, v := range res.Body["variants"].([]any) {
			n += v.(map[string]any)["participants"].(float64)
		}
		return n
	}
	before := participants()

	tests := []struct {
		name   string
		path   string
		admin  bool
		status int
		want   map[string]float64
		code   string
	}{
		{"OK", "/v1/users/leaving@example.com", true, http.StatusOK, map[string]float64{"assignments": 1, "events": 1}, ""},
		{"AgainNothingLeft", "/v1/users/leaving@example.com", true, http.StatusOK, map[string]float64{"assignments": 0, "events": 0}, ""},
		{"ErrUnauthorized", "/v1/users/staying", false, http.StatusUnauthorized, nil, "unauthorized"},
		{"ErrInvalidUser", "/v1/users/" + strings.Repeat("x", 300), true, http.StatusBadRequest, nil, "invalid_argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := a.mustDo(http.MethodDelete, tt.path, "", tt.admin, tt.status)
			if tt.code != "" {
				if res.errorCode() != tt.code {
					t.Fatalf("error %s, want %s: %s", res.errorCode(), tt.code, res.Raw)
				}
				return
			}
			if res.Body["user"] != "leaving@example.com" || res.Body["user_hash"] != refx.ErasureHash("leaving@example.com") || res.Body["erased_at"] == nil {
				t.Fatalf("answer %s", res.Raw)
			}
			for k, v := range tt.want {
				if res.Body[k] != v {
					t.Errorf("%s = %v, want %v (%s)", k, res.Body[k], v, res.Raw)
				}
			}
		})
	}
	// A customer's backend erases with its secret key; a client key, or
	// the secret key from a browser, may not.
	secret, client := a.mustKey("secret"), a.mustKey("client", "https://shop.example")
	for _, tt := range []struct {
		name, key string
		headers   []string
		status    int
	}{
		{"ClientKey", client, nil, http.StatusUnauthorized},
		{"SecretKeyFromABrowser", secret, []string{"Origin", "https://shop.example"}, http.StatusUnauthorized},
		{"SecretKey", secret, nil, http.StatusOK},
	} {
		res := a.doKey(http.MethodDelete, "/v1/users/staying", "", tt.key, tt.headers...)
		if res.Status != tt.status || tt.status == http.StatusOK && res.Body["assignments"] != 1.0 {
			t.Fatalf("%s: erase = %d %s, want %d", tt.name, res.Status, res.Raw, tt.status)
		}
	}
	if after := participants(); after != before || before != 2 {
		t.Fatalf("participants %v before the erasure, %v after", before, after)
	}
	// The erased user is enrolled afresh if they come back: a new person
	// to refx, counted again.
	res := a.mustDo(http.MethodPost, "/v1/assign", `{"experiment":"cta-test","user":"leaving@example.com"}`, false, http.StatusOK)
	if res.Body["enrolled"] != true {
		t.Fatalf("assign after erasure: %s", res.Raw)
	}
}
