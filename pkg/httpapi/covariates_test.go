package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/refx-dev/refx/pkg/httpapi"
)

// TestAssignCovariates: covariates come from secret keys only. A client
// key's are refused 403 before anything is written (the user is not
// enrolled); a secret key's are stored with the enrolment and summed in the
// results; a covariate of a goal the experiment lacks, or not a decimal, is
// 400 naming it.
func TestAssignCovariates(t *testing.T) {
	t.Parallel()
	a := MustAPIWith(t, func(s *httpapi.Server) { s.AllowedOrigins = []string{"https://shop.example"} })
	a.mustDo("POST", "/v1/experiments", `{"id":"cuped","variants":[{"key":"control","weight":100},{"key":"bold","weight":0}],
"goals":[{"key":"signup","kind":"binomial"},{"key":"purchase","kind":"value"}]}`, true, http.StatusCreated)
	a.mustDo("POST", "/v1/experiments/cuped/start", "", true, http.StatusOK)
	client, secret := a.mustKey("client", "https://shop.example"), a.mustKey("secret")

	tests := []struct {
		name, key, body string
		status          int
		code, field     string
	}{
		{"ErrBrowser", client, `{"experiment":"cuped","user":"alice","covariates":{"purchase":42}}`, http.StatusForbidden, "forbidden", "covariates"},
		{"ErrUnknownGoal", secret, `{"experiment":"cuped","user":"alice","covariates":{"refund":1}}`, http.StatusBadRequest, "invalid_argument", "covariates.refund"},
		{"ErrNotDecimal", secret, `{"experiment":"cuped","user":"alice","covariates":{"purchase":"lots"}}`, http.StatusBadRequest, "invalid_argument", "covariates.purchase"},
		{"Backend", secret, `{"experiment":"cuped","user":"alice","covariates":{"purchase":42.5}}`, http.StatusOK, "", ""},
		{"BackendAgainKeepsFirst", secret, `{"experiment":"cuped","user":"alice","covariates":{"purchase":1000}}`, http.StatusOK, "", ""},
		{"BrowserWithout", client, `{"experiment":"cuped","user":"bob"}`, http.StatusOK, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			if tt.key == client {
				headers = []string{"Origin", "https://shop.example"}
			}
			res := a.doKey("POST", "/v1/assign", tt.body, tt.key, headers...)
			if res.Status != tt.status || res.errorCode() != tt.code || (tt.field != "" && res.errorField() != tt.field) {
				t.Fatalf("= %d %s, want %d %q on %q", res.Status, res.Raw, tt.status, tt.code, tt.field)
			}
		})
	}
	a.doKey("POST", "/v1/events", `{"id":"00000000-0000-4000-8000-000000000001","type":"purchase","user":"alice","value":10}`, secret)

	res := a.mustDo("GET", "/v1/experiments/cuped/results", "", true, http.StatusOK)
	for _, v := range res.Body["variants"].([]any) {
		vm := v.(map[string]any)
		if vm["key"] != "control" {
			continue
		}
		if vm["participants"] != 2.0 {
			t.Errorf("participants %v, want 2 (alice, bob)", vm["participants"])
		}
		c, _ := vm["goals"].(map[string]any)["purchase"].(map[string]any)["covariate"].(map[string]any)
		if c["participants"] != 1.0 || c["sum"] != 42.5 || c["sum_sq"] != 1806.25 || c["value_products"] != 425.0 || c["users_products"] != 42.5 {
			t.Errorf("purchase covariate = %v, want alice's 42.5 (Σx² 1806.25, Σxy 425, Σxc 42.5)", c)
		}
	}
}
