package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/refx-dev/refx/pkg/dynamo"
)

// keyFromSecret reads a key (the admin key, the hash key) from the Secrets
// Manager secret arn, once, at cold start. The deployed stack generates the
// secrets, so no key appears in the template, a function's environment or
// the console's configuration tab; a rotated key takes effect as instances
// are replaced (at once after a redeploy).
func keyFromSecret(ctx context.Context, cfg Config, arn string) (string, error) {
	awsCfg, err := dynamo.LoadAWSConfig(ctx, dynamo.ClientConfig{Region: cfg.Region})
	if err != nil {
		return "", fmt.Errorf("app: read the key in %s: %w", arn, err)
	}
	out, err := secretsmanager.NewFromConfig(awsCfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(arn),
	})
	if err != nil {
		return "", fmt.Errorf("app: read the key in %s: %w", arn, err)
	}
	key := strings.TrimSpace(aws.ToString(out.SecretString))
	if len(key) < 16 {
		return "", fmt.Errorf("app: the key in %s is shorter than 16 characters (or not a string secret)", arn)
	}
	return key, nil
}
