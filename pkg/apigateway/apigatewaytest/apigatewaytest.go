// Package apigatewaytest feeds recorded API Gateway HTTP API events to Lambda
// handlers the way the Lambda runtime does, for the function tests.
package apigatewaytest

import (
	"context"
	"embed"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/refx-dev/refx/pkg/apigateway"
	"github.com/refx-dev/refx/pkg/app"
	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
)

//go:embed testdata/*.json
var fixtures embed.FS

// AdminKey is the admin key the fixtures' Authorization headers carry.
const AdminKey = "fixture-admin-key-0000000000"

// SecretKey is the secret key the fixtures of public routes carry in their
// x-refx-key header; Env stores it.
const SecretKey = "rfx_sec_0123456789abcdef_00000000000000000000000000000000000000000000000000000000000000a1"

// Env returns an environment for app.LambdaHandler pointing at a fresh table
// on the test binary's DynamoDB Local, with the fixtures' admin key and
// their secret key stored.
func Env(tb testing.TB) func(string) string {
	tb.Helper()
	client, table := dynamotest.NewTable(tb)
	_, id, _ := refx.ParseKeyToken(SecretKey)
	key := &refx.APIKey{ID: id, Name: "fixtures", Kind: refx.KeySecret, Hint: SecretKey[len(SecretKey)-4:], CreatedAt: time.Now(), Digest: refx.KeyDigest(SecretKey)}
	if err := dynamo.New(client, table, dynamo.Options{}).CreateKey(context.Background(), key); err != nil {
		tb.Fatal(err)
	}
	env := map[string]string{
		"REFX_TABLE":             table,
		"REFX_DYNAMODB_ENDPOINT": dynamotest.Endpoint(),
		"REFX_ADMIN_KEY":         AdminKey,
		"REFX_LOG_LEVEL":         "warn",
	}
	return func(k string) string { return env[k] }
}

// Invoke sends the recorded event testdata/<fixture> through h as the Lambda
// runtime would (JSON in, JSON out) and returns the decoded response.
func Invoke(tb testing.TB, h apigateway.HandlerFunc, fixture string) events.APIGatewayV2HTTPResponse {
	tb.Helper()
	payload, err := fixtures.ReadFile("testdata/" + fixture)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := lambda.NewHandler(h).Invoke(context.Background(), payload)
	if err != nil {
		tb.Fatalf("%s: invoke: %v", fixture, err)
	}
	var res events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &res); err != nil {
		tb.Fatalf("%s: response: %v", fixture, err)
	}
	return res
}

// MustStatus invokes the fixture and fails unless the response has status.
func MustStatus(tb testing.TB, h apigateway.HandlerFunc, fixture string, status int) events.APIGatewayV2HTTPResponse {
	tb.Helper()
	res := Invoke(tb, h, fixture)
	if res.StatusCode != status {
		tb.Fatalf("%s: status %d %s, want %d", fixture, res.StatusCode, res.Body, status)
	}
	return res
}

// MustHandler builds a function's Lambda entry point the way its main does.
func MustHandler(tb testing.TB, getenv func(string) string, routes httpapi.Routes) apigateway.HandlerFunc {
	tb.Helper()
	h, err := app.LambdaHandler(context.Background(), getenv, routes)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}
