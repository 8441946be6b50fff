package sqs_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/refx"
	refxsqs "github.com/refx-dev/refx/pkg/sqs"
	"github.com/refx-dev/refx/pkg/webhook"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

// recordingSQS stands in for the SQS API (not DynamoDB: no emulator runs
// here), recording the calls and refusing the entries it is told to.
type recordingSQS struct {
	mu      sync.Mutex
	batches [][]types.SendMessageBatchRequestEntry
	hidden  map[string]int32 // receipt handle -> visibility timeout
	refuse  bool
}

func (f *recordingSQS) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batches = append(f.batches, in.Entries)
	out := &sqs.SendMessageBatchOutput{}
	if f.refuse {
		out.Failed = []types.BatchResultErrorEntry{{Id: in.Entries[0].Id, Code: aws.String("InternalError"), Message: aws.String("try again")}}
	}
	return out, nil
}

func (f *recordingSQS) ChangeMessageVisibility(_ context.Context, in *sqs.ChangeMessageVisibilityInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hidden[aws.ToString(in.ReceiptHandle)] = in.VisibilityTimeout
	return &sqs.ChangeMessageVisibilityOutput{}, nil
}

func message(tb testing.TB, hook, id string) webhook.Message {
	return webhook.Message{Webhook: hook, Event: &refx.WebhookEvent{ID: id, Type: refx.EventRewardApproved, CreatedAt: time.Now().UTC(), Data: json.RawMessage(`{}`)}}
}

func TestQueueSend(t *testing.T) {
	t.Parallel()
	f := &recordingSQS{hidden: map[string]int32{}}
	q := &refxsqs.Queue{Client: f, URL: "https://sqs.example/q"}
	var msgs []webhook.Message
	for i := range 23 {
		msgs = append(msgs, message(t, "wh_a", "evt_"+string(rune('a'+i))))
	}
	if err := q.Send(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	if len(f.batches) != 3 || len(f.batches[0]) != 10 || len(f.batches[2]) != 3 {
		t.Fatalf("batches of %d, %d, ...", len(f.batches[0]), len(f.batches[len(f.batches)-1]))
	}
	var back webhook.Message
	if err := json.Unmarshal([]byte(aws.ToString(f.batches[2][2].MessageBody)), &back); err != nil || back.Event.ID != msgs[22].Event.ID {
		t.Fatalf("body %s: %v", aws.ToString(f.batches[2][2].MessageBody), err)
	}
	f.refuse = true
	if err := q.Send(context.Background(), msgs[:1]); err == nil {
		t.Fatal("a refused entry did not fail the send")
	}
}

// TestHandlerReportsFailures: of a batch, the message whose receiver
// fails is reported and hidden for its backoff (by its receive count), the
// delivered one is not, and an unreadable body is dropped.
func TestHandlerReportsFailures(t *testing.T) {
	t.Parallel()
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(ok.Close)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	t.Cleanup(failing.Close)
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table, dynamo.Options{})
	hooks := map[string]string{}
	for name, url := range map[string]string{"ok": ok.URL, "failing": failing.URL} {
		w, err := refx.NewWebhook{URL: url, Events: []string{refx.EventRewardApproved}}.Build(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := store.CreateWebhook(context.Background(), w); err != nil {
			t.Fatal(err)
		}
		hooks[name] = w.ID
	}
	f := &recordingSQS{hidden: map[string]int32{}}
	h := &refxsqs.Handler{
		Deliverer: &webhook.Deliverer{Directory: webhook.NewDirectory(store, 0), Log: store, Client: webhook.Policy{AllowPrivate: true}.Client(time.Second)},
		Client:    f, URL: "https://sqs.example/q",
	}
	body := func(m webhook.Message) string { b, _ := json.Marshal(m); return string(b) }
	ev := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "m1", ReceiptHandle: "r1", Body: body(message(t, hooks["ok"], "evt_one")), Attributes: map[string]string{"ApproximateReceiveCount": "1"}},
		{MessageId: "m2", ReceiptHandle: "r2", Body: body(message(t, hooks["failing"], "evt_two")), Attributes: map[string]string{"ApproximateReceiveCount": "5"}},
		{MessageId: "m3", ReceiptHandle: "r3", Body: `not json`},
	}}
	resp, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m2" {
		t.Fatalf("failures %+v", resp.BatchItemFailures)
	}
	// Attempt 5: 30 s · 2⁴ = 8 min, half of it jitter.
	if v, hid := f.hidden["r2"]; !hid || v < 240 || v > 480 || len(f.hidden) != 1 {
		t.Fatalf("hidden %v", f.hidden)
	}
	page, err := store.WebhookDeliveries(context.Background(), hooks["failing"], 10, "")
	if err != nil || len(page.Deliveries) != 1 || page.Deliveries[0].Attempt != 5 || page.Deliveries[0].StatusCode != http.StatusBadGateway {
		t.Fatalf("log %+v %v", page, err)
	}
}
