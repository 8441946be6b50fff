package app_test

import (
	"os"
	"testing"

	"github.com/refx-dev/refx/pkg/dynamotest"
)

// TestMain runs the tests against DynamoDB Local (pkg/dynamotest starts it).
func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }
