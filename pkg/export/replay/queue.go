package replay

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Queue is the part of the SQS API DrainQueue uses; *sqs.Client implements
// it.
type Queue interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

var _ Queue = (*sqs.Client)(nil)

// Outcome is what became of one DLQ message.
type Outcome struct {
	MessageID string
	// Pointer is the message's pointer, zero when it did not parse.
	Pointer Pointer
	Report  *Report
	// Err is why the message stays in the queue; nil once it was replayed
	// and deleted.
	Err error
}

// DrainQueue replays every message of the export's DLQ (url), deleting a
// message only once its replay succeeded; one that fails stays in the
// queue, offered again after its visibility timeout. It calls progress
// after each message and stops when the queue answers no message, or
// offers again one it has already seen. It returns an error when a
// message failed or SQS did.
func DrainQueue(ctx context.Context, cfg Config, q Queue, url string, progress func(Outcome)) error {
	seen := map[string]bool{}
	failed := 0
	for {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 2})
		if err != nil {
			return fmt.Errorf("replay: receive from %s: %w", url, err)
		}
		again := false
		for _, m := range out.Messages {
			id := aws.ToString(m.MessageId)
			if seen[id] {
				again = true
				continue
			}
			seen[id] = true
			o := Outcome{MessageID: id}
			o.Pointer, o.Err = ParsePointer([]byte(aws.ToString(m.Body)))
			if o.Err == nil {
				o.Report, o.Err = Run(ctx, cfg, o.Pointer)
			}
			if o.Err == nil {
				if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
					o.Err = fmt.Errorf("replayed, but not deleted from the queue: %w", err)
				}
			}
			if o.Err != nil {
				failed++
			}
			progress(o)
		}
		if len(out.Messages) == 0 || again {
			break
		}
	}
	if failed > 0 {
		return fmt.Errorf("replay: %d messages failed and stay in the queue", failed)
	}
	return nil
}
