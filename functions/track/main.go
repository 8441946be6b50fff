// Command track is the Lambda serving the track routes: events, referral
// link clicks and signups, and Lamed's tracking GET.
package main

import (
	"github.com/refx-dev/refx/pkg/app"
	"github.com/refx-dev/refx/pkg/httpapi"
)

// main serves only these route groups, and links only their code; API
// Gateway sends the function no other routes.
func main() { app.StartLambda(httpapi.Track()) }
