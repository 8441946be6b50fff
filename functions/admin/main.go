// Command admin is the Lambda serving the admin routes (experiments,
// results, charts, the dashboard, Lamed's admin routes) and GET /healthz,
// which needs the DescribeTable only it is granted.
package main

import (
	"github.com/refx-dev/refx/pkg/app"
	"github.com/refx-dev/refx/pkg/httpapi"
)

// main serves only these route groups, and links only their code; API
// Gateway sends the function no other routes.
func main() { app.StartLambda(httpapi.Admin(), httpapi.Health()) }
