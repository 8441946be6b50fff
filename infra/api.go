package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/refx-dev/refx/pkg/httpapi"
)

// httpAPI is the API Gateway HTTP API and what was routed on it.
type httpAPI struct {
	api        awsapigatewayv2.HttpApi
	stage      awsapigatewayv2.HttpStage
	accessLogs awslogs.LogGroup
	// routes are the deployed routes ("METHOD /path" as API Gateway writes
	// it) and the function each goes to.
	routes map[string]string
}

// apiRoute is a route as API Gateway deploys it.
type apiRoute struct {
	httpapi.Route
	// Key is the API Gateway route key: "GET /r/{code}".
	Key string
	// Function serves it.
	Function string
}

// greedyParam is an http.ServeMux wildcard matching the rest of the path.
var greedyParam = regexp.MustCompile(`\{([A-Za-z0-9_]+)\.\.\.\}`)

// apiGatewayPath converts an http.ServeMux path template to API Gateway's:
// {name...} becomes {name+}. A template ending in {$} (the path with its
// trailing slash only) has no API Gateway equivalent; ok is false.
func apiGatewayPath(p string) (string, bool) {
	if strings.HasSuffix(p, "/{$}") {
		return "", false
	}
	return greedyParam.ReplaceAllString(p, "{$1+}"), true
}

// apiRoutes maps every route of httpapi.RouteTable, the configured extra
// tracking paths, and with allowed origins the CORS preflights
// (httpapi.CORSRoutes), to the function serving its group: the route table
// of the deployment. The Lamed-compatible routes move under the configured
// prefix (the handler maps it back). A group no function serves is an
// error, as is a group served by two. Routes API Gateway cannot express are
// returned apart.
func apiRoutes(cfg Config) (routes []apiRoute, unroutable []httpapi.Route, err error) {
	extra, err := httpapi.TrackPathRoutes(cfg.TrackPaths)
	if err != nil {
		return nil, nil, err
	}
	all := append(httpapi.RouteTable(), extra...)
	if len(cfg.AllowedOrigins) > 0 {
		// Browsers preflight the routes that answer CORS; API Gateway
		// needs a route to send each preflight to its function.
		all = append(all, httpapi.CORSRoutes()...)
		for _, r := range extra {
			all = append(all, httpapi.Route{Method: http.MethodOptions, Path: r.Path, Group: r.Group})
		}
	}
	for _, r := range all {
		if rest, ok := strings.CutPrefix(r.Path, httpapi.DefaultLamedPrefix+"/"); ok && cfg.LamedPrefix != "" {
			r.Path = cfg.LamedPrefix + "/" + rest
		}
		var servers []string
		for _, f := range functions {
			if f.Routes&r.Group != 0 {
				servers = append(servers, f.Name)
			}
		}
		if len(servers) != 1 {
			return nil, nil, fmt.Errorf("route %s (group %b) is served by functions %v: want exactly one; add its group to one entry of infra/functions.go", r, r.Group, servers)
		}
		path, ok := apiGatewayPath(r.Path)
		if !ok {
			unroutable = append(unroutable, r)
			continue
		}
		routes = append(routes, apiRoute{Route: r, Key: r.Method + " " + path, Function: servers[0]})
	}
	return routes, unroutable, nil
}

// newAPI defines the HTTP API: one Lambda integration per function, one
// route per apiRoutes entry, CORS from the configuration, the $default stage
// with throttling and JSON access logs.
//
// The admin routes are authenticated by the admin function itself (a bearer
// key compared in constant time), with the key generated into Secrets
// Manager by this stack and read at cold start: the same check as locally,
// callable with curl, and no identity provider to run. An IAM authorizer
// would make every admin client sign SigV4 requests; a JWT authorizer needs
// an issuer (Cognito or another IdP). Either can be added in front of the
// admin routes later without changing the handler.
func (s *service) newAPI() (*httpAPI, error) {
	routes, _, err := apiRoutes(s.cfg)
	if err != nil {
		return nil, err
	}
	// No API Gateway CORS configuration: it would replace the functions'
	// own CORS answers (which echo the origin with credentials, for the
	// visitor cookie, and leave the admin routes without CORS). The
	// preflights go to the functions instead, as OPTIONS routes.
	props := &awsapigatewayv2.HttpApiProps{
		Description:        jsii.String("refx " + s.cfg.Stage + " API"),
		CreateDefaultStage: jsii.Bool(false),
	}
	a := &httpAPI{api: awsapigatewayv2.NewHttpApi(s.stack, jsii.String("Api"), props), routes: map[string]string{}}
	a.accessLogs = s.newLogGroup("ApiAccessLogs")
	a.stage = awsapigatewayv2.NewHttpStage(s.stack, jsii.String("ApiStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:    a.api,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit: jsii.Number(s.cfg.ThrottleRate), BurstLimit: jsii.Number(s.cfg.ThrottleBurst),
		},
	})
	format, _ := json.Marshal(accessLogFormat)
	a.stage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: a.accessLogs.LogGroupArn(),
		Format:         jsii.String(string(format)),
	})

	integrations := map[string]awsapigatewayv2integrations.HttpLambdaIntegration{}
	for _, f := range functions {
		if f.Routes != 0 {
			integrations[f.Name] = awsapigatewayv2integrations.NewHttpLambdaIntegration(
				jsii.String(functionID(f.Name)+"Integration"), s.functions[f.Name], nil)
		}
	}
	for _, r := range routes {
		path := strings.TrimPrefix(r.Key, r.Method+" ")
		a.api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration: integrations[r.Function],
		})
		a.routes[r.Key] = r.Function
	}
	return a, nil
}

// accessLogFormat is one JSON line per request, with the request id the
// functions log and return (X-Request-Id), so that an access log line and
// the function's log lines of one request are found together. Neither the
// client's IP address nor its user agent is logged: refx keeps only keyed
// hashes of those (referral guards), and the logs should not undo that.
var accessLogFormat = map[string]string{
	"requestId":        "$context.requestId",
	"requestTime":      "$context.requestTime",
	"routeKey":         "$context.routeKey",
	"status":           "$context.status",
	"responseLength":   "$context.responseLength",
	"latencyMs":        "$context.responseLatency",
	"integrationMs":    "$context.integrationLatency",
	"integrationError": "$context.integrationErrorMessage",
}
