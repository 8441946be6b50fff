package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/item"
	"github.com/refx-dev/refx/pkg/refx"
)

var _ refx.KeyService = (*Store)(nil)

const entityAPIKey = "api_key"

// The audit actions of keys.
const (
	keyAuditCreate = "create"
	keyAuditRevoke = "revoke"
	keyAuditRole   = "set_role"
)

// CreateKey stores a new key's digest, with its audit entry. ECONFLICT if
// its id is taken.
func (s *Store) CreateKey(ctx context.Context, k *refx.APIKey) error {
	const op = "CreateKey"
	put, err := putIfAbsent(s.table, item.APIKey{
		Key: apiKeyKey(k.ID), GSI1PK: apiKeyListPK, GSI1SK: timeSK(k.CreatedAt) + "#" + k.ID,
		Entity: entityAPIKey, ID: k.ID, Name: k.Name, Kind: string(k.Kind), Role: string(k.Role), Origins: k.Origins,
		Environment: k.Environment, Hint: k.Hint, Digest: k.Digest, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt,
	})
	if err != nil {
		return storeError(op, err)
	}
	if err := s.transactAudited(ctx, op, put, refx.AuditKey, k.ID, keyAuditCreate, nil, k); err != nil {
		if conditionFailed(cancellationReasons(err), 0) {
			return refx.Errorf(refx.ECONFLICT, "key %s already exists", k.ID)
		}
		return storeError(op, err)
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

// RevokeKey stamps the key revoked, once, with its audit entry: revoking it
// again keeps the first time and writes nothing. ENOTFOUND.
func (s *Store) RevokeKey(ctx context.Context, id string) (*refx.APIKey, error) {
	const op = "RevokeKey"
	before, err := s.Key(ctx, id)
	if err != nil || before.Revoked() {
		return before, err
	}
	after := *before
	now := s.opts.Now().UTC()
	after.RevokedAt = &now
	update, err := conditionalUpdate(s.table, apiKeyKey(id),
		expression.Set(expression.Name("revoked_at"), expression.Value(now)),
		expression.AttributeExists(expression.Name(AttrPK)).And(expression.AttributeNotExists(expression.Name("revoked_at"))))
	if err != nil {
		return nil, storeError(op, err)
	}
	err = s.transactAudited(ctx, op, update, refx.AuditKey, id, keyAuditRevoke, before, &after)
	if conditionFailed(cancellationReasons(err), 0) {
		// Revoked meanwhile by another request, which wrote the entry.
		return s.Key(ctx, id)
	}
	if err != nil {
		return nil, storeError(op, err)
	}
	return &after, nil
}

// SetKeyRole changes an admin key's role, with its audit entry, on the
// condition that the key's version is still the one read (and the key
// still not revoked): two owners changing one key at once cannot both win,
// and the entry's before is the state the change replaced. A version, not
// the role read: a change retried past others that left the role as it
// read it (editor → owner → editor) would pass a condition on the role,
// and its entry, stamped before those, would sort before them in the log.
// ENOTFOUND; EINVALID; ECONFLICT.
func (s *Store) SetKeyRole(ctx context.Context, id string, role refx.AdminRole) (*refx.APIKey, error) {
	const op = "SetKeyRole"
	if err := refx.ValidateAdminRole(role); err != nil {
		return nil, err
	}
	var it item.APIKey
	found, err := s.getItem(ctx, op, apiKeyKey(id), &it)
	if err == nil && !found {
		err = refx.Errorf(refx.ENOTFOUND, "key %s not found", id)
	}
	before := apiKeyOf(it)
	switch {
	case err != nil:
		return nil, err
	case before.Kind != refx.KeyAdmin:
		return nil, refx.FieldErrorf("role", "key %s is a %s key: only admin keys have a role", id, before.Kind)
	case before.Revoked():
		return nil, refx.Errorf(refx.ECONFLICT, "key %s is revoked", id)
	case before.Role == role:
		return before, nil
	}
	after := *before
	after.Role = role
	version := expression.Name("version").Equal(expression.Value(it.Version))
	if it.Version == 0 {
		version = expression.AttributeNotExists(expression.Name("version"))
	}
	update, err := conditionalUpdate(s.table, apiKeyKey(id),
		expression.Set(expression.Name("role"), expression.Value(string(role))).Set(expression.Name("version"), expression.Value(it.Version+1)),
		version.And(expression.AttributeNotExists(expression.Name("revoked_at"))))
	if err != nil {
		return nil, storeError(op, err)
	}
	err = s.transactAudited(ctx, op, update, refx.AuditKey, id, keyAuditRole, before, &after)
	if conditionFailed(cancellationReasons(err), 0) {
		return nil, refx.Errorf(refx.ECONFLICT, "key %s changed while its role was being set: read it and try again", id)
	}
	if err != nil {
		return nil, storeError(op, err)
	}
	return &after, nil
}

// transactAudited writes change and the audit entry recording it (from
// before to after, by ctx's actor) in one transaction; change is the
// transaction's first item, so that its failed condition is reason 0. The
// error is transact's, for the caller to read.
func (s *Store) transactAudited(ctx context.Context, op string, change types.TransactWriteItem, resource refx.AuditResource, id, action string, before, after any) error {
	entry, err := s.auditPut(ctx, resource, id, action, before, after)
	if err != nil {
		return err
	}
	return s.transact(ctx, op, []types.TransactWriteItem{change, entry})
}

// writeAudited is transactAudited for a change conditioned on what the
// caller read (its key absent, the version it holds): a failed condition
// means someone else wrote first, which the caller names in conflict.
func (s *Store) writeAudited(ctx context.Context, op string, change types.TransactWriteItem, resource refx.AuditResource, id, action string, before, after any, conflict error) error {
	err := s.transactAudited(ctx, op, change, resource, id, action, before, after)
	if conditionFailed(cancellationReasons(err), 0) {
		return conflict
	}
	return storeError(op, err)
}

func apiKeyOf(it item.APIKey) *refx.APIKey {
	return &refx.APIKey{
		ID: it.ID, Name: it.Name, Kind: refx.KeyKind(it.Kind), Role: refx.AdminRole(it.Role), Origins: it.Origins,
		Environment: it.Environment, Hint: it.Hint, Digest: it.Digest, CreatedAt: it.CreatedAt, RevokedAt: it.RevokedAt,
	}
}
