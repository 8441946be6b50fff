package dynamo_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/httpapi"
	"github.com/refx-dev/refx/pkg/refx"
)

// BenchmarkTrackThroughput measures events/s through the full HTTP path
// (POST /v1/events on a loopback server: decode, validate, one consistent
// read of the user's items, one conditional put of the event) and through
// the true minimum the store could do for the same event (the same read and
// the same conditional PutItem, built by hand), against the same DynamoDB
// Local with the same concurrency. The phases alternate in ten rounds, so
// that a machine slowing down mid-run weighs on both alike; it reports both
// rates and their ratio. Run it with a fixed count:
//
//	go test -run '^$' -bench TrackThroughput -benchtime 4000x ./pkg/dynamo
func BenchmarkTrackThroughput(b *testing.B) {
	const users, workers, rounds = 200, 16, 10
	ctx := context.Background()
	client, table := dynamotest.NewTable(b)
	s := dynamo.New(client, table, dynamo.Options{})
	n := refx.NewExperiment{
		ID:       "bench",
		Variants: []refx.Variant{{Key: "control", Weight: 1}, {Key: "bold", Weight: 1}},
		Goals:    []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial}},
	}
	exp, err := n.Build(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	if err := s.CreateExperiment(ctx, exp); err != nil {
		b.Fatal(err)
	}
	if exp, err = s.SetStatus(ctx, exp.ID, refx.StatusRunning); err != nil {
		b.Fatal(err)
	}
	variants := make([]string, users)
	for u := range users {
		user := fmt.Sprintf("user-%03d", u)
		a, err := s.Assign(ctx, exp.ID, user, nil)
		if err != nil {
			b.Fatal(err)
		}
		// Every user converts once up front, so that both phases write a
		// plain event: one conditional put, nothing of the user's to update.
		if _, err := s.RecordEvent(ctx, &refx.Event{ID: benchUUID(), Type: "signup", User: user}); err != nil {
			b.Fatal(err)
		}
		variants[u] = a.Variant
	}
	api := httptest.NewServer((&httpapi.Server{Events: s, Keyless: true, Logger: slog.New(slog.DiscardHandler)}).Handler(httpapi.TrackRoutes))
	defer api.Close()
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}

	var sent atomic.Int64
	run := func(count int, send func(i int) error) time.Duration {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range workers {
			wg.Go(func() {
				for k := int(next.Add(1)) - 1; k < count; k = int(next.Add(1)) - 1 {
					if err := send(int(sent.Add(1))); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	viaHTTP := func(i int) error {
		body := fmt.Sprintf(`{"id":%q,"type":"signup","user":%q}`, benchUUID(), fmt.Sprintf("user-%03d", i%users))
		res, err := httpClient.Post(api.URL+"/v1/events", "application/json", strings.NewReader(body))
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusAccepted {
			return fmt.Errorf("status %d", res.StatusCode)
		}
		return nil
	}
	str := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	raw := func(i int) error {
		id := benchUUID()
		user := fmt.Sprintf("user-%03d", i%users)
		// The user's items, read consistently: what credits the event.
		if _, err := client.Query(ctx, &dynamodb.QueryInput{
			TableName: &table, ConsistentRead: aws.Bool(true),
			KeyConditionExpression:    aws.String("pk = :u"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":u": str("USER#" + user)},
		}); err != nil {
			return err
		}
		now := time.Now().UTC()
		event := map[string]types.AttributeValue{
			"pk": str("EVENT#" + id), "sk": str("EVENT"), "entity": str("event"), "id": str(id), "type": str("signup"),
			"user": str(user), "occurred_at": str(now.Format(time.RFC3339Nano)),
			"received_at": str(now.Format(time.RFC3339Nano)), "fingerprint": str(id[:32]),
			"ttl": &types.AttributeValueMemberN{Value: fmt.Sprint(now.Add(time.Hour).Unix())},
			"credits": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"experiment": str(exp.ID), "variant": str(variants[i%users]), "first_conversion": &types.AttributeValueMemberBOOL{Value: false},
			}}}},
		}
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: event, ConditionExpression: aws.String("attribute_not_exists(pk)")})
		return err
	}

	b.ResetTimer()
	var httpTime, rawTime time.Duration
	for r := range rounds {
		count := b.N / rounds
		if r < b.N%rounds {
			count++
		}
		httpTime += run(count, viaHTTP)
		rawTime += run(count, raw)
	}
	b.StopTimer()
	httpRate, rawRate := float64(b.N)/httpTime.Seconds(), float64(b.N)/rawTime.Seconds()
	b.ReportMetric(httpRate, "http_events/s")
	b.ReportMetric(rawRate, "raw_events/s")
	b.ReportMetric(httpRate/rawRate, "http/raw")
	b.ReportMetric(0, "ns/op")
}

func benchUUID() string {
	var b [16]byte
	rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
