package dynamo_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/refx"
)

// audience admits adults from the Netherlands or Belgium, and anyone whose
// id starts with "vip-" (the user's id when no attribute "id" is sent).
const audience = `{"$or":[{"country":{"$in":["NL","BE"]},"age":{"$gte":18}},{"id":{"$regex":"^vip-"}}]}`

func withAudience(id, a string) refx.NewExperiment {
	n := newExperiment(id)
	n.Audience = json.RawMessage(a)
	return n
}

func TestAudienceRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	tests := []struct {
		name, audience, field string
	}{
		{"ErrOperandType", `{"country":{"$in":"NL"}}`, "audience.country.$in"},
		{"ErrUnknownOperator", `{"country":{"$inn":["NL"]}}`, "audience.country.$inn"},
		{"ErrNested", `{"$or":[{"age":{"$gte":18}},{"plan":{"$regex":"("}}]}`, "audience.$or[1].plan.$regex"},
		{"ErrMixed", `{"plan":{"$eq":"pro","tier":1}}`, "audience.plan"},
	}
	// A draft, as a running experiment refuses any new audience anyway.
	draft, err := withAudience("refused-update", `{"plan":"pro"}`).Build(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateExperiment(ctx, draft); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := withAudience("refused", tt.audience).Build(time.Now())
			if err != nil {
				t.Fatalf("Build refused what only the store's parser can: %v", err)
			}
			err = s.CreateExperiment(ctx, e)
			if refx.ErrorCode(err) != refx.EINVALID || refx.ErrorField(err) != tt.field {
				t.Fatalf("CreateExperiment: %v (field %q), want invalid %s", err, refx.ErrorField(err), tt.field)
			}
			if _, err := s.Experiment(ctx, "refused"); refx.ErrorCode(err) != refx.ENOTFOUND {
				t.Fatalf("a refused experiment was stored: %v", err)
			}
			_, err = s.UpdateExperiment(ctx, draft.ID, refx.ExperimentPatch{Version: draft.Version, Audience: json.RawMessage(tt.audience)})
			if refx.ErrorCode(err) != refx.EINVALID || refx.ErrorField(err) != tt.field {
				t.Fatalf("UpdateExperiment: %v (field %q), want invalid %s", err, refx.ErrorField(err), tt.field)
			}
			if got, _ := s.Experiment(ctx, draft.ID); got.Version != draft.Version || string(got.Audience) != `{"plan":"pro"}` {
				t.Fatalf("a refused update was stored: version %d, audience %s", got.Version, got.Audience)
			}
		})
	}
}

func TestAssignAudience(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	e := MustRunning(t, s, withAudience("audience", audience))
	if string(e.Audience) != audience {
		t.Fatalf("stored audience %s, want %s", e.Audience, audience)
	}
	tests := []struct {
		name  string
		user  string
		attrs map[string]any
		in    bool
	}{
		{"Matching", "ann", map[string]any{"country": "NL", "age": 30.0}, true},
		{"MatchingOtherBranch", "vip-bert", nil, true},
		{"IDAttributeWins", "vip-carl", map[string]any{"id": "carl"}, false},
		{"ErrCountry", "dora", map[string]any{"country": "US", "age": 30.0}, false},
		{"ErrAge", "emil", map[string]any{"country": "BE", "age": 17.0}, false},
		{"ErrNoAge", "fay", map[string]any{"country": "BE"}, false},
		{"ErrNoAttributes", "gus", nil, false},
	}
	admitted := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := s.Assign(ctx, e.ID, tt.user, tt.attrs)
			if err != nil {
				t.Fatal(err)
			}
			if a.InExperiment != tt.in || a.Enrolled != tt.in {
				t.Fatalf("assign = %+v, want in_experiment and enrolled %v", a, tt.in)
			}
			if tt.in {
				admitted++
				want, _ := e.Bucket(tt.user)
				if a.Variant != want.Key {
					t.Fatalf("variant %s, hash says %s", a.Variant, want.Key)
				}
				return
			}
			// Outside the audience is outside the coverage: control, and
			// nothing written (the first call that matches enrols).
			if a.Variant != e.Control || a.AssignedAt != nil {
				t.Fatalf("assign = %+v, want control without an assignment", a)
			}
			again, err := s.Assign(ctx, e.ID, tt.user, map[string]any{"country": "NL", "age": 18.0})
			if err != nil {
				t.Fatal(err)
			}
			if !again.Enrolled {
				t.Fatalf("a refused user was stored: %+v", again)
			}
			admitted++
		})
	}
	t.Run("StickyWhenAttributesChange", func(t *testing.T) {
		first, err := s.Assign(ctx, e.ID, "hugo", map[string]any{"country": "NL", "age": 40.0})
		if err != nil || !first.Enrolled {
			t.Fatalf("assign = %+v, %v", first, err)
		}
		admitted++
		moved, err := s.Assign(ctx, e.ID, "hugo", map[string]any{"country": "US"})
		if err != nil {
			t.Fatal(err)
		}
		if !moved.InExperiment || moved.Enrolled || moved.Variant != first.Variant {
			t.Fatalf("after moving away hugo got %+v, want his arm %s, not enrolled again", moved, first.Variant)
		}
	})
	t.Run("ChangedWhileRunning", func(t *testing.T) {
		current, err := s.Experiment(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Another audience would mix users who entered under two: refused.
		_, err = s.UpdateExperiment(ctx, e.ID, refx.ExperimentPatch{Version: current.Version, Audience: json.RawMessage(`{"country":"US"}`)})
		if refx.ErrorCode(err) != refx.ECONFLICT || refx.ErrorField(err) != "audience" {
			t.Fatalf("UpdateExperiment: %v, want a conflict on audience", err)
		}
		us, err := s.Assign(ctx, e.ID, "ivan", map[string]any{"country": "US"})
		if err != nil || us.InExperiment {
			t.Fatalf("after a refused change a US user got %+v, %v", us, err)
		}
		// Removing it only lets more users in, as a higher coverage does.
		if _, err := s.UpdateExperiment(ctx, e.ID, refx.ExperimentPatch{Version: current.Version, Audience: json.RawMessage(`null`)}); err != nil {
			t.Fatal(err)
		}
		anyone, err := s.Assign(ctx, e.ID, "kim", nil)
		if err != nil || !anyone.Enrolled {
			t.Fatalf("without an audience kim got %+v, %v", anyone, err)
		}
		admitted++
	})
	var participants int64
	for _, v := range mustResults(t, s, e.ID) {
		participants += v.Participants
	}
	if participants != int64(admitted) {
		t.Fatalf("%d participants counted, want the %d users admitted", participants, admitted)
	}
}

// BenchmarkAdmits is the audience check Assign adds for a user not yet
// assigned, with the condition compiled when the experiment was read.
func BenchmarkAdmits(b *testing.B) {
	s := MustStore(b, dynamo.Options{})
	e := MustRunning(b, s, withAudience("bench-audience", audience))
	e, err := s.Experiment(context.Background(), e.ID)
	if err != nil {
		b.Fatal(err)
	}
	attrs := map[string]any{"id": "ann", "country": "NL", "age": 30.0}
	b.ReportAllocs()
	for b.Loop() {
		if !e.Admits("ann", attrs) {
			b.Fatal("refused")
		}
	}
}
