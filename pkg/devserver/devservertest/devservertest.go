package devservertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/devserver"
	"github.com/refx-dev/refx/pkg/httpapi"
)

// Timeouts of a test's stack. Starting includes installing and starting
// DynamoDB Local, which on a clean checkout downloads it.
const (
	StartTimeout = 3 * time.Minute
	StopTimeout  = 30 * time.Second
)

// errNotStopped is Stop's error when Run does not return in time.
var errNotStopped = fmt.Errorf("local stack did not stop within %v", StopTimeout)

// Stack is a local stack a test started.
type Stack struct {
	// URL is the API's base URL.
	URL string

	out    *Buffer
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// Start runs devserver.Run with opts in a goroutine and returns the stack
// once it serves. Addr defaults to a free port on 127.0.0.1; Out and Ready
// are the helper's own (the banner is Stack.Out). If Run ends before the
// stack is ready, or it is not ready within StartTimeout, Start fails tb
// with the error and the banner. The stack stops with the test, unless
// Stop stopped it before.
func Start(tb testing.TB, opts devserver.Options) *Stack {
	tb.Helper()
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Stack{out: &Buffer{}, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan string, 1)
	opts.Out, opts.Ready = s.out, func(u string) { ready <- u }
	go func() { s.done <- devserver.Run(ctx, opts) }()
	tb.Cleanup(func() {
		// Run's own error is the test's to check (Stop); here only a
		// stack that hangs is reported.
		if err := s.Stop(); errors.Is(err, errNotStopped) {
			tb.Error(err)
		}
	})
	select {
	case s.URL = <-ready:
	case err := <-s.done:
		s.once.Do(func() { cancel(); s.err = err })
		tb.Fatalf("Run: %v\n%s", err, s.out)
	case <-time.After(StartTimeout):
		tb.Fatal("local stack did not start")
	}
	return s
}

// Out returns the banner the stack has printed so far.
func (s *Stack) Out() string { return s.out.String() }

// secretKeyRE finds the run's secret key in the banner, where a user finds it.
var secretKeyRE = regexp.MustCompile(`rfx_sec_[0-9a-z]+_[0-9a-f]+`)

// SecretKey returns the secret key the stack printed.
func (s *Stack) SecretKey() string { return secretKeyRE.FindString(s.Out()) }

// Post sends body to the API's path with the run's secret key, as a
// backend would.
func (s *Stack) Post(path, body string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(httpapi.KeyHeader, s.SecretKey())
	return http.DefaultClient.Do(req)
}

// Stop stops the stack and returns Run's error, or an error if Run does
// not return within StopTimeout. Stopping again returns the same.
func (s *Stack) Stop() error {
	s.once.Do(func() {
		s.cancel()
		select {
		case s.err = <-s.done:
		case <-time.After(StopTimeout):
			s.err = errNotStopped
		}
	})
	return s.err
}

// Buffer is a bytes.Buffer that the stack's goroutines may write while the
// test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
