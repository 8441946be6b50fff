package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/item"
	"github.com/refx-dev/refx/pkg/refx"
)

var _ refx.AuditService = (*Store)(nil)

// entityAudit marks audit entries.
const entityAudit = "audit"

// auditPut is the put of the audit entry recording a change of resource id
// by ctx's actor, for the change's own transaction: a change is never
// written without its entry, nor an entry without its change. before and
// after are the resource as the API shows it (nil when absent); the put is
// conditioned on the entry's absence, so a retried transaction cannot write
// an entry twice and nothing can overwrite one.
func (s *Store) auditPut(ctx context.Context, resource refx.AuditResource, id, action string, before, after any) (types.TransactWriteItem, error) {
	return s.auditNotePut(ctx, resource, id, action, "", before, after)
}

// auditNotePut is auditPut of a change made for the reason note.
func (s *Store) auditNotePut(ctx context.Context, resource refx.AuditResource, id, action, note string, before, after any) (types.TransactWriteItem, error) {
	at := s.opts.Now().UTC()
	entryID := timeSK(at) + "#" + strings.ToLower(rand.Text()[:10])
	actor := refx.ActorOf(ctx)
	it := item.Audit{
		Key:    auditKey(string(resource), id, entryID),
		GSI1PK: auditListPK, GSI1SK: auditListSK(string(resource), id, entryID),
		Entity: entityAudit, ID: entryID, Resource: string(resource), ResourceID: id, Action: action,
		ActorID: actor.ID, ActorName: actor.Name, ActorRole: string(actor.Role), At: at, Note: note,
	}
	var err error
	if it.Before, err = auditJSON(before); err != nil {
		return types.TransactWriteItem{}, err
	}
	if it.After, err = auditJSON(after); err != nil {
		return types.TransactWriteItem{}, err
	}
	cond := expression.AttributeNotExists(expression.Name(AttrPK))
	return putItem(s.table, it, &cond)
}

// auditJSON is v as JSON, "" for nil. '<', '>' and '&' stay themselves
// rather than six-byte escapes: the largest valid experiment is 437 kB of
// escaped JSON but 80 kB unescaped, and an entry holds two of them in one
// 400 KB item. The API escapes them again when it answers.
func auditJSON(v any) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	out := strings.TrimSuffix(b.String(), "\n")
	if out == "null" {
		return "", nil
	}
	return out, nil
}

// Audit reads the audit trail newest first: one resource's entries when
// f names it (its own partition), else every entry, of one kind of
// resource when f.Resource says so (gsi1).
func (s *Store) Audit(ctx context.Context, f refx.AuditFilter) (*refx.AuditPage, error) {
	const op = "Audit"
	var items []item.Audit
	var next string
	if f.ResourceID != "" {
		var err error
		if items, next, err = s.resourceAudit(ctx, f); err != nil {
			return nil, err
		}
	} else {
		var filter *expression.ConditionBuilder
		if f.Resource != "" {
			c := expression.Name("resource").Equal(expression.Value(string(f.Resource)))
			filter = &c
		}
		var err error
		if next, err = s.queryIndex(ctx, op, auditListPK, f.Limit, f.Cursor, filter, &items); err != nil {
			return nil, err
		}
	}
	page := &refx.AuditPage{Entries: make([]*refx.AuditEntry, 0, len(items)), Next: next}
	for _, it := range items {
		page.Entries = append(page.Entries, auditEntryOf(it))
	}
	// An entry holds an experiment twice: a page of the largest ends where
	// its answer would pass the bound, and the next starts after it.
	if n := refx.FitPage(page.Entries); n < len(page.Entries) {
		last := items[n-1]
		page.Entries = page.Entries[:n]
		if f.ResourceID != "" {
			page.Next = resourceCursor(last.PK, last.SK)
		} else {
			page.Next = encodeCursor(map[string]types.AttributeValue{
				AttrPK: &types.AttributeValueMemberS{Value: last.PK}, AttrSK: &types.AttributeValueMemberS{Value: last.SK},
				AttrGSI1PK: &types.AttributeValueMemberS{Value: last.GSI1PK}, AttrGSI1SK: &types.AttributeValueMemberS{Value: last.GSI1SK},
			})
		}
	}
	return page, nil
}

// resourceCursor is the cursor of a resource's page ending at sort key sk,
// bound to its partition pk.
func resourceCursor(pk, sk string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(pk + "|" + sk))
}

// resourceAudit reads a page of one resource's partition, newest first. Its
// cursor is the last entry's sort key, bound to the partition.
func (s *Store) resourceAudit(ctx context.Context, f refx.AuditFilter) ([]item.Audit, string, error) {
	const op = "Audit"
	pk := auditResourcePK(string(f.Resource), f.ResourceID)
	limit := f.Limit
	if limit <= 0 {
		limit = defaultPageSize
	}
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key(AttrPK).Equal(expression.Value(pk))).Build()
	if err != nil {
		return nil, "", storeError(op, err)
	}
	in := s.queryInput(expr, false)
	in.ScanIndexForward, in.Limit = aws.Bool(false), aws.Int32(int32(min(limit, maxPageSize)))
	if f.Cursor != "" {
		sk, err := base64.RawURLEncoding.DecodeString(f.Cursor)
		if err != nil || !strings.HasPrefix(string(sk), pk+"|") {
			return nil, "", refx.FieldErrorf("cursor", "is not a cursor this API returned")
		}
		in.ExclusiveStartKey = itemKey{PK: pk, SK: strings.TrimPrefix(string(sk), pk+"|")}.Attributes()
	}
	var res *dynamodb.QueryOutput
	err = s.retry(ctx, op, func() (err error) {
		res, err = s.client.Query(ctx, in)
		return err
	})
	if err != nil {
		return nil, "", storeError(op, err)
	}
	var items []item.Audit
	if err := attributevalue.UnmarshalListOfMaps(res.Items, &items); err != nil {
		return nil, "", storeError(op, err)
	}
	next := ""
	if sk, ok := res.LastEvaluatedKey[AttrSK].(*types.AttributeValueMemberS); ok {
		next = resourceCursor(pk, sk.Value)
	}
	return items, next, nil
}

func auditEntryOf(it item.Audit) *refx.AuditEntry {
	e := &refx.AuditEntry{
		ID: it.ID, Resource: refx.AuditResource(it.Resource), ResourceID: it.ResourceID, Action: it.Action,
		Actor: refx.Actor{ID: it.ActorID, Name: it.ActorName, Role: refx.AdminRole(it.ActorRole)},
		At:    it.At, Before: json.RawMessage("null"), After: json.RawMessage("null"), Note: it.Note,
	}
	if it.Before != "" {
		e.Before = json.RawMessage(it.Before)
	}
	if it.After != "" {
		e.After = json.RawMessage(it.After)
	}
	return e
}
