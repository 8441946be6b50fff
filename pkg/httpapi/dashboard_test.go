package httpapi_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
)

// dashAPI is an API with snapshots on a fresh table, its store and a
// settable clock.
type dashAPI struct {
	*httptest.Server
	tb    testing.TB
	store *dynamo.Store
	now   atomic.Int64
}

func MustDashboardAPI(tb testing.TB) *dashAPI {
	tb.Helper()
	a := &dashAPI{tb: tb}
	a.now.Store(time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour).UnixNano())
	client, table := dynamotest.NewTable(tb)
	a.store = dynamo.New(client, table, dynamo.Options{Now: a.clock})
	srv := &httpapi.Server{
		Experiments: a.store, Assignments: a.store, Events: a.store, Results: a.store, Referrals: a.store,
		Lamed: a.store, Snapshots: a.store, Keys: a.store, Keyless: true, AdminKey: adminKey, HashKey: []byte("test-hash-key"),
		Now: a.clock, Logger: slog.New(slog.DiscardHandler),
	}
	a.Server = httptest.NewServer(dynamotest.Counting(tb, a.store, srv.Handler(httpapi.AllRoutes)))
	tb.Cleanup(a.Close)
	return a
}

func (a *dashAPI) clock() time.Time        { return time.Unix(0, a.now.Load()).UTC() }
func (a *dashAPI) advance(d time.Duration) { a.now.Add(int64(d)) }

// raw sends a request and returns the answer with its body read. Redirects
// are not followed.
func (a *dashAPI) raw(method, path, body string, admin bool) (*http.Response, string) {
	a.tb.Helper()
	req, err := http.NewRequest(method, a.URL+path, strings.NewReader(body))
	if err != nil {
		a.tb.Fatal(err)
	}
	if admin {
		req.Header.Set("Authorization", "Bearer "+adminKey)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		a.tb.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// want sends a request and fails unless it answers status (and, for an
// error, code and field).
func (a *dashAPI) want(method, path, body string, admin bool, status int, codeField ...string) string {
	a.tb.Helper()
	res, raw := a.raw(method, path, body, admin)
	if res.StatusCode != status {
		a.tb.Fatalf("%s %s = %d %s, want %d", method, path, res.StatusCode, raw, status)
	}
	if len(codeField) > 0 {
		var e httpapi.ErrorBody
		json.Unmarshal([]byte(raw), &e)
		if e.Error.Code != codeField[0] || (len(codeField) > 1 && e.Error.Field != codeField[1]) {
			a.tb.Fatalf("%s %s = %s, want code %v", method, path, raw, codeField)
		}
	}
	return raw
}

func (a *dashAPI) mustRunning(tb testing.TB, body string) string {
	tb.Helper()
	var e refx.Experiment
	json.Unmarshal([]byte(a.want("POST", "/v1/experiments", body, true, http.StatusCreated)), &e)
	a.want("POST", "/v1/experiments/"+e.ID+"/start", "", true, http.StatusOK)
	return e.ID
}

const referralBody = `{"id":"give-get","variants":[{"key":"usd10","weight":1},{"key":"pct20","weight":1}],
"goals":[{"key":"share","kind":"binomial"}],"referral":{"landing_url":"https://shop.example/welcome"}}`

func TestDashboardPage(t *testing.T) {
	t.Parallel()
	a := MustDashboardAPI(t)
	res, page := a.raw("GET", "/dashboard", "", false)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("page: %d %v", res.StatusCode, res.Header)
	}
	assets := regexp.MustCompile(`"(dashboard/app\.[0-9a-f]+\.(?:js|css))"`).FindAllStringSubmatch(page, -1)
	if len(assets) != 2 {
		t.Fatalf("page assets: %v", assets)
	}
	for _, m := range assets {
		if res, body := a.raw("GET", "/"+m[1], "", false); res.StatusCode != http.StatusOK || len(body) < 100 {
			t.Errorf("GET /%s = %d", m[1], res.StatusCode)
		}
	}
	res, _ = a.raw("GET", "/dashboard/", "", false)
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "../dashboard" {
		t.Errorf("/dashboard/ = %d %s, want a redirect to the page", res.StatusCode, res.Header.Get("Location"))
	}
	a.want("GET", "/dashboard/app.0123456789ab.js", "", false, http.StatusNotFound, refx.ENOTFOUND)
}

func TestDeleteExperimentRoute(t *testing.T) {
	t.Parallel()
	a := MustDashboardAPI(t)
	a.want("POST", "/v1/experiments", experimentBody, true, http.StatusCreated)
	t.Run("ErrUnauthorized", func(t *testing.T) {
		a.want("DELETE", "/v1/experiments/cta-test", "", false, http.StatusUnauthorized, refx.EUNAUTHORIZED)
	})
	t.Run("Draft", func(t *testing.T) {
		a.want("DELETE", "/v1/experiments/cta-test", "", true, http.StatusNoContent)
		a.want("GET", "/v1/experiments/cta-test", "", true, http.StatusNotFound, refx.ENOTFOUND)
		a.want("DELETE", "/v1/experiments/cta-test", "", true, http.StatusNotFound, refx.ENOTFOUND)
		a.want("POST", "/v1/experiments", experimentBody, true, http.StatusConflict, refx.ECONFLICT)
	})
	t.Run("ErrRunning", func(t *testing.T) {
		id := a.mustRunning(t, referralBody)
		a.want("DELETE", "/v1/experiments/"+id, "", true, http.StatusConflict, refx.ECONFLICT)
		a.want("POST", "/v1/experiments/"+id+"/stop", "", true, http.StatusOK)
		a.want("DELETE", "/v1/experiments/"+id, "", true, http.StatusNoContent)
	})
	t.Run("ErrInvalidID", func(t *testing.T) {
		a.want("DELETE", "/v1/experiments/Not%20An%20Id", "", true, http.StatusBadRequest, refx.EINVALID, "id")
	})
}

func TestTimeseries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := MustDashboardAPI(t)
	id := a.mustRunning(t, experimentBody)
	first := a.clock()
	dynamotest.MustCount(t, a.store)
	if _, err := a.store.Snapshot(ctx, id, first.Truncate(time.Hour)); err != nil {
		t.Fatal(err)
	}
	a.advance(time.Hour)
	a.want("POST", "/v1/assign", `{"experiment":"cta-test","user":"alice"}`, false, http.StatusOK)
	dynamotest.MustCount(t, a.store)
	if _, err := a.store.Snapshot(ctx, id, a.clock().Truncate(time.Hour)); err != nil {
		t.Fatal(err)
	}
	a.want("POST", "/v1/assign", `{"experiment":"cta-test","user":"bob"}`, false, http.StatusOK)

	var ts httpapi.TimeseriesResponse
	json.Unmarshal([]byte(a.want("GET", "/v1/experiments/cta-test/timeseries", "", true, http.StatusOK)), &ts)
	participants := func(p httpapi.TimeseriesPoint) (n int64) {
		for _, v := range p.Variants {
			n += v.Participants
		}
		return n
	}
	if len(ts.Points) != 3 || ts.Points[0].Live || ts.Points[1].Live || !ts.Points[2].Live {
		t.Fatalf("points = %+v, want two snapshots then the live counts", ts.Points)
	}
	if got := []int64{participants(ts.Points[0]), participants(ts.Points[1]), participants(ts.Points[2])}; got[0] != 0 || got[1] != 1 || got[2] != 2 {
		t.Fatalf("participants over time = %v, want [0 1 2]", got)
	}
	t.Run("Range", func(t *testing.T) {
		// The live counts are the present: a range ending in the past has none.
		to := first.Add(30 * time.Minute).Format(time.RFC3339)
		json.Unmarshal([]byte(a.want("GET", "/v1/experiments/cta-test/timeseries?to="+to, "", true, http.StatusOK)), &ts)
		if len(ts.Points) != 1 || ts.Points[0].Live {
			t.Fatalf("points up to %s = %+v, want the first snapshot only", to, ts.Points)
		}
		from := first.Add(30 * time.Minute).Format(time.RFC3339)
		json.Unmarshal([]byte(a.want("GET", "/v1/experiments/cta-test/timeseries?from="+from, "", true, http.StatusOK)), &ts)
		if len(ts.Points) != 2 || !ts.Points[1].Live {
			t.Fatalf("points from %s = %+v, want the second snapshot and the live counts", from, ts.Points)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		a.want("GET", "/v1/experiments/cta-test/timeseries?from=yesterday", "", true, http.StatusBadRequest, refx.EINVALID, "from")
		a.want("GET", "/v1/experiments/cta-test/timeseries?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "", true, http.StatusBadRequest, refx.EINVALID, "to")
		a.want("GET", "/v1/experiments/cta-test/timeseries?form=2026-03-02T00:00:00Z", "", true, http.StatusBadRequest, refx.EINVALID, "form")
		a.want("GET", "/v1/experiments/nope/timeseries", "", true, http.StatusNotFound, refx.ENOTFOUND)
		a.want("GET", "/v1/experiments/cta-test/timeseries", "", false, http.StatusUnauthorized, refx.EUNAUTHORIZED)
	})
}

// svgText checks that body is a well-formed SVG document and returns its text.
func svgText(tb testing.TB, body string) string {
	tb.Helper()
	dec := xml.NewDecoder(strings.NewReader(body))
	var text strings.Builder
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatalf("not well-formed: %v\n%s", err, body)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = t.Name.Local
			}
		case xml.CharData:
			text.Write(t)
			text.WriteByte('|')
		}
	}
	if root != "svg" {
		tb.Fatalf("root element %q, want svg", root)
	}
	return text.String()
}

func TestCharts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := MustDashboardAPI(t)
	a.mustRunning(t, experimentBody)
	a.mustRunning(t, referralBody)
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		a.want("POST", "/v1/assign", `{"experiment":"cta-test","user":"`+u+`"}`, false, http.StatusOK)
		a.want("POST", "/v1/referrals", `{"experiment":"give-get","referrer":"`+u+`"}`, false, http.StatusOK)
	}
	a.want("POST", "/v1/events", `{"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"signup","user":"alice"}`, false, http.StatusAccepted)
	dynamotest.MustCount(t, a.store)
	if _, err := a.store.Snapshot(ctx, "cta-test", a.clock().Truncate(time.Hour)); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name, path string
		want       []string
	}{
		{"Lift", "/v1/experiments/cta-test/charts/lift.svg", []string{"signup conversion rate", "purchase value per participant", "bold", "relative lift vs control"}},
		{"LiftGoalBayesian", "/v1/experiments/cta-test/charts/lift.svg?goal=signup&engine=bayesian&width=360", []string{"signup conversion rate", "bayesian engine"}},
		{"Rate", "/v1/experiments/cta-test/charts/rate.svg?goal=signup", []string{"control", "bold", "cumulative signup conversion rate"}},
		{"Funnel", "/v1/experiments/give-get/charts/funnel.svg", []string{"referrers", "usd10", "pct20", "conversions"}},
		{"ReferralLift", "/v1/experiments/give-get/charts/referral-lift.svg?engine=sequential", []string{"signups per referrer (K)", "share rate"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, body := a.raw("GET", tt.path, "", true)
			if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/svg+xml; charset=utf-8" {
				t.Fatalf("%d %s %s", res.StatusCode, res.Header.Get("Content-Type"), body)
			}
			text := svgText(t, body)
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("chart text lacks %q:\n%s", w, text)
				}
			}
		})
	}
	t.Run("ErrInvalid", func(t *testing.T) {
		a.want("GET", "/v1/experiments/cta-test/charts/pie.svg", "", true, http.StatusNotFound, refx.ENOTFOUND)
		a.want("GET", "/v1/experiments/cta-test/charts/funnel.svg", "", true, http.StatusNotFound, refx.ENOTFOUND)
		a.want("GET", "/v1/experiments/cta-test/charts/lift.svg?width=12", "", true, http.StatusBadRequest, refx.EINVALID, "width")
		a.want("GET", "/v1/experiments/cta-test/charts/rate.svg?goal=nope", "", true, http.StatusBadRequest, refx.EINVALID, "goal")
		a.want("GET", "/v1/experiments/cta-test/charts/lift.svg?engine=magic", "", true, http.StatusBadRequest, refx.EINVALID, "engine")
		a.want("GET", "/v1/experiments/give-get/charts/referral-lift.svg?goal=share", "", true, http.StatusBadRequest, refx.EINVALID, "goal")
		a.want("GET", "/v1/experiments/cta-test/charts/lift.svg", "", false, http.StatusUnauthorized, refx.EUNAUTHORIZED)
	})
}
