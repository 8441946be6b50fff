package main

import (
	"maps"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/refx-dev/refx/pkg/webhook"
)

// TestWebhookQueue checks the webhook queue's settings, which the delivery
// guarantees rest on (webhooks.go, pkg/sqs): a message survives its
// attempts' backoff, is not offered again while a batch runs, and after
// webhook.DefaultMaxAttempts receives moves to the DLQ, whose depth raises
// an alarm; the webhooks function consumes it in batches, reporting the
// messages it failed.
func TestWebhookQueue(t *testing.T) {
	s := mustSynth(t, devContext)
	queues := s.resources("AWS::SQS::Queue")
	queue := s.logicalID(t, "AWS::SQS::Queue", "WebhookQueue")
	dlq := s.logicalID(t, "AWS::SQS::Queue", "WebhookDLQ")
	fn, ok := functionByName("webhooks")
	if !ok || !fn.Queue {
		t.Fatal("no queue function webhooks in infra/functions.go")
	}
	want := map[string]map[string]any{
		queue: {
			"SqsManagedSseEnabled":   true,
			"VisibilityTimeout":      6 * fn.Timeout.Seconds(),
			"MessageRetentionPeriod": (4 * 24 * time.Hour).Seconds(),
			"RedrivePolicy": map[string]any{
				"deadLetterTargetArn": getAtt(dlq, "Arn"), "maxReceiveCount": float64(webhook.DefaultMaxAttempts),
			},
		},
		dlq: {"SqsManagedSseEnabled": true, "MessageRetentionPeriod": (14 * 24 * time.Hour).Seconds()},
	}
	for id, w := range want {
		got := withoutTags(props(queues[id]))
		if canonical(got) != canonical(w) {
			t.Errorf("queue %s:\n got %s\nwant %s", id, canonical(got), canonical(w))
		}
		check(t, id+" TLS", func() {
			s.tmpl.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), &map[string]any{
				"Queues": []any{ref(id)},
				"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
					"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
				})})},
			})
		})
	}

	var mappings []map[string]any
	for _, m := range s.resources("AWS::Lambda::EventSourceMapping") {
		if canonical(props(m)["EventSourceArn"]) == canonical(getAtt(queue, "Arn")) {
			mappings = append(mappings, withoutTags(props(m)))
		}
	}
	wantMapping := map[string]any{
		"FunctionName":          ref(s.logicalID(t, "AWS::Lambda::Function", "WebhooksFunction")),
		"EventSourceArn":        getAtt(queue, "Arn"),
		"BatchSize":             float64(webhookBatchSize),
		"FunctionResponseTypes": []any{"ReportBatchItemFailures"},
	}
	if len(mappings) != 1 || canonical(mappings[0]) != canonical(wantMapping) {
		t.Errorf("the queue's mappings: %s, want one: %s", canonical(mappings), canonical(wantMapping))
	}

	alarm := props(s.resources("AWS::CloudWatch::Alarm")[s.logicalID(t, "AWS::CloudWatch::Alarm", "WebhooksDLQDepthAlarm")])
	if d := canonical(alarm["Dimensions"]); d != canonical([]any{map[string]any{"Name": "QueueName", "Value": getAtt(dlq, "QueueName")}}) {
		t.Errorf("WebhooksDLQDepth alarm watches %s, want the webhook DLQ", d)
	}
}

// withoutTags is p without the stack's tags, which every resource carries.
func withoutTags(p map[string]any) map[string]any {
	out := maps.Clone(p)
	delete(out, "Tags")
	return out
}
