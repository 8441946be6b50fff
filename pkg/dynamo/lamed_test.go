package dynamo_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/refx"
)

func TestLamedTrack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	track := func(variant, event, uuid string) {
		t.Helper()
		err := s.LamedTrack(ctx, refx.LamedTrack{Namespace: "alephbet", Experiment: "Button Color", Variant: variant, Event: event, UUID: uuid})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Alephbet re-sends its whole queue on every call: identical concurrent
	// requests must count once.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { track("red", "participate", "u1") })
		wg.Go(func() { track("blue", "participate", "u2") })
	}
	wg.Wait()
	track("red", "participate", "u3")
	// Gimel-style uuids repeat across goals: the uuid is scoped to the counter.
	track("red", "click", "u1")
	track("red", "click", "u1")
	track("red", "buy", "u1")
	track("blue", "click", "u2")
	track("blue", "click", "u4") // a non-unique goal sends fresh uuids

	dynamotest.MustCount(t, s)
	got, err := lamedExperiments(ctx, s, refx.LamedQuery{Namespace: "alephbet"})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{Button Color [{buy [{blue 0 1} {red 1 2}]} {click [{blue 2 1} {red 1 2}]}]}]`
	if fmt.Sprint(got) != want {
		t.Fatalf("experiments = %v\nwant %s", got, want)
	}
	// The experiment is a refx experiment too, with refx results.
	id := refx.LamedExperimentID("alephbet", "Button Color")
	exp, err := s.Experiment(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if exp.Source != refx.SourceLamed || exp.Status != refx.StatusRunning || len(exp.Variants) != 2 || len(exp.Goals) != 2 || exp.Control != "blue" {
		t.Fatalf("experiment = %+v", exp)
	}
	if res := mustResults(t, s, id); res["red"].Participants != 2 || res["red"].Goals["click"].Users != 1 {
		t.Fatalf("results = %+v", res)
	}
	// Stopping it rewrites the item: its variants and goals must survive
	// the round trip unchanged.
	stopped, err := s.SetStatus(ctx, id, refx.StatusStopped)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := s.Experiment(ctx, id); len(again.Goals) != 2 || len(again.Variants) != 2 || stopped.Status != refx.StatusStopped {
		t.Fatalf("after stop: %+v", again)
	}
	scoped, err := lamedExperiments(ctx, s, refx.LamedQuery{Namespace: "alephbet", Scope: []string{"unknown", "Button Color", "unknown"}})
	if err != nil || len(scoped) != 2 || len(scoped[1].Goals) != 0 {
		t.Fatalf("scoped = %v, %v", scoped, err)
	}
	if other, _ := lamedExperiments(ctx, s, refx.LamedQuery{Namespace: "other-namespace"}); len(other) != 0 {
		t.Fatalf("other namespace = %v", other)
	}

	if err := s.LamedDelete(ctx, "alephbet", "Button Color"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Experiment(ctx, id); refx.ErrorCode(err) != refx.ENOTFOUND {
		t.Fatalf("after delete: %v", err)
	}
	if after, _ := lamedExperiments(ctx, s, refx.LamedQuery{Namespace: "alephbet"}); len(after) != 0 {
		t.Fatalf("after delete: %v", after)
	}
	if err := s.LamedDelete(ctx, "alephbet", "Button Color"); err != nil {
		t.Fatalf("deleting again: %v", err)
	}
}

func TestLamedExperimentID(t *testing.T) {
	tests := []struct{ namespace, experiment, want string }{
		{"alephbet", "button-color", "alephbet--button-color"},
		{"alephbet", "Button Color", "alephbet--button-color-"},
		{"prod", "a/b test", "prod--a-b-test-"},
	}
	for _, tt := range tests {
		got := refx.LamedExperimentID(tt.namespace, tt.experiment)
		if !refx.ValidSlug(got) || len(got) < len(tt.want) || got[:len(tt.want)] != tt.want {
			t.Errorf("LamedExperimentID(%q, %q) = %q, want prefix %q", tt.namespace, tt.experiment, got, tt.want)
		}
	}
	if refx.LamedExperimentID("a", "B") == refx.LamedExperimentID("a", "b") {
		t.Error("ids collide across case")
	}
}

// lamedExperiments reads every page of a Lamed listing, checking that the
// pages follow each other in name order.
func lamedExperiments(ctx context.Context, s *dynamo.Store, q refx.LamedQuery) ([]refx.LamedExperiment, error) {
	var all []refx.LamedExperiment
	for {
		page, err := s.LamedExperiments(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, e := range page.Experiments {
			if len(all) > 0 && all[len(all)-1].Experiment >= e.Experiment {
				return nil, fmt.Errorf("%q after %q", e.Experiment, all[len(all)-1].Experiment)
			}
			all = append(all, e)
		}
		if page.NextCursor == "" {
			return all, nil
		}
		if len(page.Experiments) == 0 {
			return nil, fmt.Errorf("an empty page with a cursor")
		}
		q.Cursor = page.NextCursor
	}
}

// TestLamedLimits runs Alephbet clients into each limit, from several
// stores on one table (Lambda instances, each with its own caches).
func TestLamedLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client, table := dynamotest.NewTable(t)
	limits := refx.LamedLimits{Namespaces: []string{"shop", "blog"}, MaxExperiments: 5, MaxVariants: 3, MaxGoals: 2}
	stores := make([]*dynamo.Store, 4)
	for i := range stores {
		stores[i] = dynamo.New(client, table, dynamo.Options{Lamed: limits})
	}
	s := stores[0]
	track := func(s *dynamo.Store, ns, exp, variant, event string) error {
		return s.LamedTrack(ctx, refx.LamedTrack{Namespace: ns, Experiment: exp, Variant: variant, Event: event, UUID: "u-" + variant + event})
	}
	names := func(ns string) []string {
		t.Helper()
		exps, err := lamedExperiments(ctx, s, refx.LamedQuery{Namespace: ns})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range exps {
			out = append(out, e.Experiment)
		}
		return out
	}

	t.Run("ErrNamespaceNotAllowed", func(t *testing.T) {
		wantCode(t, track(s, "alephbet", "hero", "a", "participate"), refx.EFORBIDDEN)
		_, err := s.Experiment(ctx, refx.LamedExperimentID("alephbet", "hero"))
		wantCode(t, err, refx.ENOTFOUND)
	})

	t.Run("ExperimentsBurst", func(t *testing.T) {
		// 40 new experiments at once for 5 slots: the namespace count's
		// condition, in the creating transaction, admits 5 at most; the
		// others are refused, or told to come back when contention
		// outlasts the retries.
		var mu sync.Mutex
		codes := map[string]int{}
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				err := track(stores[i%len(stores)], "shop", fmt.Sprintf("burst %02d", i), "a", "participate")
				mu.Lock()
				codes[refx.ErrorCode(err)]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if codes[""] > limits.MaxExperiments || codes[""]+codes[refx.ELIMIT]+codes[refx.EUNAVAILABLE] != 40 || codes[refx.ELIMIT] == 0 {
			t.Fatalf("outcomes by code = %v: want at most %d created, the rest limit_exceeded (or unavailable)", codes, limits.MaxExperiments)
		}
		if got := names("shop"); len(got) != codes[""] {
			t.Fatalf("namespace holds %d experiments %v, but %d were created", len(got), got, codes[""])
		}
		// Fill the namespace, from stores that did not see the burst's
		// refusals: the sixth experiment is refused by the count itself.
		for i := 0; len(names("shop")) < limits.MaxExperiments; i++ {
			if err := track(stores[3], "shop", fmt.Sprintf("fill %02d", i), "a", "participate"); err != nil {
				t.Fatal(err)
			}
		}
		fresh := dynamo.New(client, table, dynamo.Options{Lamed: limits})
		wantCode(t, track(fresh, "shop", "one too many", "a", "participate"), refx.ELIMIT)
		// Experiments already there take events as before, and another
		// namespace has its own count.
		if err := track(fresh, "shop", names("shop")[0], "b", "participate"); err != nil {
			t.Fatal(err)
		}
		if err := track(fresh, "blog", "hero", "a", "participate"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("DeleteFreesASlot", func(t *testing.T) {
		wantCode(t, track(s, "shop", "late", "a", "participate"), refx.ELIMIT)
		deleted := names("shop")[0]
		if err := s.LamedDelete(ctx, "shop", deleted); err != nil {
			t.Fatal(err)
		}
		// Deleting it again frees nothing more.
		if err := s.LamedDelete(ctx, "shop", deleted); err != nil {
			t.Fatal(err)
		}
		if err := track(s, "shop", "late", "a", "participate"); err != nil {
			t.Fatalf("after a delete: %v", err)
		}
		wantCode(t, track(stores[1], "shop", "later", "a", "participate"), refx.ELIMIT)
		if got := names("shop"); len(got) != limits.MaxExperiments || !slices.Contains(got, "late") {
			t.Fatalf("namespace = %v", got)
		}
	})

	t.Run("VariantsAndGoals", func(t *testing.T) {
		// 30 variants and 30 goals at once, from every store, for 3 and
		// 2 places: the item's own condition admits no more.
		// v00 first: the goals' calls name it, and were it to lose the
		// race for a variant's place they would all be refused.
		if err := track(stores[0], "blog", "crowded", "v00", "participate"); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Go(func() { track(stores[i%len(stores)], "blog", "crowded", fmt.Sprintf("v%02d", i), "participate") })
			wg.Go(func() { track(stores[(i+1)%len(stores)], "blog", "crowded", "v00", fmt.Sprintf("goal %02d", i)) })
		}
		wg.Wait()
		id := refx.LamedExperimentID("blog", "crowded")
		exp, err := s.Experiment(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(exp.Variants) != limits.MaxVariants || len(exp.Goals) != limits.MaxGoals {
			t.Fatalf("experiment has %d variants and %d goals, want %d and %d", len(exp.Variants), len(exp.Goals), limits.MaxVariants, limits.MaxGoals)
		}
		known, goal := exp.Variants[0].Key, exp.Goals[0].Key
		fresh := dynamo.New(client, table, dynamo.Options{Lamed: limits})
		for _, st := range []*dynamo.Store{fresh, fresh, s} { // refused by the item, then by the memory of it
			wantCode(t, track(st, "blog", "crowded", "new variant", "participate"), refx.ELIMIT)
			wantCode(t, track(st, "blog", "crowded", known, "new goal"), refx.ELIMIT)
			if err := track(st, "blog", "crowded", known, goal); err != nil {
				t.Fatalf("a known variant and goal: %v", err)
			}
		}
		if again, _ := s.Experiment(ctx, id); len(again.Variants) != limits.MaxVariants || len(again.Goals) != limits.MaxGoals {
			t.Fatalf("after the refusals: %+v", again)
		}
	})
}

// TestLamedPages pages through a namespace larger than a page, all of it
// and a scope.
func TestLamedPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	s.SetLamedPageSize(4)
	const n = 23
	var want []string
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		name := fmt.Sprintf("exp %03d", i)
		want = append(want, name)
		wg.Go(func() {
			errs <- s.LamedTrack(ctx, refx.LamedTrack{Namespace: "big", Experiment: name, Variant: "a", Event: "participate", UUID: "u1"})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	first, err := s.LamedExperiments(ctx, refx.LamedQuery{Namespace: "big"})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Experiments) == n || first.NextCursor == "" {
		t.Fatalf("first page: %d experiments, cursor %q: want a partial page", len(first.Experiments), first.NextCursor)
	}
	all, err := lamedExperiments(ctx, s, refx.LamedQuery{Namespace: "big"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range all {
		got = append(got, e.Experiment)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages hold %d experiments %v\nwant %d", len(got), got, len(want))
	}
	scope := []string{"exp 007", "unknown", "exp 001", "exp 001"}
	scoped, err := s.LamedExperiments(ctx, refx.LamedQuery{Namespace: "big", Scope: scope, Cursor: "exp 001"})
	if err != nil || len(scoped.Experiments) != 2 || scoped.Experiments[0].Experiment != "exp 007" || scoped.NextCursor != "" {
		t.Fatalf("scope after a cursor = %+v, %v", scoped, err)
	}
}
