package webhook

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// MemOptions tune a MemQueue.
type MemOptions struct {
	// BaseDelay and MaxDelay bound the backoff between attempts (defaults
	// 1s and 1m: seconds, locally, where SQS waits minutes).
	BaseDelay, MaxDelay time.Duration
	// MaxAttempts is how many attempts a message gets before the dead
	// letters take it (default 8, as the deployed queue's redrive).
	MaxAttempts int
	// Workers is how many deliveries run at once (default 4).
	Workers int
	Logger  *slog.Logger
}

// DefaultMaxAttempts is the attempts a message gets, locally and on SQS
// (the redrive policy's maxReceiveCount).
const DefaultMaxAttempts = 8

// MemQueue is an in-process queue with the deployed queue's semantics:
// each message is attempted until one succeeds, with exponential backoff
// and jitter between attempts, and moved to the dead letters after
// MaxAttempts failures. Nothing survives a restart: it is for the local
// server and the tests.
type MemQueue struct {
	deliver func(ctx context.Context, m Message, attempt int) error
	opts    MemOptions

	mu      sync.Mutex
	pending []*memEntry
	dead    []Message
	wake    chan struct{}
	busy    int
}

type memEntry struct {
	msg     Message
	attempt int // attempts made
	due     time.Time
}

// NewMemQueue returns a queue handing messages to deliver (a Deliverer's
// Deliver) once Run runs.
func NewMemQueue(deliver func(ctx context.Context, m Message, attempt int) error, opts MemOptions) *MemQueue {
	if opts.BaseDelay <= 0 {
		opts.BaseDelay = time.Second
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = time.Minute
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &MemQueue{deliver: deliver, opts: opts, wake: make(chan struct{}, 1)}
}

// Send queues messages for their first attempt now.
func (q *MemQueue) Send(_ context.Context, msgs []Message) error {
	q.mu.Lock()
	now := time.Now()
	for _, m := range msgs {
		q.pending = append(q.pending, &memEntry{msg: m, due: now})
	}
	q.mu.Unlock()
	q.poke()
	return nil
}

func (q *MemQueue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// DeadLetters returns the messages that failed every attempt.
func (q *MemQueue) DeadLetters() []Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]Message(nil), q.dead...)
}

// Pending is the number of messages waiting or being attempted.
func (q *MemQueue) Pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending) + q.busy
}

// Run delivers until ctx ends, waiting for attempts in flight.
func (q *MemQueue) Run(ctx context.Context) {
	sem := make(chan struct{}, q.opts.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		next := q.takeDue(time.Now())
		for _, e := range next {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				q.attempt(ctx, e)
			}()
		}
		wait := q.untilNext(time.Now())
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		case <-time.After(wait):
		}
	}
}

// takeDue removes the entries due at now from the pending list.
func (q *MemQueue) takeDue(now time.Time) []*memEntry {
	q.mu.Lock()
	defer q.mu.Unlock()
	var due []*memEntry
	kept := q.pending[:0]
	for _, e := range q.pending {
		if !e.due.After(now) {
			due = append(due, e)
		} else {
			kept = append(kept, e)
		}
	}
	q.pending = kept
	q.busy += len(due)
	return due
}

func (q *MemQueue) untilNext(now time.Time) time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	wait := time.Second
	for _, e := range q.pending {
		wait = min(wait, max(e.due.Sub(now), time.Millisecond))
	}
	return wait
}

func (q *MemQueue) attempt(ctx context.Context, e *memEntry) {
	e.attempt++
	err := q.deliver(ctx, e.msg, e.attempt)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.busy--
	switch {
	case err == nil:
	case e.attempt >= q.opts.MaxAttempts:
		q.dead = append(q.dead, e.msg)
		q.opts.Logger.ErrorContext(ctx, "webhook: dead-lettered after every attempt failed",
			"webhook", e.msg.Webhook, "event", e.msg.Event.ID, "attempts", e.attempt, "err", err)
	default:
		e.due = time.Now().Add(Backoff(e.attempt, q.opts.BaseDelay, q.opts.MaxDelay))
		q.pending = append(q.pending, e)
		q.poke()
	}
}
