package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/item"
	"github.com/refx-dev/refx/pkg/refx"
)

var _ refx.ReviewService = (*Store)(nil)

// Entities of the review queue.
const (
	entityReviewMarker = "review_marker"
	entityDecision     = "review_decision"
)

type (
	reviewMarkerItem = item.ReviewMarker
	decisionItem     = item.ReviewDecision
)

// reviewMarkerPut is the put, in a flagged signup's transaction, of the
// marker listing the attribution in its experiment's review queue.
func reviewMarkerPut(table *string, a attributionItem) (types.TransactWriteItem, error) {
	return putItem(table, reviewMarkerItem{
		Key: reviewMarkerKey(a.Referee), GSI1PK: reviewListPK(a.Experiment), GSI1SK: referrerListSK(a.AttributedAt, a.Referee),
		Entity: entityReviewMarker, Referee: a.Referee, Referrer: a.Referrer, UserExpiry: a.UserExpiry,
	}, nil)
}

// Reviews lists an experiment's flagged attributions awaiting a decision,
// newest first: the markers on gsi1, then their attributions in one
// consistent BatchGet (a marker carries no status, so a page never shows
// one decided meanwhile as flagged). EINVALID for a bad cursor.
func (s *Store) Reviews(ctx context.Context, experiment string, limit int, cursor string) (*refx.AttributionPage, error) {
	const op = "Reviews"
	if !refx.ValidSlug(experiment) {
		return nil, refx.FieldErrorf("experiment", "must be an experiment id")
	}
	var markers []reviewMarkerItem
	next, err := s.queryIndex(ctx, op, reviewListPK(experiment), limit, cursor, nil, &markers)
	if err != nil {
		return nil, err
	}
	page := &refx.AttributionPage{Referrals: []*refx.Attribution{}, NextCursor: next}
	if len(markers) == 0 {
		return page, nil
	}
	keys := make([]itemKey, len(markers))
	for i, m := range markers {
		keys[i] = attributionKey(m.Referee)
	}
	got, err := s.getItems(ctx, op, keys...)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		var a attributionItem
		if got[k] == nil {
			continue
		}
		if err := attributevalue.UnmarshalMap(got[k], &a); err != nil {
			return nil, storeError(op, err)
		}
		if a.Status == refx.AttributionFlagged {
			page.Referrals = append(page.Referrals, attributionOf(a))
		}
	}
	return page, nil
}

// Review decides on a referee's attribution in one transaction: the
// attribution's status and reviewer, on the condition that its status is
// the one read and that it was not decided; the decision item, put if
// absent, whose insert is what the aggregator counts (an approval the
// signup, the rejection of an attributed referee the signup's reversal);
// the review marker's deletion; the audit entry (resource referral). Of
// concurrent decisions one wins: the others find the attribution decided
// and get the same answer if they decided the same, ECONFLICT if not.
func (s *Store) Review(ctx context.Context, referee, decision, note string) (*refx.Attribution, error) {
	const op = "Review"
	if err := refx.ValidateReview(decision, note); err != nil {
		return nil, err
	}
	if !refx.ValidUser(referee) {
		return nil, refx.InvalidUser("referee")
	}
	for attempt := 0; attempt < s.opts.RetryAttempts; attempt++ {
		var a attributionItem
		found, err := s.getItem(ctx, op, attributionKey(referee), &a)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, refx.Errorf(refx.ENOTFOUND, "referee %s has no attribution", referee)
		}
		if a.ReviewDecision != "" {
			if a.ReviewDecision == decision {
				return attributionOf(a), nil
			}
			return nil, refx.Errorf(refx.ECONFLICT, "referee %s was already decided: %s", referee, a.ReviewDecision)
		}
		switch {
		case decision == refx.DecisionApprove && a.Status != refx.AttributionFlagged:
			return nil, refx.Errorf(refx.ECONFLICT, "referee %s is %s, not flagged: nothing to approve", referee, a.Status)
		case decision == refx.DecisionReject && a.Status != refx.AttributionFlagged && a.Status != refx.AttributionAttributed:
			return nil, refx.Errorf(refx.ECONFLICT, "referee %s is %s: nothing to reject", referee, a.Status)
		}
		items, after, err := s.reviewItems(ctx, a, decision, note)
		if err != nil {
			return nil, storeError(op, err)
		}
		err = s.transact(ctx, op, items)
		if err == nil {
			return after, nil
		}
		if !anyConditionFailed(cancellationReasons(err)) {
			return nil, storeError(op, err)
		}
		// Decided, or changed (converted, say), since it was read: read
		// again and answer from what is stored.
	}
	return nil, refx.Errorf(refx.EUNAVAILABLE, "referee %s is busy; send the same decision again", referee)
}

// reviewItems are the transaction of a decision on a, and the attribution
// as it will stand.
func (s *Store) reviewItems(ctx context.Context, a attributionItem, decision, note string) ([]types.TransactWriteItem, *refx.Attribution, error) {
	now := s.opts.Now().UTC()
	by := refx.ActorOf(ctx).ID
	status := refx.AttributionAttributed
	if decision == refx.DecisionReject {
		status = refx.AttributionRejected
	}
	before := attributionOf(a)
	decided := a
	decided.Status, decided.ReviewDecision, decided.ReviewedBy, decided.ReviewedAt, decided.ReviewNote = status, decision, by, &now, note
	after := attributionOf(decided)

	set := expression.Set(expression.Name("status"), expression.Value(status)).
		Set(expression.Name("review_decision"), expression.Value(decision)).
		Set(expression.Name("reviewed_by"), expression.Value(by)).
		Set(expression.Name("reviewed_at"), expression.Value(now))
	if note != "" {
		set = set.Set(expression.Name("review_note"), expression.Value(note))
	}
	cond := expression.Name("status").Equal(expression.Value(a.Status)).
		And(expression.AttributeNotExists(expression.Name("review_decision")))
	update, err := conditionalUpdate(s.table, a.Key, set, cond)
	if err != nil {
		return nil, nil, err
	}
	put, err := putIfAbsent(s.table, decisionItem{
		Key: decisionKey(a.Referee, decision), Entity: entityDecision, Decision: decision, Referee: a.Referee,
		DecidedAt: now, By: by, Attribution: a, UserExpiry: a.UserExpiry,
	})
	if err != nil {
		return nil, nil, err
	}
	entry, err := s.auditNotePut(ctx, refx.AuditReferral, a.Referee, decision, note, before, after)
	if err != nil {
		return nil, nil, err
	}
	items := []types.TransactWriteItem{update, put, entry}
	if a.Status == refx.AttributionFlagged {
		items = append(items, deleteItem(s.table, reviewMarkerKey(a.Referee)))
	}
	return items, after, nil
}

func attributionReviewOf(it attributionItem) *refx.ReviewDecision {
	if it.ReviewDecision == "" || it.ReviewedAt == nil {
		return nil
	}
	return &refx.ReviewDecision{Decision: it.ReviewDecision, ReviewedBy: it.ReviewedBy, ReviewedAt: *it.ReviewedAt, Note: it.ReviewNote}
}
