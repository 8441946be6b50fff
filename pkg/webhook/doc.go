// Package webhook tells shops' backends what happened to their referrals,
// in the style of Stripe's webhooks: events derived from the table's
// stream (Reactor), one queued message per subscription and event, POSTed
// signed (Sign, Verify) by a Deliverer that a queue retries with
// exponential backoff until a dead-letter queue takes the message: SQS
// deployed (pkg/sqs), MemQueue in the local server and the tests.
//
// Delivery is at least once: a stream batch read again, or a receiver that
// answers after the timeout, sends an event again with the same id (the
// Refx-Webhook-Id header), on which receivers deduplicate.
package webhook
