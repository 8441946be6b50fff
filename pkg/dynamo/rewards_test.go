package dynamo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/item"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stream"
)

// rewardExperiment is a referral experiment whose variants both pay plan.
func rewardExperiment(id string, plan refx.RewardPlan) refx.NewExperiment {
	n := newReferralExperiment(id)
	n.Referral.MaxSignupsPerHour, n.Referral.MaxSignupsPerDay = 100, 1000
	for i := range n.Variants {
		n.Variants[i].Rewards = &plan
	}
	return n
}

// purchaseRecord is the stream record of a referee's purchase credited to
// referrer: what the reactor reads of an event's insert.
func purchaseRecord(tb testing.TB, exp, referrer, referee, value string, at time.Time) *stream.Record {
	tb.Helper()
	id := uuid()
	av, err := attributevalue.MarshalMap(item.Event{
		Key: item.Key{PK: "EVENT#" + id, SK: "EVENT"}, Entity: "event", ID: id, Type: "purchase", User: referee,
		Value: &value, OccurredAt: at, ReceivedAt: at,
		Credits: []item.Credit{{Experiment: exp, Variant: "control", Referrer: referrer, Code: "ABCDEFGH"}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return &stream.Record{Change: stream.Insert, New: av, StreamedAt: at}
}

func mustRewards(tb testing.TB, s *dynamo.Store, f refx.RewardFilter) []*refx.Reward {
	tb.Helper()
	var all []*refx.Reward
	for {
		page, err := s.Rewards(context.Background(), f)
		if err != nil {
			tb.Fatal(err)
		}
		all = append(all, page.Rewards...)
		if page.NextCursor == "" {
			return all
		}
		f.Cursor = page.NextCursor
	}
}

func mustEarned(tb testing.TB, s *dynamo.Store, beneficiary string) string {
	tb.Helper()
	totals, err := s.RewardsEarned(context.Background(), beneficiary)
	if err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprint(totals)
}

// TestRewardCapRace races qualifying events for a referrer's last capped
// reward through ddbsim's conflict emulation, each delivered by its own
// concurrent reactor call: exactly one wins, the others are put rejected
// (cap), and delivering every record again, in one batch or re-batched,
// changes nothing.
func TestRewardCapRace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		racers int
		rule   refx.RewardRule
		reason string
	}{
		{"TwoLifetime", 2, refx.RewardRule{Amount: "5", Currency: "USD", On: "purchase", CapLifetime: 3}, refx.RewardReasonCapLifetime},
		{"ManyLifetime", 12, refx.RewardRule{Amount: "5", Currency: "USD", On: "purchase", CapLifetime: 3}, refx.RewardReasonCapLifetime},
		{"ManyMonth", 12, refx.RewardRule{Amount: "5", Currency: "USD", On: "purchase", CapPerMonth: 3, CapLifetime: 50}, refx.RewardReasonCapMonth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c := MustContention(t, true)
			e := MustRunning(t, c.direct, rewardExperiment("capped", refx.RewardPlan{Referrer: &tc.rule}))
			at := time.Now().UTC()
			// Two of the three slots taken before the race.
			var records []*stream.Record
			for i := range 2 {
				r := purchaseRecord(t, e.ID, "alice", fmt.Sprintf("early-%d", i), "30", at)
				records = append(records, r)
				if err := c.direct.RewardReactor(ctx, []*stream.Record{r}); err != nil {
					t.Fatal(err)
				}
			}
			racers := make([]*stream.Record, tc.racers)
			for i := range racers {
				racers[i] = purchaseRecord(t, e.ID, "alice", fmt.Sprintf("racer-%d", i), "30", at)
			}
			records = append(records, racers...)
			var wg sync.WaitGroup
			for _, r := range racers {
				wg.Go(func() {
					if _, err := retry(c, func() (struct{}, error) {
						return struct{}{}, c.through.RewardReactor(ctx, []*stream.Record{r})
					}); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			c.report(t)
			check := func(when string) {
				t.Helper()
				rewards := mustRewards(t, c.direct, refx.RewardFilter{Beneficiary: "alice"})
				byStatus := map[string]int{}
				for _, r := range rewards {
					byStatus[r.Status]++
					if r.Status == refx.RewardRejected && r.Reason != tc.reason {
						t.Errorf("%s: rejected reward %s has reason %q, want %q", when, r.ID, r.Reason, tc.reason)
					}
				}
				want := map[string]int{refx.RewardApproved: 3, refx.RewardRejected: tc.racers - 1}
				if fmt.Sprint(byStatus) != fmt.Sprint(want) {
					t.Fatalf("%s: alice's rewards by status = %v, want %v", when, byStatus, want)
				}
				wantEarned := fmt.Sprintf("[{USD approved 3 15} {USD rejected %d %d}]", tc.racers-1, 5*(tc.racers-1))
				if got := mustEarned(t, c.direct, "alice"); got != wantEarned {
					t.Fatalf("%s: earned = %s, want %s", when, got, wantEarned)
				}
			}
			check("after the race")
			// Redelivery: the whole stream as one batch, then in pairs.
			if err := c.direct.RewardReactor(ctx, records); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < len(records); i += 2 {
				if err := c.direct.RewardReactor(ctx, records[i:min(i+2, len(records))]); err != nil {
					t.Fatal(err)
				}
			}
			check("after redelivery")
		})
	}
}

// TestRewardsFromStream follows rewards through the real request path and
// the aggregator: a signup earns the referrer a held reward, a purchase at
// or above min_value the referee a share of it at once; holds release with
// the injected clock; a reversal is exactly once.
func TestRewardsFromStream(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	s := MustStore(t, dynamo.Options{Now: clk.Now})
	e := MustRunning(t, s, rewardExperiment("give-get-paid", refx.RewardPlan{
		Referrer: &refx.RewardRule{Amount: "10.00", Currency: "USD", On: "signup", HoldDays: 14},
		Referee:  &refx.RewardRule{Percent: "10", Currency: "USD", On: "purchase", MinValue: "20"},
	}))
	link := mustLink(t, s, e.ID, "alice")
	mustAttribute(t, s, refx.Signup{Code: link.Code, Referee: "carol", IPHash: "ip-carol"}, refx.AttributionAttributed)
	small := &refx.Event{ID: uuid(), Type: "purchase", User: "carol", Value: decimal(t, "19.99")}
	big := &refx.Event{ID: uuid(), Type: "purchase", User: "carol", Value: decimal(t, "55.55")}
	for _, ev := range []*refx.Event{small, big} {
		if _, err := s.RecordEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	dynamotest.MustCount(t, s)

	held := mustRewards(t, s, refx.RewardFilter{Status: refx.RewardPending})
	if len(held) != 1 || held[0].Beneficiary != "alice" || held[0].Amount != "10" || held[0].Role != refx.RewardReferrer ||
		held[0].QualifyingEvent != refx.SignupQualifying("carol") || held[0].HoldUntil == nil || held[0].Variant != link.Variant {
		t.Fatalf("pending rewards = %+v", held)
	}
	paid := mustRewards(t, s, refx.RewardFilter{Beneficiary: "carol"})
	if len(paid) != 1 || paid[0].Status != refx.RewardApproved || paid[0].Amount != "5.55" || paid[0].QualifyingEvent != refx.EventQualifying(big.ID) {
		t.Fatalf("carol's rewards = %+v", paid)
	}
	if got := mustRewards(t, s, refx.RewardFilter{Experiment: "other"}); len(got) != 0 {
		t.Fatalf("another experiment's rewards = %+v", got)
	}

	t.Run("ReleaseHolds", func(t *testing.T) {
		for _, step := range []struct {
			advance time.Duration
			want    int
		}{{13 * 24 * time.Hour, 0}, {24 * time.Hour, 1}, {time.Hour, 0}} {
			clk.Advance(step.advance)
			n, err := s.ReleaseHolds(ctx, clk.Now())
			if err != nil || n != step.want {
				t.Fatalf("ReleaseHolds at %s = %d, %v; want %d", clk.Now(), n, err, step.want)
			}
		}
		r, err := s.Reward(ctx, held[0].ID)
		if err != nil || r.Status != refx.RewardApproved || r.By == nil || r.By.ID != refx.SystemActor.ID {
			t.Fatalf("released reward = %+v, %v", r, err)
		}
	})

	t.Run("Reverse", func(t *testing.T) {
		for range 2 {
			if err := s.ReverseRewards(ctx, refx.EventQualifying(big.ID), "refund"); err != nil {
				t.Fatal(err)
			}
		}
		r, err := s.Reward(ctx, paid[0].ID)
		if err != nil || r.Status != refx.RewardReversed || r.Reason != "refund" {
			t.Fatalf("reversed reward = %+v, %v", r, err)
		}
		if got, want := mustEarned(t, s, "carol"), "[{USD reversed 1 5.55}]"; got != want {
			t.Fatalf("carol earned %s, want %s", got, want)
		}
		// Nothing to reverse is no error.
		if err := s.ReverseRewards(ctx, refx.EventQualifying(small.ID), "refund"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Moves", func(t *testing.T) {
		id := held[0].ID
		as := refx.WithActor(ctx, refx.Actor{ID: "admin:k1", Name: "Ann", Role: refx.RoleEditor})
		for _, step := range []struct {
			move refx.RewardMove
			want string
			code string
		}{
			{refx.RewardMove{Action: refx.RewardApprove}, refx.RewardApproved, ""}, // already: unchanged
			{refx.RewardMove{Action: refx.RewardIssue, Reference: "po-1"}, refx.RewardIssued, ""},
			{refx.RewardMove{Action: refx.RewardIssue, Reference: "po-1"}, refx.RewardIssued, ""},
			{refx.RewardMove{Action: refx.RewardIssue, Reference: "po-2"}, "", refx.ECONFLICT},
			{refx.RewardMove{Action: refx.RewardReject}, "", refx.ECONFLICT},
			{refx.RewardMove{Action: refx.RewardReverse, Note: "chargeback"}, refx.RewardReversed, ""},
			{refx.RewardMove{Action: refx.RewardApprove}, "", refx.ECONFLICT},
		} {
			r, err := s.MoveReward(as, id, step.move)
			if refx.ErrorCode(err) != step.code || (err == nil && r.Status != step.want) {
				t.Fatalf("%+v = %+v, %v; want %s %s", step.move, r, err, step.want, step.code)
			}
		}
		r, _ := s.Reward(ctx, id)
		if r.IssuedRef != "po-1" || r.Reason != "chargeback" || r.By == nil || r.By.Name != "Ann" {
			t.Fatalf("moved reward = %+v", r)
		}
		if got, want := mustEarned(t, s, "alice"), "[{USD reversed 1 10}]"; got != want {
			t.Fatalf("alice earned %s, want %s", got, want)
		}
		entries, err := s.Audit(ctx, refx.AuditFilter{Resource: refx.AuditReward, ResourceID: id})
		if err != nil || len(entries.Entries) != 2 {
			t.Fatalf("audit of %s = %+v, %v; want the issue and the reversal", id, entries, err)
		}
		if _, err := s.MoveReward(as, "bm90LWEtcmV3YXJk", refx.RewardMove{Action: refx.RewardApprove}); refx.ErrorCode(err) != refx.EINVALID {
			t.Fatalf("bad id: %v", err)
		}
		if _, err := s.MoveReward(as, refx.RewardID(refx.EventQualifying("none"), refx.RewardReferee), refx.RewardMove{Action: refx.RewardApprove}); refx.ErrorCode(err) != refx.ENOTFOUND {
			t.Fatalf("unknown reward: %v", err)
		}
	})
}

// TestBlockedRewardsStayHeld: a blocked referrer's rewards stay pending
// past their hold, and are released once the block is lifted.
func TestBlockedRewardsStayHeld(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	s := MustStore(t, dynamo.Options{Now: clk.Now})
	e := MustRunning(t, s, rewardExperiment("held", refx.RewardPlan{
		Referrer: &refx.RewardRule{Amount: "10", Currency: "EUR", On: "signup", HoldDays: 1},
	}))
	link := mustLink(t, s, e.ID, "mallory")
	mustAttribute(t, s, refx.Signup{Code: link.Code, Referee: "trent", IPHash: "ip-trent"}, refx.AttributionAttributed)
	dynamotest.MustCount(t, s)
	if _, err := s.CreateBlock(ctx, &refx.Block{Kind: refx.BlockReferrer, ID: "mallory", Reason: "fake signups"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * 24 * time.Hour)
	if n, err := s.ReleaseHolds(ctx, clk.Now()); err != nil || n != 0 {
		t.Fatalf("blocked: ReleaseHolds = %d, %v; want 0", n, err)
	}
	if held := mustRewards(t, s, refx.RewardFilter{Status: refx.RewardPending, Beneficiary: "mallory"}); len(held) != 1 {
		t.Fatalf("blocked referrer's pending rewards = %+v", held)
	}
	if err := s.DeleteBlock(ctx, refx.BlockReferrer, "mallory"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute) // past the block cache
	if n, err := s.ReleaseHolds(ctx, clk.Now()); err != nil || n != 1 {
		t.Fatalf("unblocked: ReleaseHolds = %d, %v; want 1", n, err)
	}
}

// TestRewardWRU measures what the reward reactor writes, through ddbsim's
// accounting: a reward under a cap, a reward past it, and a redelivery.
func TestRewardWRU(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := MustContention(t, false)
	e := MustRunning(t, c.direct, rewardExperiment("metered", refx.RewardPlan{
		Referrer: &refx.RewardRule{Amount: "5", Currency: "USD", On: "purchase", CapLifetime: 1},
	}))
	at := time.Now().UTC()
	granted := purchaseRecord(t, e.ID, "alice", "bob", "30", at)
	capped := purchaseRecord(t, e.ID, "alice", "carl", "30", at)
	for _, step := range []struct {
		name   string
		record *stream.Record
		max    int64
	}{
		// A transaction of the reward, the cap item and a purchase's two
		// checks (no refund, referee not rejected): 4 items × 1 KB × 2.
		{"Granted", granted, 8},
		// The refused transaction, then the rejected reward's.
		{"PastCap", capped, 12},
		// A redelivery: the refused put only.
		{"Redelivered", granted, 8},
	} {
		c.proxy.Reset()
		if err := c.through.RewardReactor(ctx, []*stream.Record{step.record}); err != nil {
			t.Fatal(err)
		}
		wru := c.proxy.Usage().WRU()
		t.Logf("%s: %d WRU", step.name, wru)
		if wru > step.max {
			t.Errorf("%s: %d WRU, want at most %d", step.name, wru, step.max)
		}
	}
}

// TestRewardsReversedFromStream: a refund's record reverses its event's
// rewards, a rejection's record every reward of the referee, and a reward
// whose event was refunded (or whose referee was rejected) before the
// reactor reached the event is put reversed, whatever the order in which
// the shards deliver the records.
func TestRewardsReversedFromStream(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	e := MustRunning(t, s, rewardExperiment("reversals", refx.RewardPlan{
		Referrer: &refx.RewardRule{Amount: "10", Currency: "USD", On: "signup"},
		Referee:  &refx.RewardRule{Percent: "10", Currency: "USD", On: "purchase"},
	}))
	link := mustLink(t, s, e.ID, "alice")
	purchase := func(user, value string) *refx.Event {
		t.Helper()
		ev := &refx.Event{ID: uuid(), Type: "purchase", User: user, Value: decimal(t, value), Trusted: true}
		if _, err := s.RecordEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
		return ev
	}
	refund := func(ev *refx.Event) {
		t.Helper()
		r := &refx.Event{ID: uuid(), Type: refx.EventRefund, User: ev.User, Refund: ev.ID, Trusted: true}
		if _, err := s.RecordEvent(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// What the reactor reads of ev's insert, delivered before the stream
	// gets to it.
	early := func(ev *refx.Event) {
		t.Helper()
		v := ev.Value.String()
		av, err := attributevalue.MarshalMap(item.Event{
			Key: item.Key{PK: "EVENT#" + ev.ID, SK: "EVENT"}, Entity: "event", ID: ev.ID, Type: ev.Type, User: ev.User,
			Value: &v, OccurredAt: time.Now().UTC(), ReceivedAt: time.Now().UTC(),
			Credits: []item.Credit{{Experiment: e.ID, Variant: link.Variant, Referrer: "alice", Code: link.Code}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RewardReactor(ctx, []*stream.Record{{Change: stream.Insert, New: av, StreamedAt: time.Now()}}); err != nil {
			t.Fatal(err)
		}
	}
	status := func(qualifying, role string) string {
		t.Helper()
		r, err := s.Reward(ctx, refx.RewardID(qualifying, role))
		if err != nil {
			t.Fatalf("reward of %s: %v", qualifying, err)
		}
		return r.Status + "/" + r.Reason
	}

	for _, referee := range []string{"carol", "dave", "erin"} {
		mustAttribute(t, s, refx.Signup{Code: link.Code, Referee: referee, IPHash: "ip-" + referee}, refx.AttributionAttributed)
	}
	kept, refunded := purchase("carol", "50"), purchase("carol", "30")
	late := purchase("dave", "40")
	rejectedLate := purchase("erin", "20")
	dynamotest.MustCount(t, s)
	if got := status(refx.EventQualifying(refunded.ID), refx.RewardReferee); got != "approved/" {
		t.Fatalf("before the refund: %s", got)
	}

	refund(refunded)
	// dave's purchase is refunded, and erin rejected, before the reactor
	// has seen their purchases: their records come after.
	refund(late)
	if _, err := s.Review(ctx, "erin", refx.DecisionReject, "fake account"); err != nil {
		t.Fatal(err)
	}
	early(late)
	early(rejectedLate)
	dynamotest.MustCount(t, s)

	for _, c := range []struct {
		name, qualifying, role, want string
	}{
		{"the refunded purchase", refx.EventQualifying(refunded.ID), refx.RewardReferee, "reversed/refund"},
		{"the kept purchase", refx.EventQualifying(kept.ID), refx.RewardReferee, "approved/"},
		{"carol's signup", refx.SignupQualifying("carol"), refx.RewardReferrer, "approved/"},
		{"a purchase refunded before its reward", refx.EventQualifying(late.ID), refx.RewardReferee, "reversed/refund"},
		{"erin's signup", refx.SignupQualifying("erin"), refx.RewardReferrer, "reversed/review_rejected"},
		{"erin's purchase", refx.EventQualifying(rejectedLate.ID), refx.RewardReferee, "reversed/review_rejected"},
	} {
		if got := status(c.qualifying, c.role); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	if got, want := mustEarned(t, s, "dave"), "[{USD reversed 1 4}]"; got != want {
		t.Errorf("dave earned %s, want %s (a reward put reversed takes no approved total)", got, want)
	}
}
