package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/refx-dev/refx/pkg/app"
	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
)

// Config is what a deployment of refx is configured with: CDK context, set in
// cdk.json's "context" or with `cdk deploy -c key=value`. It is refx's
// `lamed configure`; the README's "Deploy to AWS" documents every key.
type Config struct {
	// Stage names the deployment (context "stage", default "dev"): the stack
	// is Refx-<stage>.
	Stage string
	// Production marks a stage that serves real users (context
	// "production", default: true unless the stage is "dev"). It is the one
	// notion behind the stricter defaults: data retained (RetainData),
	// exported objects expired (ExportRetentionDays) and alarms required to
	// reach someone (AlarmEmail or AlarmEmailOptOut). Any stage but "dev"
	// counts, so that a stage named "live" or "eu" is not left unguarded by
	// its name.
	Production bool
	// RetainData keeps the table, the export bucket, the secret and the log
	// groups when the stack is deleted, and turns on the table's deletion
	// protection (context "retainData", default: Production).
	RetainData bool
	// AllowedOrigins are the browser origins the public routes answer CORS
	// to (context "allowedOrigins", a list or comma-separated, or "*";
	// default none: same-origin pages only). The functions answer CORS
	// themselves (REFX_ALLOWED_ORIGINS).
	AllowedOrigins []string
	// CounterShards is the counter_shards of experiments created without one
	// (context "counterShards", default 8).
	CounterShards int
	// IdempotencyTTL is how long event ids are remembered (context
	// "idempotencyTTL", a Go duration, default 168h).
	IdempotencyTTL time.Duration
	// AlarmEmail receives the alarms (context "alarmEmail"; default none:
	// the alarms still go to the stack's SNS topic). A production stage
	// needs it unless AlarmEmailOptOut.
	AlarmEmail string
	// AlarmEmailOptOut lets a production stage go without AlarmEmail, for
	// a deployment that subscribes the alarm topic (output AlarmTopicArn)
	// some other way (context "alarmEmailOptOut", default false).
	AlarmEmailOptOut bool
	// TrackPaths are extra paths of the event routes, past ad-blockers
	// (context "trackPaths", a list or comma-separated).
	TrackPaths []string
	// ThrottleRate and ThrottleBurst are the API stage's request rate (per
	// second) and burst (contexts "throttleRate", default 500, and
	// "throttleBurst", default 1000).
	ThrottleRate, ThrottleBurst float64
	// LogRetentionDays is how long Lambda and access logs are kept (context
	// "logRetentionDays", default 30; one of CloudWatch's allowed values).
	LogRetentionDays int
	// LogLevel is the functions' log level (context "logLevel", default info).
	LogLevel string
	// ExportRetentionDays expires exported objects after this many days
	// (context "exportRetentionDays"; 0 is never; default
	// productionExportRetentionDays in production, else never).
	ExportRetentionDays int
	// PublicURL is the base URL of referral links, e.g. a custom domain in
	// front of the API (context "publicURL"; default: the API's URL).
	PublicURL string
	// FallbackURL is where unknown and expired referral links lead (context
	// "fallbackURL"; default: a built-in page).
	FallbackURL string
	// LamedPrefix moves the Alephbet/Lamed-compatible routes from /lamed to
	// another path, like Lamed's own configurable paths (context
	// "lamedPrefix"; default /lamed).
	LamedPrefix string
	// SnapshotPeriod is how often the results of running experiments are
	// snapshotted (context "snapshotPeriod", a Go duration dividing a day,
	// default 1h).
	SnapshotPeriod time.Duration
	// Keyless keeps the public routes answering callers without a key, as
	// before keys existed, for Alephbet/Lamed clients that cannot send one
	// (context "keyless", default false; REFX_KEYLESS).
	Keyless bool
	// RequireApproval makes every launch wait for an approval by someone
	// other than the experiment's last editor (context "requireApproval",
	// default true, every stage alike: a deployed API is shared by a team;
	// REFX_REQUIRE_APPROVAL). ./scripts/dev and the tests run without it.
	RequireApproval bool
	// RatePerKey and RatePerIP are the requests per second one function
	// instance of a public route lets through per key and per (hashed) IP
	// address (contexts "ratePerKey" and "ratePerIp", default
	// app.DefaultRatePerKey and DefaultRatePerIP; 0 turns the limit off;
	// REFX_RATE_PER_KEY, REFX_RATE_PER_IP). They
	// are counted in each instance's memory, so a key's bound over the
	// service is the rate times the concurrent instances, which
	// ReservedConcurrency caps.
	RatePerKey, RatePerIP int
	// ReservedConcurrency is the reserved concurrent executions of each
	// public function, assign and track (context "reservedConcurrency";
	// default 0: none, they share the account's pool).
	ReservedConcurrency int
	// Lamed bounds what Alephbet calls can create: the namespaces allowed
	// (context "lamedNamespaces", a list or comma-separated; default none:
	// any), experiments per namespace, variants and goals per experiment
	// (contexts "lamedMaxExperiments", "lamedMaxVariants", "lamedMaxGoals";
	// defaults refx.DefaultLamedMax*). REFX_LAMED_NAMESPACES,
	// REFX_LAMED_MAX_*.
	Lamed refx.LamedLimits
	// UserTTL is how long per-user items (assignments, events, referral
	// state) live after their last write (context "userTtl", a Go
	// duration, default dynamo.DefaultUserTTL, 9600h = 400 days;
	// REFX_USER_TTL).
	UserTTL time.Duration
	// QuickSightUserArn is the QuickSight user who owns the stack's
	// QuickSight data source and datasets of the dashboard queries
	// (context "quicksightUserArn", like
	// arn:aws:quicksight:us-east-1:123456789012:user/default/alice;
	// default none: no QuickSight resource at all). The account's
	// QuickSight subscription is set up once by hand (README).
	QuickSightUserArn string
}

// productionExportRetentionDays is a production stage's default export
// retention: the default UserTTL, so that exported copies of a user's
// events are not kept longer than the table keeps the events.
const productionExportRetentionDays = int(dynamo.DefaultUserTTL / (24 * time.Hour))

// contextKeys are the context keys ConfigFromContext reads (the README
// documents each: TestReadmeDocumentsContext).
var contextKeys = []string{
	"stage", "retainData", "allowedOrigins", "counterShards", "idempotencyTTL", "alarmEmail",
	"trackPaths", "throttleRate", "throttleBurst", "logRetentionDays", "logLevel", "exportRetentionDays",
	"publicURL", "fallbackURL", "lamedPrefix", "snapshotPeriod",
	"production", "alarmEmailOptOut", "keyless", "ratePerKey", "ratePerIp", "reservedConcurrency",
	"lamedNamespaces", "lamedMaxExperiments", "lamedMaxVariants", "lamedMaxGoals", "userTtl",
	"requireApproval", "quicksightUserArn",
}

// DefaultConfig is the configuration of a dev stage.
func DefaultConfig() Config {
	return Config{
		Stage: "dev", CounterShards: refx.DefaultShards, IdempotencyTTL: 168 * time.Hour,
		ThrottleRate: 500, ThrottleBurst: 1000, LogRetentionDays: 30, LogLevel: "info",
		SnapshotPeriod: app.DefaultSnapshotPeriod,
		RatePerKey:     app.DefaultRatePerKey, RatePerIP: app.DefaultRatePerIP,
		Lamed:           refx.LamedLimits{}.WithDefaults(),
		UserTTL:         dynamo.DefaultUserTTL,
		RequireApproval: true,
	}
}

var (
	stageRE       = regexp.MustCompile(`^[a-z][a-z0-9-]{0,19}$`)
	lamedPrefixRE = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)
	emailRE       = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	// quickSightUserRE is a QuickSight user's ARN: its region is the
	// account's QuickSight identity region, which may differ from the
	// stack's.
	quickSightUserRE = regexp.MustCompile(`^arn:aws[a-z-]*:quicksight:[a-z0-9-]+:[0-9]{12}:user/[A-Za-z0-9._-]+/[^/\s]+$`)
	// logRetentions are the retention periods CloudWatch Logs accepts.
	logRetentions = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)

// ConfigFromContext reads the configuration through get, which returns a
// context value or nil. Values come from cdk.json as JSON (strings, numbers,
// booleans, lists) or from -c on the command line as strings; both are
// accepted.
func ConfigFromContext(get func(key string) any) (Config, error) {
	c := DefaultConfig()
	var errs []string
	fail := func(key string, v any, want string) {
		errs = append(errs, fmt.Sprintf("context %s=%v: want %s", key, v, want))
	}
	if v := get("stage"); v != nil {
		s, ok := v.(string)
		if !ok || !stageRE.MatchString(s) {
			fail("stage", v, "a lower-case name like dev or prod (letters, digits, -; at most 20)")
		} else {
			c.Stage = s
		}
	}
	c.Production = c.Stage != "dev"
	if v := get("production"); v != nil {
		if b, ok := asBool(v); ok {
			c.Production = b
		} else {
			fail("production", v, "true or false")
		}
	}
	c.RetainData = c.Production
	if c.Production {
		c.ExportRetentionDays = productionExportRetentionDays
	}
	for key, dst := range map[string]*bool{"retainData": &c.RetainData, "alarmEmailOptOut": &c.AlarmEmailOptOut, "keyless": &c.Keyless, "requireApproval": &c.RequireApproval} {
		if v := get(key); v != nil {
			if b, ok := asBool(v); ok {
				*dst = b
			} else {
				fail(key, v, "true or false")
			}
		}
	}
	if v := get("allowedOrigins"); v != nil {
		list, ok := asList(v)
		origins, err := app.ParseAllowedOrigins(strings.Join(list, ","))
		if ok && err == nil {
			c.AllowedOrigins = origins
		} else {
			fail("allowedOrigins", v, fmt.Sprintf(`a list of origins like ["https://app.example.com"], or ["*"] alone (%v)`, err))
		}
	}
	if v := get("counterShards"); v != nil {
		n, ok := asInt(v)
		if !ok || n < 1 || n > refx.MaxShards {
			fail("counterShards", v, fmt.Sprintf("a whole number from 1 to %d", refx.MaxShards))
		} else {
			c.CounterShards = n
		}
	}
	if v := get("idempotencyTTL"); v != nil {
		s, _ := v.(string)
		d, err := time.ParseDuration(s)
		if err != nil || d < time.Hour {
			fail("idempotencyTTL", v, "a Go duration of at least 1h, like 168h")
		} else {
			c.IdempotencyTTL = d
		}
	}
	badEmail := false
	if v := get("alarmEmail"); v != nil {
		s, ok := v.(string)
		if badEmail = !ok || (s != "" && !emailRE.MatchString(s)); badEmail {
			fail("alarmEmail", v, "an e-mail address")
		} else {
			c.AlarmEmail = s
		}
	}
	if v := get("trackPaths"); v != nil {
		list, ok := asList(v)
		if _, err := httpapi.TrackPathRoutes(list); !ok || err != nil {
			fail("trackPaths", v, fmt.Sprintf("a list of extra event paths like [\"/t/e\"] (%v)", err))
		} else {
			c.TrackPaths = list
		}
	}
	for key, dst := range map[string]*float64{"throttleRate": &c.ThrottleRate, "throttleBurst": &c.ThrottleBurst} {
		if v := get(key); v != nil {
			n, ok := asInt(v)
			if !ok || n < 1 || n > 100000 {
				fail(key, v, "a whole number of requests from 1 to 100000")
			} else {
				*dst = float64(n)
			}
		}
	}
	if v := get("logRetentionDays"); v != nil {
		n, ok := asInt(v)
		if !ok || !slices.Contains(logRetentions, n) {
			fail("logRetentionDays", v, fmt.Sprintf("one of %v", logRetentions))
		} else {
			c.LogRetentionDays = n
		}
	}
	if v := get("logLevel"); v != nil {
		s, _ := v.(string)
		switch strings.ToLower(s) {
		case "debug", "info", "warn", "error":
			c.LogLevel = strings.ToLower(s)
		default:
			fail("logLevel", v, "debug, info, warn or error")
		}
	}
	if v := get("exportRetentionDays"); v != nil {
		n, ok := asInt(v)
		if !ok || n < 0 {
			fail("exportRetentionDays", v, "a whole number of days, 0 for never")
		} else {
			c.ExportRetentionDays = n
		}
	}
	for key, dst := range map[string]*string{"publicURL": &c.PublicURL, "fallbackURL": &c.FallbackURL} {
		if v := get(key); v != nil {
			s, _ := v.(string)
			u, err := url.Parse(s)
			if s != "" && (err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http")) {
				fail(key, v, "an absolute http(s) URL")
			} else {
				*dst = s
			}
		}
	}
	if v := get("lamedPrefix"); v != nil {
		s, _ := v.(string)
		if p := strings.TrimRight(s, "/"); !lamedPrefixRE.MatchString(p) {
			fail("lamedPrefix", v, "an absolute path like /lamed or /x/ab (letters, digits, ._~- segments)")
		} else {
			c.LamedPrefix = p
		}
	}
	if v := get("snapshotPeriod"); v != nil {
		s, _ := v.(string)
		d, err := app.SnapshotPeriodFromEnv(func(string) string { return s })
		if err != nil || s == "" {
			fail("snapshotPeriod", v, "a Go duration of at least 1m that divides a day, like 1h or 15m")
		} else {
			c.SnapshotPeriod = d
		}
	}
	for _, n := range []struct {
		key      string
		dst      *int
		min, max int
	}{
		{"ratePerKey", &c.RatePerKey, 0, 100000},
		{"ratePerIp", &c.RatePerIP, 0, 100000},
		{"reservedConcurrency", &c.ReservedConcurrency, 1, 100000},
	} {
		if v := get(n.key); v != nil {
			i, ok := asInt(v)
			if !ok || i < n.min || i > n.max {
				fail(n.key, v, fmt.Sprintf("a whole number from %d to %d", n.min, n.max))
			} else {
				*n.dst = i
			}
		}
	}
	if v := get("lamedNamespaces"); v != nil {
		list, ok := asList(v)
		// A comma could not travel in REFX_LAMED_NAMESPACES.
		if !ok || slices.ContainsFunc(list, func(ns string) bool { return strings.Contains(ns, ",") }) {
			fail("lamedNamespaces", v, `a list of Lamed namespaces like ["alephbet"]`)
		} else {
			c.Lamed.Namespaces = list
		}
	}
	// The bounds are checked by the core's own LamedLimits.Validate, which
	// names the field at fault.
	lamedKeys := map[string]*int{
		"lamedMaxExperiments": &c.Lamed.MaxExperiments, "lamedMaxVariants": &c.Lamed.MaxVariants, "lamedMaxGoals": &c.Lamed.MaxGoals,
	}
	for key, dst := range lamedKeys {
		if v := get(key); v != nil {
			if n, ok := asInt(v); ok {
				*dst = n
			} else {
				fail(key, v, "a whole number")
			}
		}
	}
	var invalid *refx.Error
	if err := c.Lamed.Validate(); errors.As(err, &invalid) {
		key := map[string]string{
			"namespaces": "lamedNamespaces", "max_experiments": "lamedMaxExperiments",
			"max_variants": "lamedMaxVariants", "max_goals": "lamedMaxGoals",
		}[invalid.Field]
		errs = append(errs, fmt.Sprintf("context %s: %s", key, invalid.Message))
	}
	if v := get("userTtl"); v != nil {
		s, _ := v.(string)
		d, err := time.ParseDuration(s)
		if err != nil || d < 24*time.Hour {
			fail("userTtl", v, "a Go duration of at least 24h, like 9600h (400 days)")
		} else {
			c.UserTTL = d
		}
	}
	if v := get("quicksightUserArn"); v != nil {
		s, ok := v.(string)
		if !ok || (s != "" && !quickSightUserRE.MatchString(s)) {
			fail("quicksightUserArn", v, "a QuickSight user's ARN like arn:aws:quicksight:us-east-1:123456789012:user/default/alice")
		} else {
			c.QuickSightUserArn = s
		}
	}
	if c.Production && c.AlarmEmail == "" && !c.AlarmEmailOptOut && !badEmail {
		errs = append(errs, fmt.Sprintf("context alarmEmail: stage %s is a production stage, whose alarms must reach someone: "+
			"set alarmEmail=<address>, or alarmEmailOptOut=true if the alarm topic (output AlarmTopicArn) is subscribed another way "+
			"(or production=false if the stage serves no real users)", c.Stage))
	}
	sort.Strings(errs)
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("refx configuration:\n  %s", strings.Join(errs, "\n  "))
	}
	return c, nil
}

func asBool(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		b, err := strconv.ParseBool(v)
		return b, err == nil
	}
	return false, false
}

func asInt(v any) (int, bool) {
	switch v := v.(type) {
	case float64:
		return int(v), v == float64(int(v))
	case int:
		return v, true
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		return n, err == nil
	}
	return 0, false
}

// asList accepts a JSON list of strings or a comma-separated string (how -c
// passes lists); empty items are dropped.
func asList(v any) ([]string, bool) {
	var items []string
	switch v := v.(type) {
	case string:
		items = strings.Split(v, ",")
	case []any:
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			items = append(items, s)
		}
	case []string:
		items = v
	default:
		return nil, false
	}
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, true
}

// cdkJSONContext returns the "context" of the cdk.json in dir. The CDK CLI
// passes it to the app itself; `go run ./infra` reads it here, so that both
// synthesize the same stack.
func cdkJSONContext(dir string) (map[string]any, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cdk.json"))
	if err != nil {
		return nil, err
	}
	var f struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("cdk.json: %w", err)
	}
	return f.Context, nil
}
