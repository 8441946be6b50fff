package dynamo_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/refx"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

// MustStore returns a store on a fresh table.
func MustStore(tb testing.TB, opts dynamo.Options) *dynamo.Store {
	tb.Helper()
	client, table := dynamotest.NewTable(tb)
	return dynamo.New(client, table, opts)
}

// newExperiment is a valid two-arm experiment measuring signup and purchase.
func newExperiment(id string) refx.NewExperiment {
	return refx.NewExperiment{
		ID: id, Name: "CTA test", Owner: "growth",
		Variants: []refx.Variant{
			{Key: "control", Weight: 50, Payload: json.RawMessage(`{"reward":10}`)},
			{Key: "bold", Weight: 50, Payload: json.RawMessage(`{"reward":20}`)},
		},
		Goals: []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial}, {Key: "purchase", Kind: refx.GoalValue}},
	}
}

// MustRunning creates and starts an experiment.
func MustRunning(tb testing.TB, s *dynamo.Store, n refx.NewExperiment) *refx.Experiment {
	tb.Helper()
	ctx := context.Background()
	e, err := n.Build(time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.CreateExperiment(ctx, e); err != nil {
		tb.Fatal(err)
	}
	e, err = s.SetStatus(ctx, e.ID, refx.StatusRunning)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := refx.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// mustResults counts everything written so far, as the aggregator does
// from the stream, and reads the results.
func mustResults(tb testing.TB, s *dynamo.Store, id string) map[string]refx.VariantResults {
	tb.Helper()
	dynamotest.MustCount(tb, s)
	res, err := s.Results(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]refx.VariantResults{}
	for _, v := range res.Variants {
		out[v.Key] = v
	}
	return out
}
