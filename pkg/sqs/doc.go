// Package sqs carries webhook messages on Amazon SQS: Queue sends what
// the stream reactor queues, and Handler is the delivery Lambda's handler,
// which makes one attempt per received message and, on failure, hides the
// message for the backoff (ChangeMessageVisibility) before SQS offers it
// again; the queue's redrive policy moves it to the dead-letter queue after
// webhook.DefaultMaxAttempts receives.
package sqs
