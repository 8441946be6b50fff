package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
)

// DeliveryLog records delivery attempts ((*dynamo.Store).LogWebhookDelivery).
type DeliveryLog interface {
	LogWebhookDelivery(ctx context.Context, d *refx.WebhookDelivery) error
}

// DefaultTimeout bounds one delivery attempt.
const DefaultTimeout = 10 * time.Second

// Deliverer makes delivery attempts.
type Deliverer struct {
	Directory *Directory
	Log       DeliveryLog
	// Client sends the requests (default Policy{}.Client(Timeout)).
	Client *http.Client
	Logger *slog.Logger
	Now    func() time.Time
}

// ErrDelivery is what a failed attempt returns, wrapped: the queue should
// try again later.
var ErrDelivery = fmt.Errorf("webhook: delivery failed")

// Deliver makes attempt number attempt (from 1) of m: one signed POST,
// logged. nil when the receiver answered 2xx, or when there is nothing to
// deliver any more (the subscription was deleted, disabled or no longer
// wants the type); an error wrapping ErrDelivery otherwise, for the queue
// to retry. A log that cannot be written fails the attempt too, so that
// the log never misses a success.
func (d *Deliverer) Deliver(ctx context.Context, m Message, attempt int) error {
	subs, err := d.Directory.All(ctx)
	if err != nil {
		return fmt.Errorf("%w: reading subscriptions: %w", ErrDelivery, err)
	}
	w, ok := subs[m.Webhook]
	if !ok || !w.Wants(m.Event.Type) {
		d.logger().InfoContext(ctx, "webhook: dropped, no subscription wants it", "webhook", m.Webhook, "event", m.Event.ID)
		return nil
	}
	body, err := json.Marshal(m.Event)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrDelivery, err)
	}
	start := d.now()
	rec := &refx.WebhookDelivery{Webhook: w.ID, Event: m.Event.ID, Type: m.Event.Type, Attempt: attempt, At: start}
	status, sendErr := d.post(ctx, w, m.Event, body)
	rec.LatencyMS = float64(d.now().Sub(start).Microseconds()) / 1000
	rec.StatusCode = status
	rec.Delivered = sendErr == nil
	if sendErr != nil {
		rec.Error = sendErr.Error()
	}
	if err := d.Log.LogWebhookDelivery(ctx, rec); err != nil {
		return fmt.Errorf("%w: logging the attempt: %w", ErrDelivery, err)
	}
	d.logger().InfoContext(ctx, "webhook: attempt", "webhook", w.ID, "event", m.Event.ID, "type", m.Event.Type,
		"attempt", attempt, "status_code", status, "delivered", rec.Delivered, "latency_ms", rec.LatencyMS, "err", rec.Error)
	if sendErr != nil {
		return fmt.Errorf("%w: %w", ErrDelivery, sendErr)
	}
	return nil
}

func (d *Deliverer) post(ctx context.Context, w *refx.Webhook, ev *refx.WebhookEvent, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "refx-webhooks/1")
	req.Header.Set(SignatureHeader, Sign(w.Secret, d.now(), body))
	req.Header.Set(IDHeader, ev.ID)
	req.Header.Set(TypeHeader, ev.Type)
	client := d.Client
	if client == nil {
		client = Policy{}.Client(DefaultTimeout)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, fmt.Errorf("receiver answered %d", res.StatusCode)
	}
	return res.StatusCode, nil
}

func (d *Deliverer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Deliverer) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}

// Backoff is the wait before attempt+1 after attempt (from 1) failed:
// base·2^(attempt-1) capped at max, of which a random half is jitter, so
// that the retries of many failed messages spread out instead of hitting a
// recovering receiver together.
func Backoff(attempt int, base, max time.Duration) time.Duration {
	d := max
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 32 {
		if e := base << (attempt - 1); e > 0 && e < max {
			d = e
		}
	}
	return d/2 + rand.N(d/2+1)
}
