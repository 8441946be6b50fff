package webhook

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stream"
)

// Subscriptions reads every subscription with its secret
// ((*dynamo.Store).WebhookTargets).
type Subscriptions interface {
	WebhookTargets(ctx context.Context) ([]*refx.Webhook, error)
}

// DefaultCacheTTL is how long a Directory keeps what it read: a new
// subscription gets events, a deleted one stops getting them, within it.
const DefaultCacheTTL = 10 * time.Second

// Directory is a short cache of the subscriptions, so that neither the
// reactor nor the worker reads them per record or per message.
type Directory struct {
	src Subscriptions
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	subs map[string]*refx.Webhook
	read time.Time
}

// NewDirectory caches src for ttl (DefaultCacheTTL when 0).
func NewDirectory(src Subscriptions, ttl time.Duration) *Directory {
	if ttl <= 0 {
		ttl = DefaultCacheTTL
	}
	return &Directory{src: src, ttl: ttl, now: time.Now}
}

// All returns the subscriptions by id, read again when the cache is older
// than its ttl.
func (d *Directory) All(ctx context.Context) (map[string]*refx.Webhook, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.subs != nil && d.now().Sub(d.read) < d.ttl {
		return d.subs, nil
	}
	hooks, err := d.src.WebhookTargets(ctx)
	if err != nil {
		return nil, err
	}
	subs := make(map[string]*refx.Webhook, len(hooks))
	for _, h := range hooks {
		subs[h.ID] = h
	}
	d.subs, d.read = subs, d.now()
	return subs, nil
}

// Message is one event for one subscription: what a queue carries. The
// secret and URL are read when it is delivered, so that a rotation or a
// changed URL applies to messages already queued.
type Message struct {
	Webhook string             `json:"webhook"`
	Event   *refx.WebhookEvent `json:"event"`
}

// Queue takes messages for delivery. Send must not return before the
// messages are durable in the queue.
type Queue interface {
	Send(ctx context.Context, msgs []Message) error
}

// Reactor returns the stream reactor that queues the events of each batch
// for every subscription wanting them. It is idempotent in effect: a batch
// delivered again queues the same events, with the same ids, again, and
// receivers deduplicate on them (at least once). An error fails the batch,
// which the aggregator's caller delivers again.
func Reactor(dir *Directory, q Queue) func(context.Context, []*stream.Record) error {
	return func(ctx context.Context, records []*stream.Record) error {
		events, err := Events(records)
		if err != nil || len(events) == 0 {
			return err
		}
		subs, err := dir.All(ctx)
		if err != nil {
			return fmt.Errorf("webhook.Reactor: %w", err)
		}
		var msgs []Message
		for _, ev := range events {
			for _, w := range subs {
				if w.Wants(ev.Type) {
					msgs = append(msgs, Message{Webhook: w.ID, Event: ev})
				}
			}
		}
		if len(msgs) == 0 {
			return nil
		}
		if err := q.Send(ctx, msgs); err != nil {
			return fmt.Errorf("webhook.Reactor: %w", err)
		}
		return nil
	}
}
