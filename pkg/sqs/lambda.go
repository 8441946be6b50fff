package sqs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/stream"
	"github.com/refx-dev/refx/pkg/webhook"
)

// Config is what the webhook functions read from their environment.
type Config struct {
	// Table is REFX_TABLE (required).
	Table string
	// QueueURL is REFX_WEBHOOK_QUEUE_URL (required).
	QueueURL string
	// Policy is read by webhook.PolicyFromEnv.
	Policy   webhook.Policy
	LogLevel slog.Level
}

// ConfigFromEnv reads and validates the configuration through getenv.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{Table: getenv("REFX_TABLE"), QueueURL: getenv("REFX_WEBHOOK_QUEUE_URL")}
	if cfg.Table == "" || cfg.QueueURL == "" {
		return Config{}, errors.New("webhooks: REFX_TABLE and REFX_WEBHOOK_QUEUE_URL must be set")
	}
	var err error
	if cfg.Policy, err = webhook.PolicyFromEnv(getenv); err != nil {
		return Config{}, err
	}
	if s := getenv("REFX_LOG_LEVEL"); s != "" {
		if err := cfg.LogLevel.UnmarshalText([]byte(s)); err != nil {
			return Config{}, fmt.Errorf("REFX_LOG_LEVEL=%q: want debug, info, warn or error", s)
		}
	}
	return cfg, nil
}

// LambdaHandler builds the delivery Lambda's handler from the environment.
func LambdaHandler(ctx context.Context, getenv func(string) string) (*Handler, error) {
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	client, err := dynamo.NewClient(ctx, dynamo.ClientConfig{Region: getenv("AWS_REGION")})
	if err != nil {
		return nil, err
	}
	store := dynamo.New(client, cfg.Table, dynamo.Options{Logger: logger})
	q, err := newClient(ctx)
	if err != nil {
		return nil, err
	}
	d := &webhook.Deliverer{
		Directory: webhook.NewDirectory(store, 0), Log: store, Logger: logger,
		Client: cfg.Policy.Client(webhook.DefaultTimeout),
	}
	return &Handler{Deliverer: d, Client: q, URL: cfg.QueueURL, Logger: logger}, nil
}

// Reactor is the aggregator's webhook reactor queuing to the SQS queue at
// queueURL.
func Reactor(ctx context.Context, store *dynamo.Store, queueURL string) (func(context.Context, []*stream.Record) error, error) {
	q, err := newClient(ctx)
	if err != nil {
		return nil, err
	}
	return webhook.Reactor(webhook.NewDirectory(store, 0), &Queue{Client: q, URL: queueURL}), nil
}

func newClient(ctx context.Context) (*sqs.Client, error) {
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqs: %w", err)
	}
	return sqs.NewFromConfig(awsCfg), nil
}
