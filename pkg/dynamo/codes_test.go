package dynamo_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/refx"
)

func mustCode(tb testing.TB, s *dynamo.Store, exp, referrer, code string) *refx.ReferralLink {
	tb.Helper()
	link, err := s.CreateCode(context.Background(), refx.CodeRequest{Experiment: exp, Referrer: referrer, Code: code})
	if err != nil {
		tb.Fatal(err)
	}
	return link
}

func TestVanityCodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	e := MustRunning(t, s, newReferralExperiment("vanity"))

	t.Run("OK", func(t *testing.T) {
		link := mustCode(t, s, e.ID, "jane", "JANE10")
		if link.Code != "JANE10" || link.StatsToken == "" || !link.InExperiment {
			t.Fatalf("link = %+v", link)
		}
		info, err := s.Code(ctx, "JANE10")
		if err != nil || !info.Valid || info.Variant != link.Variant {
			t.Fatalf("Code = %+v, %v", info, err)
		}
	})
	t.Run("ErrTaken", func(t *testing.T) {
		_, err := s.CreateCode(ctx, refx.CodeRequest{Experiment: e.ID, Referrer: "john", Code: "JANE10"})
		wantCode(t, err, refx.ECONFLICT)
		if !strings.Contains(refx.ErrorMessage(err), refx.ReasonCodeTaken) {
			t.Fatalf("message %q lacks %s", refx.ErrorMessage(err), refx.ReasonCodeTaken)
		}
		// The loser still gets a random code.
		if link := mustLink(t, s, e.ID, "john"); !refx.ValidCode(link.Code) || len(link.Code) != refx.CodeLength {
			t.Fatalf("john's link = %+v", link)
		}
	})
	t.Run("Idempotent", func(t *testing.T) {
		// A referrer who has a code gets it, whatever they ask for; the
		// stats token is shown only when the code is created.
		for _, asked := range []string{"JANE10", "JANE20", ""} {
			link := mustCode(t, s, e.ID, "jane", asked)
			if link.Code != "JANE10" || link.StatsToken != "" {
				t.Fatalf("asked %q: link = %+v", asked, link)
			}
		}
	})
	t.Run("IssueAudited", func(t *testing.T) {
		at := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
		admin := refx.WithActor(ctx, refx.Actor{ID: "key-1", Name: "ops", Role: refx.RoleEditor})
		link, err := s.IssueCode(admin, refx.CodeRequest{Experiment: e.ID, Referrer: "mia", Code: "MIA-VIP", ExpiresAt: &at})
		if err != nil {
			t.Fatal(err)
		}
		if link.ExpiresAt == nil || !link.ExpiresAt.Equal(at) {
			t.Fatalf("expires_at = %v, want %v", link.ExpiresAt, at)
		}
		entries := MustAudit(t, s, refx.AuditCode, "MIA-VIP")
		if len(entries) != 1 || entries[0].Action != "create" || entries[0].Actor.Name != "ops" {
			t.Fatalf("audit = %+v", entries)
		}
		// A referrer may not set their own expiry.
		_, err = s.CreateCode(ctx, refx.CodeRequest{Experiment: e.ID, Referrer: "zoe", ExpiresAt: &at})
		wantCode(t, err, refx.EINVALID)
	})
}

// TestContentionVanityRace: sixteen referrers ask for one vanity code at
// once, each twice, through ddbsim's conflict rules: exactly one gets it,
// every other answer is code_taken, and the winner's two requests agree.
func TestContentionVanityRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := MustContention(t, true)
	e := MustRunning(t, c.direct, newReferralExperiment("vanity-race"))
	const referrers = 16
	var won, taken atomic.Int64
	winners := make([]atomic.Value, referrers)
	var ops []func() error
	for r := range referrers {
		for range 2 {
			ops = append(ops, func() error {
				link, err := retry(c, func() (*refx.ReferralLink, error) {
					return c.through.CreateCode(ctx, refx.CodeRequest{Experiment: e.ID, Referrer: fmt.Sprintf("racer-%02d", r), Code: "SPRING-26"})
				})
				switch {
				case err == nil && link.Code == "SPRING-26":
					won.Add(1)
					winners[r].Store(link.Referrer)
				case refx.ErrorCode(err) == refx.ECONFLICT && strings.Contains(refx.ErrorMessage(err), refx.ReasonCodeTaken):
					taken.Add(1)
				default:
					return fmt.Errorf("racer %d: %+v, %v", r, link, err)
				}
				return nil
			})
		}
	}
	runAll(t, contentionClients, ops)
	c.report(t)
	var holders []string
	for r := range winners {
		if v := winners[r].Load(); v != nil {
			holders = append(holders, v.(string))
		}
	}
	if len(holders) != 1 || won.Load() < 1 || won.Load()+taken.Load() != 2*referrers {
		t.Fatalf("holders %v, %d answers won, %d code_taken", holders, won.Load(), taken.Load())
	}
	info, err := c.direct.Code(ctx, "SPRING-26")
	if err != nil || !info.Valid {
		t.Fatalf("Code = %+v, %v", info, err)
	}
	if got := mustResults(t, c.direct, e.ID); got["control"].Referral.Referrers+got["bold"].Referral.Referrers != 1 {
		t.Fatalf("referrers counted: %+v", got)
	}
}

func TestCodeExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	s := MustStore(t, dynamo.Options{Now: clk.Now})
	n := newReferralExperiment("expiry")
	n.Referral.CodeTTLDays = 2
	e := MustRunning(t, s, n)
	link := mustLink(t, s, e.ID, "alice")
	if link.ExpiresAt == nil || !link.ExpiresAt.Equal(link.CreatedAt.AddDate(0, 0, 2)) {
		t.Fatalf("expires_at = %v, created %v", link.ExpiresAt, link.CreatedAt)
	}
	own := clk.Now().Add(time.Hour)
	short, err := s.IssueCode(ctx, refx.CodeRequest{Experiment: e.ID, Referrer: "bob", Code: "BOB-HOUR", ExpiresAt: &own})
	if err != nil {
		t.Fatal(err)
	}
	click := func(code, visitor string) *refx.ClickResult {
		t.Helper()
		res, err := s.RecordClick(ctx, refx.Click{Code: code, Visitor: visitor, Channel: refx.ChannelDirect})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := click(link.Code, "visitor-aaaaaaaaaaaa"); res.Location == "" || !res.Recorded {
		t.Fatalf("live click = %+v", res)
	}
	clk.Advance(2 * time.Hour) // past BOB-HOUR's own expiry, within alice's ttl
	if res := click(short.Code, "visitor-bbbbbbbbbbbb"); res.Location != "" || res.Recorded {
		t.Fatalf("click on an expired code = %+v", res)
	}
	mustAttribute(t, s, refx.Signup{Code: short.Code, Referee: "carol", IPHash: "ip-carol"}, refx.AttributionRefused, refx.ReasonCodeExpired)
	mustAttribute(t, s, refx.Signup{Code: link.Code, Referee: "dave", IPHash: "ip-dave"}, refx.AttributionAttributed)

	clk.Advance(47 * time.Hour) // past alice's two days
	if info, err := s.Code(ctx, link.Code); err != nil || info.Valid {
		t.Fatalf("Code of an expired code = %+v, %v", info, err)
	}
	if res := click(link.Code, "visitor-cccccccccccc"); res.Location != "" || res.Recorded {
		t.Fatalf("click on an expired code = %+v", res)
	}
	mustAttribute(t, s, refx.Signup{Code: link.Code, Referee: "erin", IPHash: "ip-erin"}, refx.AttributionRefused, refx.ReasonCodeExpired)
	// Sent again: the same refusal, counted once.
	mustAttribute(t, s, refx.Signup{Code: link.Code, Referee: "erin", IPHash: "ip-erin"}, refx.AttributionRefused, refx.ReasonCodeExpired)

	var clicks, signups, refused int64
	for _, v := range mustResults(t, s, e.ID) {
		clicks += v.Referral.Clicks
		signups += v.Referral.Signups
		refused += v.Referral.Refused[refx.ReasonCodeExpired]
	}
	if clicks != 1 || signups != 1 || refused != 2 {
		t.Fatalf("clicks %d, signups %d, refused code_expired %d; want 1, 1, 2", clicks, signups, refused)
	}
}

// TestCodeStatsAndLeaderboard: per-channel funnels of three referrers,
// read as each code's stats and as the experiment's leaderboard by each
// total.
func TestCodeStatsAndLeaderboard(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	n := newReferralExperiment("leaders")
	n.Referral.MaxSignupsPerHour, n.Referral.MaxSignupsPerDay = 100, 100
	e := MustRunning(t, s, n)
	type plan struct {
		referrer string
		signups  int    // through email clicks
		buyers   int    // of them, buying
		value    string // each
	}
	plans := []plan{{"ana", 3, 1, "100"}, {"ben", 5, 2, "10"}, {"cat", 1, 1, "7.5"}}
	links := map[string]*refx.ReferralLink{}
	purchases := map[string][]*refx.Event{}
	for _, p := range plans {
		link := mustLink(t, s, e.ID, p.referrer)
		links[p.referrer] = link
		for i := range p.signups {
			visitor := fmt.Sprintf("v-%s-%012d", p.referrer, i)
			if _, err := s.RecordClick(ctx, refx.Click{Code: link.Code, Visitor: visitor, Channel: "email", UTM: refx.UTM{Source: "newsletter"}}); err != nil {
				t.Fatal(err)
			}
			referee := fmt.Sprintf("%s-friend-%d", p.referrer, i)
			mustAttribute(t, s, refx.Signup{Code: link.Code, Referee: referee, Visitor: visitor, IPHash: "ip-" + referee}, refx.AttributionAttributed)
			if i < p.buyers {
				purchase := &refx.Event{ID: uuid(), Type: "purchase", User: referee, Value: decimal(t, p.value)}
				if _, err := s.RecordEvent(ctx, purchase); err != nil {
					t.Fatal(err)
				}
				purchases[p.referrer] = append(purchases[p.referrer], purchase)
			}
		}
		// One more click through whatsapp that signs up no one, and a
		// signup whose click is not known.
		if _, err := s.RecordClick(ctx, refx.Click{Code: link.Code, Visitor: "w-" + p.referrer + "-000000000000", Channel: "whatsapp"}); err != nil {
			t.Fatal(err)
		}
		mustAttribute(t, s, refx.Signup{Code: link.Code, Referee: p.referrer + "-walkin", IPHash: "ip-walkin-" + p.referrer}, refx.AttributionAttributed)
	}
	mustResults(t, s, e.ID) // aggregate

	t.Run("Stats", func(t *testing.T) {
		ben := links["ben"]
		_, err := s.CodeStats(ctx, ben.Code, refx.StatsAccess{})
		wantCode(t, err, refx.EUNAUTHORIZED)
		_, err = s.CodeStats(ctx, ben.Code, refx.StatsAccess{Token: links["ana"].StatsToken})
		wantCode(t, err, refx.EFORBIDDEN)
		_, err = s.CodeStats(ctx, "NOPE-NOPE", refx.StatsAccess{Token: ben.StatsToken})
		wantCode(t, err, refx.EFORBIDDEN)
		_, err = s.CodeStats(ctx, "NOPE-NOPE", refx.StatsAccess{Trusted: true})
		wantCode(t, err, refx.ENOTFOUND)
		for _, access := range []refx.StatsAccess{{Token: ben.StatsToken}, {Trusted: true}} {
			st, err := s.CodeStats(ctx, ben.Code, access)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]refx.ChannelCounts{
				"email":             {Clicks: 5, Signups: 5, Conversions: 2, Value: "20"},
				"whatsapp":          {Clicks: 1, Value: "0"},
				refx.ChannelUnknown: {Signups: 1, Value: "0"},
			}
			if st.Referrer != "ben" || st.Clicks != 6 || st.Signups != 6 || st.Conversions != 2 || st.Value != "20" ||
				fmt.Sprint(st.Channels) != fmt.Sprint(want) {
				t.Fatalf("stats = %+v, want 6 clicks, 6 signups, 2 conversions, value 20, channels %v", st, want)
			}
		}
	})
	t.Run("Channels", func(t *testing.T) {
		sum := map[string]refx.ChannelCounts{}
		for _, v := range mustResults(t, s, e.ID) {
			for ch, c := range v.Referral.Channels {
				got := sum[ch]
				got.Clicks += c.Clicks
				got.Signups += c.Signups
				got.Conversions += c.Conversions
				sum[ch] = got
			}
		}
		want := map[string]refx.ChannelCounts{"email": {Clicks: 9, Signups: 9, Conversions: 4}, "whatsapp": {Clicks: 3}, refx.ChannelUnknown: {Signups: 3}}
		if fmt.Sprint(sum) != fmt.Sprint(want) {
			t.Fatalf("channels = %v, want %v", sum, want)
		}
	})
	t.Run("Leaderboard", func(t *testing.T) {
		for by, want := range map[string]string{
			refx.LeaderBySignups:     "ben ana cat",
			refx.LeaderByConversions: "ben", // then ana and cat, tied
			refx.LeaderByValue:       "ana ben cat",
		} {
			board, err := s.Leaderboard(ctx, e.ID, by, 10)
			if err != nil {
				t.Fatal(err)
			}
			var order []string
			for i, en := range board.Entries {
				order = append(order, en.Referrer)
				if en.Rank != i+1 || en.Code != links[en.Referrer].Code {
					t.Fatalf("by %s: entry %+v", by, en)
				}
			}
			if got := strings.Join(order, " "); !strings.HasPrefix(got, want) || len(order) != 3 {
				t.Fatalf("by %s: order %q, want %q first", by, got, want)
			}
		}
		top, err := s.Leaderboard(ctx, e.ID, refx.LeaderByValue, 1)
		if err != nil || len(top.Entries) != 1 || top.Entries[0].Referrer != "ana" || top.Entries[0].Value != "100" || top.Entries[0].Signups != 4 {
			t.Fatalf("top 1 by value = %+v, %v", top, err)
		}
		_, err = s.Leaderboard(ctx, e.ID, "clicks", 10)
		wantCode(t, err, refx.EINVALID)
	})
	t.Run("Refund", func(t *testing.T) {
		// A refund reverses the conversion in the channel counters and the
		// leader entries too: they are counted by the same functions.
		bought := purchases["ben"][0]
		if _, err := s.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: refx.EventRefund, User: bought.User, Refund: bought.ID, Trusted: true}); err != nil {
			t.Fatal(err)
		}
		mustResults(t, s, e.ID) // aggregate
		st, err := s.CodeStats(ctx, links["ben"].Code, refx.StatsAccess{Trusted: true})
		if err != nil {
			t.Fatal(err)
		}
		if st.Conversions != 1 || st.Value != "10" || st.Channels["email"].Conversions != 1 || st.Channels["email"].Value != "10" {
			t.Fatalf("stats after a refund = %+v", st)
		}
		board, err := s.Leaderboard(ctx, e.ID, refx.LeaderByValue, 3)
		if err != nil {
			t.Fatal(err)
		}
		if got := board.Entries[1]; got.Referrer != "ben" || got.Value != "10" || got.Conversions != 1 {
			t.Fatalf("leaderboard by value after a refund = %+v", board.Entries)
		}
	})
	t.Run("Erased", func(t *testing.T) {
		// An erased referrer leaves the leaderboards: their code and its
		// entries are deleted with them.
		if _, err := s.EraseUser(ctx, "ana"); err != nil {
			t.Fatal(err)
		}
		for _, by := range refx.LeaderBys {
			board, err := s.Leaderboard(ctx, e.ID, by, 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, en := range board.Entries {
				if en.Referrer == "ana" || en.Code == links["ana"].Code {
					t.Fatalf("by %s: erased ana still listed: %+v", by, board.Entries)
				}
			}
			if len(board.Entries) != 2 || board.Entries[1].Rank != 2 {
				t.Fatalf("by %s: %+v", by, board.Entries)
			}
		}
	})
}
