package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/export/streampoll"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stream"
)

// aggregationTraffic writes, through the request path, a mix of everything
// the aggregator counts into two experiments (a plain one and a referral
// one) and returns their ids. Nothing is counted yet.
func aggregationTraffic(t *testing.T, s *dynamo.Store) []string {
	t.Helper()
	ctx := context.Background()
	// Covariates and a ratio metric: their sums too must count once.
	n := newExperiment("agg-plain")
	n.RatioMetrics = []refx.RatioMetric{{Key: "value_per_signup", Numerator: "purchase", Denominator: "signup"}}
	plain := MustRunning(t, s, n)
	ref := MustRunning(t, s, newReferralExperiment("agg-ref"))
	for i := range 30 {
		user := fmt.Sprintf("u%02d", i)
		in := refx.AssignInput{Covariates: map[string]refx.Decimal{"purchase": *decimal(t, fmt.Sprintf("%d.5", i))}}
		if _, err := s.AssignWith(ctx, plain.ID, user, in); err != nil {
			t.Fatal(err)
		}
		mustEvent(t, s, &refx.Event{ID: uuid(), Type: "signup", User: user})
		if i%3 == 0 {
			mustEvent(t, s, &refx.Event{ID: uuid(), Type: "purchase", User: user, Value: decimal(t, fmt.Sprintf("%d.25", i))})
			mustEvent(t, s, &refx.Event{ID: uuid(), Type: "purchase", User: user, Value: decimal(t, "3.5")})
		}
	}
	for r := range 4 {
		link := mustLink(t, s, ref.ID, fmt.Sprintf("ref%d", r))
		for v := range r + 2 {
			visitor := fmt.Sprintf("vis-%d-%d", r, v)
			if _, err := s.RecordClick(ctx, refx.Click{Code: link.Code, Visitor: visitor}); err != nil {
				t.Fatal(err)
			}
			referee := fmt.Sprintf("friend-%d-%d", r, v)
			if _, err := s.Attribute(ctx, refx.Signup{Code: link.Code, Referee: referee, Visitor: visitor, IPHash: "ip-" + referee}); err != nil {
				t.Fatal(err)
			}
			if v%2 == 0 {
				mustEvent(t, s, &refx.Event{ID: uuid(), Type: ref.Referral.ConversionGoal, User: referee, Value: decimal(t, "25")})
			}
		}
		// A self-referral: refused, counted by reason.
		if _, err := s.Attribute(ctx, refx.Signup{Code: link.Code, Referee: fmt.Sprintf("ref%d", r), IPHash: "ip-" + fmt.Sprintf("ref%d", r)}); err != nil {
			t.Fatal(err)
		}
	}
	return []string{plain.ID, ref.ID}
}

// captureStream reads every record the table's stream holds, in batches of
// at most size, without counting anything.
func captureStream(t *testing.T, s *dynamo.Store, size int32) [][]events.DynamoDBEventRecord {
	t.Helper()
	streams := dynamotest.StreamsClient(t)
	arn, err := streampoll.LatestStreamARN(t.Context(), streams, s.Table())
	if err != nil {
		t.Fatal(err)
	}
	var batches [][]events.DynamoDBEventRecord
	p, err := streampoll.New(streampoll.Config{Streams: streams, StreamARN: arn, BatchSize: size,
		Handler: func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			batches = append(batches, ev.Records)
			return events.DynamoDBEventResponse{}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	return batches
}

func records(t *testing.T, batch []events.DynamoDBEventRecord) []*stream.Record {
	t.Helper()
	out := make([]*stream.Record, len(batch))
	for i := range batch {
		r, err := stream.FromLambda(&batch[i])
		if err != nil {
			t.Fatal(err)
		}
		out[i] = r
	}
	return out
}

// replicaOf returns a store on a fresh table holding the source table's
// experiments, to receive the source's stream records.
func replicaOf(t *testing.T, source *dynamo.Store, ids []string, client *dynamodb.Client) *dynamo.Store {
	t.Helper()
	_, table := dynamotest.NewTable(t)
	for _, id := range ids {
		out, err := source.Client().GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(source.Table()),
			Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "EXP#" + id}, "sk": &types.AttributeValueMemberS{Value: "META"}}})
		if err != nil || out.Item == nil {
			t.Fatalf("experiment %s: %v", id, err)
		}
		if _, err := source.Client().PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: out.Item}); err != nil {
			t.Fatal(err)
		}
	}
	s := dynamo.New(client, table, dynamo.Options{RetryAttempts: 3, RetryBaseDelay: time.Millisecond, RetryMaxDelay: 5 * time.Millisecond})
	s.SetChunkItems(3)
	return s
}

// deliver hands a batch to the aggregator the way Lambda does: a failed
// batch comes again, from the same first record, until it is through.
func deliver(t *testing.T, s *dynamo.Store, batch []*stream.Record) (failures int) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		if _, err := s.Aggregate(context.Background(), batch); err == nil {
			return failures
		}
		failures++
		if attempt == 100 {
			t.Fatal("batch never went through")
		}
	}
}

func resultsJSON(t *testing.T, s *dynamo.Store, ids []string) string {
	t.Helper()
	dynamotest.MustCount(t, s)
	var all []*refx.Results
	for _, id := range ids {
		res, err := s.Results(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		res.CountedThrough = nil
		all = append(all, res)
	}
	b, _ := json.Marshal(all)
	return string(b)
}

// TestAggregateExactlyOnce feeds one table's stream to replicas under the
// redeliveries Lambda makes, and through injected faults (lost responses
// after the write: a function timing out after its write; transaction
// conflicts; throttling); every replica must count what one clean pass
// counts.
func TestAggregateExactlyOnce(t *testing.T) {
	t.Parallel()
	source := MustStore(t, dynamo.Options{})
	ids := aggregationTraffic(t, source)
	batches := captureStream(t, source, 25)
	want := resultsJSON(t, source, ids)

	faulty := func(t *testing.T) *dynamodb.Client {
		proxy := newFaultProxy(t, dynamotest.Endpoint(), 0.2, 0.1, 0.25)
		c, err := dynamo.NewClient(context.Background(), dynamo.ClientConfig{Endpoint: proxy.URL})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name string
		run  func(t *testing.T, s *dynamo.Store)
		// fault puts the replica behind the fault proxy.
		fault bool
	}{
		{"EveryBatchTwice", func(t *testing.T, s *dynamo.Store) {
			for _, b := range batches {
				deliver(t, s, records(t, b))
				deliver(t, s, records(t, b))
			}
		}, false},
		{"FaultsRedeliveredFromAnchor", func(t *testing.T, s *dynamo.Store) {
			for _, b := range batches {
				deliver(t, s, records(t, b))
			}
		}, true},
		{"RetryExtendsTheBatch", func(t *testing.T, s *dynamo.Store) {
			// Lambda's retry may carry more records after the same anchor.
			for _, b := range batches {
				half := records(t, b[:len(b)/2+1])
				s.Aggregate(context.Background(), half) // may fail half-way
				deliver(t, s, records(t, b))
			}
		}, true},
		{"ShardsConcurrently", func(t *testing.T, s *dynamo.Store) {
			// Records spread over four shards by partition key (an item's
			// changes stay in order in one shard), each shard delivered on
			// its own, concurrently, in batches of 7.
			shards := make([][]events.DynamoDBEventRecord, 4)
			for _, b := range batches {
				for _, r := range b {
					h := fnv.New32a()
					h.Write([]byte(r.Change.Keys["pk"].String()))
					n := h.Sum32() % 4
					shards[n] = append(shards[n], r)
				}
			}
			var wg sync.WaitGroup
			for _, recs := range shards {
				wg.Go(func() {
					for len(recs) > 0 {
						n := min(7, len(recs))
						deliver(t, s, records(t, recs[:n]))
						recs = recs[n:]
					}
				})
			}
			wg.Wait()
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client := source.Client()
			if tt.fault {
				client = faulty(t)
			}
			replica := replicaOf(t, source, ids, client)
			tt.run(t, replica)
			if got := resultsJSON(t, replica, ids); got != want {
				t.Fatalf("counted\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestAggregateUndecodableRecord: a record no counter can be read from is
// reported (an aggregate_error item, under its sequence number, once) and
// does not hold back the records after it.
func TestAggregateUndecodableRecord(t *testing.T) {
	t.Parallel()
	s := MustStore(t, dynamo.Options{})
	e := MustRunning(t, s, newExperiment("agg-bad"))
	if _, err := s.Assign(t.Context(), e.ID, "ulla", nil); err != nil {
		t.Fatal(err)
	}
	batch := records(t, captureStream(t, s, 100)[0])
	at := time.Now().UTC()
	bad := &stream.Record{Change: stream.Insert, SequenceNumber: stream.PadSequence("1"), StreamedAt: at, New: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "EVENT#x"}, "entity": &types.AttributeValueMemberS{Value: "event"},
		"credits": &types.AttributeValueMemberS{Value: "not a list"},
	}}
	batch = append([]*stream.Record{bad}, batch...)
	for range 2 {
		rep, err := s.Aggregate(t.Context(), batch)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Undecodable) != 1 || rep.Undecodable[0].SequenceNumber != bad.SequenceNumber {
			t.Fatalf("undecodable = %+v, want the bad record", rep.Undecodable)
		}
	}
	stored, err := s.AggregateErrors(t.Context(), at)
	if err != nil || len(stored) != 1 {
		t.Fatalf("aggregate errors = %+v, %v; want one", stored, err)
	}
	res, err := s.Results(t.Context(), e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Variants[0].Participants + res.Variants[1].Participants; n != 1 {
		t.Fatalf("participants = %d, want 1 counted past the bad record", n)
	}
}
