package compact

import (
	"context"
	"log/slog"
	"os"

	"github.com/refx-dev/refx/pkg/export"
)

// Handler is the scheduled compaction Lambda's handler.
type Handler struct {
	cfg Config
}

// LambdaHandler builds the handler from the export's environment
// (export.LambdaConfigFromEnv: the bucket, the prefix, the S3 endpoint),
// with the default settle, grace, lookback and file size: what
// functions/compact calls at cold start.
func LambdaHandler(ctx context.Context, getenv func(string) string) (*Handler, error) {
	cfg, err := export.LambdaConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	client, err := export.NewS3Client(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Handler{cfg: Config{
		S3: client, Bucket: cfg.Bucket, Prefix: cfg.Prefix,
		Grace: DefaultGrace, Lookback: DefaultLookback,
		Logger: slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel})),
	}}, nil
}

// Handle runs one compaction. A partition that failed fails the
// invocation (the function's error alarm), after the others were done.
func (h *Handler) Handle(ctx context.Context) (*Report, error) {
	rep, err := Run(ctx, h.cfg)
	if rep != nil {
		h.cfg.Logger.InfoContext(ctx, "compact: run", "report", rep.String())
	}
	return rep, err
}
