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
	env := apigatewaytest.Env(t)
	admin := apigatewaytest.MustHandler(t, env, httpapi.AdminRoutes)
	apigatewaytest.MustStatus(t, admin, "admin-create.json", http.StatusCreated)
	apigatewaytest.MustStatus(t, admin, "admin-start.json", http.StatusOK)

	h := apigatewaytest.MustHandler(t, env, httpapi.Assign().Routes())
	res := apigatewaytest.MustStatus(t, h, "assign.json", http.StatusOK)
	if !strings.Contains(res.Body, `"in_experiment":true`) || !strings.Contains(res.Body, `"enrolled":true`) {
		t.Fatalf("assign = %s", res.Body)
	}
	again := apigatewaytest.MustStatus(t, h, "assign.json", http.StatusOK)
	if !strings.Contains(again.Body, `"enrolled":false`) {
		t.Fatalf("second assign = %s", again.Body)
	}
	apigatewaytest.MustStatus(t, h, "admin-results.json", http.StatusNotFound)
}
