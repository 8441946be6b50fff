package dynamo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/refx-dev/refx/pkg/refx"
)

// Compile-time checks that Store implements the domain services.
var (
	_ refx.ExperimentService = (*Store)(nil)
	_ refx.AssignmentService = (*Store)(nil)
	_ refx.EventService      = (*Store)(nil)
	_ refx.ResultsService    = (*Store)(nil)
)

// Options tune a Store. Zero fields take the defaults.
type Options struct {
	// IdempotencyTTL is how long an event id is remembered (default 7 days).
	IdempotencyTTL time.Duration
	// UserTTL is how long per-user items live after they are written
	// (assignments, referral codes and pointers, clicks, visitor marks,
	// attributions, refusals): DynamoDB's TTL then deletes them, changing
	// no counter. It must outlast the experiments they belong to: an
	// assignment that expires while its experiment still runs lets the
	// user be enrolled again (default DefaultUserTTL).
	UserTTL time.Duration
	// ExperimentCacheTTL bounds how long a running experiment's configuration
	// is reused without a read. Writes stay exact regardless: they carry a
	// condition on the experiment's status and version, and a stale cache
	// entry only costs a retry (default 5s).
	ExperimentCacheTTL time.Duration
	// BlockCacheTTL bounds how long this process reuses what it read of a
	// code's and its referrer's blocks: a new block or a lifted one acts
	// on the click and signup paths within this time (default 30s).
	BlockCacheTTL time.Duration
	// RetryAttempts bounds the attempts at a contended or throttled write
	// before the request fails with EUNAVAILABLE (default 8).
	RetryAttempts int
	// RetryBaseDelay and RetryMaxDelay shape the jittered exponential backoff
	// between attempts (defaults 10ms and 400ms).
	RetryBaseDelay, RetryMaxDelay time.Duration
	// Lamed bounds the namespaces, experiments, variants and goals of
	// Alephbet/Lamed clients (zero bounds take refx's defaults).
	Lamed refx.LamedLimits
	// RequireApproval refuses to start an experiment that was not approved
	// (refx.Policy): the deployment's REFX_REQUIRE_APPROVAL.
	RequireApproval bool
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives warnings (default slog.Default()).
	Logger *slog.Logger
}

// DefaultIdempotencyTTL is how long event ids are remembered by default.
const DefaultIdempotencyTTL = 7 * 24 * time.Hour

// DefaultUserTTL is how long per-user items live by default: 400 days, a
// year-long experiment and its analysis, with a month to spare.
const DefaultUserTTL = 400 * 24 * time.Hour

func (o Options) withDefaults() Options {
	if o.IdempotencyTTL <= 0 {
		o.IdempotencyTTL = DefaultIdempotencyTTL
	}
	if o.UserTTL <= 0 {
		o.UserTTL = DefaultUserTTL
	}
	if o.ExperimentCacheTTL <= 0 {
		o.ExperimentCacheTTL = 5 * time.Second
	}
	if o.BlockCacheTTL <= 0 {
		o.BlockCacheTTL = 30 * time.Second
	}
	if o.RetryAttempts <= 0 {
		o.RetryAttempts = 8
	}
	if o.RetryBaseDelay <= 0 {
		o.RetryBaseDelay = 10 * time.Millisecond
	}
	if o.RetryMaxDelay <= 0 {
		o.RetryMaxDelay = 400 * time.Millisecond
	}
	o.Lamed = o.Lamed.WithDefaults()
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Store implements the refx services on one DynamoDB table.
type Store struct {
	client *dynamodb.Client
	table  *string
	opts   Options
	cache  *experimentCache
	blocks *blockCache
	// lamedSeen remembers the Lamed (experiment, variant, event) triples
	// this process has registered.
	lamedSeen sync.Map
	// lamedFull remembers for a while the Lamed experiments and namespaces
	// found full (lamedFull values by experiment id or namespace key), so
	// that clients repeating a refused call cost no write.
	lamedFull sync.Map
	// chunkItems is the most counter items one aggregator transaction
	// updates (maxChunkItems; tests lower it to split batches).
	chunkItems int
	// lamedPageSize is the most experiments of a LamedExperiments page
	// (maxLamedPageSize; tests lower it).
	lamedPageSize int
}

// New returns a Store on the named table.
func New(client *dynamodb.Client, table string, opts Options) *Store {
	opts = opts.withDefaults()
	return &Store{client: client, table: aws.String(table), opts: opts, cache: newExperimentCache(opts.ExperimentCacheTTL, opts.Now), blocks: newBlockCache(opts.BlockCacheTTL, opts.Now), chunkItems: maxChunkItems, lamedPageSize: maxLamedPageSize}
}

// Ping checks that the table is reachable.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: s.table}); err != nil {
		return fmt.Errorf("dynamo.Ping: %w", err)
	}
	return nil
}

// retry runs fn until it succeeds, fails for a reason retrying cannot fix,
// or the attempts run out. Transaction conflicts and throttling are retried
// with jittered exponential backoff; running out of attempts is EUNAVAILABLE,
// which tells the client that the same request may be sent again.
func (s *Store) retry(ctx context.Context, op string, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !retryable(err) {
			return err
		}
		if attempt >= s.opts.RetryAttempts {
			s.opts.Logger.WarnContext(ctx, "dynamodb contended or throttled; giving up", "op", op, "attempts", attempt, "err", err)
			return refx.Errorf(refx.EUNAVAILABLE, "the store is busy; send the same request again")
		}
		delay := min(s.opts.RetryMaxDelay, s.opts.RetryBaseDelay<<(attempt-1))
		delay = delay/2 + rand.N(delay/2+1)
		select {
		case <-ctx.Done():
			return refx.Errorf(refx.EUNAVAILABLE, "request ended while the store was busy: %v", ctx.Err())
		case <-time.After(delay):
		}
	}
}

// retryable reports whether err is a transaction conflict or throttling:
// contention that passes, as opposed to a failed condition, which is an
// answer.
func retryable(err error) bool {
	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) {
		retry := false
		for _, r := range canceled.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "ConditionalCheckFailed", "ValidationError", "ItemCollectionSizeLimitExceeded":
				return false
			case "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
				retry = true
			}
		}
		return retry
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		// TransactionConflictException: a single-item write met an item a
		// transaction holds (for the same user's or event's items only).
		case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
			"TransactionInProgressException", "TransactionConflictException", "InternalServerError", "ServiceUnavailable":
			return true
		}
	}
	return false
}

// cancellationReasons returns the per-item reasons of a cancelled
// transaction, or nil when err is something else.
func cancellationReasons(err error) []types.CancellationReason {
	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) {
		return canceled.CancellationReasons
	}
	return nil
}

// conditionFailed reports whether reason i of a cancelled transaction is a
// failed condition.
func conditionFailed(reasons []types.CancellationReason, i int) bool {
	return i < len(reasons) && aws.ToString(reasons[i].Code) == "ConditionalCheckFailed"
}

// storeError turns an SDK error into a domain error: domain errors pass
// through; DynamoDB out of reach or failing on its side is EUNAVAILABLE
// (the client may send the same request again: nothing was half-written,
// or the write was whole and the retry finds it); anything else is wrapped
// with the operation for the logs.
func storeError(op string, err error) error {
	var domain *refx.Error
	if err == nil || errors.As(err, &domain) {
		return err
	}
	if unreachable(err) {
		return &refx.Error{Code: refx.EUNAVAILABLE, Message: "the store is unavailable; send the same request again", Cause: fmt.Errorf("dynamo.%s: %w", op, err)}
	}
	return fmt.Errorf("dynamo.%s: %w", op, err)
}

// unreachable reports whether err means DynamoDB could not be reached or
// failed on its side: a network error, a timeout, or a 5xx answer.
func unreachable(err error) bool {
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500 {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "InternalServerError", "ServiceUnavailable", "RequestLimitExceeded", "ThrottlingException", "ProvisionedThroughputExceededException":
			return true
		}
	}
	var retries *retry.MaxAttemptsError
	return errors.As(err, &retries)
}

// Client returns the DynamoDB client the store uses.
func (s *Store) Client() *dynamodb.Client { return s.client }

// Table returns the table name.
func (s *Store) Table() string { return *s.table }
