package ddblocal_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/refx-dev/refx/pkg/ddblocal"
	"github.com/refx-dev/refx/pkg/dynamo"
)

func TestRepoRoot(t *testing.T) {
	root, err := ddblocal.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "pkg", "ddblocal")); err != nil {
		t.Errorf("RepoRoot() = %s, which has no pkg/ddblocal: %v", root, err)
	}
}

// jarDir installs DynamoDB Local if needed.
func jarDir(t *testing.T) string {
	t.Helper()
	root, err := ddblocal.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	dir, err := ddblocal.Install(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// start starts a server and registers its stop.
func start(t *testing.T, opts ddblocal.Options) *ddblocal.Server {
	t.Helper()
	begin := time.Now()
	srv, err := ddblocal.Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("DynamoDB Local at %s ready in %v", srv.Endpoint(), time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return srv
}

func client(t *testing.T, srv *ddblocal.Server) *dynamodb.Client {
	t.Helper()
	cfg, err := dynamo.LoadAWSConfig(t.Context(), dynamo.ClientConfig{Endpoint: srv.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	// DynamoDB Local sends no X-Amz-Crc32 on errors, which the SDK would log
	// a warning about for every ResourceInUse from EnsureTable.
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true })
}

func listTables(t *testing.T, c *dynamodb.Client) []string {
	t.Helper()
	out, err := c.ListTables(t.Context(), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatalf("ListTables: %v", err)
	}
	return out.TableNames
}

// TestPersistentDBPath writes a table to a DBPath, restarts the server on the
// same DBPath and finds the table again.
func TestPersistentDBPath(t *testing.T) {
	t.Parallel()
	opts := ddblocal.Options{JarDir: jarDir(t), DBPath: filepath.Join(t.TempDir(), "db")}

	first := start(t, opts)
	if !strings.HasPrefix(first.Endpoint(), "http://127.0.0.1:") {
		t.Errorf("Endpoint() = %q, want http://127.0.0.1:PORT", first.Endpoint())
	}
	if err := dynamo.Table.EnsureTable(t.Context(), client(t, first), "persisted"); err != nil {
		t.Fatal(err)
	}
	if err := first.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := first.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if entries, _ := os.ReadDir(opts.DBPath); len(entries) == 0 {
		t.Errorf("DBPath %s is empty after Stop", opts.DBPath)
	}

	second := start(t, opts)
	c := client(t, second)
	if names := listTables(t, c); !slices.Contains(names, "persisted") {
		t.Fatalf("tables after restart: %v, want persisted", names)
	}
	// EnsureTable on an existing table is the restart path of the dev stack.
	if err := dynamo.Table.EnsureTable(t.Context(), c, "persisted"); err != nil {
		t.Fatal(err)
	}
}

// TestInMemory checks that an in-memory server starts empty and that Stop
// ends the process.
func TestInMemory(t *testing.T) {
	t.Parallel()
	srv := start(t, ddblocal.Options{JarDir: jarDir(t)})
	c := client(t, srv)
	if err := dynamo.Table.EnsureTable(t.Context(), c, "mem"); err != nil {
		t.Fatal(err)
	}
	if names := listTables(t, c); !slices.Equal(names, []string{"mem"}) {
		t.Errorf("tables %v, want [mem]", names)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(srv.Endpoint(), "http://"), time.Second)
	if err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections after Stop", srv.Endpoint())
	}
}

// TestPortInUse checks that a fixed port that is taken is reported, not
// mistaken for the new server.
func TestPortInUse(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	srv, err := ddblocal.Start(t.Context(), ddblocal.Options{JarDir: jarDir(t), Port: port})
	if err == nil {
		srv.Stop()
		t.Fatalf("Start on taken port %d succeeded", port)
	}
	if !strings.Contains(err.Error(), "not free") {
		t.Errorf("Start on taken port: %v, want a 'not free' error", err)
	}
}

// TestBadJarDir checks the error for a directory without the jar.
func TestBadJarDir(t *testing.T) {
	t.Parallel()
	_, err := ddblocal.Start(t.Context(), ddblocal.Options{JarDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "DynamoDBLocal.jar") {
		t.Fatalf("Start with empty JarDir: %v, want an error naming DynamoDBLocal.jar", err)
	}
}

// TestExitBeforeReady checks that a JVM that dies during start-up is
// reported with its output.
func TestExitBeforeReady(t *testing.T) {
	t.Parallel()
	_, err := ddblocal.Start(t.Context(), ddblocal.Options{JarDir: jarDir(t), JVMFlags: []string{"-Xmx1k"}})
	if err == nil {
		t.Fatal("Start with -Xmx1k succeeded")
	}
	if !strings.Contains(err.Error(), "exited before answering") || !strings.Contains(err.Error(), "heap") {
		t.Errorf("error %q should say the process exited and quote its output", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %q is a timeout, want the exit to be noticed", err)
	}
}
