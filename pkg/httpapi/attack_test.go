package httpapi_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/refx-dev/refx/pkg/httpapi"
)

// attackExperiment measures a signup and a purchase. Defended, both are
// server-only (only a secret key's events count) and purchases are capped.
func attackExperiment(defended bool) string {
	goals := `[{"key":"signup","kind":"binomial"},{"key":"purchase","kind":"value"}]`
	if defended {
		goals = `[{"key":"signup","kind":"binomial","server_only":true},{"key":"purchase","kind":"value","server_only":true,"cap":500}]`
	}
	return `{"id":"cta-test","variants":[{"key":"control","weight":50},{"key":"bold","weight":50}],"goals":` + goals + `}`
}

// verdict is what the results say of bold against control on a goal.
type verdict struct {
	code          string
	pValue        float64
	srmPassed     bool
	signups       map[string]float64
	purchaseValue string
}

func (a *api) verdict(goal string) verdict {
	a.tb.Helper()
	res := a.mustDo("GET", "/v1/experiments/cta-test/results", "", true, http.StatusOK)
	analysis := res.Body["analysis"].(map[string]any)
	cmp := analysis["goals"].(map[string]any)[goal].(map[string]any)["conversion_rate"].(map[string]any)["comparisons"].([]any)[0].(map[string]any)
	v := verdict{code: cmp["verdict"].(map[string]any)["code"].(string), signups: map[string]float64{}}
	if p, ok := cmp["p_value"].(float64); ok {
		v.pValue = p
	}
	srm, _ := analysis["srm"].(map[string]any)
	mismatch, ok := srm["mismatch"].(bool)
	v.srmPassed = ok && !mismatch
	for _, vr := range res.Body["variants"].([]any) {
		vm := vr.(map[string]any)
		goals := vm["goals"].(map[string]any)
		v.signups[vm["key"].(string)] = goals["signup"].(map[string]any)["users"].(float64)
		if vm["key"] == "bold" {
			v.purchaseValue = fmt.Sprint(goals["purchase"].(map[string]any)["value_sum"])
		}
	}
	return v
}

// parallel runs f(i) for i in [0, n) on a few workers.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// legitTraffic is the experiment's real users, sent by the customer's
// backend: 400 users, 30% sign up in either arm, a few buy.
func legitTraffic(t *testing.T, a *api, secret string) {
	parallel(400, func(i int) {
		user := fmt.Sprintf("user-%03d", i)
		a.doKey("POST", "/v1/assign", `{"experiment":"cta-test","user":"`+user+`"}`, secret)
		if i%10 < 3 {
			a.doKey("POST", "/v1/events", fmt.Sprintf(`{"id":"00000000-0000-4000-8000-%012d","type":"signup","user":%q}`, i, user), secret)
		}
		if i%40 == 0 {
			a.doKey("POST", "/v1/events", fmt.Sprintf(`{"id":"0000000a-0000-4000-9000-%012d","type":"purchase","user":%q,"value":20}`, i, user), secret)
		}
	})
}

// attack plays the attacker of issue 12 with whatever key it could copy
// from a web page (key "" for none): 300 made-up users assigned, a signup
// for each that landed in bold, a purchase of 1e9 for the first. It
// returns the statuses of its requests, counted by route and status.
func attack(a *api, key string) map[string]int {
	var mu sync.Mutex
	outcomes := map[string]int{}
	note := func(route string, res response) {
		mu.Lock()
		defer mu.Unlock()
		outcomes[fmt.Sprintf("%s %d", route, res.Status)]++
	}
	var purchased sync.Once
	parallel(300, func(i int) {
		user := fmt.Sprintf("mallory-%03d", i)
		res := a.doKey("POST", "/v1/assign", `{"experiment":"cta-test","user":"`+user+`"}`, key)
		note("assign", res)
		if res.Body["variant"] != "bold" {
			return
		}
		note("signup", a.doKey("POST", "/v1/events", fmt.Sprintf(`{"id":"00000000-0000-4000-a000-%012d","type":"signup","user":%q}`, i, user), key))
		purchased.Do(func() {
			note("purchase", a.doKey("POST", "/v1/events", fmt.Sprintf(`{"id":"00000000-0000-4000-b000-%012d","type":"purchase","user":%q,"value":1e9}`, i, user), key))
		})
	})
	return outcomes
}

// TestAttackerCannotMoveTheVerdict replays the attack of issue 12. Without
// the defences (a keyless deployment, goals any caller may send) it makes
// bold the winner; with them it moves nothing: requests without a key are
// refused, and a client key copied from the site enrols made-up users but
// their signups and purchases count for nothing, since the goals are
// server-only; a genuine purchase of 1e9 from the backend counts at the
// cap.
func TestAttackerCannotMoveTheVerdict(t *testing.T) {
	t.Parallel()
	t.Run("Undefended", func(t *testing.T) {
		t.Parallel()
		a := MustAPIWith(t, func(s *httpapi.Server) { s.Keyless = true })
		a.mustDo("POST", "/v1/experiments", attackExperiment(false), true, http.StatusCreated)
		a.mustDo("POST", "/v1/experiments/cta-test/start", "", true, http.StatusOK)
		legitTraffic(t, a, "")
		before := a.verdict("signup")
		for outcome := range attack(a, "") {
			if outcome[len(outcome)-3] != '2' {
				t.Fatalf("a keyless deployment refused attack requests: %s", outcome)
			}
		}
		after := a.verdict("signup")
		if before.code != "inconclusive" || after.code != "winner" || !after.srmPassed {
			t.Fatalf("the attack should make bold the winner while the SRM check passes: before %+v, after %+v", before, after)
		}
		t.Logf("undefended: bold %s (p = %.2g), SRM passed; purchase value of bold %s", after.code, after.pValue, after.purchaseValue)
	})
	t.Run("Defended", func(t *testing.T) {
		t.Parallel()
		a := MustAPIWith(t, func(s *httpapi.Server) { s.AllowedOrigins = []string{"https://shop.example"} })
		a.mustDo("POST", "/v1/experiments", attackExperiment(true), true, http.StatusCreated)
		a.mustDo("POST", "/v1/experiments/cta-test/start", "", true, http.StatusOK)
		client, secret := a.mustKey("client", "https://shop.example"), a.mustKey("secret")
		legitTraffic(t, a, secret)
		before := a.verdict("signup")

		if got := attack(a, ""); got["assign 401"] != 300 || len(got) != 1 {
			t.Errorf("without a key: %v, want 300 assignments refused 401", got)
		}
		// The client key copied from the site enrols made-up users (the
		// SRM check stays blind to that), but its signups and purchase
		// are refused: those goals count only from the backend.
		got := attack(a, client)
		if got["assign 200"] != 300 || got["signup 403"] < 100 || got["purchase 403"] != 1 || len(got) != 3 {
			t.Errorf("with the client key: %v, want 300 assignments, every signup and the purchase 403", got)
		}
		t.Logf("the attack's requests: without a key %v; with the client key %v", map[string]int{"assign 401": 300}, got)
		// From a browser on another site, the client key is refused.
		if res := a.doKey("POST", "/v1/events", `{"id":"00000000-0000-4000-c000-000000000001","type":"signup","user":"mallory-000"}`, client,
			"Origin", "https://evil.example", "Content-Type", "text/plain"); res.Status != http.StatusForbidden {
			t.Errorf("cross-site post = %d %s", res.Status, res.Raw)
		}
		// An upper-case copy of a genuine purchase's id is the same event.
		if res := a.doKey("POST", "/v1/events", `{"id":"0000000A-0000-4000-9000-000000000000","type":"purchase","user":"user-000","value":20}`, secret); res.Status != http.StatusOK || res.Body["status"] != "duplicate" {
			t.Errorf("an upper-case copy of a purchase's id = %d %s, want 200 duplicate", res.Status, res.Raw)
		}
		after := a.verdict("signup")
		if after.code != before.code || after.code == "winner" || after.signups["bold"] != before.signups["bold"] || after.signups["control"] != before.signups["control"] {
			t.Fatalf("the attack moved the verdict: before %+v, after %+v", before, after)
		}
		// A genuine purchase of 1e9 counts at the cap.
		var boldUser string
		for i := 0; boldUser == ""; i++ {
			user := fmt.Sprintf("user-%03d", i)
			if res := a.doKey("POST", "/v1/assign", `{"experiment":"cta-test","user":"`+user+`"}`, secret); res.Body["variant"] == "bold" {
				boldUser = user
			}
		}
		a.doKey("POST", "/v1/events", `{"id":"00000000-0000-4000-d000-000000000001","type":"purchase","user":"`+boldUser+`","value":1e9}`, secret)
		capped := a.verdict("signup")
		if want := addDecimal(t, before.purchaseValue, 500); capped.purchaseValue != want {
			t.Fatalf("bold's purchase value after a 1e9 purchase = %s, want %s (capped at 500)", capped.purchaseValue, want)
		}
		t.Logf("defended: bold %s (p = %.2g) before and after; signups %v unchanged", after.code, after.pValue, after.signups)
	})
}

func addDecimal(t *testing.T, s string, n int) string {
	t.Helper()
	var v int
	if _, err := fmt.Sscan(s, &v); err != nil {
		t.Fatalf("value sum %q: %v", s, err)
	}
	return fmt.Sprint(v + n)
}
