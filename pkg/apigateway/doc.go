// Package apigateway runs an http.Handler behind Amazon API Gateway HTTP APIs
// (Lambda proxy integration, payload format 2.0), so that the Lambdas and
// the local server serve the API through one code path.
package apigateway
