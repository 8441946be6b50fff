package app_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/refx-dev/refx/pkg/app"
)

// releaser records the times it was asked to release holds by.
type releaser struct {
	at  []time.Time
	err error
}

func (r *releaser) ReleaseHolds(_ context.Context, now time.Time) (int, error) {
	r.at = append(r.at, now)
	return len(r.at), r.err
}

// TestReleaseFunc: a scheduled event releases the holds ended by its
// scheduled time, and a failure is the invocation's, for Lambda to retry.
func TestReleaseFunc(t *testing.T) {
	r := &releaser{}
	h := app.ReleaseFunc(r, slog.New(slog.DiscardHandler))
	at := time.Date(2026, 12, 7, 1, 15, 0, 0, time.UTC)
	if err := h(context.Background(), events.EventBridgeEvent{ID: "e1", Time: at}); err != nil || len(r.at) != 1 || !r.at[0].Equal(at) {
		t.Fatalf("release = %v, asked at %v; want %v", err, r.at, at)
	}
	r.err = errors.New("store down")
	if err := h(context.Background(), events.EventBridgeEvent{ID: "e2", Time: at}); err == nil {
		t.Fatal("a failed release must fail the invocation")
	}
}
