package main

import (
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/refx-dev/refx/pkg/webhook"
)

// Webhook delivery: the aggregator (Access.SendWebhooks) queues one
// message per subscription and event on the webhook queue; the functions
// with Queue set consume it, ten messages a batch, reporting failed
// messages (ReportBatchItemFailures) after hiding them for their backoff
// (pkg/sqs); a message received webhook.DefaultMaxAttempts times moves to
// the webhook DLQ, whose depth raises an alarm.
const (
	webhookBatchSize = 10
	// webhookRetention keeps a message through its attempts (about an
	// hour of backoff in all) with days to spare for an outage.
	webhookRetention = 4 * 24 * time.Hour
)

// webhookConsumeActions are what an SQS event source mapping and the
// handler's ChangeMessageVisibility need of the queue.
var webhookConsumeActions = []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"}

// newWebhookQueue creates the webhook queue and its DLQ, before the
// functions, whose environment names the queue.
func (s *service) newWebhookQueue() {
	dlq := awssqs.NewQueue(s.stack, jsii.String("WebhookDLQ"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		RemovalPolicy:   s.removal(),
	})
	var timeout time.Duration
	for _, f := range functions {
		if f.Queue {
			timeout = max(timeout, f.Timeout)
		}
	}
	s.webhooks = awssqs.NewQueue(s.stack, jsii.String("WebhookQueue"), &awssqs.QueueProps{
		Encryption: awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL: jsii.Bool(true),
		// AWS's advice for a Lambda event source: six times the
		// function's timeout, so that a batch in flight is not offered
		// again while it runs.
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(6 * timeout.Seconds())),
		RetentionPeriod:   awscdk.Duration_Seconds(jsii.Number(webhookRetention.Seconds())),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(webhook.DefaultMaxAttempts)},
		RemovalPolicy:     s.removal(),
	})
	s.dlqs["webhooks"] = dlq
}

// wireWebhooks maps the webhook queue to the functions consuming it.
func (s *service) wireWebhooks() {
	for _, f := range functions {
		if !f.Queue {
			continue
		}
		awslambda.NewEventSourceMapping(s.stack, jsii.String(functionID(f.Name)+"Queue"), &awslambda.EventSourceMappingProps{
			Target:                  s.functions[f.Name],
			EventSourceArn:          s.webhooks.QueueArn(),
			BatchSize:               jsii.Number(webhookBatchSize),
			ReportBatchItemFailures: jsii.Bool(true),
		})
	}
}
