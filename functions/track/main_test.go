package main

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/apigateway/apigatewaytest"
	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/httpapi"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

func TestLambdaEvents(t *testing.T) {
	env := apigatewaytest.Env(t)
	admin := apigatewaytest.MustHandler(t, env, httpapi.AdminRoutes)
	apigatewaytest.MustStatus(t, admin, "admin-create.json", http.StatusCreated)
	apigatewaytest.MustStatus(t, admin, "admin-start.json", http.StatusOK)
	apigatewaytest.MustStatus(t, apigatewaytest.MustHandler(t, env, httpapi.AssignRoutes), "assign.json", http.StatusOK)

	h := apigatewaytest.MustHandler(t, env, httpapi.Track().Routes())
	first := apigatewaytest.MustStatus(t, h, "track-event.json", http.StatusAccepted)
	if !strings.Contains(first.Body, `"status":"recorded"`) {
		t.Fatalf("event = %s", first.Body)
	}
	apigatewaytest.MustStatus(t, h, "track-event.json", http.StatusOK)
	batch := apigatewaytest.MustStatus(t, h, "track-batch-base64.json", http.StatusOK)
	if !strings.Contains(batch.Body, `"status":"recorded"`) {
		t.Fatalf("batch = %s", batch.Body)
	}
	// Counters come from the table's stream (the aggregate function):
	// count what it holds before reading the results.
	dynamotest.MustCount(t, dynamo.New(dynamotest.Client(t), env("REFX_TABLE"), dynamo.Options{}))
	res := apigatewaytest.MustStatus(t, admin, "admin-results.json", http.StatusOK)
	if !strings.Contains(res.Body, `"value_sum":19.99`) || !strings.Contains(res.Body, `"signup":{"users":1,"events":1`) {
		t.Fatalf("results = %s", res.Body)
	}
}
