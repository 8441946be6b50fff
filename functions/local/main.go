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

	"github.com/refx-dev/refx/pkg/devserver"
)

func main() {
	port := flag.Int("port", 8080, "port of the API on localhost")
	inMemory := flag.Bool("in-memory", false, "keep no data across restarts")
	dataDir := flag.String("data-dir", "", "directory of persistent data (default <repo>/.data)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := devserver.Run(ctx, devserver.Options{
		Addr:     fmt.Sprintf("127.0.0.1:%d", *port),
		InMemory: *inMemory, DataDir: *dataDir, AdminKey: os.Getenv("REFX_ADMIN_KEY"),
		Out: os.Stdout, Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil)),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "refx:", err)
		os.Exit(1)
	}
}
