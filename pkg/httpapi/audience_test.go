package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
)

// gbAudience is the audience the tests give gbExperiment: Dutch and Belgian
// users, and adults of other countries, numbers compared as numbers.
const gbAudience = `{"$or":[{"country":{"$in":["NL","BE"]}},{"age":{"$gte":18}}]}`

// mustAudience sets the audience of an experiment through the admin API:
// any audience on a draft, only null (everyone) on a running experiment.
func (a *api) mustAudience(id, audience string) {
	a.tb.Helper()
	e := a.mustDo("GET", "/v1/experiments/"+id, "", true, http.StatusOK)
	a.mustDo("PATCH", "/v1/experiments/"+id, fmt.Sprintf(`{"version":%v,"audience":%s}`, e.Body["version"], audience), true, http.StatusOK)
}

// mustGrowthBookAudienceAPI is MustGrowthBookAPI with gbExperiment given
// audience before it starts.
func mustGrowthBookAudienceAPI(t *testing.T, audience string) (a *api, client string, clock *testClock) {
	t.Helper()
	a, client, clock, _ = MustGrowthBookAPI(t, false)
	a.mustAudience("gb-parity", audience)
	a.mustDo("POST", "/v1/experiments/gb-parity/start", "", true, http.StatusOK)
	return a, client, clock
}

// TestAssignAudience: POST /v1/assign judges the attributes by the
// audience (JSON numbers as numbers), answers users outside it as users
// outside the coverage, and keeps an enrolled user's arm.
func TestAssignAudience(t *testing.T) {
	t.Parallel()
	a, _, _ := mustGrowthBookAudienceAPI(t, gbAudience)
	key := a.mustKey("secret")
	assign := func(user, attrs string) response {
		t.Helper()
		body := `{"experiment":"gb-parity","user":"` + user + `"`
		if attrs != "" {
			body += `,"attributes":` + attrs
		}
		return a.doKey("POST", "/v1/assign", body+"}", key)
	}
	// Users the 80 % coverage covers, so that only the audience decides.
	var n refx.NewExperiment
	if err := json.Unmarshal([]byte(gbExperiment), &n); err != nil {
		t.Fatal(err)
	}
	e, err := n.Build(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var covered []string
	for _, id := range gbUsers(20) {
		if _, ok := e.Bucket(id); ok {
			covered = append(covered, id)
		}
	}
	tests := []struct {
		name, attrs string
		in          bool
	}{
		{"Country", `{"country":"BE"}`, true},
		{"AgeNumber", `{"country":"US","age":18}`, true},
		{"AgeFraction", `{"country":"US","age":17.5}`, false},
		{"ErrCountry", `{"country":"US"}`, false},
		{"ErrNone", ``, false},
		{"ErrNull", `null`, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := covered[i]
			res := assign(user, tt.attrs)
			if res.Status != http.StatusOK || res.Body["in_experiment"] != tt.in || res.Body["enrolled"] != tt.in {
				t.Fatalf("assign %s = %d %s, want in_experiment and enrolled %v", tt.attrs, res.Status, res.Raw, tt.in)
			}
			if !tt.in {
				if res.Body["variant"] != "control" || res.Body["assigned_at"] != nil {
					t.Fatalf("outside the audience: %s, want the control, unassigned", res.Raw)
				}
				if again := assign(user, `{"country":"NL"}`); again.Body["enrolled"] != true {
					t.Fatalf("a user refused by the audience was stored: %s", again.Raw)
				}
			}
		})
	}
	t.Run("Sticky", func(t *testing.T) {
		user := covered[len(tests)]
		first := assign(user, `{"country":"NL"}`)
		moved := assign(user, `{"country":"US","age":3}`)
		if first.Body["enrolled"] != true || moved.Body["in_experiment"] != true || moved.Body["enrolled"] != false ||
			moved.Body["variant"] != first.Body["variant"] {
			t.Fatalf("first %s, after the attributes changed %s", first.Raw, moved.Raw)
		}
	})
	t.Run("BadInput", func(t *testing.T) {
		for _, attrs := range []string{`["NL"]`, `"NL"`, `7`} {
			if res := assign("bad", attrs); res.Status != http.StatusBadRequest || res.errorField() != "attributes" {
				t.Errorf("attributes %s: %d %s, want 400 naming attributes", attrs, res.Status, res.Raw)
			}
		}
		bad := `{"id":"bad-audience","variants":[{"key":"a","weight":1},{"key":"b","weight":1}],"goals":[{"key":"g","kind":"binomial"}],"audience":{"country":{"$in":"NL"}}}`
		res := a.do("POST", "/v1/experiments", bad, true)
		if res.Status != http.StatusBadRequest || res.errorField() != "audience.country.$in" {
			t.Fatalf("a malformed audience: %d %s, want 400 naming audience.country.$in", res.Status, res.Raw)
		}
		a.mustDo("GET", "/v1/experiments/bad-audience", "", true, http.StatusNotFound)
	})
}

// TestOFREPAudience: a linked experiment's audience judges the OFREP
// context, in single evaluations (which enrol) and bulk ones (which read).
func TestOFREPAudience(t *testing.T) {
	t.Parallel()
	a, _, _ := mustGrowthBookAudienceAPI(t, `{"country":{"$in":["NL","BE"]}}`)
	secret := a.mustKey("secret")
	assigned := func(user string) response {
		t.Helper()
		return a.doKey("POST", "/v1/assign", `{"experiment":"gb-parity","user":"`+user+`","attributes":{"country":"NL"}}`, secret)
	}
	inside := 0
	for i := range 60 {
		user := fmt.Sprintf("ofrep-aud-%d", i)
		for _, country := range []string{"US", "NL"} {
			ctx := `{"context":{"targetingKey":"` + user + `","country":"` + country + `"}}`
			single := a.doKey("POST", "/ofrep/v1/evaluate/flags/button-color", ctx, secret)
			status, raw, _ := ofrepRaw(t, a, ctx, secret, "")
			var bulk struct{ Flags []ofrepFlag }
			if err := json.Unmarshal([]byte(raw), &bulk); single.Status != 200 || status != 200 || err != nil || len(bulk.Flags) != 1 {
				t.Fatalf("%s %s: single %d %s, bulk %d %s", user, country, single.Status, single.Raw, status, raw)
			}
			if country == "US" {
				// Outside the audience: the rules after the link (none).
				if single.Body["reason"] != "DEFAULT" || bulk.Flags[0].Reason != "DEFAULT" {
					t.Fatalf("%s outside the audience: single %s, bulk %s", user, single.Raw, raw)
				}
				continue
			}
			// In it: the single evaluation enrolled the user (unless the
			// coverage leaves them out), the bulk one answers the same arm.
			a2 := assigned(user)
			if a2.Body["in_experiment"] != true {
				if single.Body["reason"] != "DEFAULT" || bulk.Flags[0].Reason != "DEFAULT" {
					t.Fatalf("%s outside the coverage: single %s, bulk %s", user, single.Raw, raw)
				}
				continue
			}
			inside++
			if a2.Body["enrolled"] != false || single.Body["reason"] != "SPLIT" || single.Body["variant"] != a2.Body["variant"] ||
				bulk.Flags[0].Variant != a2.Body["variant"] {
				t.Fatalf("%s: single %s, bulk %s, /v1/assign %s", user, single.Raw, raw, a2.Raw)
			}
		}
	}
	if inside < 30 {
		t.Fatalf("%d of 60 users inside an 80%% coverage", inside)
	}
}

// TestGrowthBookFeaturesAudience: the payload's experiment rule carries
// the audience, ANDed with the rule's own condition when it has one.
func TestGrowthBookFeaturesAudience(t *testing.T) {
	t.Parallel()
	a, client, clock := mustGrowthBookAudienceAPI(t, `{"country":"NL"}`)
	a.mustDo("POST", "/v1/flags", `{"key":"pro-color","kind":"experiment","value_type":"string","default_value":"blue",
"environments":{"production":{"enabled":true,"rules":[{"condition":{"plan":"pro"},"experiment":"gb-parity"}]}}}`, true, http.StatusCreated)
	conditions := func() map[string]string {
		t.Helper()
		res := a.send("GET", "/api/features/"+client, "")
		var body struct {
			Features map[string]struct {
				Rules []struct {
					Key       string          `json:"key"`
					Condition json.RawMessage `json:"condition"`
				} `json:"rules"`
			} `json:"features"`
		}
		if err := json.Unmarshal([]byte(res.Raw), &body); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for flag, f := range body.Features {
			for _, r := range f.Rules {
				if r.Key == "gb-parity" {
					out[flag] = string(r.Condition)
				}
			}
		}
		return out
	}
	want := map[string]string{"button-color": `{"country":"NL"}`, "pro-color": `{"$and":[{"plan":"pro"},{"country":"NL"}]}`}
	if got := conditions(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("experiment rules' conditions = %v, want %v", got, want)
	}
	a.mustAudience("gb-parity", `null`)
	clock.advance(6 * time.Second) // past the instance's payload
	want = map[string]string{"button-color": ``, "pro-color": `{"plan":"pro"}`}
	if got := conditions(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("without the audience, conditions = %v, want %v", got, want)
	}
}

// TestGrowthBookSDKParityAudience: with an audience on gbExperiment, the
// real GrowthBook SDK (npm 1.8.0, in node) given each user's attributes
// enters exactly the users POST /v1/assign enrols with the same
// attributes, in the same arms.
func TestGrowthBookSDKParityAudience(t *testing.T) {
	t.Parallel()
	a, client, _ := mustGrowthBookAudienceAPI(t, gbAudience)

	countries := []string{"NL", "BE", "US", "FR", "DE"}
	users := make([]map[string]any, 1000)
	for i, id := range gbUsers(len(users)) {
		users[i] = map[string]any{"id": id, "country": countries[i%len(countries)]}
		if i%7 != 0 { // some users have no age
			users[i]["age"] = float64(i % 40)
		}
	}
	source, arms := growthbookArms(t, a, client, "button-color", users)
	if source != "network" || len(arms) != len(users) {
		t.Fatalf("the SDK loaded from %q and evaluated %d users, want network and %d", source, len(arms), len(users))
	}
	matched, entered := 0, 0
	for _, u := range users {
		attrs, _ := json.Marshal(u)
		id := u["id"].(string)
		res := a.doKey("POST", "/v1/assign", `{"experiment":"gb-parity","user":"`+id+`","attributes":`+string(attrs)+`}`, client)
		var want *int
		if res.Body["in_experiment"] == true {
			i := slices.Index(gbVariants, res.Body["variant"].(string))
			want = &i
			entered++
		}
		if got := arms[id]; (got == nil) != (want == nil) || got != nil && *got != *want {
			t.Errorf("%s %s: the SDK chose %s, /v1/assign %s", id, attrs, arm(got), arm(want))
			continue
		}
		matched++
	}
	// Audience: 2/5 of users by country, plus adults of the other 3/5
	// (ages 18-39 of 0-39, 6/7 with an age), about 70 %; then 80 % coverage.
	t.Logf("%d/%d users matched; %d entered", matched, len(users), entered)
	if entered < len(users)*45/100 || entered > len(users)*65/100 {
		t.Errorf("%d of %d users entered, want about 56 %% (audience 70 %%, coverage 80 %%)", entered, len(users))
	}
}
