package devserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stream"
	"github.com/refx-dev/refx/pkg/webhook"
)

// WebhookReceiverPath is the local receiver: the demo's subscription
// delivers there, POST verifies and keeps an event, GET lists the last
// ones (newest first) for the demo page.
const WebhookReceiverPath = "/dev/webhook-receiver"

// receiverKeep is how many events the local receiver remembers.
const receiverKeep = 50

// devWebhooks runs webhook delivery in process, as the deployed queue and
// Lambda do (retries with backoff, dead letters), and the local receiver.
type devWebhooks struct {
	store   *dynamo.Store
	reactor func(context.Context, []*stream.Record) error
	stop    func()

	mu       sync.Mutex
	received []ReceivedWebhook
}

// ReceivedWebhook is one delivery the local receiver took.
type ReceivedWebhook struct {
	ID         string             `json:"id"`
	Type       string             `json:"type"`
	Verified   bool               `json:"verified"`
	ReceivedAt time.Time          `json:"received_at"`
	Event      *refx.WebhookEvent `json:"event,omitempty"`
}

// startWebhooks starts the local delivery queue and subscribes the local
// receiver of baseURL to every event type, unless a subscription already
// targets it. Backoff is in seconds here, where SQS waits minutes.
func startWebhooks(ctx context.Context, store *dynamo.Store, baseURL string, logger *slog.Logger) (*devWebhooks, error) {
	if err := subscribeReceiver(ctx, store, baseURL+WebhookReceiverPath); err != nil {
		return nil, err
	}
	dir := webhook.NewDirectory(store, 2*time.Second)
	d := &webhook.Deliverer{Directory: dir, Log: store, Logger: logger,
		Client: webhook.Policy{AllowPrivate: true}.Client(webhook.DefaultTimeout)}
	q := webhook.NewMemQueue(d.Deliver, webhook.MemOptions{Logger: logger})
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); q.Run(runCtx) }()
	return &devWebhooks{store: store, reactor: webhook.Reactor(dir, q), stop: func() { cancel(); <-done }}, nil
}

func subscribeReceiver(ctx context.Context, store *dynamo.Store, url string) error {
	hooks, err := store.WebhookTargets(ctx)
	if err != nil {
		return err
	}
	for _, h := range hooks {
		if h.URL == url {
			return nil
		}
	}
	w, err := refx.NewWebhook{URL: url, Events: refx.WebhookEventTypes, Description: "the local receiver (./scripts/dev)"}.Build(time.Now())
	if err != nil {
		return err
	}
	return store.CreateWebhook(ctx, w)
}

// receive is the local receiver. A delivery is verified as a shop's
// backend would (webhook.Verify), against the secrets of the
// subscriptions targeting this receiver; an unverified one is answered
// 400 and kept, marked, so that the demo shows it. It is a method value,
// not an http.Handler: the infra's grant analysis follows ServeHTTP calls
// to every implementation, and the deployed functions never serve this.
func (h *devWebhooks) receive(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		h.mu.Lock()
		list := append([]ReceivedWebhook{}, h.received...)
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]any{"events": list})
		return
	}
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	got := ReceivedWebhook{ID: r.Header.Get(webhook.IDHeader), Type: r.Header.Get(webhook.TypeHeader), ReceivedAt: time.Now().UTC()}
	hooks, err := h.store.WebhookTargets(r.Context())
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	for _, hook := range hooks {
		if webhook.Verify(hook.Secret, r.Header.Get(webhook.SignatureHeader), body, webhook.DefaultTolerance, time.Now()) == nil {
			got.Verified = true
			break
		}
	}
	var ev refx.WebhookEvent
	if json.Unmarshal(body, &ev) == nil {
		got.Event = &ev
	}
	h.mu.Lock()
	h.received = append([]ReceivedWebhook{got}, h.received[:min(len(h.received), receiverKeep-1)]...)
	h.mu.Unlock()
	if !got.Verified {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// withWebhookReceiver serves the local receiver at WebhookReceiverPath and
// everything else with next.
func withWebhookReceiver(next http.Handler, receiver http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == WebhookReceiverPath {
			receiver.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// webhooksBanner describes the local webhook delivery for the banner.
func webhooksBanner(baseURL string) string {
	return "  Webhooks     signed, retried in process; the local receiver keeps the last " + fmt.Sprint(receiverKeep) + ": " + baseURL + WebhookReceiverPath + "\n"
}
