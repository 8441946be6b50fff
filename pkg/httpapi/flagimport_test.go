package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/growthbook"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
)

// gbImport is a GrowthBook SDK payload as GrowthBook's API serves it: a
// saved group, a rollout, an experiment rule with GrowthBook's meta,
// ranges, filters, name and phase, and values of every type.
const gbImport = `{"status":200,"dateUpdated":"2026-11-30T10:00:00.000Z",
"savedGroups":{"staff":["u1","u7"],"blocked":[13]},
"features":{
  "dark-mode":{"defaultValue":false,"rules":[
    {"id":"fr_staff","condition":{"id":{"$inGroup":"staff"}},"force":true},
    {"id":"fr_blocked","condition":{"$and":[{"n":{"$inGroup":"blocked"}},{"country":{"$in":["FR","DE"]}}]},"force":false},
    {"id":"fr_roll","force":true,"coverage":0.3,"hashAttribute":"id","seed":"dark-seed"}]},
  "checkout-copy":{"defaultValue":"Buy","rules":[
    {"id":"fr_exp","key":"copy-test","seed":"copy-seed","hashAttribute":"id","hashVersion":2,"name":"Checkout copy","phase":"1",
     "variations":["Buy","Buy now","Get it"],"coverage":0.9,"weights":[0.34,0.33,0.33],
     "ranges":[[0,0.3],[0.3,0.6],[0.6,0.9]],"meta":[{"key":"0"},{"key":"1","name":"Urgent"},{"key":"2"}],
     "filters":[{"seed":"layer-1","ranges":[[0,0.8]]}]}]},
  "max-items":{"defaultValue":10,"rules":[{"condition":{"plan":{"$in":["pro","team"]}},"force":50}]},
  "banner":{"defaultValue":{"text":"hi","color":"blue"},"rules":[]}
}}`

func mustImportAPI(t *testing.T) *api {
	t.Helper()
	return MustAPIWith(t, func(s *httpapi.Server) { s.Flags = s.Experiments.(refx.FlagService) })
}

// TestFlagImport imports a GrowthBook payload, reads it back in the same
// shape, evaluates it over OFREP as GrowthBook's evaluator does the
// original, and imports it again.
func TestFlagImport(t *testing.T) {
	t.Parallel()
	a := mustImportAPI(t)
	res := a.mustDo("POST", "/v1/flags:import", gbImport, true, http.StatusOK)
	if fmt.Sprint(res.Body["created"]) != "[banner checkout-copy dark-mode max-items]" || res.Body["environment"] != "production" {
		t.Fatalf("import = %s", res.Raw)
	}

	flag := a.mustDo("GET", "/v1/flags/checkout-copy", "", true, http.StatusOK)
	prod := flag.Body["environments"].(map[string]any)["production"].(map[string]any)
	rule, _ := json.Marshal(prod["rules"].([]any)[0])
	for _, want := range []string{`"ranges":[[0,0.3],[0.3,0.6],[0.6,0.9]]`, `"meta":[{"key":"0"},{"key":"1","name":"Urgent"},{"key":"2"}]`,
		`"filters":[{"ranges":[[0,0.8]],"seed":"layer-1"}]`, `"name":"Checkout copy"`, `"phase":"1"`, `"key":"copy-test"`} {
		if !strings.Contains(string(rule), want) {
			t.Errorf("rule read back = %s, without %s", rule, want)
		}
	}
	if flag.Body["kind"] != "experiment" || flag.Body["value_type"] != "string" || prod["enabled"] != true {
		t.Errorf("flag = %s", flag.Raw)
	}
	dark := a.mustDo("GET", "/v1/flags/dark-mode", "", true, http.StatusOK)
	if !strings.Contains(dark.Raw, `{"id":{"$in":["u1","u7"]}}`) || dev(dark)["enabled"] != false {
		t.Errorf("dark-mode = %s: the saved group not inlined, or dev enabled", dark.Raw)
	}
	if banner := a.mustDo("GET", "/v1/flags/banner", "", true, http.StatusOK); banner.Body["value_type"] != "json" || banner.Body["kind"] != "release" {
		t.Errorf("banner = %s", banner.Raw)
	}

	t.Run("EvaluatesAsGrowthBook", func(t *testing.T) {
		var original struct {
			Features    map[string]json.RawMessage
			SavedGroups growthbook.SavedGroups
		}
		if err := json.Unmarshal([]byte(gbImport), &original); err != nil {
			t.Fatal(err)
		}
		secret := a.mustKey("secret")
		for i := range 300 {
			attrs := map[string]any{"id": fmt.Sprintf("u%d", i), "n": float64(i % 20), "country": []string{"FR", "US", "DE"}[i%3], "plan": []string{"free", "pro"}[i%2]}
			ctx, _ := json.Marshal(map[string]any{"context": map[string]any{"targetingKey": attrs["id"], "id": attrs["id"], "n": attrs["n"], "country": attrs["country"], "plan": attrs["plan"]}})
			for key, raw := range original.Features {
				f, err := growthbook.ParseFeature(raw)
				if err != nil {
					t.Fatal(err)
				}
				want := growthbook.EvalFeature(key, f, attrs, original.SavedGroups)
				got := a.send("POST", "/ofrep/v1/evaluate/flags/"+key, string(ctx), httpapi.KeyHeader, secret)
				gotValue, _ := json.Marshal(got.Body["value"])
				if got.Status != 200 || !jsonEqual(gotValue, want.Value) {
					t.Fatalf("%s for %v: refx %d %s, GrowthBook's evaluator %s (%s)", key, attrs, got.Status, got.Raw, want.Value, want.Source)
				}
			}
		}
	})

	t.Run("AgainChangesNothing", func(t *testing.T) {
		res := a.mustDo("POST", "/v1/flags:import", gbImport, true, http.StatusOK)
		if fmt.Sprint(res.Body["unchanged"]) != "[banner checkout-copy dark-mode max-items]" || len(res.Body["updated"].([]any)) != 0 {
			t.Fatalf("second import = %s", res.Raw)
		}
		if f := a.mustDo("GET", "/v1/flags/dark-mode", "", true, http.StatusOK); f.Body["version"] != 1.0 {
			t.Fatalf("version after an import of the same = %v", f.Body["version"])
		}
	})

	t.Run("IntoDevKeepsProduction", func(t *testing.T) {
		body := `{"features":{"dark-mode":{"defaultValue":false,"rules":[{"force":true}]},"new-one":{"defaultValue":"x"}}}`
		res := a.mustDo("POST", "/v1/flags:import?environment=dev", body, true, http.StatusOK)
		if fmt.Sprint(res.Body["updated"], res.Body["created"]) != "[dark-mode] [new-one]" {
			t.Fatalf("import into dev = %s", res.Raw)
		}
		f := a.mustDo("GET", "/v1/flags/dark-mode", "", true, http.StatusOK)
		prod := f.Body["environments"].(map[string]any)["production"].(map[string]any)
		if f.Body["version"] != 2.0 || dev(f)["enabled"] != true || len(dev(f)["rules"].([]any)) != 1 || len(prod["rules"].([]any)) != 3 {
			t.Fatalf("dark-mode after an import into dev = %s", f.Raw)
		}
	})
}

func dev(flag response) map[string]any {
	return flag.Body["environments"].(map[string]any)["dev"].(map[string]any)
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && fmt.Sprint(x) == fmt.Sprint(y)
}

// TestFlagImportRefusals: each refusal names the field, and nothing of the
// payload is stored, the good features beside the bad one included.
func TestFlagImportRefusals(t *testing.T) {
	t.Parallel()
	a := mustImportAPI(t)
	a.mustDo("POST", "/v1/flags", `{"key":"taken","kind":"release","value_type":"boolean","default_value":false}`, true, http.StatusCreated)
	good := `"good":{"defaultValue":true,"rules":[{"force":false,"coverage":0.5}]}`
	many := make([]string, 81)
	for i := range many {
		many[i] = fmt.Sprintf(`"f%d":{"defaultValue":true}`, i)
	}
	tests := []struct {
		name, query, features string
		status                int
		code, field           string
	}{
		{"ParentConditions", "", `{` + good + `,"bad":{"defaultValue":1,"rules":[{"force":2,"parentConditions":[{"id":"x","condition":{"value":true}}]}]}}`, 400, "invalid_argument", "features.bad.rules[0].parentConditions"},
		{"UnknownOperator", "", `{` + good + `,"bad":{"defaultValue":1,"rules":[{"force":2,"condition":{"n":{"$near":3}}}]}}`, 400, "invalid_argument", "features.bad.environments.production.rules[0].condition.n.$near"},
		{"NullDefault", "", `{` + good + `,"bad":{"defaultValue":null}}`, 400, "invalid_argument", "features.bad.defaultValue"},
		{"TypeMismatch", "", `{` + good + `,"bad":{"defaultValue":1,"rules":[{"force":"two"}]}}`, 400, "invalid_argument", "features.bad.environments.production.rules[0].force"},
		{"ExistingType", "", `{` + good + `,"taken":{"defaultValue":"yes"}}`, 400, "invalid_argument", "features.taken.defaultValue"},
		{"UnknownGroup", "", `{` + good + `,"bad":{"defaultValue":1,"rules":[{"force":2,"condition":{"id":{"$inGroup":"nope"}}}]}}`, 400, "invalid_argument", "features.bad.rules[0].condition.id.$inGroup"},
		{"BadKey", "", `{` + good + `,"a b":{"defaultValue":1}}`, 400, "invalid_argument", "features.a b"},
		{"BadEnvironment", "?environment=Prod!", `{` + good + `}`, 400, "invalid_argument", "environment"},
		{"Empty", "", `{}`, 400, "invalid_argument", "features"},
		{"TooMany", "", `{` + strings.Join(many, ",") + `}`, 403, "limit_exceeded", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := a.do("POST", "/v1/flags:import"+tt.query, `{"features":`+tt.features+`}`, true)
			if res.Status != tt.status || res.errorCode() != tt.code || res.errorField() != tt.field {
				t.Fatalf("import = %d %s, want %d %s on %q", res.Status, res.Raw, tt.status, tt.code, tt.field)
			}
		})
	}
	for _, tt := range []struct{ name, body, field string }{
		{"Encrypted", `{"features":{},"encryptedFeatures":"abc"}`, "encryptedFeatures"},
		{"AutoExperiments", `{"features":{},"experiments":[{"key":"x"}]}`, "experiments"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if res := a.do("POST", "/v1/flags:import", tt.body, true); res.Status != 400 || res.errorField() != tt.field {
				t.Fatalf("import = %d %s, want 400 on %s", res.Status, res.Raw, tt.field)
			}
		})
	}
	if list := a.mustDo("GET", "/v1/flags", "", true, http.StatusOK); len(list.Body["flags"].([]any)) != 1 {
		t.Fatalf("after refused imports, flags = %s", list.Raw)
	}
}
