// Package devservertest starts the local stack (devserver.Run) in-process
// for tests: on a free port, waited for until it serves, stopped with the
// test, and with its banner at hand when it fails to start.
package devservertest
