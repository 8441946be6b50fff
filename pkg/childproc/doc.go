// Package childproc runs the helper processes the local stack and the tests
// start (DynamoDB Local, Chromium, the repository's install scripts) so that
// none outlives its parent: each gets a process group of its own, dies with
// its parent on Linux, and is stopped with all its children.
package childproc
