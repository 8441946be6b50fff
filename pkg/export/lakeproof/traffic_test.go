package lakeproof

import "testing"

// TestPlan: the jobs record exactly n distinct events, with retries,
// batches, referrers and events of no goal among them.
func TestPlan(t *testing.T) {
	for _, n := range []int{100, 101, 800, 10_000} {
		ids := map[string]bool{}
		var retries, batches, friends, pageViews int
		for _, j := range plan(n) {
			if j.Batch {
				batches++
			}
			for _, e := range append(append([]event(nil), j.Events...), j.Friends...) {
				if ids[e.ID] {
					t.Fatalf("n=%d: event id %s planned twice", n, e.ID)
				}
				ids[e.ID] = true
				if e.Retry {
					retries++
				}
				if e.Type == "page_view" {
					pageViews++
				}
			}
			friends += len(j.Friends)
		}
		if len(ids) != n || retries == 0 || batches == 0 || friends == 0 || pageViews == 0 {
			t.Errorf("n=%d: %d events, %d retries, %d batches, %d friends, %d page views", n, len(ids), retries, batches, friends, pageViews)
		}
	}
}
