// Command assign is the Lambda serving POST /v1/assign.
package main

import (
	"github.com/refx-dev/refx/pkg/app"
	"github.com/refx-dev/refx/pkg/httpapi"
)

// routes are the routes this function serves; API Gateway sends it no others.
const routes = httpapi.AssignRoutes

func main() { app.StartLambda(routes) }
