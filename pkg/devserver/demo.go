package devserver

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/refx-dev/refx/pkg/app"
	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
)

// The demo: two static pages wired through refx.js, served at /demo/ by the
// local server only (never by a Lambda). index.html is a referrer's share
// screen, landing.html the landing page a referral link leads to.
const (
	// DemoPath is where the demo pages are served.
	DemoPath = "/demo/"
	// DemoLandingPath is the landing page, the demo referral experiment's
	// landing URL and the fallback of unknown and ended links.
	DemoLandingPath = DemoPath + "landing.html"
	// DemoReferralExperiment is the referral experiment of the demo.
	DemoReferralExperiment = "demo-referral"
	// DemoBackendPath plays the shop's backend for the demo pages (see
	// withDemoBackend).
	DemoBackendPath = DemoPath + "backend/"
)

//go:embed demo
var demoFiles embed.FS

// localURL is the base URL of the local server listening on ln.
func localURL(ln net.Listener) string {
	return fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
}

// demoConfig points unknown and ended referral links at the demo landing
// page, and lets browsers call the API from the server's own origins (the
// demo, whether opened as localhost or 127.0.0.1) besides the configured
// ones.
func demoConfig(cfg *app.Config, opts Options, base string) {
	cfg.Referral.FallbackURL = base + DemoLandingPath
	cfg.AllowedOrigins = append([]string(nil), opts.AllowedOrigins...)
	if len(cfg.AllowedOrigins) != 1 || cfg.AllowedOrigins[0] != "*" {
		cfg.AllowedOrigins = append(cfg.AllowedOrigins, base, strings.Replace(base, "localhost", "127.0.0.1", 1))
	}
}

// withDemo serves the demo pages under DemoPath and everything else with
// api. The pages load refx.js with the run's client key in its URL.
func withDemo(api http.Handler, clientKey string) http.Handler {
	sub, err := fs.Sub(demoFiles, "demo")
	if err != nil {
		panic(err) // the embedded directory is there at build time
	}
	files := http.StripPrefix(DemoPath, http.FileServerFS(sub))
	pages := keyedPages(sub, clientKey)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == strings.TrimSuffix(DemoPath, "/"):
			http.Redirect(w, r, DemoPath, http.StatusFound)
		case strings.HasPrefix(r.URL.Path, DemoPath) && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			w.Header().Set("Cache-Control", "no-cache")
			name := strings.TrimPrefix(r.URL.Path, DemoPath)
			if name == "" {
				name = "index.html"
			}
			if page, ok := pages[name]; ok {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(page))
				return
			}
			files.ServeHTTP(w, r)
		default:
			api.ServeHTTP(w, r)
		}
	})
}

// keyedPages are the demo's HTML pages with the run's client key in the
// URLs they load refx.js from, by file name.
func keyedPages(files fs.FS, clientKey string) map[string][]byte {
	withKey := strings.NewReplacer(`/v1/refx.js"`, `/v1/refx.js?key=`+clientKey+`"`,
		`/v1/refx.mjs"`, `/v1/refx.mjs?key=`+clientKey+`"`)
	pages := map[string][]byte{}
	names, _ := fs.Glob(files, "*.html") // the pattern is valid
	for _, name := range names {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			panic(err) // embedded at build time
		}
		pages[name] = []byte(withKey.Replace(string(b)))
	}
	return pages
}

// withDemoBackend serves, under DemoBackendPath, what a shop's backend
// would do for its signed-in referrer with keys no page may hold: POST link
// {referrer, code} is POST /v1/referrals of the demo experiment with the
// run's secret key, GET stats/{code} is GET /v1/referrals/{code}/stats with
// it, GET rewards?beneficiary= is GET /v1/rewards of the demo experiment
// with the admin key. Each is passed to next as that API request, so the
// demo shows the API's own answers. The local server listens on loopback
// only.
func withDemoBackend(next http.Handler, keys devKeys, adminKey string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, DemoBackendPath)
		if ok && name == "link" && r.Method == http.MethodPost {
			demoLink(next, keys, w, r)
			return
		}
		if !ok || r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		var target, header, key string
		if code, ok := strings.CutPrefix(name, "stats/"); ok && code != "" && !strings.Contains(code, "/") {
			target, header, key = "/v1/referrals/"+url.PathEscape(code)+"/stats", httpapi.KeyHeader, keys.secret
		} else if name == "rewards" {
			q := url.Values{"experiment": {DemoReferralExperiment}, "beneficiary": {r.URL.Query().Get("beneficiary")}, "limit": {"50"}}
			target, header, key = "/v1/rewards?"+q.Encode(), "Authorization", "Bearer "+adminKey
		} else {
			http.NotFound(w, r)
			return
		}
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, target, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req.Host, req.RemoteAddr = r.Host, r.RemoteAddr
		req.Header.Set(header, key)
		next.ServeHTTP(w, req)
	})
}

// demoLink asks for the demo page's referrer's link as the shop's backend:
// with the secret key and without the referrer's ip, so the link stores no
// address (the page and the landing page share this machine's).
func demoLink(next http.Handler, keys devKeys, w http.ResponseWriter, r *http.Request) {
	var in struct {
		Referrer string `json:"referrer"`
		Code     string `json:"code,omitempty"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
		http.Error(w, "want {\"referrer\",\"code\"}", http.StatusBadRequest)
		return
	}
	body, _ := json.Marshal(httpapi.ReferralRequest{Experiment: DemoReferralExperiment, Referrer: in.Referrer, Code: in.Code})
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, "/v1/referrals", bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req.Host, req.RemoteAddr = r.Host, r.RemoteAddr
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(httpapi.KeyHeader, keys.secret)
	next.ServeHTTP(w, req)
}

// demoVariants are the demo referral experiment's offers with their reward
// plans, written as a shop sends them to the API: the fixed offer pays both
// on signup, the referrer's held 14 days; the percentage pays a fifth of the
// friend's first purchases.
const demoVariants = `[
  {"key": "usd10", "weight": 50, "payload": {"offer": "Give $10, get $10", "friend": "$10 off your first order"},
   "rewards": {"referrer": {"amount": "10.00", "currency": "USD", "on": "signup", "hold_days": 14, "cap_per_month": 10},
               "referee": {"amount": "10.00", "currency": "USD", "on": "signup"}}},
  {"key": "pct20", "weight": 50, "payload": {"offer": "Give 20%, get 20%", "friend": "20% off your first order"},
   "rewards": {"referrer": {"percent": "20", "currency": "USD", "on": "purchase", "min_value": "20", "hold_days": 14, "cap_per_month": 10},
               "referee": {"percent": "20", "currency": "USD", "on": "purchase", "min_value": "20"}}}
]`

// seedReferralDemo creates and starts the demo referral experiment unless
// it exists. Its landing URL names the server's port; when persistent data
// was seeded on another port, the landing URL is updated (a running
// experiment may change it).
func seedReferralDemo(ctx context.Context, store *dynamo.Store, base string) error {
	referral := refx.ReferralConfig{LandingURL: base + DemoLandingPath, ConversionGoal: "purchase"}
	demo := refx.NewExperiment{
		ID: DemoReferralExperiment, Name: "Demo referral offer", Owner: "growth",
		Hypothesis: "A percentage reward gets referrers more converting friends than a fixed one.",
		Goals:      []refx.Goal{{Key: "share", Kind: refx.GoalBinomial}},
		Referral:   &referral,
	}
	if err := json.Unmarshal([]byte(demoVariants), &demo.Variants); err != nil {
		return fmt.Errorf("devserver: demo variants: %w", err)
	}
	e, err := demo.Build(time.Now())
	if err != nil {
		return err
	}
	err = store.CreateExperiment(ctx, e)
	if refx.ErrorCode(err) == refx.ECONFLICT {
		existing, err := store.Experiment(ctx, DemoReferralExperiment)
		if refx.ErrorCode(err) == refx.ENOTFOUND {
			return nil // deleted from the dashboard: its id stays taken
		}
		if err != nil || existing.Referral == nil || existing.Referral.LandingURL == referral.LandingURL || existing.Status.Ended() {
			return err
		}
		moved := *existing.Referral
		moved.LandingURL = referral.LandingURL
		_, err = store.UpdateExperiment(ctx, existing.ID, refx.ExperimentPatch{Version: existing.Version, Referral: &moved})
		return err
	}
	if err != nil {
		return err
	}
	_, err = store.SetStatus(ctx, e.ID, refx.StatusRunning)
	return err
}

// demoBanner is the banner's line about the demo.
func demoBanner(base string) string {
	return fmt.Sprintf("  Demo         %s%s   (referral experiment %q)\n", base, DemoPath, DemoReferralExperiment)
}
