package sqs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/refx-dev/refx/pkg/webhook"
)

// API is the part of the SQS client used here.
type API interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

var _ API = (*sqs.Client)(nil)

// Backoff bounds on SQS: 30 s after the first failure, doubling, at most
// an hour (with jitter); maxVisibility is SQS's own limit.
const (
	BaseDelay     = 30 * time.Second
	MaxDelay      = time.Hour
	maxVisibility = 12 * time.Hour
	// batchSize is SendMessageBatch's limit.
	batchSize = 10
)

// Queue sends webhook messages to an SQS queue.
type Queue struct {
	Client API
	URL    string
}

var _ webhook.Queue = (*Queue)(nil)

// Send sends msgs in batches of ten. Any entry SQS refuses fails the call,
// so that the stream batch is delivered again: entries already sent are
// sent again then, which receivers deduplicate by event id.
func (q *Queue) Send(ctx context.Context, msgs []webhook.Message) error {
	for start := 0; start < len(msgs); start += batchSize {
		chunk := msgs[start:min(start+batchSize, len(msgs))]
		entries := make([]types.SendMessageBatchRequestEntry, len(chunk))
		for i, m := range chunk {
			body, err := json.Marshal(m)
			if err != nil {
				return fmt.Errorf("sqs.Send: %w", err)
			}
			entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body))}
		}
		out, err := q.Client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: entries})
		if err != nil {
			return fmt.Errorf("sqs.Send: %w", err)
		}
		if len(out.Failed) > 0 {
			f := out.Failed[0]
			return fmt.Errorf("sqs.Send: %d of %d messages refused, first: %s %s", len(out.Failed), len(entries), aws.ToString(f.Code), aws.ToString(f.Message))
		}
	}
	return nil
}

// Handler is the delivery Lambda's handler.
type Handler struct {
	Deliverer *webhook.Deliverer
	Client    API
	// URL is the queue's URL, for ChangeMessageVisibility.
	URL    string
	Logger *slog.Logger
}

// Handle attempts every message of the batch at once and reports the
// failed ones (ReportBatchItemFailures), each hidden for its backoff
// first: the attempt number is the message's ApproximateReceiveCount, so a
// message SQS offers again after a crash counts that receive too. A body
// that is no message is logged and dropped: no retry can make it one.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var (
		resp events.SQSEventResponse
		mu   sync.Mutex
		wg   sync.WaitGroup
	)
	for _, rec := range ev.Records {
		var m webhook.Message
		if err := json.Unmarshal([]byte(rec.Body), &m); err != nil || m.Event == nil || m.Webhook == "" {
			h.logger().ErrorContext(ctx, "webhook: dropping a message that is not one", "message_id", rec.MessageId, "err", err)
			continue
		}
		attempt, err := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
		if err != nil || attempt < 1 {
			attempt = 1
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.Deliverer.Deliver(ctx, m, attempt); err == nil {
				return
			}
			h.hide(ctx, rec.ReceiptHandle, webhook.Backoff(attempt, BaseDelay, MaxDelay))
			mu.Lock()
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
			mu.Unlock()
		}()
	}
	wg.Wait()
	return resp, nil
}

// hide delays a failed message's next receive by d. If it cannot, the
// message comes back after the queue's visibility timeout instead: sooner,
// never lost.
func (h *Handler) hide(ctx context.Context, receipt string, d time.Duration) {
	_, err := h.Client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(h.URL), ReceiptHandle: aws.String(receipt), VisibilityTimeout: int32(min(d, maxVisibility) / time.Second),
	})
	if err != nil {
		h.logger().WarnContext(ctx, "webhook: could not delay a failed message; it returns after the queue's visibility timeout", "err", err)
	}
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}
