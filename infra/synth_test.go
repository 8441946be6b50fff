package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
)

// synthesized is one synthesized stack: the assertions template and its
// JSON, decoded for the checks assertions cannot express (finding a
// resource's references, comparing whole policies).
type synthesized struct {
	cfg      Config
	tmpl     assertions.Template
	template map[string]any
}

var (
	synthMu    sync.Mutex
	synthCache = map[string]*synthesized{}
)

// mustSynth synthesizes the stack for the context ctx, once per test binary
// and context: the Lambda binaries are built once (by the first synthesis)
// and reused by every stack after it.
func mustSynth(tb testing.TB, ctx map[string]any) *synthesized {
	tb.Helper()
	key, _ := json.Marshal(ctx)
	synthMu.Lock()
	defer synthMu.Unlock()
	if s, ok := synthCache[string(key)]; ok {
		return s
	}
	cfg, err := ConfigFromContext(func(k string) any { return ctx[k] })
	if err != nil {
		tb.Fatal(err)
	}
	app := awscdk.NewApp(nil)
	stack, err := NewRefxStack(app, "Test", &StackProps{Config: cfg})
	if err != nil {
		tb.Fatal(err)
	}
	tmpl, err := templateOf(stack)
	if err != nil {
		tb.Fatal(err)
	}
	s := &synthesized{cfg: cfg, tmpl: tmpl, template: *tmpl.ToJSON()}
	synthCache[string(key)] = s
	return s
}

// templateOf synthesizes stack; a synthesis error (which jsii raises as a
// panic) is returned.
func templateOf(stack awscdk.Stack) (tmpl assertions.Template, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("synthesis failed: %v", p)
		}
	}()
	return assertions.Template_FromStack(stack, nil), nil
}

// devContext and prodContext are the two deployments the tests synthesize:
// the defaults, and every setting changed.
var (
	devContext  = map[string]any{}
	prodContext = map[string]any{
		"stage":            "prod",
		"allowedOrigins":   []any{"https://app.example.com", "https://www.example.com"},
		"counterShards":    16.0,
		"idempotencyTTL":   "336h",
		"alarmEmail":       "oncall@example.com",
		"trackPaths":       []any{"/t/e", "/collect"},
		"throttleRate":     2000.0,
		"throttleBurst":    4000.0,
		"logRetentionDays": 90.0,
		"logLevel":         "warn",
		"publicURL":        "https://go.example.com",
		"fallbackURL":      "https://www.example.com/invite",
		"lamedPrefix":      "/x/ab",
		"snapshotPeriod":   "15m",
		// exportRetentionDays unset: production's default.
		"keyless":             true,
		"ratePerKey":          100.0,
		"ratePerIp":           0.0,
		"reservedConcurrency": 50.0,
		"lamedNamespaces":     []any{"alephbet", "shop"},
		"lamedMaxExperiments": 200.0,
		"lamedMaxVariants":    4.0,
		"lamedMaxGoals":       8.0,
		"userTtl":             "4800h",
	}
)

// check runs an assertions call, which panics on a mismatch, as a test
// error, so that one failed assertion does not stop the others.
func check(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("%s: %v", what, p)
		}
	}()
	f()
}

// resources returns the template's resources of type typ by logical id.
func (s *synthesized) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.template["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

// props returns a resource's Properties.
func props(res map[string]any) map[string]any {
	p, _ := res["Properties"].(map[string]any)
	return p
}

// logicalID returns the one logical id of type typ whose construct id is
// prefix (the CDK appends an 8-character hash to the path).
func (s *synthesized) logicalID(t *testing.T, typ, prefix string) string {
	t.Helper()
	// A construct directly in the stack keeps its id (without the
	// characters logical ids cannot hold); deeper ones get a hash of their
	// path appended.
	sanitized := regexp.MustCompile(`[^A-Za-z0-9]`).ReplaceAllString(prefix, "")
	re := regexp.MustCompile("^" + sanitized + "([0-9A-F]{8})?$")
	var ids []string
	for id := range s.resources(typ) {
		if re.MatchString(id) {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d %s resources named %s*: %v", len(ids), typ, prefix, ids)
	}
	return ids[0]
}

// canonical is v as sorted, compact JSON: comparable as a string.
func canonical(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func ref(id string) map[string]any { return map[string]any{"Ref": id} }

func getAtt(id, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{id, attr}}
}

func join(parts ...any) map[string]any {
	return map[string]any{"Fn::Join": []any{"", parts}}
}

// asList turns a policy's Action or Resource (a value or a list) into a
// list.
func asAnyList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// statement is a policy statement reduced to what the tests compare.
type statement struct {
	Sid       string
	Effect    string
	Actions   []string
	Resources []string // canonical JSON of each resource
}

func (st statement) String() string {
	return fmt.Sprintf("%s %s %v on %v", st.Sid, st.Effect, st.Actions, st.Resources)
}

func parseStatement(v any) statement {
	m := v.(map[string]any)
	st := statement{}
	st.Sid, _ = m["Sid"].(string)
	st.Effect, _ = m["Effect"].(string)
	for _, a := range asAnyList(m["Action"]) {
		st.Actions = append(st.Actions, a.(string))
	}
	for _, r := range asAnyList(m["Resource"]) {
		st.Resources = append(st.Resources, canonical(r))
	}
	sort.Strings(st.Actions)
	sort.Strings(st.Resources)
	return st
}

// roleStatements returns the statements of every IAM policy attached to the
// role roleID, and of the role's inline policies.
func (s *synthesized) roleStatements(roleID string) []statement {
	var out []statement
	for _, p := range s.resources("AWS::IAM::Policy") {
		roles, _ := props(p)["Roles"].([]any)
		if !slices.ContainsFunc(roles, func(r any) bool { return canonical(r) == canonical(ref(roleID)) }) {
			continue
		}
		doc := props(p)["PolicyDocument"].(map[string]any)
		for _, st := range doc["Statement"].([]any) {
			out = append(out, parseStatement(st))
		}
	}
	role := s.resources("AWS::IAM::Role")[roleID]
	if inline, ok := props(role)["Policies"].([]any); ok {
		for _, p := range inline {
			for _, st := range p.(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				out = append(out, parseStatement(st))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// functionName returns the refx function whose Lambda has logical id id.
func (s *synthesized) functionName(t *testing.T, id string) string {
	t.Helper()
	for _, f := range functions {
		if s.logicalID(t, "AWS::Lambda::Function", functionID(f.Name)+"Function") == id {
			return f.Name
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func lines(ss []string) string { return "\n\t" + strings.Join(ss, "\n\t") }
