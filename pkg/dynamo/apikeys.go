package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/refx-dev/refx/pkg/item"
	"github.com/refx-dev/refx/pkg/refx"
)

var _ refx.KeyService = (*Store)(nil)

const entityAPIKey = "api_key"

// CreateKey stores a new key's digest. ECONFLICT if its id is taken.
func (s *Store) CreateKey(ctx context.Context, k *refx.APIKey) error {
	av, err := attributevalue.MarshalMap(item.APIKey{
		Key: apiKeyKey(k.ID), GSI1PK: apiKeyListPK, GSI1SK: timeSK(k.CreatedAt) + "#" + k.ID,
		Entity: entityAPIKey, ID: k.ID, Name: k.Name, Kind: string(k.Kind), Origins: k.Origins, Environment: k.Environment,
		Hint: k.Hint, Digest: k.Digest, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt,
	})
	if err != nil {
		return storeError("CreateKey", err)
	}
	failed, err := s.putIf(ctx, "CreateKey", av, absent())
	if err != nil {
		return err
	}
	if failed != nil {
		return refx.Errorf(refx.ECONFLICT, "key %s already exists", k.ID)
	}
	return nil
}

// Key reads one key consistently. ENOTFOUND.
func (s *Store) Key(ctx context.Context, id string) (*refx.APIKey, error) {
	var it item.APIKey
	found, err := s.getItem(ctx, "Key", apiKeyKey(id), &it)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, refx.Errorf(refx.ENOTFOUND, "key %s not found", id)
	}
	return apiKeyOf(it), nil
}

// Keys lists every key, newest first. A deployment has a handful of keys,
// so the listing reads every page of their index partition.
func (s *Store) Keys(ctx context.Context) ([]*refx.APIKey, error) {
	var keys []*refx.APIKey
	cursor := ""
	for {
		page, next, err := indexPage(ctx, s, "Keys", apiKeyListPK, maxPageSize, cursor, nil, apiKeyOf)
		if err != nil {
			return nil, err
		}
		keys = append(keys, page...)
		if next == "" {
			return keys, nil
		}
		cursor = next
	}
}

// RevokeKey stamps the key revoked, once: revoking it again keeps the first
// time. ENOTFOUND.
func (s *Store) RevokeKey(ctx context.Context, id string) (*refx.APIKey, error) {
	now := s.opts.Now().UTC()
	update := expression.Set(expression.Name("revoked_at"), expression.Value(now))
	cond := expression.AttributeExists(expression.Name("pk")).And(expression.AttributeNotExists(expression.Name("revoked_at")))
	failed, err := s.updateIf(ctx, "RevokeKey", apiKeyKey(id), update, cond)
	if err != nil {
		return nil, err
	}
	if failed != nil && failed.Item == nil {
		return nil, refx.Errorf(refx.ENOTFOUND, "key %s not found", id)
	}
	return s.Key(ctx, id)
}

func apiKeyOf(it item.APIKey) *refx.APIKey {
	return &refx.APIKey{
		ID: it.ID, Name: it.Name, Kind: refx.KeyKind(it.Kind), Origins: it.Origins, Environment: it.Environment,
		Hint: it.Hint, Digest: it.Digest, CreatedAt: it.CreatedAt, RevokedAt: it.RevokedAt,
	}
}
