package dynamo_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/refx"
)

// clock is an injectable, settable clock.
type clock struct{ t atomic.Int64 }

// newClock starts at 10:00 UTC today, so that an hour's advance stays within
// the day.
func newClock() *clock {
	c := &clock{}
	c.t.Store(time.Now().UTC().Truncate(24 * time.Hour).Add(10 * time.Hour).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *clock) Advance(d time.Duration) { c.t.Add(int64(d)) }

func newReferralExperiment(id string) refx.NewExperiment {
	n := newExperiment(id)
	n.Referral = &refx.ReferralConfig{LandingURL: "https://shop.example/welcome?utm_source=refx", MaxSignupsPerHour: 3, MaxSignupsPerDay: 5}
	return n
}

func mustLink(tb testing.TB, s *dynamo.Store, exp, referrer string) *refx.ReferralLink {
	tb.Helper()
	link, err := s.CreateReferral(context.Background(), exp, referrer)
	if err != nil {
		tb.Fatal(err)
	}
	return link
}

func mustAttribute(tb testing.TB, s *dynamo.Store, sig refx.Signup, status string, reasons ...string) *refx.AttributionResult {
	tb.Helper()
	res, err := s.Attribute(context.Background(), sig)
	if err != nil {
		tb.Fatal(err)
	}
	if res.Status != status || fmt.Sprint(res.Reasons) != fmt.Sprint(reasons) {
		tb.Fatalf("attribute %+v = %s %v, want %s %v", sig, res.Status, res.Reasons, status, reasons)
	}
	return res
}

func referralCounts(tb testing.TB, s *dynamo.Store, exp, variant string) *refx.ReferralCounts {
	tb.Helper()
	r := mustResults(tb, s, exp)[variant].Referral
	if r == nil {
		tb.Fatalf("no referral counts for %s", variant)
	}
	return r
}

func TestReferralFunnel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	e := MustRunning(t, s, newReferralExperiment("give-get"))

	link := mustLink(t, s, e.ID, "alice")
	if !refx.ValidCode(link.Code) || !link.InExperiment || link.Payload == nil {
		t.Fatalf("link = %+v", link)
	}
	if again := mustLink(t, s, e.ID, "alice"); again.Code != link.Code {
		t.Fatalf("second request gave code %s, want %s", again.Code, link.Code)
	}
	// Two visitors; the first clicks three times.
	for _, visitor := range []string{"visitor-aaaaaaaaaaaa", "visitor-aaaaaaaaaaaa", "visitor-bbbbbbbbbbbb", "visitor-aaaaaaaaaaaa"} {
		res, err := s.RecordClick(ctx, refx.Click{Code: link.Code, Visitor: visitor})
		if err != nil {
			t.Fatal(err)
		}
		if res.Location != "https://shop.example/welcome?ref="+link.Code+"&utm_source=refx" {
			t.Fatalf("location = %s", res.Location)
		}
	}
	// The same visitor on another referrer's link is not a new unique visitor.
	other := mustLink(t, s, e.ID, "bob")
	if _, err := s.RecordClick(ctx, refx.Click{Code: other.Code, Visitor: "visitor-aaaaaaaaaaaa"}); err != nil {
		t.Fatal(err)
	}

	sig := refx.Signup{Code: link.Code, Referee: "carol", Visitor: "visitor-bbbbbbbbbbbb", IPHash: "ip-carol"}
	res := mustAttribute(t, s, sig, refx.AttributionAttributed)
	if res.Attribution.Referrer != "alice" || res.Attribution.Variant != link.Variant {
		t.Fatalf("attribution = %+v", res.Attribution)
	}
	mustAttribute(t, s, sig, refx.AttributionDuplicate)

	purchase := &refx.Event{ID: uuid(), Type: "purchase", User: "carol", Value: decimal(t, "30")}
	got, err := s.RecordEvent(ctx, purchase)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Credits) != 1 || got.Credits[0].Referrer != "alice" || !got.Credits[0].FirstConversion {
		t.Fatalf("purchase credits = %+v", got.Credits)
	}
	if dup, _ := s.RecordEvent(ctx, purchase); dup.Status != refx.EventDuplicate {
		t.Fatalf("retry = %+v", dup)
	}
	if _, err := s.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: "purchase", User: "carol", Value: decimal(t, "12.5")}); err != nil {
		t.Fatal(err)
	}
	// A signup event of the referee is not a conversion.
	if res, _ := s.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: "signup", User: "carol"}); len(res.Credits) != 0 {
		t.Fatalf("signup credited: %+v", res.Credits)
	}

	r := referralCounts(t, s, e.ID, link.Variant)
	// alice's own numbers; bob may share her variant.
	bobSame := other.Variant == link.Variant
	want := refx.ReferralCounts{
		Referrers: 1, SharingReferrers: 1, Clicks: 2, UniqueVisitors: 2, Signups: 1,
		ConvertingReferees: 1, Conversions: 2, ConversionValue: "42.5",
		PerReferrer: refx.PerReferrerSums{ClicksSumSq: 4, SignupsSumSq: 1, ConversionsSumSq: 4, ValueSumSq: "1806.25", ClicksXSignups: 2},
	}
	if bobSame {
		want.Referrers, want.SharingReferrers, want.Clicks, want.PerReferrer.ClicksSumSq = 2, 2, 3, 5
	}
	// Links opened without a channel count as direct, in every total.
	if d := r.Channels[refx.ChannelDirect]; len(r.Channels) != 1 || d.Clicks != want.Clicks || d.Signups != 1 || d.Conversions != 2 || d.Value != "42.5" {
		t.Fatalf("channels = %+v", r.Channels)
	}
	r.Rates, r.Refused, r.Flagged, r.Channels = refx.ReferralRates{}, nil, nil, nil
	if fmt.Sprint(*r) != fmt.Sprint(want) {
		t.Fatalf("referral counts\n got %+v\nwant %+v", *r, want)
	}
	page, err := s.Referrals(ctx, "alice", 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Referrals) != 1 || page.Referrals[0].Referee != "carol" || page.Referrals[0].ConvertedAt == nil {
		t.Fatalf("alice's referrals = %+v", page.Referrals)
	}
}

func TestReferralGuards(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	s := MustStore(t, dynamo.Options{Now: clk.Now})
	e := MustRunning(t, s, newReferralExperiment("guards"))
	link := mustLink(t, s, e.ID, "alice")
	sig := func(referee string) refx.Signup {
		return refx.Signup{Code: link.Code, Referee: referee, IPHash: "ip-" + referee}
	}

	mustAttribute(t, s, sig("alice"), refx.AttributionRefused, refx.ReasonSelfReferral)
	mustAttribute(t, s, sig("alice"), refx.AttributionRefused, refx.ReasonSelfReferral) // retry counts once
	withIP := sig("ip-1")
	withIP.IPHash = "hash-of-203.0.113.7"
	mustAttribute(t, s, withIP, refx.AttributionAttributed)
	withIP.Referee = "ip-2"
	mustAttribute(t, s, withIP, refx.AttributionFlagged, refx.ReasonRepeatedIP)
	withDevice := sig("dev-1")
	withDevice.Device = "device-hash"
	mustAttribute(t, s, withDevice, refx.AttributionAttributed)
	withDevice.Referee, withDevice.IPHash = "dev-2", "ip-dev-2" // 4th signup this hour, limit 3
	mustAttribute(t, s, withDevice, refx.AttributionFlagged, refx.ReasonVelocityHour, refx.ReasonRepeatedDevice)
	clk.Advance(time.Hour)
	mustAttribute(t, s, sig("day-1"), refx.AttributionAttributed)
	mustAttribute(t, s, sig("day-2"), refx.AttributionFlagged, refx.ReasonVelocityDay) // 6th today, limit 5

	// ip-1 is attributed: another code cannot take them.
	other := mustLink(t, s, e.ID, "bob")
	// A signup without an address (a backend that did not pass it) cannot
	// be checked for a repeated address: flagged, never counted unguarded.
	mustAttribute(t, s, refx.Signup{Code: other.Code, Referee: "no-ip"}, refx.AttributionFlagged, refx.ReasonIPMissing)
	mustAttribute(t, s, refx.Signup{Code: other.Code, Referee: "ip-1", IPHash: "ip-ip-1"}, refx.AttributionRefused, refx.ReasonAlreadyAttributed)

	clk.Advance(31 * 24 * time.Hour)
	mustAttribute(t, s, refx.Signup{Code: other.Code, Referee: "late", IPHash: "ip-late"}, refx.AttributionRefused, refx.ReasonOutsideWindow)

	r := referralCounts(t, s, e.ID, link.Variant)
	if r.Signups != 3 || r.Refused[refx.ReasonSelfReferral] != 1 || r.Flagged[refx.ReasonRepeatedIP] != 1 ||
		r.Flagged[refx.ReasonVelocityHour] != 1 || r.Flagged[refx.ReasonRepeatedDevice] != 1 || r.Flagged[refx.ReasonVelocityDay] != 1 {
		t.Fatalf("alice's variant counts = %+v", r)
	}
	o := referralCounts(t, s, e.ID, other.Variant)
	if o.Refused[refx.ReasonAlreadyAttributed] != 1 || o.Refused[refx.ReasonOutsideWindow] != 1 || o.Flagged[refx.ReasonIPMissing] != 1 {
		t.Fatalf("bob's variant counts = %+v", o)
	}

	_, err := s.Attribute(ctx, refx.Signup{Code: "ZZZZZZZZ", Referee: "x", IPHash: "ip-x"})
	wantCode(t, err, refx.ENOTFOUND)
}

func TestWindowStartsAtClick(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	s := MustStore(t, dynamo.Options{Now: clk.Now})
	e := MustRunning(t, s, newReferralExperiment("window"))
	link := mustLink(t, s, e.ID, "alice")
	clk.Advance(20 * 24 * time.Hour)
	if _, err := s.RecordClick(ctx, refx.Click{Code: link.Code, Visitor: "visitor-cccccccccccc"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(20 * 24 * time.Hour) // 40 days after the code, 20 after the click
	mustAttribute(t, s, refx.Signup{Code: link.Code, Referee: "dan", Visitor: "visitor-cccccccccccc", IPHash: "ip-dan"}, refx.AttributionAttributed)
	mustAttribute(t, s, refx.Signup{Code: link.Code, Referee: "eve", IPHash: "ip-eve"}, refx.AttributionRefused, refx.ReasonOutsideWindow)
}

func TestConcurrentAttribution(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	e := MustRunning(t, s, newReferralExperiment("race"))
	codes := []string{mustLink(t, s, e.ID, "alice").Code, mustLink(t, s, e.ID, "bob").Code}
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[string]int{}
	for i := range 16 {
		wg.Go(func() {
			store := dynamo.New(s.Client(), s.Table(), dynamo.Options{})
			res, err := store.Attribute(ctx, refx.Signup{Code: codes[i%2], Referee: "frank", IPHash: "ip-frank"})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			statuses[res.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[refx.AttributionAttributed] != 1 {
		t.Fatalf("statuses = %v, want exactly one attribution", statuses)
	}
	var signups, refused int64
	for _, v := range mustResults(t, s, e.ID) {
		signups += v.Referral.Signups
		refused += v.Referral.Refused[refx.ReasonAlreadyAttributed]
	}
	if signups != 1 || refused != 1 {
		t.Fatalf("signups = %d, refused already_attributed = %d; want 1 and 1", signups, refused)
	}
}

func TestStoppedReferralExperiment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	e := MustRunning(t, s, newReferralExperiment("ended"))
	link := mustLink(t, s, e.ID, "alice")
	if _, err := s.SetStatus(ctx, e.ID, refx.StatusStopped); err != nil {
		t.Fatal(err)
	}
	res, err := s.RecordClick(ctx, refx.Click{Code: link.Code, Visitor: "visitor-dddddddddddd"})
	if err != nil || res.Location != "" || res.Recorded {
		t.Fatalf("click on ended experiment = %+v, %v; want no location", res, err)
	}
	mustAttribute(t, s, refx.Signup{Code: link.Code, Referee: "gina", IPHash: "ip-gina"}, refx.AttributionRefused, refx.ReasonNotRunning)
	if _, err := s.CreateReferral(ctx, e.ID, "new-referrer"); refx.ErrorCode(err) != refx.ECONFLICT {
		t.Fatalf("new link on a stopped experiment: %v", err)
	}
	if info, _ := s.Code(ctx, link.Code); info.Valid {
		t.Fatalf("code info = %+v, want invalid", info)
	}
}
