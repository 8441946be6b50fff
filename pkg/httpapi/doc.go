// Package httpapi serves the refx HTTP API: routing, authentication, request
// decoding and validation, and the one mapping of domain error codes to HTTP
// statuses. The same handler runs behind API Gateway (through package
// apigateway) and behind the local server.
package httpapi
