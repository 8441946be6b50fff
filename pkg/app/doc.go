// Package app wires refx together from configuration: it reads the
// environment once, builds the DynamoDB store and the HTTP API on it, and
// hands the Lambda mains and the local server the same handler.
package app
