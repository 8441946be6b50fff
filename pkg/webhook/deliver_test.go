package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/dynamotest"
	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stream"
	"github.com/refx-dev/refx/pkg/webhook"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

// receiver is a real HTTP receiver on loopback answering each request
// with the next of its behaviours (the last repeats), and keeping what it
// received.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	got      []received
	behavior []func(http.ResponseWriter)
}

type received struct {
	id, typ, signature string
	body               []byte
	at                 time.Time
}

func answer(status int) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { w.WriteHeader(status) }
}

// hang answers after the delivery timeout.
func hang(d time.Duration) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { time.Sleep(d); w.WriteHeader(http.StatusOK) }
}

func mustReceiver(tb testing.TB, behavior ...func(http.ResponseWriter)) *receiver {
	tb.Helper()
	r := &receiver{behavior: behavior}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.got)
		r.got = append(r.got, received{req.Header.Get(webhook.IDHeader), req.Header.Get(webhook.TypeHeader), req.Header.Get(webhook.SignatureHeader), body, time.Now()})
		r.mu.Unlock()
		r.behavior[min(n, len(r.behavior)-1)](w)
	}))
	tb.Cleanup(r.Close)
	return r
}

func (r *receiver) received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// pipeline is a store with a subscription, and the local queue delivering
// through a Deliverer.
type pipeline struct {
	store  *dynamo.Store
	hook   *refx.WebhookWithSecret
	queue  *webhook.MemQueue
	react  func(context.Context, []*stream.Record) error
	cancel func()
	done   chan struct{}
}

func mustPipeline(tb testing.TB, url string, maxAttempts int) *pipeline {
	tb.Helper()
	client, table := dynamotest.NewTable(tb)
	store := dynamo.New(client, table, dynamo.Options{})
	ctx := context.Background()
	w, err := refx.NewWebhook{URL: url, Events: []string{refx.EventReferralAttributed, refx.EventRewardApproved}}.Build(time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	if err := store.CreateWebhook(ctx, w); err != nil {
		tb.Fatal(err)
	}
	dir := webhook.NewDirectory(store, time.Minute)
	d := &webhook.Deliverer{Directory: dir, Log: store, Client: webhook.Policy{AllowPrivate: true}.Client(300 * time.Millisecond)}
	q := webhook.NewMemQueue(d.Deliver, webhook.MemOptions{BaseDelay: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond, MaxAttempts: maxAttempts})
	runCtx, cancel := context.WithCancel(ctx)
	p := &pipeline{store: store, hook: &refx.WebhookWithSecret{Webhook: w, Secret: w.Secret}, queue: q, react: webhook.Reactor(dir, q), cancel: cancel, done: make(chan struct{})}
	go func() { defer close(p.done); q.Run(runCtx) }()
	tb.Cleanup(func() { cancel(); <-p.done })
	return p
}

// attributedRecord is the stream record of bob's attribution insert.
func attributedRecord(tb testing.TB) *stream.Record {
	return &stream.Record{Change: stream.Insert, New: attribution(tb, "attributed", nil), SequenceNumber: "0001", StreamedAt: at}
}

func (p *pipeline) waitIdle(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for p.queue.Pending() > 0 {
		if time.Now().After(deadline) {
			tb.Fatalf("queue still has %d messages", p.queue.Pending())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *pipeline) log(tb testing.TB) []*refx.WebhookDelivery {
	tb.Helper()
	page, err := p.store.WebhookDeliveries(context.Background(), p.hook.ID, 50, "")
	if err != nil {
		tb.Fatal(err)
	}
	return page.Deliveries
}

// TestDeliveryRetries: a receiver answering 500, then too late, then 200
// gets the event three times, signed, with one id; the delivery log has
// the three attempts and one success; the same stream batch read again
// sends the same id again (receivers deduplicate).
func TestDeliveryRetries(t *testing.T) {
	t.Parallel()
	rcv := mustReceiver(t, answer(http.StatusInternalServerError), hang(time.Second), answer(http.StatusOK))
	p := mustPipeline(t, rcv.URL+"/hooks", webhook.DefaultMaxAttempts)
	if err := p.react(context.Background(), []*stream.Record{attributedRecord(t)}); err != nil {
		t.Fatal(err)
	}
	p.waitIdle(t)
	got := rcv.received()
	if len(got) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(got))
	}
	for i, r := range got {
		if err := webhook.Verify(p.hook.Secret, r.signature, r.body, webhook.DefaultTolerance, time.Now()); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		var ev refx.WebhookEvent
		if err := json.Unmarshal(r.body, &ev); err != nil {
			t.Fatal(err)
		}
		if r.id != got[0].id || ev.ID != r.id || ev.Type != refx.EventReferralAttributed || r.typ != ev.Type {
			t.Fatalf("request %d: id %s type %s body %s, first id %s", i, r.id, r.typ, r.body, got[0].id)
		}
		if i > 0 && r.at.Sub(got[i-1].at) < 10*time.Millisecond {
			t.Fatalf("attempt %d came %v after the one before: no backoff", i+1, r.at.Sub(got[i-1].at))
		}
	}
	if len(p.queue.DeadLetters()) != 0 {
		t.Fatal("a delivered message was dead-lettered")
	}
	log := p.log(t)
	if len(log) != 3 {
		t.Fatalf("log has %d attempts, want 3: %+v", len(log), log)
	}
	delivered := 0
	for _, d := range log {
		if d.Event != got[0].id || d.Webhook != p.hook.ID {
			t.Fatalf("log entry %+v", d)
		}
		if d.Delivered {
			delivered++
			if d.Attempt != 3 || d.StatusCode != 200 {
				t.Fatalf("success logged as %+v", d)
			}
		}
	}
	// Newest first: 3 (200), 2 (timeout: no status), 1 (500).
	if delivered != 1 || log[0].Attempt != 3 || log[1].StatusCode != 0 || log[1].Error == "" || log[2].StatusCode != 500 {
		t.Fatalf("log %+v", log)
	}

	// The batch redelivered: the same event, the same id, once more.
	if err := p.react(context.Background(), []*stream.Record{attributedRecord(t)}); err != nil {
		t.Fatal(err)
	}
	p.waitIdle(t)
	if again := rcv.received(); len(again) != 4 || again[3].id != got[0].id {
		t.Fatalf("redelivered batch: %d requests, last id %s, want 4 and %s", len(again), again[len(again)-1].id, got[0].id)
	}
}

// TestDeliveryDeadLetter: a receiver that always fails gets MaxAttempts
// attempts, then the message is in the dead letters and the log holds
// every failed attempt.
func TestDeliveryDeadLetter(t *testing.T) {
	t.Parallel()
	rcv := mustReceiver(t, answer(http.StatusServiceUnavailable))
	p := mustPipeline(t, rcv.URL, 3)
	if err := p.react(context.Background(), []*stream.Record{attributedRecord(t)}); err != nil {
		t.Fatal(err)
	}
	p.waitIdle(t)
	dead := p.queue.DeadLetters()
	if len(rcv.received()) != 3 || len(dead) != 1 || dead[0].Webhook != p.hook.ID {
		t.Fatalf("%d requests, dead letters %+v", len(rcv.received()), dead)
	}
	for _, d := range p.log(t) {
		if d.Delivered || d.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("log entry %+v", d)
		}
	}
}

// TestDeliveryRefusesRedirectsAndPrivate: a 3xx is a failed attempt (never
// followed), and the production client refuses a loopback receiver at
// connection time even though its URL passed no check.
func TestDeliveryRefusesRedirectsAndPrivate(t *testing.T) {
	t.Parallel()
	target := mustReceiver(t, answer(http.StatusOK))
	redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	p := mustPipeline(t, redirect.URL, 1)
	if err := p.react(context.Background(), []*stream.Record{attributedRecord(t)}); err != nil {
		t.Fatal(err)
	}
	p.waitIdle(t)
	if len(target.received()) != 0 || len(p.queue.DeadLetters()) != 1 || p.log(t)[0].StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("redirect followed or not failed: %d at target, log %+v", len(target.received()), p.log(t))
	}

	_, err := webhook.Policy{}.Client(time.Second).Post(target.URL, "application/json", nil)
	if err == nil || len(target.received()) != 0 {
		t.Fatalf("production client reached a loopback receiver: %v", err)
	}
}

// TestReactorSkipsUnwanted: a subscription gets only the types it asked
// for.
func TestReactorSkipsUnwanted(t *testing.T) {
	t.Parallel()
	rcv := mustReceiver(t, answer(http.StatusOK))
	p := mustPipeline(t, rcv.URL, 3)
	flagged := &stream.Record{Change: stream.Insert, New: attribution(t, "flagged", nil), StreamedAt: at}
	if err := p.react(context.Background(), []*stream.Record{flagged}); err != nil {
		t.Fatal(err)
	}
	p.waitIdle(t)
	if n := len(rcv.received()); n != 0 {
		t.Fatalf("%d deliveries of an unsubscribed type", n)
	}
}
