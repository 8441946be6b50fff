package dynamo

import (
	"sync"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
)

// experimentCache keeps experiments read recently, so that the hot paths
// (assign, events) do not read the experiment on every request. Entries are
// only kept for experiments that have started (Status.Launched: one that has
// not may start at any moment), and every write that relies on one is conditioned on the
// experiment's real status, so a stale entry costs a retry, never a wrong
// count.
type experimentCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	now     func() time.Time
	entries map[string]cacheEntry
}

type cacheEntry struct {
	experiment *refx.Experiment
	fetchedAt  time.Time
}

func newExperimentCache(ttl time.Duration, now func() time.Time) *experimentCache {
	return &experimentCache{ttl: ttl, now: now, entries: map[string]cacheEntry{}}
}

// get returns a fresh cached experiment, or nil.
func (c *experimentCache) get(id string) *refx.Experiment {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || c.now().Sub(e.fetchedAt) > c.ttl {
		return nil
	}
	return e.experiment
}

func (c *experimentCache) put(e *refx.Experiment) {
	if !e.Status.Launched() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[e.ID] = cacheEntry{experiment: e, fetchedAt: c.now()}
}

func (c *experimentCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, id)
}
