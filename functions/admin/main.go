// Command admin is the Lambda serving the admin routes (experiments and
// results) and GET /healthz, which needs the DescribeTable only it is granted.
package main

import (
	"github.com/refx-dev/refx/pkg/app"
	"github.com/refx-dev/refx/pkg/httpapi"
)

// routes are the routes this function serves; API Gateway sends it no others.
const routes = httpapi.AdminRoutes | httpapi.HealthRoutes

func main() { app.StartLambda(routes) }
