package compact

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"

	"github.com/refx-dev/refx/pkg/export"
)

// LambdaHandler builds the scheduled compaction's handler from the
// export's environment (export.LambdaConfigFromEnv: the bucket, the prefix,
// the S3 endpoint), with the default settle, grace, lookback and file size:
// what functions/compact calls at cold start. A partition that failed fails
// the invocation (the function's error alarm), after the others were done.
func LambdaHandler(ctx context.Context, getenv func(string) string) (func(context.Context) (*Report, error), error) {
	env, err := export.LambdaConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	client, err := export.NewS3Client(ctx, env)
	if err != nil {
		return nil, err
	}
	// An hour's rows are held until written as one file: a soft limit of
	// 90% of the function's memory makes the GC work before Lambda kills
	// the function, rather than let garbage double the heap.
	if mb, err := strconv.ParseInt(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), 10, 64); err == nil && mb > 0 {
		debug.SetMemoryLimit(mb << 20 / 10 * 9)
	}
	cfg := Config{
		S3: client, Bucket: env.Bucket, Prefix: env.Prefix,
		Grace: DefaultGrace, Lookback: DefaultLookback,
		Logger: slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: env.LogLevel})),
	}
	return func(ctx context.Context) (*Report, error) {
		rep, err := Run(ctx, cfg)
		if rep != nil {
			cfg.Logger.InfoContext(ctx, "compact: run", "report", rep.String())
		}
		return rep, err
	}, nil
}
