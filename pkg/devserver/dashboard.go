package devserver

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/refx-dev/refx/pkg/app"
	"github.com/refx-dev/refx/pkg/dashboard"
)

// startSnapshots does locally what the scheduled snapshot Lambda does in
// AWS: it snapshots every running experiment's results at once (so that a
// fresh stack's charts have a first point), then at every tick of the
// cadence of the period every (default hourly, as deployed: young
// experiments every five minutes). stop ends it and waits, so that no
// snapshot outlives DynamoDB Local.
func startSnapshots(ctx context.Context, s app.Snapshotter, every time.Duration, logger *slog.Logger) (stop func()) {
	if every <= 0 {
		every = app.DefaultSnapshotPeriod
	}
	cadence := app.SnapshotCadence(every)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		take := func(at time.Time) {
			if n, err := s.SnapshotAll(ctx, at, cadence); err != nil && ctx.Err() == nil {
				logger.WarnContext(ctx, "snapshots failed", "at", at, "stored", n, "err", err)
			} else {
				logger.DebugContext(ctx, "snapshots stored", "at", at, "stored", n)
			}
		}
		take(time.Now())
		ticker := time.NewTicker(cadence.Tick())
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case at := <-ticker.C:
				take(at)
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}

// dashboardBanner is the banner's line about the dashboard.
func dashboardBanner(base string) string {
	return fmt.Sprintf("  Dashboard    %s%s   (asks for the admin key once)\n", base, dashboard.PagePath)
}
