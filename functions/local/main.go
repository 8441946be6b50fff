// Command local runs the whole refx service on this machine: DynamoDB Local,
// the table and the API. ./scripts/dev builds and starts it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/refx-dev/refx/pkg/app"
	"github.com/refx-dev/refx/pkg/devserver"
)

func main() {
	port := flag.Int("port", 8080, "port of the API on localhost")
	inMemory := flag.Bool("in-memory", false, "keep no data across restarts")
	dataDir := flag.String("data-dir", "", "directory of persistent data (default <repo>/.data)")
	dynamoEndpoint := flag.String("dynamodb-endpoint", "", "use this DynamoDB endpoint (DynamoDB Local elsewhere, or a proxy) instead of starting DynamoDB Local; the table is created if absent")
	snapshotEvery := flag.Duration("snapshot-every", app.DefaultSnapshotPeriod, "how often running experiments' results are snapshotted for the dashboard's charts, e.g. 1m")
	flag.Parse()

	origins, err := app.ParseAllowedOrigins(os.Getenv("REFX_ALLOWED_ORIGINS"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "refx: REFX_ALLOWED_ORIGINS:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = devserver.Run(ctx, devserver.Options{
		Addr:     fmt.Sprintf("127.0.0.1:%d", *port),
		InMemory: *inMemory, DataDir: *dataDir, AdminKey: os.Getenv("REFX_ADMIN_KEY"),
		Out: os.Stdout, Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil)),
		AllowedOrigins: origins, SnapshotEvery: *snapshotEvery, DynamoDBEndpoint: *dynamoEndpoint,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "refx:", err)
		os.Exit(1)
	}
}
