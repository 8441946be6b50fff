package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/refx-dev/refx/pkg/dynamo"
)

// keysFromSecrets fills in the keys (the admin key, the hash key) that the
// environment leaves empty and names a Secrets Manager secret for, once, at
// cold start, with one client for both. The deployed stack generates the
// secrets, so no key appears in the template, a function's environment or
// the console's configuration tab; a rotated key takes effect as instances
// are replaced (at once after a redeploy).
func keysFromSecrets(ctx context.Context, cfg *Config) error {
	var client *secretsmanager.Client
	for _, k := range []struct {
		key *string
		arn string
	}{
		{&cfg.AdminKey, cfg.AdminKeySecretARN},
		{&cfg.Referral.HashKey, cfg.HashKeySecretARN},
	} {
		if *k.key != "" || k.arn == "" {
			continue
		}
		if client == nil {
			awsCfg, err := dynamo.LoadAWSConfig(ctx, dynamo.ClientConfig{Region: cfg.Region})
			if err != nil {
				return fmt.Errorf("app: read the key in %s: %w", k.arn, err)
			}
			client = secretsmanager.NewFromConfig(awsCfg)
		}
		key, err := keyFromSecret(ctx, client, k.arn, "")
		if err != nil {
			return err
		}
		*k.key = key
	}
	if arn := cfg.HashKeySecretARN; arn != "" && client != nil && cfg.Referral.PreviousHashKey == "" {
		// A secret that was never rotated has no previous version.
		if previous, err := keyFromSecret(ctx, client, arn, "AWSPREVIOUS"); err == nil {
			cfg.Referral.PreviousHashKey = previous
		} else if !errors.As(err, new(*smtypes.ResourceNotFoundException)) {
			return err
		}
	}
	return nil
}

// keyFromSecret reads the key in the secret arn, at a version stage
// (default AWSCURRENT).
func keyFromSecret(ctx context.Context, client *secretsmanager.Client, arn, stage string) (string, error) {
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)}
	if stage != "" {
		in.VersionStage = aws.String(stage)
	}
	out, err := client.GetSecretValue(ctx, in)
	if err != nil {
		return "", fmt.Errorf("app: read the key in %s: %w", arn, err)
	}
	key := strings.TrimSpace(aws.ToString(out.SecretString))
	if len(key) < 16 {
		return "", fmt.Errorf("app: the key in %s is shorter than 16 characters (or not a string secret)", arn)
	}
	return key, nil
}
