package streampoll_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/export/streampoll"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// MustPut writes n items with string keys pk = prefix+i.
func MustPut(tb testing.TB, c *dynamodb.Client, table, prefix string, n int) {
	tb.Helper()
	for i := range n {
		_, err := c.PutItem(tb.Context(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: fmt.Sprintf("%s%03d", prefix, i)}, "sk": &types.AttributeValueMemberS{Value: "X"},
			"entity": &types.AttributeValueMemberS{Value: "test"}, "n": &types.AttributeValueMemberN{Value: fmt.Sprint(i)},
		}})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// TestPollerRetriesLikeLambda fails a batch with an error (retried whole),
// then reports a batch item failure (retried from that record), and checks
// that every record reaches a successful call exactly once, in order, with
// its images converted; then that checkpoints resume after the last record.
func TestPollerRetriesLikeLambda(t *testing.T) {
	c, table := dynamotest.NewTable(t)
	streams := dynamotest.StreamsClient(t)
	MustPut(t, c, table, "A#", 25)
	arn, err := streampoll.LatestStreamARN(t.Context(), streams, table)
	if err != nil {
		t.Fatal(err)
	}
	var (
		calls     int
		delivered []string
	)
	handler := func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		calls++
		switch calls {
		case 1:
			return events.DynamoDBEventResponse{}, errors.New("injected: whole batch fails")
		case 2:
			// Records before the failure are done; the rest comes again.
			fail := ev.Records[4].Change.SequenceNumber
			for _, r := range ev.Records[:4] {
				delivered = append(delivered, r.Change.NewImage["pk"].String())
			}
			return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: fail}}}, nil
		}
		for _, r := range ev.Records {
			if r.EventName != "INSERT" || r.EventSourceArn != arn || r.Change.NewImage["n"].Number() == "" || r.Change.ApproximateCreationDateTime.IsZero() {
				t.Errorf("record not converted: %+v", r)
			}
			delivered = append(delivered, r.Change.NewImage["pk"].String())
		}
		return events.DynamoDBEventResponse{}, nil
	}
	cpPath := filepath.Join(t.TempDir(), "checkpoints.json")
	cps, err := streampoll.OpenFileCheckpoints(cpPath)
	if err != nil {
		t.Fatal(err)
	}
	p, err := streampoll.New(streampoll.Config{Streams: streams, StreamARN: arn, Handler: handler, BatchSize: 10, Checkpoints: cps, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := p.Drain(t.Context()); err != nil || n != 25 {
		t.Fatalf("Drain = %d, %v; want 25 records", n, err)
	}
	if len(delivered) != 25 {
		t.Fatalf("delivered %d records: %v", len(delivered), delivered)
	}
	for i, pk := range delivered {
		if want := fmt.Sprintf("A#%03d", i); pk != want {
			t.Fatalf("record %d is %s, want %s (order or duplicates)", i, pk, want)
		}
	}

	// A new poller with the same checkpoints sees only new records.
	MustPut(t, c, table, "B#", 3)
	cps, err = streampoll.OpenFileCheckpoints(cpPath)
	if err != nil {
		t.Fatal(err)
	}
	var again []string
	p, err = streampoll.New(streampoll.Config{Streams: streams, StreamARN: arn, Logger: discard, Checkpoints: cps,
		Handler: func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			for _, r := range ev.Records {
				again = append(again, r.Change.NewImage["pk"].String())
			}
			return events.DynamoDBEventResponse{}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := p.Drain(t.Context()); err != nil || n != 3 || len(again) != 3 || again[0] != "B#000" {
		t.Fatalf("after restart: Drain = %d, %v; records %v", n, err, again)
	}
}

// TestRunStopsOnCancel checks that Run returns when its context ends.
func TestRunStopsOnCancel(t *testing.T) {
	_, table := dynamotest.NewTable(t)
	streams := dynamotest.StreamsClient(t)
	arn, err := streampoll.LatestStreamARN(t.Context(), streams, table)
	if err != nil {
		t.Fatal(err)
	}
	p, err := streampoll.New(streampoll.Config{Streams: streams, StreamARN: arn, Logger: discard,
		Handler: func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			return events.DynamoDBEventResponse{}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
}
