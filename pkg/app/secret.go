package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/refx-dev/refx/pkg/dynamo"
)

// adminKeyFromSecret reads the admin key from the Secrets Manager secret
// cfg.AdminKeySecretARN, once, at cold start. The deployed stack generates the
// secret, so the key never appears in the template, the function's
// environment or the console's configuration tab; rotating it takes effect
// as instances are replaced (or at once, after a redeploy).
func adminKeyFromSecret(ctx context.Context, cfg Config) (string, error) {
	awsCfg, err := dynamo.LoadAWSConfig(ctx, dynamo.ClientConfig{Region: cfg.Region})
	if err != nil {
		return "", fmt.Errorf("app: admin key: %w", err)
	}
	out, err := secretsmanager.NewFromConfig(awsCfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(cfg.AdminKeySecretARN),
	})
	if err != nil {
		return "", fmt.Errorf("app: read the admin key from %s: %w", cfg.AdminKeySecretARN, err)
	}
	key := strings.TrimSpace(aws.ToString(out.SecretString))
	if len(key) < 16 {
		return "", fmt.Errorf("app: the admin key in %s is shorter than 16 characters (or not a string secret)", cfg.AdminKeySecretARN)
	}
	return key, nil
}
