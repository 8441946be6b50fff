// Command track is the Lambda serving POST /v1/events and /v1/events:batch.
package main

import (
	"github.com/refx-dev/refx/pkg/app"
	"github.com/refx-dev/refx/pkg/httpapi"
)

// routes are the routes this function serves; API Gateway sends it no others.
const routes = httpapi.TrackRoutes

func main() { app.StartLambda(routes) }
