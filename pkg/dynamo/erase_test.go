package dynamo_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stream"
)

// erased is the user the erasure tests erase: a string no other id
// contains, so that a scan can tell whether anything still names them.
const erased = "erase-me-7f3a"

// erasureTraffic gives the erased user every kind of item: assignments
// (one a copy linked from an anonymous visitor), events, a referral code
// with a referee who converts, an attribution through someone else's code
// from a visitor id with a click, a refusal; and other users' data that
// must stay. It returns the experiments' ids and the erased user's code.
func erasureTraffic(t *testing.T, s *dynamo.Store) (ids []string, code string) {
	t.Helper()
	ctx := t.Context()
	plain := MustRunning(t, s, newExperiment("er-plain"))
	anon := MustRunning(t, s, newExperiment("er-anon"))
	ref := MustRunning(t, s, newReferralExperiment("er-ref"))
	for _, u := range []string{erased, "bystander"} {
		if _, err := s.Assign(ctx, plain.ID, u, nil); err != nil {
			t.Fatal(err)
		}
		mustEvent(t, s, &refx.Event{ID: uuid(), Type: "signup", User: u})
		mustEvent(t, s, &refx.Event{ID: uuid(), Type: "purchase", User: u, Value: decimal(t, "12.5")})
	}
	if _, err := s.Assign(ctx, anon.ID, "anon-"+erased, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Identify(ctx, refx.Identity{Anonymous: "anon-" + erased, User: erased}); err != nil {
		t.Fatal(err)
	}
	// The erased user as a referrer: a friend signs up and converts.
	code = mustLink(t, s, ref.ID, erased).Code
	mustAttribute(t, s, refx.Signup{Code: code, Referee: "friend", Visitor: "friend-visitor", IPHash: "ip-friend"}, refx.AttributionAttributed)
	mustEvent(t, s, &refx.Event{ID: uuid(), Type: ref.Referral.ConversionGoal, User: "friend", Value: decimal(t, "30")})
	// The erased user as a referee of someone else, from a visitor id
	// that was clicked, then refused through a third code.
	other := mustLink(t, s, ref.ID, "other-referrer").Code
	visitor := "visitor-of-" + erased
	if _, err := s.RecordClick(ctx, refx.Click{Code: other, Visitor: visitor, IPHash: "ip-erased"}); err != nil {
		t.Fatal(err)
	}
	mustAttribute(t, s, refx.Signup{Code: other, Referee: erased, Visitor: visitor, IPHash: "ip-erased"}, refx.AttributionAttributed)
	third := mustLink(t, s, ref.ID, "third-referrer").Code
	mustAttribute(t, s, refx.Signup{Code: third, Referee: erased, IPHash: "ip-erased"}, refx.AttributionRefused, refx.ReasonAlreadyAttributed)
	return []string{plain.ID, anon.ID, ref.ID}, code
}

// naming returns the items of the table that contain s in any string.
func naming(t *testing.T, s *dynamo.Store, needle string) []string {
	t.Helper()
	var found []string
	p := dynamodb.NewScanPaginator(s.Client(), &dynamodb.ScanInput{TableName: aws.String(s.Table()), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			b, _ := json.Marshal(it)
			if strings.Contains(string(b), needle) {
				found = append(found, stream.StringAttr(it, "pk")+" "+stream.StringAttr(it, "sk"))
			}
		}
	}
	return found
}

func TestEraseUser(t *testing.T) {
	s := MustStore(t, dynamo.Options{})
	ctx := t.Context()
	ids, code := erasureTraffic(t, s)
	before := resultsJSON(t, s, ids)
	if len(naming(t, s, erased)) == 0 {
		t.Fatal("the traffic wrote nothing naming the user")
	}

	first, err := s.EraseUser(ctx, erased)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.EraseUser(ctx, erased)
	if err != nil {
		t.Fatal(err)
	}
	hash := refx.ErasureHash(erased)
	tests := []struct {
		name string
		got  *refx.Erasure
		want refx.Erasure
	}{
		{"First", first, refx.Erasure{User: erased, UserHash: hash,
			// er-plain, er-ref (the referrer's enrolment), the er-anon copy and
			// the anonymous assignment it was linked from.
			Assignments: 4, Events: 2, Codes: 1, Attributions: 1, Referees: 1, Refusals: 1, Clicks: 1, Visits: 1}},
		{"AgainIdempotent", second, refx.Erasure{User: erased, UserHash: hash}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got.ErasedAt.IsZero() {
				t.Error("no erased_at")
			}
			got := *tt.got
			got.ErasedAt = time.Time{}
			if got != tt.want {
				t.Errorf("erasure = %+v\nwant       %+v", got, tt.want)
			}
		})
	}

	t.Run("NothingNamesTheUser", func(t *testing.T) {
		if left := naming(t, s, erased); len(left) > 0 {
			t.Fatalf("items still naming the user: %v", left)
		}
	})
	t.Run("ErasureRecordByHash", func(t *testing.T) {
		// The record, and the audit entry of each call.
		got := naming(t, s, hash)
		slices.Sort(got)
		if len(got) != 3 || !strings.HasPrefix(got[0], "AUDIT#user#"+hash+" ") || !strings.HasPrefix(got[1], "AUDIT#user#"+hash+" ") || got[2] != "ERASURE#"+hash+" ERASURE" {
			t.Fatalf("items naming the hash: %v", got)
		}
	})
	t.Run("AuditByHash", func(t *testing.T) {
		entries := MustAudit(t, s, refx.AuditUser, hash)
		if len(entries) != 2 || entries[0].Action != "erase" || string(entries[0].Before) != "null" {
			t.Fatalf("entries: %+v", entries)
		}
		var after map[string]any
		if err := json.Unmarshal(entries[1].After, &after); err != nil || after["user_hash"] != hash || after["assignments"] != 4.0 || after["user"] != nil {
			t.Fatalf("first erasure's entry: %s", entries[1].After)
		}
	})
	t.Run("CountsUnchanged", func(t *testing.T) {
		if after := resultsJSON(t, s, ids); after != before {
			t.Fatalf("results changed by the erasure:\nbefore %s\nafter  %s", before, after)
		}
	})
	t.Run("OthersKept", func(t *testing.T) {
		if len(naming(t, s, "bystander")) != 3 { // an assignment, two events
			t.Errorf("bystander's items: %v", naming(t, s, "bystander"))
		}
		if len(naming(t, s, "other-referrer")) != 3 { // assignment, code and pointer
			t.Errorf("other referrer's items: %v", naming(t, s, "other-referrer"))
		}
	})
	t.Run("CodeStopsAttributing", func(t *testing.T) {
		if info, err := s.Code(ctx, code); err != nil || info.Valid {
			t.Fatalf("erased referrer's code: %+v, %v", info, err)
		}
		_, err := s.Attribute(ctx, refx.Signup{Code: code, Referee: "late-friend", IPHash: "ip-late"})
		wantCode(t, err, refx.ENOTFOUND)
	})
	t.Run("RefereeStillCounts", func(t *testing.T) {
		res, err := s.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: "purchase", User: "friend", Value: decimal(t, "5")})
		if err != nil {
			t.Fatal(err)
		}
		var referral *refx.Credit
		for i, c := range res.Credits {
			if c.Referrer != "" {
				referral = &res.Credits[i]
			}
		}
		if referral == nil || referral.Referrer != refx.ErasedName {
			t.Fatalf("the friend's purchase credits %+v, want a referral credit to %q", res.Credits, refx.ErasedName)
		}
		if n := len(naming(t, s, erased)); n != 0 {
			t.Fatalf("the friend's purchase wrote the erased id again (%d items)", n)
		}
	})
	t.Run("InvalidUser", func(t *testing.T) {
		_, err := s.EraseUser(ctx, "")
		wantCode(t, err, refx.EINVALID)
	})
}

// TestPerUserItemsExpire: every per-user item carries the table's TTL
// attribute, UserTTL after it was written, and the aggregator counts
// nothing when DynamoDB's TTL (or a request) deletes it.
func TestPerUserItemsExpire(t *testing.T) {
	clk := newClock()
	const ttl = 72 * time.Hour
	s := MustStore(t, dynamo.Options{Now: clk.Now, UserTTL: ttl})
	ids, _ := erasureTraffic(t, s)
	want := clk.Now().Add(ttl).Unix()

	perUser := map[string]bool{"assignment": true, "referral": true, "referral_pointer": true, "click": true,
		"visitor": true, "attribution": true, "refusal": true}
	seen := map[string]int{}
	out, err := s.Client().Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(s.Table())})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range out.Items {
		entity := stream.StringAttr(it, "entity")
		if !perUser[entity] {
			continue
		}
		seen[entity]++
		n, ok := it["ttl"].(*types.AttributeValueMemberN)
		if !ok || n.Value != strconv.FormatInt(want, 10) {
			t.Errorf("%s %s: ttl %v, want %d", entity, stream.StringAttr(it, "pk"), it["ttl"], want)
		}
	}
	if len(seen) != len(perUser) {
		t.Fatalf("per-user entities written: %v, want all of %v", seen, perUser)
	}

	t.Run("ExpiryCountsNothing", func(t *testing.T) {
		before := resultsJSON(t, s, ids)
		// Every insert the stream holds, replayed as its TTL deletion and
		// as a request's deletion: what the aggregator sees when the items
		// expire or are erased.
		var removals []*stream.Record
		for _, batch := range captureStream(t, s, 1000) {
			for _, r := range records(t, batch) {
				if r.Change != stream.Insert {
					continue
				}
				for _, c := range []stream.Change{stream.Expire, stream.Remove} {
					removals = append(removals, &stream.Record{Change: c, Old: r.New,
						SequenceNumber: r.SequenceNumber + c.String(), StreamedAt: r.StreamedAt})
				}
			}
		}
		if len(removals) < 20 {
			t.Fatalf("only %d removals", len(removals))
		}
		rep, err := s.Aggregate(t.Context(), removals)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Counted != 0 || len(rep.Undecodable) != 0 {
			t.Fatalf("removals counted %d, undecodable %v", rep.Counted, rep.Undecodable)
		}
		if after := resultsJSON(t, s, ids); after != before {
			t.Fatalf("results changed by deletions:\nbefore %s\nafter  %s", before, after)
		}
	})
}
