package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/item"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stream"
)

var _ refx.PrivacyService = (*Store)(nil)

// entityErasure is the erasure record the exporter turns into a row of the
// erasures table.
const entityErasure = "erasure"

// erasureTTL keeps the erasure record in the table long enough for the
// exporter to read it from the stream (24 hours) with room for an outage;
// the erasures table in S3 is the lasting record.
const erasureTTL = 30 * 24 * time.Hour

// userExpiry is when a per-user item written at now expires.
func (s *Store) userExpiry(now time.Time) item.UserExpiry {
	return item.UserExpiry{ExpiresAt: now.Add(s.opts.UserTTL)}
}

// EraseUser deletes a user's personal items: everything in the user's
// partition (assignments, attribution, refusals, code pointers), their
// referral codes (the link stops working), their events still in the table
// (through the sparse gsi1 partition USEREVENTS#<user>), the click and
// visitor mark of the visitor id they signed up from, the anonymous
// assignments linked to them, and their id wherever it remains in another
// user's item (referees' attributions, velocity slots, an account's
// linked_from), which becomes refx.ErasedName or is removed. Then it puts the
// erasure record, named by hash, for the export.
//
// Only deletes and updates: the aggregator counts inserts only, so every
// counter (anonymous sums) stays as it is. Everything is unconditional or
// conditioned on still naming the user, so a repeated call completes an
// interrupted one and otherwise finds nothing. Indexes are eventually
// consistent: an event written a moment before may be found by the next
// call only.
func (s *Store) EraseUser(ctx context.Context, user string) (*refx.Erasure, error) {
	if !refx.ValidUser(user) {
		return nil, refx.FieldErrorf("user", "must be a user id")
	}
	e := &refx.Erasure{User: user, UserHash: refx.ErasureHash(user)}
	var (
		deletes  []map[string]types.AttributeValue
		visitors []string
	)
	in, err := s.partitionQuery(userPK(user), "", nil)
	if err != nil {
		return nil, err
	}
	items, err := s.queryItems(ctx, "EraseUser", in)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		deletes = append(deletes, it)
		sk := stream.StringAttr(it, AttrSK)
		switch {
		case strings.HasPrefix(sk, assignmentPrefix):
			e.Assignments++
			n, err := s.eraseLinks(ctx, user, it)
			if err != nil {
				return nil, err
			}
			e.Assignments += n
		case sk == attributionSK:
			e.Attributions++
			var a attributionItem
			if err := attributevalue.UnmarshalMap(it, &a); err != nil {
				return nil, storeError("EraseUser", err)
			}
			if a.Visitor != "" {
				visitors = append(visitors, refx.ErasureHash(a.Visitor))
				clicks, visits, err := s.eraseVisitor(ctx, a)
				if err != nil {
					return nil, err
				}
				e.Clicks, e.Visits = e.Clicks+clicks, e.Visits+visits
			}
			if err := s.scrubVelocitySlots(ctx, a.Code, user); err != nil {
				return nil, err
			}
		case strings.HasPrefix(sk, refusalPrefix):
			e.Refusals++
		case strings.HasPrefix(sk, codePointerPrefix):
			e.Codes++
			code := stream.StringAttr(it, "code")
			deletes = append(deletes, codeKey(code).Attributes())
			// A vanity code may be the referrer's name: its leaderboard
			// entries go with it.
			for _, by := range refx.LeaderBys {
				deletes = append(deletes, leaderKey(code, by).Attributes())
			}
		}
	}
	in, err = s.indexKeysQuery(userEventsPK(user))
	if err != nil {
		return nil, err
	}
	events, err := s.queryItems(ctx, "EraseUser", in)
	if err != nil {
		return nil, err
	}
	e.Events = len(events)
	deletes = append(deletes, events...)
	if err := s.deleteItems(ctx, deletes); err != nil {
		return nil, err
	}
	if e.Referees, err = s.pseudonymizeReferrer(ctx, user); err != nil {
		return nil, err
	}
	e.ErasedAt = s.opts.Now().UTC()
	record, err := putItem(s.table, item.Erasure{
		Key: erasureKey(e.UserHash), Entity: entityErasure, UserHash: e.UserHash,
		Assignments: e.Assignments, Events: e.Events, Codes: e.Codes, Attributions: e.Attributions,
		Referees: e.Referees, Refusals: e.Refusals, Clicks: e.Clicks, Visits: e.Visits,
		VisitorHashes: visitors, ErasedAt: e.ErasedAt, ExpiresAt: e.ErasedAt.Add(erasureTTL),
	}, nil)
	if err != nil {
		return nil, storeError("EraseUser", err)
	}
	after, err := erasureAudit(e)
	if err != nil {
		return nil, storeError("EraseUser", err)
	}
	// The audit trail is kept for good: it names the user by hash only,
	// as the export's erasure record does.
	entry, err := s.auditPut(ctx, refx.AuditUser, e.UserHash, "erase", nil, after)
	if err != nil {
		return nil, storeError("EraseUser", err)
	}
	// Put again on every call, with an entry each time: the export must
	// exclude whatever it holds of the user, even when the table no longer
	// does (events expire after the idempotency window, their rows stay in
	// S3).
	if err := s.transact(ctx, "EraseUser", []types.TransactWriteItem{record, entry}); err != nil {
		return nil, storeError("EraseUser", err)
	}
	return e, nil
}

// erasureAudit is what an erasure's audit entry records: e without the
// user's id.
func erasureAudit(e *refx.Erasure) (map[string]any, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	delete(out, "user")
	return out, nil
}

// eraseLinks handles an assignment of the erased user that identify
// linked. A copy linked from an anonymous visitor: the visitor's
// assignment, the same person's enrolment, is deleted if it still names
// the user (counted in n). An anonymous assignment linked to an account:
// the account's copy keeps its enrolment, its linked_from becomes
// refx.ErasedName.
func (s *Store) eraseLinks(ctx context.Context, user string, it map[string]types.AttributeValue) (n int, err error) {
	var a struct {
		linkedAssignment
		LinkedTo string `dynamodbav:"linked_to"`
	}
	if err := attributevalue.UnmarshalMap(it, &a); err != nil {
		return 0, storeError("EraseUser", err)
	}
	if a.LinkedFrom != "" {
		deleted, err := s.deleteIf(ctx, assignmentKey(a.LinkedFrom, a.Experiment, a.Phase),
			expression.Name("linked_to").Equal(expression.Value(user)))
		if deleted {
			n++
		}
		if err != nil {
			return n, err
		}
	}
	if a.LinkedTo != "" {
		from := expression.Name("linked_from")
		_, err := s.updateIf(ctx, "EraseUser", assignmentKey(a.LinkedTo, a.Experiment, a.Phase),
			expression.Set(from, expression.Value(refx.ErasedName)), from.Equal(expression.Value(user)))
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// eraseVisitor deletes the click and visitor mark of the visitor id the
// referee signed up from.
func (s *Store) eraseVisitor(ctx context.Context, a attributionItem) (clicks, visits int, err error) {
	got, err := s.getItems(ctx, "EraseUser", clickKey(a.Code, a.Visitor), visitorSeenKey(a.Visitor, a.Experiment))
	if err != nil {
		return 0, 0, err
	}
	var keys []map[string]types.AttributeValue
	if it := got[clickKey(a.Code, a.Visitor)]; it != nil {
		clicks++
		keys = append(keys, it)
	}
	if it := got[visitorSeenKey(a.Visitor, a.Experiment)]; it != nil {
		visits++
		keys = append(keys, it)
	}
	return clicks, visits, s.deleteItems(ctx, keys)
}

// scrubVelocitySlots removes the referee from the code's velocity slots
// (48-hour items) rather than deleting them: the day's slots are numbered
// by count, and a hole would make the next signup claim a taken number.
func (s *Store) scrubVelocitySlots(ctx context.Context, code, user string) error {
	referee := expression.Name("referee")
	filter := referee.Equal(expression.Value(user))
	in, err := s.partitionQuery(codeKey(code).PK, velocityPrefix, &filter)
	if err != nil {
		return err
	}
	slots, err := s.queryItems(ctx, "EraseUser", in)
	if err != nil {
		return err
	}
	for _, it := range slots {
		key := itemKey{PK: stream.StringAttr(it, AttrPK), SK: stream.StringAttr(it, AttrSK)}
		if _, err := s.updateIf(ctx, "EraseUser", key, expression.Remove(referee), filter); err != nil {
			return err
		}
	}
	return nil
}

// pseudonymizeReferrer replaces the erased user as the referrer of other
// users' attributions, and takes them out of the referrer's listing (gsi1),
// and in the referral credits of those referees' events still in the
// table. The attributions and events stay: they are the referees' own, and
// their conversions keep counting for the code.
func (s *Store) pseudonymizeReferrer(ctx context.Context, user string) (int, error) {
	in, err := s.indexKeysQuery(referrerPK(user), AttrPK, AttrSK, "referee")
	if err != nil {
		return 0, err
	}
	referees, err := s.queryItems(ctx, "EraseUser", in)
	if err != nil {
		return 0, err
	}
	referrer := expression.Name("referrer")
	for _, it := range referees {
		key := itemKey{PK: stream.StringAttr(it, AttrPK), SK: stream.StringAttr(it, AttrSK)}
		update := expression.Set(referrer, expression.Value(refx.ErasedName)).
			Remove(expression.Name(AttrGSI1PK)).Remove(expression.Name(AttrGSI1SK))
		if _, err := s.updateIf(ctx, "EraseUser", key, update, referrer.Equal(expression.Value(user))); err != nil {
			return 0, err
		}
		if err := s.pseudonymizeCredits(ctx, stream.StringAttr(it, "referee"), user); err != nil {
			return 0, err
		}
	}
	return len(referees), nil
}

// pseudonymizeCredits replaces the erased referrer in the referral credits
// of a referee's events. An event's changes other than its insert count
// nothing and are not exported.
func (s *Store) pseudonymizeCredits(ctx context.Context, referee, referrer string) error {
	in, err := s.indexKeysQuery(userEventsPK(referee), AttrPK, AttrSK, "credits")
	if err != nil {
		return err
	}
	events, err := s.queryItems(ctx, "EraseUser", in)
	if err != nil {
		return err
	}
	for _, it := range events {
		var e eventItem
		if err := attributevalue.UnmarshalMap(it, &e); err != nil {
			return storeError("EraseUser", err)
		}
		for i, c := range e.Credits {
			if c.Referrer != referrer {
				continue
			}
			name := expression.Name(fmt.Sprintf("credits[%d].referrer", i))
			if _, err := s.updateIf(ctx, "EraseUser", e.Key, expression.Set(name, expression.Value(refx.ErasedName)),
				name.Equal(expression.Value(referrer))); err != nil {
				return err
			}
		}
	}
	return nil
}

// partitionQuery reads the items of partition pk, consistently, those
// whose sort key starts with skPrefix if it is not empty, filtered by
// filter if it is not nil.
func (s *Store) partitionQuery(pk, skPrefix string, filter *expression.ConditionBuilder) (*dynamodb.QueryInput, error) {
	cond := expression.Key(AttrPK).Equal(expression.Value(pk))
	if skPrefix != "" {
		cond = cond.And(expression.Key(AttrSK).BeginsWith(skPrefix))
	}
	b := expression.NewBuilder().WithKeyCondition(cond)
	if filter != nil {
		b = b.WithFilter(*filter)
	}
	expr, err := b.Build()
	if err != nil {
		return nil, storeError("EraseUser", err)
	}
	return s.queryInput(expr, true), nil
}

// indexKeysQuery reads the attributes names (the table keys by default)
// of the items in the gsi1 partition pk.
func (s *Store) indexKeysQuery(pk string, names ...string) (*dynamodb.QueryInput, error) {
	projection := expression.NamesList(expression.Name(AttrPK), expression.Name(AttrSK))
	if len(names) > 0 {
		projection = expression.NamesList(expression.Name(names[0]))
		for _, n := range names[1:] {
			projection = projection.AddNames(expression.Name(n))
		}
	}
	expr, err := expression.NewBuilder().
		WithKeyCondition(expression.Key(AttrGSI1PK).Equal(expression.Value(pk))).
		WithProjection(projection).
		Build()
	if err != nil {
		return nil, storeError("EraseUser", err)
	}
	in := s.queryInput(expr, false)
	in.IndexName = aws.String(IndexGSI1)
	return in, nil
}

// deleteIf deletes the item at key on cond; deleted is false when the
// condition failed (or the item is absent).
func (s *Store) deleteIf(ctx context.Context, key itemKey, cond expression.ConditionBuilder) (deleted bool, err error) {
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return false, storeError("EraseUser", err)
	}
	err = s.retry(ctx, "EraseUser", func() error {
		_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: s.table, Key: key.Attributes(),
			ConditionExpression:       expr.Condition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
		})
		return err
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return false, nil
	}
	return err == nil, storeError("EraseUser", err)
}
