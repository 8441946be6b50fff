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
// (POST /v1/events on a loopback server: decode, validate, read the user's
// assignments, one transaction) and through raw TransactWriteItems calls
// carrying the same items, against the same DynamoDB Local with the same
// concurrency, and reports both and their ratio. Run it with a fixed count:
//
//	go test -run '^$' -bench TrackThroughput -benchtime 3000x ./pkg/dynamo
func BenchmarkTrackThroughput(b *testing.B) {
	const users, workers = 200, 16
	ctx := context.Background()
	client, table := dynamotest.NewTable(b)
	s := dynamo.New(client, table, dynamo.Options{})
	n := refx.NewExperiment{
		ID:       "bench",
		Variants: []refx.Variant{{Key: "control", Weight: 1}, {Key: "bold", Weight: 1}},
		Goals:    []refx.Goal{{Key: "purchase", Kind: refx.GoalValue}},
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
		a, err := s.Assign(ctx, exp.ID, user)
		if err != nil {
			b.Fatal(err)
		}
		// Every user converts once up front, so both phases write the same
		// steady-state transaction: event, experiment check, counter.
		if _, err := s.RecordEvent(ctx, &refx.Event{ID: benchUUID(), Type: "purchase", User: user}); err != nil {
			b.Fatal(err)
		}
		variants[u] = a.Variant
	}
	api := httptest.NewServer((&httpapi.Server{Events: s, Logger: slog.New(slog.DiscardHandler)}).Handler(httpapi.TrackRoutes))
	defer api.Close()
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}

	run := func(send func(i int) error) float64 {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range workers {
			wg.Go(func() {
				for i := int(next.Add(1)) - 1; i < b.N; i = int(next.Add(1)) - 1 {
					if err := send(i); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return float64(b.N) / time.Since(start).Seconds()
	}

	b.ResetTimer()
	httpRate := run(func(i int) error {
		body := fmt.Sprintf(`{"id":%q,"type":"purchase","user":%q,"value":12.34}`, benchUUID(), fmt.Sprintf("user-%03d", i%users))
		res, err := httpClient.Post(api.URL+"/v1/events", "application/json", strings.NewReader(body))
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusAccepted {
			return fmt.Errorf("status %d", res.StatusCode)
		}
		return nil
	})
	// The raw phase writes what the HTTP path's transaction writes, built
	// by hand: the event item, the experiment check, the counter update and
	// the user's value total.
	rawRate := run(func(i int) error {
		id := benchUUID()
		user := fmt.Sprintf("user-%03d", i%users)
		now := time.Now().UTC()
		s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
		num := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
		event := map[string]types.AttributeValue{
			"pk": s("EVENT#" + id), "sk": s("EVENT"), "entity": s("event"), "id": s(id), "type": s("purchase"),
			"user": s(user), "value": num("12.34"), "occurred_at": s(now.Format(time.RFC3339Nano)),
			"received_at": s(now.Format(time.RFC3339Nano)), "fingerprint": s(id[:32]),
			"ttl": num(fmt.Sprint(now.Add(time.Hour).Unix())),
			"credits": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"experiment": s(exp.ID), "variant": s(variants[i%users]), "first_conversion": &types.AttributeValueMemberBOOL{Value: false},
			}}}},
		}
		_, err := client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: &table, Item: event, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
			{ConditionCheck: &types.ConditionCheck{
				TableName: &table, Key: map[string]types.AttributeValue{"pk": s("EXP#" + exp.ID), "sk": s("META")},
				ConditionExpression:       aws.String("#status = :running"),
				ExpressionAttributeNames:  map[string]string{"#status": "status"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":running": s("running")},
			}},
			{Update: &types.Update{
				TableName: &table,
				Key: map[string]types.AttributeValue{
					"pk": s(fmt.Sprintf("COUNT#%s#%03d", exp.ID, i%exp.CounterShards)),
					"sk": s("VARIANT#" + variants[i%users] + "#GOAL#purchase"),
				},
				UpdateExpression: aws.String("ADD events :one, value_sum :v, value_sum_sq :v2, value_participant_sum_sq :v2 SET entity = :e, experiment = :x, variant = :var, goal = :g"),
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":one": num("1"), ":v": num("12.34"), ":v2": num("152.2756"), ":e": s("counter"),
					":x": s(exp.ID), ":var": s(variants[i%users]), ":g": s("purchase"),
				},
			}},
			// The user's running value total, which the per-participant sum
			// of squares is computed from.
			{Update: &types.Update{
				TableName:                 &table,
				Key:                       map[string]types.AttributeValue{"pk": s("USER#" + user), "sk": s("ASSIGN#" + exp.ID)},
				UpdateExpression:          aws.String("ADD vt_purchase :v"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": num("12.34")},
			}},
		}})
		return err
	})
	b.StopTimer()
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
