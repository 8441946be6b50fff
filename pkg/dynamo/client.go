package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// ClientConfig says how to reach DynamoDB. An empty Endpoint means AWS with
// the default credential chain; a set Endpoint means DynamoDB Local, reached
// with static dummy credentials.
type ClientConfig struct {
	Endpoint string
	Region   string
}

// LoadAWSConfig builds the SDK configuration for cfg. Checksums are computed
// and validated only where an operation requires them: DynamoDB Local sends
// no response checksums, and recent SDKs otherwise log a warning per call.
func LoadAWSConfig(ctx context.Context, cfg ClientConfig) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
		// The store backs off on contention itself (Store.retry); the SDK's
		// client-side retry quota would turn a burst of throttles into
		// "retry quota exceeded" errors that hide the throttling code.
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.RateLimiter = ratelimit.None })
		}),
	}
	region := cfg.Region
	if region == "" && cfg.Endpoint != "" {
		region = "us-east-1"
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if cfg.Endpoint != "" {
		opts = append(opts,
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")),
			config.WithBaseEndpoint(cfg.Endpoint))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("dynamo.LoadAWSConfig: %w", err)
	}
	return awsCfg, nil
}

// NewClient returns a DynamoDB client for cfg.
func NewClient(ctx context.Context, cfg ClientConfig) (*dynamodb.Client, error) {
	awsCfg, err := LoadAWSConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		// DynamoDB Local leaves the X-Amz-Crc32 header off error responses;
		// validating it there only logs a spurious mismatch per error. Real
		// DynamoDB sends it on every response and keeps it checked.
		o.DisableValidateResponseChecksum = cfg.Endpoint != ""
	}), nil
}
