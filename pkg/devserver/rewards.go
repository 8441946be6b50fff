package devserver

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/refx-dev/refx/pkg/app"
)

// holdReleaseEvery is how often the local server releases reward holds
// that ended: every few seconds, so that a demo with a short hold shows
// rewards moving to approved (the deployment does it every
// app.RewardHoldInterval).
const holdReleaseEvery = 5 * time.Second

// startHoldRelease approves, every holdReleaseEvery until stop, the
// pending rewards whose hold has ended, as the rewards function does.
func startHoldRelease(ctx context.Context, s app.HoldReleaser, logger *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		ticker := time.NewTicker(holdReleaseEvery)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case at := <-ticker.C:
				if n, err := s.ReleaseHolds(ctx, at); err != nil && ctx.Err() == nil {
					logger.WarnContext(ctx, "reward holds not released", "err", err)
				} else if n > 0 {
					logger.InfoContext(ctx, "reward holds released", "released", n)
				}
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}
