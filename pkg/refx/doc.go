// Package refx is the domain core of refx: experiments, variants, goals,
// assignments, events and their counts, the service interfaces the adapters
// implement, and the error codes every layer speaks.
//
// It imports no AWS package. The DynamoDB adapter (package dynamo) implements
// the services; the HTTP adapter (package httpapi) exposes them.
package refx
