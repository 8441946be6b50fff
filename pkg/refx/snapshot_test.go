package refx_test

import (
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
)

func TestSnapshotCadence(t *testing.T) {
	hourly := refx.SnapshotCadence{Period: time.Hour, Fine: 5 * time.Minute, Young: 24 * time.Hour}
	started := time.Date(2026, 3, 1, 10, 2, 30, 0, time.UTC)
	at := func(d time.Duration) time.Time { return started.Add(d) }
	for _, tc := range []struct {
		name    string
		cadence refx.SnapshotCadence
		started time.Time
		at      time.Time
		period  time.Time
		due     bool
	}{
		{"YoungFirstTick", hourly, started, at(3 * time.Minute), time.Date(2026, 3, 1, 10, 5, 0, 0, time.UTC), true},
		{"YoungMidHour", hourly, started, at(40 * time.Minute), time.Date(2026, 3, 1, 10, 40, 0, 0, time.UTC), true},
		{"YoungLastTick", hourly, started, at(24*time.Hour - time.Second), time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), true},
		{"OldFirstTickOfHour", hourly, started, time.Date(2026, 3, 2, 11, 3, 0, 0, time.UTC), time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC), true},
		{"OldLaterTick", hourly, started, time.Date(2026, 3, 2, 11, 8, 0, 0, time.UTC), time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC), false},
		{"NoStart", hourly, time.Time{}, time.Date(2026, 3, 2, 11, 4, 59, 0, time.UTC), time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC), true},
		{"NoFine", refx.SnapshotCadence{Period: time.Hour, Young: 24 * time.Hour}, started, at(40 * time.Minute), time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), true},
		{"FineNotShorter", refx.SnapshotCadence{Period: time.Minute, Fine: 5 * time.Minute, Young: time.Hour}, started, at(90 * time.Second), time.Date(2026, 3, 1, 10, 4, 0, 0, time.UTC), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			period, due := tc.cadence.Due(tc.started, tc.at)
			if !period.Equal(tc.period) || due != tc.due {
				t.Errorf("Due(%s, %s) = %s, %v; want %s, %v", tc.started, tc.at, period, due, tc.period, tc.due)
			}
		})
	}
}

// TestSnapshotCadenceOnePerPeriod runs a schedule that ticks at an offset
// from the clock (as an EventBridge rate does) for two days over an
// experiment: every tick of its first day takes a snapshot of its own
// period, and after that every hour gets exactly one.
func TestSnapshotCadenceOnePerPeriod(t *testing.T) {
	c := refx.SnapshotCadence{Period: time.Hour, Fine: 5 * time.Minute, Young: 24 * time.Hour}
	if c.Tick() != 5*time.Minute {
		t.Fatalf("Tick = %s", c.Tick())
	}
	started := time.Date(2026, 3, 1, 10, 2, 30, 0, time.UTC)
	taken := map[time.Time]int{}
	young, old := 0, 0
	for at := started.Add(137 * time.Second); at.Before(started.Add(48 * time.Hour)); at = at.Add(c.Tick()) {
		period, due := c.Due(started, at)
		if !due {
			continue
		}
		taken[period]++
		if at.Sub(started) < c.Young {
			young++
		} else {
			old++
		}
	}
	if young != 288 {
		t.Errorf("%d snapshots in the first day, want one per 5 minutes (288)", young)
	}
	if old < 23 || old > 24 {
		t.Errorf("%d snapshots in the second day, want one per hour", old)
	}
	for period, n := range taken {
		if n != 1 {
			t.Errorf("period %s snapshotted %d times", period, n)
		}
	}
}
