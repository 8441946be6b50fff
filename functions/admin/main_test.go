package main

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/apigateway/apigatewaytest"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/httpapi"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

func TestLambdaEvents(t *testing.T) {
	h := apigatewaytest.MustHandler(t, apigatewaytest.Env(t), httpapi.Admin().Routes()|httpapi.Health().Routes())
	apigatewaytest.MustStatus(t, h, "admin-list-unauthorized.json", http.StatusUnauthorized)
	created := apigatewaytest.MustStatus(t, h, "admin-create.json", http.StatusCreated)
	if created.Headers["Location"] != "/v1/experiments/lambda-test" || created.Headers[httpapi.RequestIDHeader] != "AdmCreate000001=" {
		t.Fatalf("create headers = %v", created.Headers)
	}
	apigatewaytest.MustStatus(t, h, "admin-start.json", http.StatusOK)
	res := apigatewaytest.MustStatus(t, h, "admin-results.json", http.StatusOK)
	if !strings.Contains(res.Body, `"experiment":"lambda-test"`) {
		t.Fatalf("results = %s", res.Body)
	}
	// The admin function serves no public routes.
	apigatewaytest.MustStatus(t, h, "assign.json", http.StatusNotFound)
}
