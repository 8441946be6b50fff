package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/refx-dev/refx/pkg/httpapi"
)

// lockedBuffer collects the server's metric lines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// sum adds up the named metric over the lines written.
func (b *lockedBuffer) sum(t *testing.T, name string) int {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		if v, ok := m[name].(float64); ok {
			n += int(v)
		}
	}
	return n
}

// TestGoalRulesOverHTTP: the API's side of server-only goals and caps. A
// client key's event for a server-only goal is 403 forbidden and spends
// nothing; the backend's send of the same id counts; the browser's copy
// then is a duplicate. A recorded value above the cap says capped and
// counts in CappedValues once, not again on its duplicate; the results'
// analysis says the goal's rules.
func TestGoalRulesOverHTTP(t *testing.T) {
	t.Parallel()
	metrics := &lockedBuffer{}
	a := MustAPIWith(t, func(s *httpapi.Server) {
		s.AllowedOrigins = []string{"https://shop.example"}
		s.Metrics = metrics
	})
	a.mustDo("POST", "/v1/experiments", `{"id":"cta-test","variants":[{"key":"control","weight":50},{"key":"bold","weight":50}],
"goals":[{"key":"signup","kind":"binomial"},{"key":"purchase","kind":"value","server_only":true,"cap":500}]}`, true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments/cta-test/start", "", true, http.StatusOK)
	client, secret := a.mustKey("client", "https://shop.example"), a.mustKey("secret")
	a.doKey("POST", "/v1/assign", `{"experiment":"cta-test","user":"alice"}`, secret)

	const purchase = `{"id":"00000000-0000-4000-8000-000000000001","type":"purchase","user":"alice","value":1e9}`
	tests := []struct {
		name, key, body string
		status          int
		code, result    string
		capped          bool
	}{
		{"ErrBrowser", client, purchase, http.StatusForbidden, "forbidden", "", false},
		{"Backend", secret, purchase, http.StatusAccepted, "", "recorded", true},
		{"BrowserCopyIsDuplicate", client, purchase, http.StatusOK, "", "duplicate", true},
		{"BackendRetryIsDuplicate", secret, purchase, http.StatusOK, "", "duplicate", true},
		{"BrowserSignup", client, `{"id":"00000000-0000-4000-8000-000000000002","type":"signup","user":"alice"}`, http.StatusAccepted, "", "recorded", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := a.doKey("POST", "/v1/events", tt.body, tt.key)
			if res.Status != tt.status || res.errorCode() != tt.code {
				t.Fatalf("= %d %s, want %d %q", res.Status, res.Raw, tt.status, tt.code)
			}
			if tt.code != "" {
				if res.errorField() != "type" {
					t.Fatalf("error field %q, want type", res.errorField())
				}
				return
			}
			credits, _ := res.Body["credits"].([]any)
			if res.Body["status"] != tt.result || len(credits) != 1 || (credits[0].(map[string]any)["capped"] == true) != tt.capped {
				t.Fatalf("= %s, want %s with one credit, capped %v", res.Raw, tt.result, tt.capped)
			}
		})
	}
	if n := metrics.sum(t, httpapi.MetricCappedValues); n != 1 {
		t.Errorf("%s = %d, want 1 (the recorded purchase, not its duplicates)", httpapi.MetricCappedValues, n)
	}

	res := a.mustDo("GET", "/v1/experiments/cta-test/results", "", true, http.StatusOK)
	goals := res.Body["analysis"].(map[string]any)["goals"].(map[string]any)
	if p := goals["purchase"].(map[string]any); p["cap"] != 500.0 || p["server_only"] != true {
		t.Errorf("analysis of purchase says cap %v server_only %v, want 500 and true", p["cap"], p["server_only"])
	}
	if s := goals["signup"].(map[string]any); s["cap"] != nil || s["server_only"] != false {
		t.Errorf("analysis of signup says cap %v server_only %v, want null and false", s["cap"], s["server_only"])
	}
	for _, v := range res.Body["variants"].([]any) {
		vm := v.(map[string]any)
		if p := vm["goals"].(map[string]any)["purchase"].(map[string]any); p["events"] == 1.0 && p["value_sum"] != 500.0 {
			t.Errorf("%s counted the 1e9 purchase as %v, want 500", vm["key"], p["value_sum"])
		}
	}

	// The rules are frozen while the experiment runs.
	exp := a.mustDo("GET", "/v1/experiments/cta-test", "", true, http.StatusOK)
	patch := `{"version":` + jsonOf(t, exp.Body["version"]) + `,"goals":[{"key":"signup","kind":"binomial"},{"key":"purchase","kind":"value","server_only":true,"cap":1000}]}`
	if res := a.do("PATCH", "/v1/experiments/cta-test", patch, true); res.Status != http.StatusConflict || res.errorField() != "goals" {
		t.Errorf("changing a running goal's cap = %d %s, want 409 on goals", res.Status, res.Raw)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
