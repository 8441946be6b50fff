package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/refx"
)

// largestExperiment is the valid experiment with the largest JSON: every
// text at its bound and made of '<', which JSON writes as six bytes.
func largestExperiment(tb testing.TB, id string) *refx.Experiment {
	tb.Helper()
	n := refx.NewExperiment{
		ID: id, Name: strings.Repeat("<", refx.MaxTextLen), Hypothesis: strings.Repeat("<", refx.MaxTextLen),
		Owner: strings.Repeat("<", 2*refx.MaxSlugLen), Seed: strings.Repeat("<", 2*refx.MaxSlugLen),
		Referral: &refx.ReferralConfig{LandingURL: "https://shop.example/" + strings.Repeat("<", 2000), ConversionGoal: fmt.Sprintf("g00%s", strings.Repeat("x", refx.MaxSlugLen-3))},
	}
	payload := json.RawMessage(`"` + strings.Repeat("<", refx.MaxPayloadBytes-2) + `"`)
	for i := range refx.MaxVariants {
		n.Variants = append(n.Variants, refx.Variant{Key: fmt.Sprintf("v%02d%s", i, strings.Repeat("x", refx.MaxSlugLen-3)), Weight: 1, Payload: payload})
	}
	for i := range refx.MaxGoals {
		n.Goals = append(n.Goals, refx.Goal{Key: fmt.Sprintf("g%02d%s", i, strings.Repeat("x", refx.MaxSlugLen-3)), Kind: refx.GoalValue})
	}
	e, err := n.Build(time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// TestExperimentPagesFitAnAnswer lists experiments of the largest valid
// size: a page ends before its JSON passes refx.MaxPageBytes, whatever the
// limit asked, and the pages still hold every experiment once.
func TestExperimentPagesFitAnAnswer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustStore(t, dynamo.Options{})
	const n = 7
	for i := range n {
		if err := s.CreateExperiment(ctx, largestExperiment(t, fmt.Sprintf("big-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := json.Marshal(largestExperiment(t, "big-0"))
	// FitPage's comment promises this.
	if len(b) >= 512<<10 {
		t.Fatalf("the largest experiment is %d bytes of JSON, want under 0.5 MiB", len(b))
	}
	t.Logf("largest experiment: %d bytes of JSON", len(b))
	seen := map[string]bool{}
	pages := 0
	for cursor := ""; ; {
		pages++
		page, err := s.Experiments(ctx, refx.ExperimentFilter{Limit: 200, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(page)
		if len(body) > refx.MaxPageBytes || len(page.Experiments) == 0 {
			t.Fatalf("page %d: %d experiments, %d bytes of JSON (bound %d)", pages, len(page.Experiments), len(body), refx.MaxPageBytes)
		}
		for _, e := range page.Experiments {
			if seen[e.ID] {
				t.Fatalf("%s twice", e.ID)
			}
			seen[e.ID] = true
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != n || pages < 2 {
		t.Fatalf("%d experiments in %d pages, want %d in several", len(seen), pages, n)
	}
}
