package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/httpapi"
)

// groupFunction is which function serves each route group, written here
// independently of infra/functions.go.
var groupFunction = map[httpapi.Routes]string{
	httpapi.AssignRoutes: "assign",
	httpapi.TrackRoutes:  "track",
	httpapi.AdminRoutes:  "admin",
	httpapi.HealthRoutes: "admin",
}

// deployedRoutes reads the template's routes: route key → the function its
// integration invokes.
func (s *synthesized) deployedRoutes(t *testing.T) map[string]string {
	t.Helper()
	integrations := map[string]string{} // integration id → function
	for id, in := range s.resources("AWS::ApiGatewayV2::Integration") {
		p := props(in)
		if p["IntegrationType"] != "AWS_PROXY" || p["PayloadFormatVersion"] != "2.0" {
			t.Errorf("integration %s: %s, want a Lambda proxy of payload 2.0", id, canonical(p))
		}
		uri, _ := p["IntegrationUri"].(map[string]any)["Fn::GetAtt"].([]any)
		if len(uri) != 2 || uri[1] != "Arn" {
			t.Fatalf("integration %s targets %s", id, canonical(p["IntegrationUri"]))
		}
		integrations[id] = s.functionName(t, uri[0].(string))
	}
	routes := map[string]string{}
	for id, r := range s.resources("AWS::ApiGatewayV2::Route") {
		p := props(r)
		key := p["RouteKey"].(string)
		target := canonical(p["Target"])
		fn := ""
		for integ, name := range integrations {
			if target == canonical(join("integrations/", ref(integ))) {
				fn = name
			}
		}
		if fn == "" {
			t.Errorf("route %s (%s) targets %s, no Lambda integration", id, key, target)
		}
		if _, dup := routes[key]; dup {
			t.Errorf("route %s defined twice", key)
		}
		if a := p["AuthorizationType"]; a != nil && a != "NONE" {
			t.Errorf("route %s: authorization %v; the admin key is checked by the function", key, a)
		}
		routes[key] = fn
	}
	return routes
}

// TestRoutes checks that every route of httpapi.RouteTable is deployed to the
// function serving its group, and nothing else is, apart from routes API
// Gateway cannot express (a path ending in {$}, the trailing slash only: a
// request to it gets API Gateway's own 404).
func TestRoutes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ctx   map[string]any
		extra map[string]string
	}{
		{"Dev", devContext, nil},
		{"Prod", prodContext, map[string]string{
			"POST /t/e": "track", "POST /t/e:batch": "track", "POST /collect": "track", "POST /collect:batch": "track",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSynth(t, tc.ctx)
			want := map[string]string{}
			var unroutable []string
			for _, r := range httpapi.RouteTable() {
				fn, ok := groupFunction[r.Group]
				if !ok {
					t.Fatalf("route %s is in group %b, which this test does not know: add it to groupFunction", r, r.Group)
				}
				if strings.HasSuffix(r.Path, "{$}") {
					unroutable = append(unroutable, r.String())
					continue
				}
				// API Gateway writes a greedy {name...} as {name+}.
				r.Path = regexp.MustCompile(`\{(\w+)\.\.\.\}`).ReplaceAllString(r.Path, "{$1+}")
				if prefix, ok := tc.ctx["lamedPrefix"].(string); ok {
					if rest, ok := strings.CutPrefix(r.Path, "/lamed/"); ok {
						r.Path = prefix + "/" + rest
					}
				}
				want[r.String()] = fn
			}
			for k, v := range tc.extra {
				want[k] = v
			}
			if tc.ctx["allowedOrigins"] != nil {
				// The functions answer CORS preflights of the public
				// routes, the tracking aliases included.
				for _, r := range httpapi.CORSRoutes() {
					want[r.String()] = groupFunction[r.Group]
				}
				for k, v := range tc.extra {
					want["OPTIONS "+strings.TrimPrefix(k, "POST ")] = v
				}
				for _, key := range []string{"OPTIONS /v1/assign", "OPTIONS /v1/events", "OPTIONS /t/e"} {
					if _, ok := want[key]; !ok {
						t.Errorf("no preflight route %s expected", key)
					}
				}
			}
			got := s.deployedRoutes(t)
			for _, key := range sortedKeys(want) {
				if got[key] != want[key] {
					t.Errorf("%s goes to %q, want %q", key, got[key], want[key])
				}
			}
			for _, key := range sortedKeys(got) {
				if _, ok := want[key]; !ok {
					t.Errorf("%s is deployed (to %s) but is no route of the API", key, got[key])
				}
			}
			_, skipped, err := apiRoutes(s.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var skippedKeys []string
			for _, r := range skipped {
				skippedKeys = append(skippedKeys, r.String())
			}
			if !slices.Equal(skippedKeys, unroutable) {
				t.Errorf("routes left out of API Gateway: %v, want exactly those ending in {$}: %v", skippedKeys, unroutable)
			}
			// Spot checks, in case RouteTable and groups both went wrong.
			for key, fn := range map[string]string{
				"POST /v1/assign": "assign", "POST /v1/events": "track", "POST /v1/events:batch": "track",
				"GET /healthz": "admin", "GET /v1/experiments/{id}/results": "admin", "GET /r/{code}": "track",
			} {
				if got[key] != fn {
					t.Errorf("%s goes to %q, want %q", key, got[key], fn)
				}
			}
			// One invoke permission per route, scoped to it.
			n := 0
			for _, p := range s.resources("AWS::Lambda::Permission") {
				if props(p)["Principal"] == "apigateway.amazonaws.com" {
					n++
				}
			}
			if m := len(got); n != m {
				t.Errorf("%d Lambda permissions for %d routes", n, m)
			}
		})
	}
}

func TestStage(t *testing.T) {
	for _, tc := range []struct {
		name        string
		ctx         map[string]any
		rate, burst float64
	}{{"Dev", devContext, 500, 1000}, {"Prod", prodContext, 2000, 4000}} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSynth(t, tc.ctx)
			stages := s.resources("AWS::ApiGatewayV2::Stage")
			if len(stages) != 1 {
				t.Fatalf("%d stages, want the $default stage only", len(stages))
			}
			for _, st := range stages {
				p := props(st)
				if p["StageName"] != "$default" || p["AutoDeploy"] != true {
					t.Errorf("stage %v auto-deploy %v", p["StageName"], p["AutoDeploy"])
				}
				throttle := canonical(p["DefaultRouteSettings"])
				if want := canonical(map[string]any{"ThrottlingBurstLimit": tc.burst, "ThrottlingRateLimit": tc.rate}); throttle != want {
					t.Errorf("throttling %s, want %s", throttle, want)
				}
				logs := p["AccessLogSettings"].(map[string]any)
				if canonical(logs["DestinationArn"]) != canonical(getAtt(s.logicalID(t, "AWS::Logs::LogGroup", "ApiAccessLogs"), "Arn")) {
					t.Errorf("access logs go to %s", canonical(logs["DestinationArn"]))
				}
				for _, field := range []string{"$context.requestId", "$context.routeKey", "$context.status", "$context.integrationErrorMessage"} {
					if !strings.Contains(logs["Format"].(string), field) {
						t.Errorf("access log format lacks %s", field)
					}
				}
				if strings.Contains(logs["Format"].(string), "sourceIp") {
					t.Error("access logs keep client IP addresses; refx stores only keyed hashes of them")
				}
			}
		})
	}
}

// TestCORS checks that API Gateway leaves CORS to the functions: no CORS
// configuration of its own (it would replace the functions' answers), the
// allowed origins in the environment of the functions serving public routes.
func TestCORS(t *testing.T) {
	for _, ctx := range []map[string]any{devContext, prodContext} {
		s := mustSynth(t, ctx)
		for id, api := range s.resources("AWS::ApiGatewayV2::Api") {
			if c := props(api)["CorsConfiguration"]; c != nil {
				t.Errorf("API %s has an API Gateway CORS configuration: %v", id, c)
			}
			if props(api)["ProtocolType"] != "HTTP" {
				t.Errorf("API %s is not an HTTP API", id)
			}
		}
	}
}

func TestAPIGatewayPath(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/assign": "/v1/assign", "/v1/experiments/{id}": "/v1/experiments/{id}",
		"/files/{rest...}": "/files/{rest+}", "/r/{$}": "",
	} {
		got, ok := apiGatewayPath(in)
		if got != want || ok != (want != "") {
			t.Errorf("apiGatewayPath(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
