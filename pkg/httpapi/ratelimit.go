package httpapi

import (
	"math"
	"sync"
	"time"
)

// Rate limits are token buckets held in the function instance's memory:
// checking one writes nothing to DynamoDB, so no request touches an item
// that every request of a key or an address shares (a counter item per key
// would be the hottest item of the table). The price is that each instance
// counts alone: a caller may reach rate × instances. The deployed stack
// bounds the instances of the public functions (reserved concurrency), and
// the stage throttle of API Gateway stays the backstop over all callers.
type rateLimiter struct {
	rate, burst float64
	now         func() time.Time

	mu      sync.Mutex
	buckets map[string]*tokenBucket
}

type tokenBucket struct {
	tokens float64
	last   time.Time
}

// maxBuckets bounds the limiter's memory: past it, buckets that have
// refilled (and so hold no state worth keeping) are dropped.
const maxBuckets = 50_000

// newRateLimiter allows rate requests a second per key, in bursts of up to
// twice that; a rate of zero or less allows everything (nil limiter).
func newRateLimiter(rate float64, now func() time.Time) *rateLimiter {
	if rate <= 0 {
		return nil
	}
	return &rateLimiter{rate: rate, burst: max(2*rate, 1), now: now, buckets: map[string]*tokenBucket{}}
}

// allow takes a token from key's bucket. When there is none, it says how
// long until there is one.
func (l *rateLimiter) allow(key string) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.sweep(now)
		}
		b = &tokenBucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := (1 - b.tokens) / l.rate
	return false, time.Duration(math.Ceil(wait*1e3)) * time.Millisecond
}

// sweep drops the buckets that are full again. If every bucket is busy
// (a flood of distinct keys), it starts over: forgetting state only ever
// lets a few more requests through, and memory stays bounded.
func (l *rateLimiter) sweep(now time.Time) {
	refill := time.Duration(l.burst / l.rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) >= refill {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxBuckets {
		clear(l.buckets)
	}
}
