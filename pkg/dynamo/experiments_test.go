package dynamo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/refx"
)

func TestExperimentLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	e, err := newExperiment("cta-test").Build(time.Now())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Create", func(t *testing.T) {
		if err := s.CreateExperiment(ctx, e); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.CreateExperiment(ctx, e), refx.ECONFLICT)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := s.Experiment(ctx, "nope")
		wantCode(t, err, refx.ENOTFOUND)
	})
	t.Run("Read", func(t *testing.T) {
		got, err := s.Experiment(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != refx.StatusDraft || got.Version != 1 || len(got.Variants) != 2 || string(got.Variants[1].Payload) != `{"reward":20}` {
			t.Fatalf("read back %+v", got)
		}
	})
	t.Run("UpdateStale", func(t *testing.T) {
		name := "renamed"
		up, err := s.UpdateExperiment(ctx, e.ID, refx.ExperimentPatch{Version: 1, Name: &name})
		if err != nil {
			t.Fatal(err)
		}
		if up.Version != 2 || up.Name != name {
			t.Fatalf("updated %+v", up)
		}
		other := "lost update"
		_, err = s.UpdateExperiment(ctx, e.ID, refx.ExperimentPatch{Version: 1, Name: &other})
		wantCode(t, err, refx.ECONFLICT)
		got, _ := s.Experiment(ctx, e.ID)
		if got.Name != name {
			t.Fatalf("stale update was applied: %q", got.Name)
		}
	})
	t.Run("StartStop", func(t *testing.T) {
		for _, step := range []struct {
			to   refx.Status
			code string
		}{
			{refx.StatusRunning, ""},
			{refx.StatusRunning, ""}, // a retried start succeeds
			{refx.StatusStopped, ""},
			{refx.StatusStopped, ""},
			{refx.StatusRunning, refx.ECONFLICT},
		} {
			got, err := s.SetStatus(ctx, e.ID, step.to)
			wantCode(t, err, step.code)
			if err == nil && got.Status != step.to {
				t.Fatalf("status = %s, want %s", got.Status, step.to)
			}
		}
	})
}

func TestUpdateWhileRunning(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	e := MustRunning(t, s, newExperiment("live"))
	weights := []refx.Variant{{Key: "control", Weight: 10, Payload: e.Variants[0].Payload}, {Key: "bold", Weight: 90, Payload: e.Variants[1].Payload}}
	goals := []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial}}
	renamed := []refx.Variant{{Key: "control", Weight: 50}, {Key: "brave", Weight: 50}}
	shards := 16
	tests := []struct {
		name  string
		patch refx.ExperimentPatch
		code  string
	}{
		{"ErrGoals", refx.ExperimentPatch{Goals: &goals}, refx.ECONFLICT},
		{"ErrVariantKeys", refx.ExperimentPatch{Variants: &renamed}, refx.ECONFLICT},
		{"ErrShards", refx.ExperimentPatch{CounterShards: &shards}, refx.ECONFLICT},
		// Users enrolled at the old weights would stay: a new phase's work.
		{"ErrWeights", refx.ExperimentPatch{Variants: &weights}, refx.ECONFLICT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			current, err := s.Experiment(ctx, e.ID)
			if err != nil {
				t.Fatal(err)
			}
			tt.patch.Version = current.Version
			_, err = s.UpdateExperiment(ctx, e.ID, tt.patch)
			wantCode(t, err, tt.code)
		})
	}
}

func TestListExperiments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	for i := range 7 {
		e, err := newExperiment(fmt.Sprintf("exp-%d", i)).Build(time.Now().Add(time.Duration(i) * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateExperiment(ctx, e); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := s.SetStatus(ctx, e.ID, refx.StatusRunning); err != nil {
				t.Fatal(err)
			}
		}
	}
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := s.Experiments(ctx, refx.ExperimentFilter{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Experiments {
			ids = append(ids, e.ID)
		}
		if cursor = page.NextCursor; cursor == "" || pages > 5 {
			break
		}
	}
	if fmt.Sprint(ids) != "[exp-6 exp-5 exp-4 exp-3 exp-2 exp-1 exp-0]" {
		t.Fatalf("listing = %v, want newest first", ids)
	}
	running, err := s.Experiments(ctx, refx.ExperimentFilter{Status: refx.StatusRunning})
	if err != nil {
		t.Fatal(err)
	}
	if len(running.Experiments) != 4 {
		t.Fatalf("running = %d, want 4", len(running.Experiments))
	}
	_, err = s.Experiments(ctx, refx.ExperimentFilter{Cursor: "bm90IGEgY3Vyc29y"})
	wantCode(t, err, refx.EINVALID)
}
