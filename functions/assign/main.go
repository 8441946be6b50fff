// Command assign is the Lambda serving the assign routes: POST /v1/assign,
// identify, referral links (create, look up) and the web client.
package main

import (
	"github.com/refx-dev/refx/pkg/app"
	"github.com/refx-dev/refx/pkg/httpapi"
)

// main serves only these route groups, and links only their code; API
// Gateway sends the function no other routes.
func main() { app.StartLambda(httpapi.Assign()) }
