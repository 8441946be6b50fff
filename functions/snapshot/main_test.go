package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/refx-dev/refx/pkg/app"
	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/refx"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

// TestScheduledEvent feeds a recorded EventBridge scheduled event to the
// handler the way the Lambda runtime does, twice (EventBridge delivers at
// least once), and finds one snapshot of the event's hour per running
// experiment.
func TestScheduledEvent(t *testing.T) {
	ctx := context.Background()
	client, table := dynamotest.NewTable(t)
	env := map[string]string{"REFX_TABLE": table, "REFX_DYNAMODB_ENDPOINT": dynamotest.Endpoint(), "REFX_LOG_LEVEL": "warn"}
	store := dynamo.New(client, table, dynamo.Options{})
	n := refx.NewExperiment{
		ID:       "scheduled",
		Variants: []refx.Variant{{Key: "a", Weight: 1}, {Key: "b", Weight: 1}},
		Goals:    []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial}},
	}
	e, err := n.Build(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateExperiment(ctx, e); err != nil {
		t.Fatal(err)
	}
	if _, err := store.SetStatus(ctx, e.ID, refx.StatusRunning); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Assign(ctx, e.ID, "alice", nil); err != nil {
		t.Fatal(err)
	}
	// Counters come from the table's stream (the aggregate function):
	// count the assignment before the snapshot reads them.
	dynamotest.MustCount(t, store)

	h, err := app.SnapshotHandler(ctx, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	payload, err := os.ReadFile("testdata/scheduled-event.json")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := lambda.NewHandler(h).Invoke(ctx, payload); err != nil {
			t.Fatalf("invoke: %v", err)
		}
	}
	hour := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	snaps, err := store.Snapshots(ctx, e.ID, hour.Add(-time.Hour), hour.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 1 || !snaps[0].Period.Equal(hour) {
		b, _ := json.Marshal(snaps)
		t.Fatalf("snapshots = %s, want one of %v", b, hour)
	}
	var participants int64
	for _, v := range snaps[0].Variants {
		participants += v.Participants
	}
	if participants != 1 {
		t.Fatalf("snapshot counts %d participants, want 1", participants)
	}

	t.Run("ErrConfig", func(t *testing.T) {
		bad := map[string]string{"REFX_TABLE": table, "REFX_SNAPSHOT_PERIOD": "7m"}
		if _, err := app.SnapshotHandler(ctx, func(k string) string { return bad[k] }); err == nil {
			t.Fatal("a period that does not divide a day was accepted")
		}
	})
}
