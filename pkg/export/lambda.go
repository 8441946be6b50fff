package export

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// LambdaConfig is what the export Lambda reads from its environment.
type LambdaConfig struct {
	// Bucket receives the Parquet files (REFX_EXPORT_BUCKET, required).
	Bucket string
	// Prefix is prepended to every key (REFX_EXPORT_PREFIX, ending in "/";
	// DefaultPrefix when unset, as deployed); the Athena tables' LOCATION
	// must include it.
	Prefix string
	// S3Endpoint points at an S3-compatible server, such as the local one
	// (REFX_S3_ENDPOINT); empty means AWS. A set endpoint uses path-style
	// addressing and static dummy credentials.
	S3Endpoint string
	// Region is the AWS region (AWS_REGION).
	Region string
	// LogLevel is debug, info, warn or error (REFX_LOG_LEVEL, default info).
	LogLevel slog.Level
}

// LambdaConfigFromEnv reads and validates the configuration through getenv.
func LambdaConfigFromEnv(getenv func(string) string) (LambdaConfig, error) {
	cfg := LambdaConfig{
		Bucket: getenv("REFX_EXPORT_BUCKET"), Prefix: getenv("REFX_EXPORT_PREFIX"),
		S3Endpoint: getenv("REFX_S3_ENDPOINT"), Region: getenv("AWS_REGION"),
	}
	if cfg.Bucket == "" {
		return LambdaConfig{}, fmt.Errorf("REFX_EXPORT_BUCKET is not set: name the bucket that receives the Parquet files")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		return LambdaConfig{}, fmt.Errorf("REFX_EXPORT_PREFIX=%q must end with /", cfg.Prefix)
	}
	if s := getenv("REFX_LOG_LEVEL"); s != "" {
		if err := cfg.LogLevel.UnmarshalText([]byte(s)); err != nil {
			return LambdaConfig{}, fmt.Errorf("REFX_LOG_LEVEL=%q: want debug, info, warn or error", s)
		}
	}
	return cfg, nil
}

// NewS3Client returns the S3 client for cfg.
func NewS3Client(ctx context.Context, cfg LambdaConfig) (*s3.Client, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
	}
	region := cfg.Region
	if region == "" && cfg.S3Endpoint != "" {
		region = "us-east-1"
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if cfg.S3Endpoint != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("export.NewS3Client: %w", err)
	}
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.S3Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.S3Endpoint)
			o.UsePathStyle = true
		}
	}), nil
}

// LambdaHandler builds the export Lambda's handler from the environment:
// what functions/export calls at cold start.
func LambdaHandler(ctx context.Context, getenv func(string) string) (*Exporter, error) {
	cfg, err := LambdaConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	client, err := NewS3Client(ctx, cfg)
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	return New(Config{S3: client, Bucket: cfg.Bucket, Prefix: cfg.Prefix, Logger: logger})
}
