package dynamo_test

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/refx-dev/refx/pkg/refx"
)

// TestReferralStorm sends every step of the referral funnel (links, clicks,
// signups through competing codes, purchases) several times concurrently,
// through injected transaction conflicts, throttles and lost responses, and
// checks that the funnel counts and per-referrer sums are exact.
func TestReferralStorm(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	direct, faulty := stormStore(t, 0.2, 0.05, 0.05)
	n := newReferralExperiment("storm")
	n.Referral.MaxSignupsPerHour, n.Referral.MaxSignupsPerDay = 1000, 1000
	e := MustRunning(t, direct, n)
	const referrers, visitors, referees, copies, workers = 4, 12, 8, 3, 12
	rng := rand.New(rand.NewPCG(3, 4))

	// Links, each asked for concurrently.
	links := make([]*refx.ReferralLink, referrers)
	var mu sync.Mutex
	var ops []func() error
	for r := range referrers {
		for range copies {
			ops = append(ops, func() error {
				link, err := untilDone(t, func() (*refx.ReferralLink, error) {
					return faulty.CreateReferral(ctx, e.ID, fmt.Sprintf("referrer-%d", r))
				})
				if err != nil {
					return err
				}
				mu.Lock()
				defer mu.Unlock()
				if links[r] != nil && links[r].Code != link.Code {
					return fmt.Errorf("referrer %d got codes %s and %s", r, links[r].Code, link.Code)
				}
				links[r] = link
				return nil
			})
		}
	}
	runConcurrently(t, rng, ops, workers)

	// Expected per-referrer totals.
	type totals struct {
		clicks, signups, conversions int64
		value                        big.Rat
	}
	per := make([]totals, referrers)
	ops = ops[:0]
	clicked := map[[2]int]bool{}
	for v := range visitors {
		visitor := fmt.Sprintf("visitor-%012d", v)
		for range 2 {
			r := rng.IntN(referrers)
			if !clicked[[2]int{v, r}] {
				clicked[[2]int{v, r}] = true
				per[r].clicks++
			}
			for range copies {
				ops = append(ops, func() error {
					_, err := untilDone(t, func() (*refx.ClickResult, error) {
						return faulty.RecordClick(ctx, refx.Click{Code: links[r].Code, Visitor: visitor})
					})
					return err
				})
			}
		}
	}
	runConcurrently(t, rng, ops, workers)

	// Signups: each referee through one code, some also through a rival code
	// at the same time; exactly one of the two attributes.
	ops = ops[:0]
	winners := make([]int, referees)
	tried := map[int]int{} // referee → rival attempts that must be refused
	var attributed sync.Map
	for f := range referees {
		referee := fmt.Sprintf("referee-%d", f)
		codes := []int{rng.IntN(referrers)}
		if f%2 == 0 {
			codes = append(codes, (codes[0]+1)%referrers)
			tried[f] = 1
		}
		for _, r := range codes {
			for range copies {
				ops = append(ops, func() error {
					res, err := untilDone(t, func() (*refx.AttributionResult, error) {
						return faulty.Attribute(ctx, refx.Signup{Code: links[r].Code, Referee: referee, IPHash: "ip-" + referee})
					})
					if err == nil && res.Attribution != nil && res.Status != refx.AttributionRefused {
						attributed.Store(referee, res.Attribution.Referrer)
					}
					return err
				})
			}
		}
	}
	runConcurrently(t, rng, ops, workers)
	for f := range referees {
		who, ok := attributed.Load(fmt.Sprintf("referee-%d", f))
		if !ok {
			t.Fatalf("referee-%d was never attributed", f)
		}
		fmt.Sscanf(who.(string), "referrer-%d", &winners[f])
		per[winners[f]].signups++
	}

	// Purchases, each sent several times.
	ops = ops[:0]
	for f := range referees {
		for range 2 {
			value := fmt.Sprintf("%d.%02d", 1+rng.IntN(99), rng.IntN(100))
			v, _ := new(big.Rat).SetString(value)
			w := &per[winners[f]]
			w.conversions++
			w.value.Add(&w.value, v)
			ev := &refx.Event{ID: uuid(), Type: "purchase", User: fmt.Sprintf("referee-%d", f), Value: decimal(t, value)}
			for range copies {
				ops = append(ops, func() error {
					_, err := untilDone(t, func() (*refx.EventResult, error) { return faulty.RecordEvent(ctx, ev) })
					return err
				})
			}
		}
	}
	runConcurrently(t, rng, ops, workers)

	// Sum the expectations per variant and compare.
	type want struct {
		referrers, sharing, clicks, signups, conversions, clicksSq, signupsSq, conversionsSq, clicksXSignups, refused int64
		value, valueSq                                                                                                big.Rat
	}
	expected := map[string]*want{}
	for _, v := range e.Variants {
		expected[v.Key] = &want{}
	}
	for r, tot := range per {
		w := expected[links[r].Variant]
		w.referrers++
		if tot.clicks > 0 {
			w.sharing++
		}
		w.clicks += tot.clicks
		w.signups += tot.signups
		w.conversions += tot.conversions
		w.clicksSq += tot.clicks * tot.clicks
		w.signupsSq += tot.signups * tot.signups
		w.conversionsSq += tot.conversions * tot.conversions
		w.clicksXSignups += tot.clicks * tot.signups
		w.value.Add(&w.value, &tot.value)
		w.valueSq.Add(&w.valueSq, new(big.Rat).Mul(&tot.value, &tot.value))
	}
	var refusedWant int64
	for _, n := range tried {
		refusedWant += int64(n)
	}
	var refusedGot, uniqueVisitors int64
	for key, got := range mustResults(t, direct, e.ID) {
		r, w := got.Referral, expected[key]
		value, _ := new(big.Rat).SetString(string(r.ConversionValue))
		valueSq, _ := new(big.Rat).SetString(string(r.PerReferrer.ValueSumSq))
		p := r.PerReferrer
		if r.Referrers != w.referrers || r.SharingReferrers != w.sharing || r.Clicks != w.clicks || r.Signups != w.signups ||
			r.Conversions != w.conversions || p.ClicksSumSq != w.clicksSq || p.SignupsSumSq != w.signupsSq ||
			p.ConversionsSumSq != w.conversionsSq || p.ClicksXSignups != w.clicksXSignups ||
			value.Cmp(&w.value) != 0 || valueSq.Cmp(&w.valueSq) != 0 {
			t.Errorf("%s: got %+v\nwant %+v value %s value_sq %s", key, *r, *w, w.value.FloatString(2), w.valueSq.FloatString(4))
		}
		refusedGot += r.Refused[refx.ReasonAlreadyAttributed]
		uniqueVisitors += r.UniqueVisitors
	}
	if refusedGot != refusedWant {
		t.Errorf("refused already_attributed = %d, want %d", refusedGot, refusedWant)
	}
	// Each visitor counts once in the experiment, in the variant of the
	// first link they opened.
	if uniqueVisitors != visitors {
		t.Errorf("unique visitors = %d, want %d", uniqueVisitors, visitors)
	}
}
