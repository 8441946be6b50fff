package dynamo_test

import (
	"context"
	"fmt"
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
	got, err := s.LamedExperiments(ctx, "alephbet", nil)
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
	scoped, err := s.LamedExperiments(ctx, "alephbet", []string{"Button Color", "unknown"})
	if err != nil || len(scoped) != 2 || len(scoped[1].Goals) != 0 {
		t.Fatalf("scoped = %v, %v", scoped, err)
	}
	if other, _ := s.LamedExperiments(ctx, "other-namespace", nil); len(other) != 0 {
		t.Fatalf("other namespace = %v", other)
	}

	if err := s.LamedDelete(ctx, "alephbet", "Button Color"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Experiment(ctx, id); refx.ErrorCode(err) != refx.ENOTFOUND {
		t.Fatalf("after delete: %v", err)
	}
	if after, _ := s.LamedExperiments(ctx, "alephbet", nil); len(after) != 0 {
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
