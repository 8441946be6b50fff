// Package devserver runs the whole refx service on one machine: DynamoDB
// Local (installed on first use), the table, the HTTP API on loopback with
// every route group, and a demo experiment, all on embedded defaults. It is
// what ./scripts/dev starts.
package devserver
