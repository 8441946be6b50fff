package devserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"

	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/refx-dev/refx/pkg/app"
	"github.com/refx-dev/refx/pkg/ddblocal"
	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
)

// Options configure Run.
type Options struct {
	// Addr is the API's listen address (default "127.0.0.1:8080"; port 0
	// picks a free one).
	Addr string
	// InMemory keeps nothing across restarts; otherwise DynamoDB Local's
	// files live under DataDir.
	InMemory bool
	// DataDir holds persistent local data (default <repo>/.data).
	DataDir string
	// AdminKey guards the admin routes; empty generates one per run.
	AdminKey string
	// Table is the table name (default "refx").
	Table string
	// DynamoDBEndpoint, when set, is an existing DynamoDB (DynamoDB Local
	// elsewhere, or a proxy emulating AWS's conflict rules) used instead of
	// starting one; the table is created there if absent.
	DynamoDBEndpoint string
	// Out receives the banner: URLs, the admin key, an example.
	Out io.Writer
	// Logger receives the JSON logs.
	Logger *slog.Logger
	// Ready, when set, is called with the API's base URL once it serves.
	Ready func(baseURL string)
	// AllowedOrigins may call the API from browsers (REFX_ALLOWED_ORIGINS),
	// besides the server's own, where the demo is.
	AllowedOrigins []string
	// SnapshotEvery is how often running experiments' results are
	// snapshotted for the dashboard's charts (default hourly, as deployed);
	// one snapshot is taken at start.
	SnapshotEvery time.Duration
}

// DemoExperiment is the experiment a fresh local stack starts with, so that
// the printed example works at once.
const DemoExperiment = "welcome-offer"

// Run starts everything, serves until ctx ends, then stops everything it
// started.
func Run(ctx context.Context, opts Options) error {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:8080"
	}
	if opts.Table == "" {
		opts.Table = "refx"
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.AdminKey == "" {
		opts.AdminKey = newAdminKey()
	}
	root, err := ddblocal.RepoRoot()
	if err != nil {
		return err
	}
	if opts.DataDir == "" {
		opts.DataDir = filepath.Join(root, ".data")
	}
	// Listen first: a taken port should fail before a JVM starts.
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("devserver: listen on %s: %w", opts.Addr, err)
	}
	defer ln.Close()

	endpoint := opts.DynamoDBEndpoint
	if endpoint == "" {
		fmt.Fprintln(opts.Out, "refx: starting DynamoDB Local…")
		jarDir, err := ddblocal.Install(ctx, root)
		if err != nil {
			return err
		}
		dbOpts := ddblocal.Options{JarDir: jarDir}
		if !opts.InMemory {
			dbOpts.DBPath = filepath.Join(opts.DataDir, "dynamodb")
		}
		db, err := ddblocal.Start(ctx, dbOpts)
		if err != nil {
			return err
		}
		defer db.Stop()
		endpoint = db.Endpoint()
	}

	baseURL := localURL(ln)
	cfg := app.Config{Table: opts.Table, DynamoEndpoint: endpoint, AdminKey: opts.AdminKey, IdempotencyTTL: dynamo.DefaultIdempotencyTTL}
	demoConfig(&cfg, opts, baseURL)
	// The local receiver listens on loopback over http.
	cfg.Webhooks.AllowPrivate = true
	client, err := dynamo.NewClient(ctx, dynamo.ClientConfig{Endpoint: endpoint})
	if err != nil {
		return err
	}
	if err := dynamo.Table.EnsureTable(ctx, client, opts.Table); err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, opts.Logger)
	if err != nil {
		return err
	}
	if err := seedDemo(ctx, a.Store); err != nil {
		return err
	}
	keys, err := newDevKeys(ctx, a.Store)
	if err != nil {
		return err
	}
	if err := seedReferralDemo(ctx, a.Store, baseURL); err != nil {
		return err
	}
	hooks, err := startWebhooks(ctx, a.Store, baseURL, opts.Logger)
	if err != nil {
		return err
	}
	defer hooks.stop()
	stopCounting, err := startCounting(ctx, opts, endpoint, a.Store, hooks.reactor)
	if err != nil {
		return err
	}
	defer stopCounting()
	exp, err := startExport(ctx, opts, endpoint)
	if err != nil {
		return err
	}
	defer exp.stop()
	stopSnapshots := startSnapshots(ctx, a.Store, opts.SnapshotEvery, opts.Logger)
	defer stopSnapshots()
	stopHolds := startHoldRelease(ctx, a.Store, opts.Logger)
	defer stopHolds()

	srv := &http.Server{Handler: withWebhookReceiver(withDemoBackend(withDemo(a.Handler(httpapi.AllRoutes), keys.client), keys, opts.AdminKey), http.HandlerFunc(hooks.receive)), ReadHeaderTimeout: 10 * time.Second}
	printBanner(opts, keys, baseURL, endpoint, exp.banner()+countingBanner+webhooksBanner(baseURL)+demoBanner(baseURL)+dashboardBanner(baseURL))
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	if opts.Ready != nil {
		opts.Ready(baseURL)
	}
	select {
	case err := <-serveErr:
		return fmt.Errorf("devserver: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(opts.Out, "refx: stopping…")
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// seedDemo creates and starts the demo experiment unless it exists.
func seedDemo(ctx context.Context, store *dynamo.Store) error {
	demo := refx.NewExperiment{
		ID: DemoExperiment, Name: "Welcome offer", Owner: "growth",
		Hypothesis: "A bolder reward gets more referred friends to sign up and buy.",
		Variants: []refx.Variant{
			{Key: "control", Weight: 50, Payload: json.RawMessage(`{"reward":"$10","headline":"Give $10, get $10"}`)},
			{Key: "bold", Weight: 50, Payload: json.RawMessage(`{"reward":"20%","headline":"Give 20%, get 20%"}`)},
		},
		Goals: []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial}, {Key: "purchase", Kind: refx.GoalValue}},
	}
	e, err := demo.Build(time.Now())
	if err != nil {
		return err
	}
	err = store.CreateExperiment(ctx, e)
	if refx.ErrorCode(err) == refx.ECONFLICT {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = store.SetStatus(ctx, e.ID, refx.StatusRunning)
	return err
}

func printBanner(opts Options, keys devKeys, baseURL, dynamoEndpoint, exportLines string) {
	storage := "persistent, in " + filepath.Join(opts.DataDir, "dynamodb")
	if opts.DynamoDBEndpoint != "" {
		storage = "an existing endpoint"
	}
	// The query runner reads the exported files on disk; in memory there
	// are none.
	query := "\n  ./scripts/query schema/athena/queries/experiment_results.sql"
	if opts.InMemory {
		storage, query = "in memory", ""
	}
	fmt.Fprintf(opts.Out, `
refx is running.
  API          %[1]s   (health: %[1]s/healthz)
  DynamoDB     %[2]s   (table %[3]q, %[4]s)
  Admin key    %[5]s
  Secret key   %[9]s   (servers: X-Refx-Key header)
  Client key   %[10]s   (web pages, any origin: <script src="%[1]s/v1/refx.js?key=…">)
%[7]s
Try it:
  curl -s -X POST %[1]s/v1/assign -H 'X-Refx-Key: %[9]s' -d '{"experiment":"%[6]s","user":"alice"}'
  curl -s %[1]s/v1/experiments/%[6]s/results -H 'Authorization: Bearer %[5]s'%[8]s

Ctrl-C stops everything.
`, baseURL, dynamoEndpoint, opts.Table, storage, opts.AdminKey, DemoExperiment, exportLines, query, keys.secret, keys.client)
}

// countingBanner describes the aggregator for the start-up banner.
const countingBanner = "  Counters     DynamoDB stream -> aggregator; results say counted_through (complete within a second or so)\n"

func newAdminKey() string {
	var b [24]byte
	rand.Read(b[:])
	return "dev-" + hex.EncodeToString(b[:])
}
