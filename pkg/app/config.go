package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/refx-dev/refx/pkg/apigateway"
	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/webhook"
)

// Config is everything refx reads from its environment.
type Config struct {
	// Table is the DynamoDB table name (REFX_TABLE, default "refx").
	Table string
	// DynamoEndpoint points at DynamoDB Local (REFX_DYNAMODB_ENDPOINT); empty
	// means AWS.
	DynamoEndpoint string
	// Region is the AWS region (AWS_REGION).
	Region string
	// AdminKey guards the admin routes (REFX_ADMIN_KEY).
	AdminKey string
	// AdminKeySecretARN names the Secrets Manager secret holding the admin
	// key (REFX_ADMIN_KEY_SECRET_ARN), read once by New when AdminKey is
	// empty: how the deployed admin function gets its key.
	AdminKeySecretARN string
	// HashKeySecretARN names the Secrets Manager secret holding the key of
	// the referral hashes (REFX_HASH_KEY_SECRET_ARN), read once by New when
	// REFX_HASH_KEY is empty: the deployed functions share it, so that every
	// one of them hashes an IP address alike.
	HashKeySecretARN string
	// CounterShards is the counter_shards of new experiments that do not
	// set it (REFX_COUNTER_SHARDS, default refx.DefaultShards).
	CounterShards int
	// TrackPaths are extra paths serving the event routes
	// (REFX_TRACK_PATHS, comma-separated): see httpapi.WithTrackPaths.
	TrackPaths []string
	// RequireApproval refuses to start an experiment that was not approved
	// by someone other than its last editor (REFX_REQUIRE_APPROVAL=true).
	// Off unless set, as for ./scripts/dev and the tests; the CDK stack
	// sets it unless its context says requireApproval=false.
	RequireApproval bool
	// IdempotencyTTL is how long event ids are remembered
	// (REFX_IDEMPOTENCY_TTL, a Go duration, default 168h).
	IdempotencyTTL time.Duration
	// UserTTL is how long per-user items (assignments, referral codes,
	// clicks, attributions, ...) live before DynamoDB's TTL deletes them
	// (REFX_USER_TTL, a Go duration of at least 24h, default 9600h = 400
	// days): longer than any experiment runs, or a returning user is
	// enrolled again.
	UserTTL time.Duration
	// LogLevel is debug, info, warn or error (REFX_LOG_LEVEL, default info).
	LogLevel slog.Level
	// Referral configures referral links: see readReferralConfig.
	Referral ReferralConfig
	// LamedPrefix mounts the Alephbet/Lamed-compatible routes
	// (REFX_LAMED_PREFIX, default /lamed).
	LamedPrefix string
	// Lamed limits what Alephbet/Lamed clients may create: see
	// readLamedConfig.
	Lamed refx.LamedLimits
	// AllowedOrigins are the origins browsers may call the public routes
	// from (REFX_ALLOWED_ORIGINS): see readCORSConfig.
	AllowedOrigins []string
	// Trust is how public callers are admitted: keys, rate limits.
	Trust TrustConfig
	// Webhooks is what webhook subscriptions may target
	// (REFX_WEBHOOK_ALLOW_PRIVATE=true allows private and loopback hosts
	// over http: ./scripts/dev and tests).
	Webhooks webhook.Policy
}

// ConfigFromEnv reads and validates the configuration through getenv.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		Table:          getenv("REFX_TABLE"),
		DynamoEndpoint: getenv("REFX_DYNAMODB_ENDPOINT"),
		Region:         getenv("AWS_REGION"),
		AdminKey:       getenv("REFX_ADMIN_KEY"),
		IdempotencyTTL: dynamo.DefaultIdempotencyTTL,
		UserTTL:        dynamo.DefaultUserTTL,

		AdminKeySecretARN: getenv("REFX_ADMIN_KEY_SECRET_ARN"),
		HashKeySecretARN:  getenv("REFX_HASH_KEY_SECRET_ARN"),
	}
	if err := readDeployConfig(getenv, &cfg); err != nil {
		return Config{}, err
	}
	if err := readReferralConfig(getenv, &cfg.Referral); err != nil {
		return Config{}, err
	}
	if err := readCORSConfig(getenv, &cfg); err != nil {
		return Config{}, err
	}
	if err := readTrustConfig(getenv, &cfg.Trust); err != nil {
		return Config{}, err
	}
	if err := readLamedConfig(getenv, &cfg.Lamed); err != nil {
		return Config{}, err
	}
	var err error
	if cfg.Webhooks, err = webhook.PolicyFromEnv(getenv); err != nil {
		return Config{}, err
	}
	cfg.LamedPrefix = getenv("REFX_LAMED_PREFIX")
	if p := cfg.LamedPrefix; p != "" && (!strings.HasPrefix(p, "/") || strings.ContainsAny(p, " ?#{}")) {
		return Config{}, fmt.Errorf("REFX_LAMED_PREFIX=%q: want an absolute path like /lamed", p)
	}
	if cfg.Table == "" {
		cfg.Table = "refx"
	}
	if s := getenv("REFX_IDEMPOTENCY_TTL"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < time.Hour {
			return Config{}, fmt.Errorf("REFX_IDEMPOTENCY_TTL=%q: want a Go duration of at least 1h, like 168h", s)
		}
		cfg.IdempotencyTTL = d
	}
	if s := getenv("REFX_USER_TTL"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 24*time.Hour {
			return Config{}, fmt.Errorf("REFX_USER_TTL=%q: want a Go duration of at least 24h, like 9600h (400 days)", s)
		}
		cfg.UserTTL = d
	}
	if s := getenv("REFX_LOG_LEVEL"); s != "" {
		if err := cfg.LogLevel.UnmarshalText([]byte(s)); err != nil {
			return Config{}, fmt.Errorf("REFX_LOG_LEVEL=%q: want debug, info, warn or error", s)
		}
	}
	if cfg.AdminKey != "" && len(cfg.AdminKey) < 16 {
		return Config{}, fmt.Errorf("REFX_ADMIN_KEY is too short: use at least 16 characters")
	}
	if strings.ContainsAny(cfg.Table, " /") {
		return Config{}, fmt.Errorf("REFX_TABLE=%q is not a table name", cfg.Table)
	}
	return cfg, nil
}

// Logger returns the JSON logger the configuration asks for.
func (c Config) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: c.LogLevel}))
}

// App is a wired refx: the store and the HTTP API over it.
type App struct {
	Config Config
	Store  *dynamo.Store
	API    *httpapi.Server
	Logger *slog.Logger
}

// New connects to DynamoDB and builds the store and API.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*App, error) {
	client, err := dynamo.NewClient(ctx, dynamo.ClientConfig{Endpoint: cfg.DynamoEndpoint, Region: cfg.Region})
	if err != nil {
		return nil, err
	}
	if err := keysFromSecrets(ctx, &cfg); err != nil {
		return nil, err
	}
	if _, err := httpapi.TrackPathRoutes(cfg.TrackPaths); err != nil {
		return nil, err
	}
	store := dynamo.New(client, cfg.Table, dynamo.Options{IdempotencyTTL: cfg.IdempotencyTTL, UserTTL: cfg.UserTTL, Lamed: cfg.Lamed, Logger: logger,
		RequireApproval: cfg.RequireApproval})
	api := &httpapi.Server{
		Experiments: store, Assignments: store, Events: store, Results: store,
		Ping: store.Ping, AdminKey: cfg.AdminKey, Logger: logger,
	}
	api.DefaultCounterShards = cfg.CounterShards
	api.Referrals, api.Lamed = store, store
	api.LamedPrefix = cfg.LamedPrefix
	api.PublicURL, api.FallbackURL = cfg.Referral.PublicURL, cfg.Referral.FallbackURL
	api.HashKey = cfg.Referral.hashKey(cfg.AdminKey)
	api.Identities, api.AllowedOrigins = store, cfg.AllowedOrigins
	api.Snapshots, api.Privacy = store, store
	api.Keys, api.Keyless = store, cfg.Trust.Keyless
	api.Flags = store
	api.WebhookPolicy = cfg.Webhooks
	api.RatePerKey, api.RatePerIP = cfg.Trust.RatePerKey, cfg.Trust.RatePerIP
	if cfg.Referral.PreviousHashKey != "" {
		api.PreviousHashKey = []byte(cfg.Referral.PreviousHashKey)
	}
	return &App{Config: cfg, Store: store, API: api, Logger: logger}, nil
}

// LambdaHandler builds the Lambda handler serving routes, from the process
// environment. It links every route group's code: function mains call
// StartLambda with their own groups instead.
func LambdaHandler(ctx context.Context, getenv func(string) string, routes httpapi.Routes) (apigateway.HandlerFunc, error) {
	a, err := fromEnv(ctx, getenv)
	if err != nil {
		return nil, err
	}
	return apigateway.Handler(a.Handler(routes)), nil
}

// fromEnv reads the configuration through getenv and builds the App.
func fromEnv(ctx context.Context, getenv func(string) string) (*App, error) {
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return New(ctx, cfg, cfg.Logger())
}

// Handler is the plain HTTP handler for routes, with the extra tracking
// paths when it serves the track routes.
func (a *App) Handler(routes httpapi.Routes) http.Handler {
	return a.withTrackPaths(routes, a.API.Handler(routes))
}

// Serve is the plain HTTP handler of groups only (httpapi.Server.Serve),
// with the extra tracking paths when it serves the track routes.
func (a *App) Serve(groups ...httpapi.Group) http.Handler {
	var routes httpapi.Routes
	for _, g := range groups {
		routes |= g.Routes()
	}
	return a.withTrackPaths(routes, a.API.Serve(groups...))
}

func (a *App) withTrackPaths(routes httpapi.Routes, h http.Handler) http.Handler {
	if routes&httpapi.TrackRoutes != 0 {
		// New has validated the paths.
		if aliased, err := httpapi.WithTrackPaths(h, a.Config.TrackPaths); err == nil {
			h = aliased
		}
	}
	return h
}

// StartLambda is the whole of a function main: build the handler of its
// route groups from the environment, then serve Lambda invocations. Only
// the groups' code is linked into the function. A configuration error fails
// the cold start with a clear log line.
func StartLambda(groups ...httpapi.Group) {
	a, err := fromEnv(context.Background(), os.Getenv)
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	a.API.Metrics = os.Stdout
	lambda.Start(apigateway.Handler(a.Serve(groups...)))
}
