package lakeviews

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/athena"
)

// LambdaConfig is what the custom resource's Lambda reads from its
// environment; where the views go comes with each request (Properties).
type LambdaConfig struct {
	// LogLevel is debug, info, warn or error (REFX_LOG_LEVEL, default info).
	LogLevel slog.Level
}

// LambdaConfigFromEnv reads and validates the configuration through getenv.
func LambdaConfigFromEnv(getenv func(string) string) (LambdaConfig, error) {
	var cfg LambdaConfig
	if s := getenv("REFX_LOG_LEVEL"); s != "" {
		if err := cfg.LogLevel.UnmarshalText([]byte(s)); err != nil {
			return LambdaConfig{}, fmt.Errorf("REFX_LOG_LEVEL=%q: want debug, info, warn or error", s)
		}
	}
	return cfg, nil
}

// LambdaHandler builds the handler from the environment: what
// functions/lakeviews calls at cold start.
func LambdaHandler(ctx context.Context, getenv func(string) string) (*Handler, error) {
	cfg, err := LambdaConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("lakeviews.LambdaHandler: %w", err)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	return New(Config{Athena: athena.NewFromConfig(awsCfg), Logger: logger})
}
