package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/httpapi"
)

// TestFlagRoutes drives the flag and segment routes through the handler,
// in order; each refusal names its field and leaves the flag as it was.
func TestFlagRoutes(t *testing.T) {
	t.Parallel()
	a := MustAPIWith(t, func(s *httpapi.Server) {
		client, table := dynamotest.NewTable(t)
		s.Flags = dynamo.New(client, table, dynamo.Options{})
	})
	const flag = `{"key":"new-checkout","kind":"release","value_type":"boolean","default_value":false,
		"environments":{"production":{"enabled":true,"rules":[{"force":true,"segments":["beta"]},{"force":true,"coverage":0.05}]}}}`
	steps := []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"ErrNoKey", "GET", "/v1/flags", "", 401, "unauthorized", ""},
		{"ErrUnknownSegment", "POST", "/v1/flags", flag, 400, "invalid_argument", "environments.production.rules[0].segments"},
		{"CreateSegment", "POST", "/v1/segments", `{"key":"beta","condition":{"beta":true}}`, 201, "", ""},
		{"ErrSegmentCondition", "POST", "/v1/segments", `{"key":"gamma","condition":["beta"]}`, 400, "invalid_argument", "condition"},
		{"Create", "POST", "/v1/flags", flag, 201, "", ""},
		{"ErrExists", "POST", "/v1/flags", flag, 409, "conflict", ""},
		{"ErrUnknownField", "POST", "/v1/flags", `{"key":"x","kind":"release","value_type":"boolean","default_value":true,"rollout":1}`, 400, "invalid_argument", "rollout"},
		{"ErrCondition", "PATCH", "/v1/flags/new-checkout", `{"version":1,"environments":{"dev":{"rules":[{"force":true,"condition":{"email":{"$regex":"("}}}]}}}`, 400, "invalid_argument", "environments.dev.rules[0].condition.email.$regex"},
		{"ErrCoverage", "PATCH", "/v1/flags/new-checkout", `{"version":1,"environments":{"production":{"rules":[{"force":true,"coverage":2}]}}}`, 400, "invalid_argument", "environments.production.rules[0].coverage"},
		{"Disable", "PATCH", "/v1/flags/new-checkout", `{"version":1,"environments":{"production":{"enabled":false}}}`, 200, "", ""},
		{"ErrStale", "PATCH", "/v1/flags/new-checkout", `{"version":1,"owner":"x"}`, 409, "conflict", ""},
		{"ErrNoVersion", "PATCH", "/v1/flags/new-checkout", `{"owner":"x"}`, 400, "invalid_argument", "version"},
		{"Get", "GET", "/v1/flags/new-checkout", "", 200, "", ""},
		{"ErrBadKey", "GET", "/v1/flags/a%23b", "", 400, "invalid_argument", "key"},
		{"List", "GET", "/v1/flags", "", 200, "", ""},
		{"ErrSegmentInUse", "DELETE", "/v1/segments/beta", "", 409, "conflict", ""},
		{"PatchSegment", "PATCH", "/v1/segments/beta", `{"version":1,"condition":{"beta":{"$exists":true}}}`, 200, "", ""},
		{"ListSegments", "GET", "/v1/segments", "", 200, "", ""},
		{"GetSegment", "GET", "/v1/segments/beta", "", 200, "", ""},
		{"Delete", "DELETE", "/v1/flags/new-checkout", "", 204, "", ""},
		{"ErrGone", "GET", "/v1/flags/new-checkout", "", 404, "not_found", ""},
		{"DeleteSegment", "DELETE", "/v1/segments/beta", "", 204, "", ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.status == http.StatusNoContent {
				req, _ := http.NewRequest(st.method, a.URL+st.path, nil)
				req.Header.Set("Authorization", "Bearer "+adminKey)
				res, err := a.Client().Do(req)
				if err != nil || res.StatusCode != st.status {
					t.Fatalf("%s %s = %v %v, want %d", st.method, st.path, res, err, st.status)
				}
				res.Body.Close()
				return
			}
			res := a.do(st.method, st.path, st.body, st.name != "ErrNoKey")
			if res.Status != st.status || res.errorCode() != st.code || res.errorField() != st.field {
				t.Fatalf("%s %s = %d %s, want %d %s on %q", st.method, st.path, res.Status, res.Raw, st.status, st.code, st.field)
			}
			switch st.name {
			case "Get":
				envs := res.Body["environments"].(map[string]any)
				prod := envs["production"].(map[string]any)
				if res.Body["version"] != 2.0 || prod["enabled"] != false || len(prod["rules"].([]any)) != 2 {
					t.Fatalf("flag = %s", res.Raw)
				}
			case "List":
				if flags := res.Body["flags"].([]any); len(flags) != 1 {
					t.Fatalf("listing = %s", res.Raw)
				}
			}
		})
	}
}
