package dynamo

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/refx"
)

var _ refx.BlockService = (*Store)(nil)

// entityBlock marks blocks. The aggregator ignores them: a block changes
// no counter, it stops new ones.
const entityBlock = "block"

// blockItem is a block as stored.
type blockItem struct {
	itemKey
	GSI1PK    string    `dynamodbav:"gsi1pk"`
	GSI1SK    string    `dynamodbav:"gsi1sk"`
	Entity    string    `dynamodbav:"entity"`
	Kind      string    `dynamodbav:"kind"`
	ID        string    `dynamodbav:"id"`
	Reason    string    `dynamodbav:"reason,omitempty"`
	CreatedAt time.Time `dynamodbav:"created_at"`
	CreatedBy string    `dynamodbav:"created_by,omitempty"`
}

func blockOf(it blockItem) *refx.Block {
	return &refx.Block{Kind: refx.BlockKind(it.Kind), ID: it.ID, Reason: it.Reason, CreatedAt: it.CreatedAt, CreatedBy: it.CreatedBy}
}

// blockAuditID names a block in the audit trail: its kind and id.
func blockAuditID(kind refx.BlockKind, id string) string { return string(kind) + ":" + id }

// blocked reports whether code, or its referrer, is blocked. It is on the
// path of every click and signup, so what it reads is cached for
// BlockCacheTTL, the absence of a block included (the common case): a
// code costs one read per process and TTL, not one per click. A miss reads
// both items in one eventually consistent BatchGet: a block is an admin's
// decision that already waits out the cache, and the half a read unit a
// consistent read would double buys it at most a second; nothing is
// counted on the strength of this read alone (a blocked code's signups are
// refused, a late one is still reviewable and reversible). Empty arguments
// are not checked.
func (s *Store) blocked(ctx context.Context, code, referrer string) (bool, error) {
	var keys []itemKey
	for _, k := range []struct {
		kind refx.BlockKind
		id   string
	}{{refx.BlockCode, code}, {refx.BlockReferrer, referrer}} {
		if k.id == "" {
			continue
		}
		key := blockKey(string(k.kind), k.id)
		is, known := s.blocks.get(key)
		if known && is {
			return true, nil
		}
		if !known {
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return false, nil
	}
	got, err := s.batchGet(ctx, "blocked", false, keys...)
	if err != nil {
		return false, err
	}
	any := false
	for _, k := range keys {
		s.blocks.put(k, got[k] != nil)
		any = any || got[k] != nil
	}
	return any, nil
}

// CreateBlock stores a block with its audit entry, in one transaction.
// Blocking what is already blocked returns the stored block and writes
// nothing, so a retried request gets the same answer. EINVALID.
func (s *Store) CreateBlock(ctx context.Context, b *refx.Block) (*refx.Block, error) {
	const op = "CreateBlock"
	if err := b.Validate(); err != nil {
		return nil, err
	}
	now := s.opts.Now().UTC()
	it := blockItem{
		itemKey: blockKey(string(b.Kind), b.ID), GSI1PK: blockListPK, GSI1SK: blockListSK(now, string(b.Kind), b.ID),
		Entity: entityBlock, Kind: string(b.Kind), ID: b.ID, Reason: b.Reason, CreatedAt: now, CreatedBy: refx.ActorOf(ctx).ID,
	}
	created := blockOf(it)
	put, err := putIfAbsent(s.table, it)
	if err != nil {
		return nil, storeError(op, err)
	}
	err = s.transactAudited(ctx, op, put, refx.AuditBlock, blockAuditID(b.Kind, b.ID), "create", nil, created)
	if conditionFailed(cancellationReasons(err), 0) {
		return s.block(ctx, b.Kind, b.ID)
	}
	if err != nil {
		return nil, storeError(op, err)
	}
	s.blocks.forget(it.itemKey)
	return created, nil
}

// block reads one block consistently. ENOTFOUND.
func (s *Store) block(ctx context.Context, kind refx.BlockKind, id string) (*refx.Block, error) {
	var it blockItem
	found, err := s.getItem(ctx, "block", blockKey(string(kind), id), &it)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, refx.Errorf(refx.ENOTFOUND, "%s %s is not blocked", kind, id)
	}
	return blockOf(it), nil
}

// Blocks lists the blocks, newest first, from gsi1. EINVALID for a bad
// cursor.
func (s *Store) Blocks(ctx context.Context, limit int, cursor string) (*refx.BlockPage, error) {
	blocks, next, err := indexPage(ctx, s, "Blocks", blockListPK, limit, cursor, nil, blockOf)
	if err != nil {
		return nil, err
	}
	return &refx.BlockPage{Blocks: blocks, NextCursor: next}, nil
}

// DeleteBlock lifts a block, with its audit entry, in one transaction on
// the condition that the block is still there: of two concurrent lifts,
// one writes the entry and the other is ENOTFOUND.
func (s *Store) DeleteBlock(ctx context.Context, kind refx.BlockKind, id string) error {
	const op = "DeleteBlock"
	before, err := s.block(ctx, kind, id)
	if err != nil {
		return err
	}
	key := blockKey(string(kind), id)
	expr, err := expression.NewBuilder().WithCondition(expression.AttributeExists(expression.Name(AttrPK))).Build()
	if err != nil {
		return storeError(op, err)
	}
	del := types.TransactWriteItem{Delete: &types.Delete{
		TableName: s.table, Key: key.Attributes(),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(),
	}}
	err = s.transactAudited(ctx, op, del, refx.AuditBlock, blockAuditID(kind, id), "delete", before, nil)
	if conditionFailed(cancellationReasons(err), 0) {
		return refx.Errorf(refx.ENOTFOUND, "%s %s is not blocked", kind, id)
	}
	if err != nil {
		return storeError(op, err)
	}
	s.blocks.forget(key)
	return nil
}

// maxBlockCacheEntries bounds the block cache: past it, expired entries are
// dropped, and if none is, the whole cache (it is only a cache).
const maxBlockCacheEntries = 50_000

// blockCache remembers for a while whether blocks exist, by key.
type blockCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	now     func() time.Time
	entries map[itemKey]blockEntry
}

type blockEntry struct {
	blocked   bool
	fetchedAt time.Time
}

func newBlockCache(ttl time.Duration, now func() time.Time) *blockCache {
	return &blockCache{ttl: ttl, now: now, entries: map[itemKey]blockEntry{}}
}

// get returns whether key's block exists, and whether the cache knows.
func (c *blockCache) get(key itemKey) (blocked, known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || c.now().Sub(e.fetchedAt) > c.ttl {
		return false, false
	}
	return e.blocked, true
}

func (c *blockCache) put(key itemKey, blocked bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.entries) >= maxBlockCacheEntries {
		for k, e := range c.entries {
			if now.Sub(e.fetchedAt) > c.ttl {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxBlockCacheEntries {
			clear(c.entries)
		}
	}
	c.entries[key] = blockEntry{blocked: blocked, fetchedAt: now}
}

func (c *blockCache) forget(key itemKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
}
