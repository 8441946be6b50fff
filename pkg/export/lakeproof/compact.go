package lakeproof

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/refx-dev/refx/pkg/export/compact"
	"github.com/refx-dev/refx/pkg/s3local"
)

// compactAll runs the compaction over every hour the lake holds, with a
// clock past the last hour's settling time (the proof cannot wait for the
// hours to close) and no grace, so that the superseded files are gone when
// it returns and the inventory counts the compacted lake only.
func compactAll(ctx context.Context, s *Stack, logger *slog.Logger) (*compact.Report, error) {
	inv, err := takeInventory(s.BucketDir)
	if err != nil {
		return nil, err
	}
	var last time.Time
	for _, p := range inv {
		at, err := time.Parse("2006-01-02 15", p.DT+" "+p.Hour)
		if err != nil {
			return nil, fmt.Errorf("lakeproof: partition dt=%s/hour=%s: %w", p.DT, p.Hour, err)
		}
		if at.After(last) {
			last = at
		}
	}
	now := last.Add(time.Hour + compact.DefaultSettle + time.Minute)
	s3c, err := s3local.NewClient(ctx, s.S3Endpoint)
	if err != nil {
		return nil, err
	}
	return compact.Run(ctx, compact.Config{
		S3: s3c, Bucket: s.Bucket, Prefix: Prefix,
		Now: func() time.Time { return now }, Settle: compact.DefaultSettle, Grace: 0, Logger: logger,
	})
}
