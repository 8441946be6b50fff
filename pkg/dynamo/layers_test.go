package dynamo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stats"
)

// MustLayer creates a layer.
func MustLayer(tb testing.TB, s *dynamo.Store, id string) *refx.Layer {
	tb.Helper()
	l, err := refx.NewLayer{ID: id}.Build(time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.CreateLayer(context.Background(), l); err != nil {
		tb.Fatal(err)
	}
	return l
}

// layered is newExperiment in layer, claiming [start, end).
func layered(id, layer string, start, end float64) refx.NewExperiment {
	n := newExperiment(id)
	n.Layer, n.LayerRange = layer, &refx.LayerRange{Start: start, End: end}
	return n
}

// mustDraft creates the experiment n describes, not started.
func mustDraft(tb testing.TB, s *dynamo.Store, n refx.NewExperiment) *refx.Experiment {
	tb.Helper()
	e, err := n.Build(time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.CreateExperiment(context.Background(), e); err != nil {
		tb.Fatal(err)
	}
	return e
}

// forUsers calls fn for users user-00000 … on 32 goroutines.
func forUsers(t *testing.T, n int, fn func(user string) error) {
	t.Helper()
	ops := make([]func() error, n)
	for i := range ops {
		ops[i] = func() error { return fn(fmt.Sprintf("user-%05d", i)) }
	}
	runAll(t, 32, ops)
}

// TestLayerExclusivity assigns 10,000 users to each of three running
// experiments splitting one layer: no user enters two, every user enters
// one (the ranges tile the layer), users outside a range are told so, and
// each experiment's arms hold the users its weights say (SRM p > 0.001).
// Not parallel: its 20,000 requests run alone, before the parallel tests,
// rather than queue behind them on the one DynamoDB Local.
func TestLayerExclusivity(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	MustLayer(t, s, "home")
	a := MustRunning(t, s, layered("hero", "home", 0, 0.3))
	b := layered("banner", "home", 0.3, 0.55)
	b.Variants = append(b.Variants, refx.Variant{Key: "quiet", Weight: 25})
	bExp := MustRunning(t, s, b)
	c := MustRunning(t, s, layered("footer", "home", 0.55, 1))
	exps := []*refx.Experiment{a, bExp, c}

	const users = 10000
	var mu sync.Mutex
	in := map[string][]string{}
	arms := map[string]map[string]int64{}
	forUsers(t, users, func(user string) error {
		for _, e := range exps {
			got, err := s.Assign(ctx, e.ID, user, nil)
			if err != nil {
				return err
			}
			if !got.InExperiment && got.Reason != refx.ReasonLayer {
				return fmt.Errorf("%s outside %s for %q", user, e.ID, got.Reason)
			}
			if got.InExperiment {
				mu.Lock()
				in[user] = append(in[user], e.ID)
				if arms[e.ID] == nil {
					arms[e.ID] = map[string]int64{}
				}
				arms[e.ID][got.Variant]++
				mu.Unlock()
			}
		}
		return nil
	})
	if len(in) != users {
		t.Fatalf("%d of %d users entered an experiment of the layer", len(in), users)
	}
	for user, ids := range in {
		if len(ids) != 1 {
			t.Fatalf("%s entered %v", user, ids)
		}
	}
	for _, e := range exps {
		observed := make([]int64, len(e.Variants))
		var total int64
		for i, v := range e.Variants {
			observed[i] = arms[e.ID][v.Key]
			total += observed[i]
		}
		r, _ := e.ClaimedRange()
		share := float64(total) / users
		srm, err := stats.SRMTest(observed, e.Weights(nil), 0.001)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: range [%g, %g), %.3f of users, arms %v, SRM p = %.3f", e.ID, r.Start, r.End, share, observed, *srm.PValue)
		if srm.Mismatch {
			t.Errorf("%s: arms %v do not match weights (p = %g)", e.ID, observed, *srm.PValue)
		}
		if want := r.End - r.Start; share < want-0.03 || share > want+0.03 {
			t.Errorf("%s holds %.3f of users, its range %.2f", e.ID, share, want)
		}
	}
}

// TestLayerStart: a start claiming a range that overlaps a running
// experiment's is refused (409) and writes nothing; stopping frees the
// range; a layer with claims cannot be deleted; a missing layer cannot be
// started in.
func TestLayerStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	MustLayer(t, s, "checkout")
	a := MustRunning(t, s, layered("a", "checkout", 0, 0.5))
	b := mustDraft(t, s, layered("b", "checkout", 0.4, 0.8))

	t.Run("ErrOverlap", func(t *testing.T) {
		_, err := s.SetStatus(ctx, b.ID, refx.StatusRunning)
		wantCode(t, err, refx.ECONFLICT)
		if got, _ := s.Experiment(ctx, b.ID); got.Status == refx.StatusRunning {
			t.Fatal("refused start changed the experiment")
		}
	})
	t.Run("Adjacent", func(t *testing.T) {
		MustRunning(t, s, layered("c", "checkout", 0.5, 0.6))
		l, err := s.Layer(ctx, "checkout")
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Claims) != 2 || l.Claims[0].Experiment != "a" || l.Claims[1].Experiment != "c" {
			t.Fatalf("claims %+v", l.Claims)
		}
	})
	t.Run("ErrDeleteClaimed", func(t *testing.T) {
		wantCode(t, s.DeleteLayer(ctx, "checkout"), refx.ECONFLICT)
	})
	t.Run("StopFrees", func(t *testing.T) {
		if _, err := s.SetStatus(ctx, a.ID, refx.StatusStopped); err != nil {
			t.Fatal(err)
		}
		// b overlaps c's [0.5, 0.6) still.
		_, err := s.SetStatus(ctx, b.ID, refx.StatusRunning)
		wantCode(t, err, refx.ECONFLICT)
		fits := MustRunning(t, s, layered("d", "checkout", 0.1, 0.5))
		l, _ := s.Layer(ctx, "checkout")
		if len(l.Claims) != 2 || l.Claims[0].Experiment != fits.ID {
			t.Fatalf("claims %+v", l.Claims)
		}
	})
	t.Run("ErrMissingLayer", func(t *testing.T) {
		e := mustDraft(t, s, layered("nowhere", "missing", 0, 1))
		_, err := s.SetStatus(ctx, e.ID, refx.StatusRunning)
		wantCode(t, err, refx.EINVALID)
	})
	t.Run("Audited", func(t *testing.T) {
		page, err := s.Audit(ctx, refx.AuditFilter{Resource: refx.AuditLayer, ResourceID: "checkout"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Entries) != 1 || page.Entries[0].Action != "create" {
			t.Fatalf("entries %+v", page.Entries)
		}
	})
}

// TestLayerConcurrentStarts starts two experiments claiming overlapping
// ranges at once, through the emulation of real DynamoDB's transaction
// conflicts: exactly one wins, the other is refused with 409, and the
// layer holds the winner's claim only.
func TestLayerConcurrentStarts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := MustContention(t, true)
	for round := range 5 {
		layer := fmt.Sprintf("race-%d", round)
		MustLayer(t, c.direct, layer)
		ids := []string{layer + "-x", layer + "-y"}
		mustDraft(t, c.direct, layered(ids[0], layer, 0, 0.6))
		mustDraft(t, c.direct, layered(ids[1], layer, 0.5, 1))
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Go(func() {
				_, errs[i] = retry(c, func() (*refx.Experiment, error) { return c.through.SetStatus(ctx, id, refx.StatusRunning) })
			})
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch refx.ErrorCode(err) {
			case "":
				if won >= 0 {
					t.Fatalf("round %d: both starts won", round)
				}
				won = i
			case refx.ECONFLICT:
			default:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: no start won: %v", round, errs)
		}
		l, _ := c.direct.Layer(ctx, layer)
		if len(l.Claims) != 1 || l.Claims[0].Experiment != ids[won] {
			t.Fatalf("round %d: claims %+v, winner %s", round, l.Claims, ids[won])
		}
		for i, id := range ids {
			e, _ := c.direct.Experiment(ctx, id)
			if (e.Status == refx.StatusRunning) != (i == won) {
				t.Fatalf("round %d: %s is %s", round, id, e.Status)
			}
		}
	}
	c.report(t)
}

// TestHoldout: a global holdout of 20% keeps its users out of an
// experiment started while it runs, enrols every user the experiment would
// have taken in one of its own arms, gives a user the same answer from
// every instance, and its results compare its two arms.
func TestHoldout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	h, err := refx.NewHoldout{ID: "hold", Share: 0.2, Goals: []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial}}}.Build(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateExperiment(ctx, h); err != nil {
		t.Fatal(err)
	}
	before := MustRunning(t, s, newExperiment("before")) // started before the holdout: not covered
	if _, err := s.SetStatus(ctx, h.ID, refx.StatusRunning); err != nil {
		t.Fatal(err)
	}
	covered := MustRunning(t, s, newExperiment("covered"))
	if len(covered.Holdouts) != 1 || covered.Holdouts[0].ID != h.ID || len(before.Holdouts) != 0 {
		t.Fatalf("holdouts: covered %+v, before %+v", covered.Holdouts, before.Holdouts)
	}

	const users = 1000
	var mu sync.Mutex
	held := map[string]bool{}
	forUsers(t, users, func(user string) error {
		got, err := s.Assign(ctx, covered.ID, user, nil)
		if err != nil {
			return err
		}
		in, err := s.Assign(ctx, before.ID, user, nil)
		if err != nil {
			return err
		}
		isHeld := h.Ref().Arm(user) == refx.HoldoutArm
		switch {
		case isHeld && (got.InExperiment || got.Reason != refx.ReasonHoldout):
			return fmt.Errorf("held-out %s answered %+v", user, got)
		case !isHeld && !got.InExperiment:
			return fmt.Errorf("%s outside: %+v", user, got)
		case !in.InExperiment:
			return fmt.Errorf("%s kept out of an experiment started before the holdout", user)
		}
		mu.Lock()
		held[user] = isHeld
		mu.Unlock()
		return nil
	})

	t.Run("StickyAcrossInstances", func(t *testing.T) {
		other := dynamo.New(dynamotest.Client(t), s.Table(), dynamo.Options{})
		for i := range 200 {
			user := fmt.Sprintf("user-%05d", i)
			got, err := other.Assign(ctx, covered.ID, user, nil)
			if err != nil {
				t.Fatal(err)
			}
			arm, err := other.Assign(ctx, h.ID, user, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.InExperiment == held[user] || arm.Enrolled || (arm.Variant == refx.HoldoutArm) != held[user] {
				t.Fatalf("%s: covered %+v, holdout %+v, held %v", user, got, arm, held[user])
			}
		}
	})
	t.Run("ResultsCompareArms", func(t *testing.T) {
		var nHeld int64
		for _, isHeld := range held {
			if isHeld {
				nHeld++
			}
		}
		for user, isHeld := range held {
			if !isHeld {
				if _, err := s.RecordEvent(ctx, &refx.Event{ID: uuid(), Type: "signup", User: user}); err != nil {
					t.Fatal(err)
				}
			}
		}
		res := mustResults(t, s, h.ID)
		if res[refx.HoldoutArm].Participants != nHeld || res[refx.GeneralArm].Participants != users-nHeld {
			t.Fatalf("holdout results %+v, %d held of %d", res, nHeld, users)
		}
		if res[refx.HoldoutArm].Goals["signup"].Users != 0 || res[refx.GeneralArm].Goals["signup"].Users != users-nHeld {
			t.Fatalf("signups %+v", res)
		}
		exp := mustResults(t, s, covered.ID)
		var enrolled int64
		for _, v := range exp {
			enrolled += v.Participants
		}
		if enrolled != users-nHeld {
			t.Fatalf("covered experiment enrolled %d, want %d", enrolled, users-nHeld)
		}
		t.Logf("%d of %d users held out (%.1f%%)", nHeld, users, 100*float64(nHeld)/users)
	})
}

// BenchmarkContentionHoldout measures, through ddbsim, the write units of
// the first assignment to an experiment under a running holdout: a general
// user writes their holdout assignment and their experiment's, a held-out
// user their holdout assignment only; asking again for a held-out user
// fails the holdout put's condition (charged as a write). Each is one
// user's own items: none is shared.
func BenchmarkContentionHoldout(b *testing.B) {
	ctx := context.Background()
	direct := MustStore(b, dynamo.Options{})
	h, err := refx.NewHoldout{ID: "hold", Share: 0.5, Goals: []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial}}}.Build(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	if err := direct.CreateExperiment(ctx, h); err != nil {
		b.Fatal(err)
	}
	if _, err := direct.SetStatus(ctx, h.ID, refx.StatusRunning); err != nil {
		b.Fatal(err)
	}
	e := MustRunning(b, direct, newExperiment("covered"))
	c := mustContentionOn(b, direct, false)
	const k = 50
	users := map[string][]string{}
	for i := 0; len(users[refx.HoldoutArm]) < k || len(users[refx.GeneralArm]) < k; i++ {
		u := fmt.Sprintf("user-%s-%d", uuid()[:8], i)
		arm := h.Ref().Arm(u)
		users[arm] = append(users[arm], u)
	}
	measure := func(name string, subjects []string) {
		dynamotest.MustCount(b, c.through)
		c.proxy.Reset()
		for _, u := range subjects[:k] {
			if _, err := c.through.Assign(ctx, e.ID, u, nil); err != nil {
				b.Fatal(err)
			}
		}
		request := c.proxy.Usage().WRU()
		dynamotest.MustCount(b, c.through)
		total := c.proxy.Usage().WRU()
		b.ReportMetric(float64(total)/k, "WRU/"+name)
		b.Logf("%s: %.2f WRU per request (%.2f on the request path, %.2f by the aggregator)", name,
			float64(total)/k, float64(request)/k, float64(total-request)/k)
	}
	b.ResetTimer()
	measure("first-assign-general", users[refx.GeneralArm])
	measure("first-assign-held-out", users[refx.HoldoutArm])
	measure("again-held-out", users[refx.HoldoutArm])
	measure("again-general", users[refx.GeneralArm])
}
