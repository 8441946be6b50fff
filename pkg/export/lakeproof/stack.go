package lakeproof

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/refx-dev/refx/pkg/devserver"
)

// Stack is the local stack of ./scripts/dev, started in-process with its
// data on disk, and what the proof needs to reach each of its parts. The
// parts are found in the banner, where a user finds them.
type Stack struct {
	// URL is the API's base URL.
	URL string
	// AdminKey and SecretKey are the run's admin and secret (backend) keys.
	AdminKey, SecretKey string
	// DynamoDBEndpoint and Table are the DynamoDB Local the stack started.
	DynamoDBEndpoint, Table string
	// S3Endpoint and Bucket are the in-process S3 the exporter writes to;
	// BucketDir holds the bucket's objects as files.
	S3Endpoint, Bucket, BucketDir string

	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// Timeouts of the stack. Starting may install DynamoDB Local first.
const (
	startTimeout = 3 * time.Minute
	stopTimeout  = 30 * time.Second
)

var (
	secretKeyRE = regexp.MustCompile(`rfx_sec_[0-9a-z]+_[0-9a-f]+`)
	dynamoRE    = regexp.MustCompile(`DynamoDB\s+(http://\S+)\s+\(table "([^"]+)"`)
	s3RE        = regexp.MustCompile(`S3\s+(http://\S+)\s+\(bucket "([^"]+)", Parquet files in (\S+)\)`)
)

// StartStack runs devserver.Run with its data under dataDir (DynamoDB
// Local's files and the S3 bucket as files) on a free port, and returns
// once it serves. Stop stops it.
func StartStack(ctx context.Context, dataDir string, logger *slog.Logger) (*Stack, error) {
	if dataDir == "" {
		return nil, errors.New("lakeproof.StartStack: a data directory is required: the proof reads the exported files on disk")
	}
	var key [24]byte
	rand.Read(key[:])
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Stack{AdminKey: "proof-" + hex.EncodeToString(key[:]), cancel: cancel, done: make(chan error, 1)}
	out := &syncBuffer{}
	ready := make(chan string, 1)
	go func() {
		s.done <- devserver.Run(runCtx, devserver.Options{
			Addr: "127.0.0.1:0", DataDir: dataDir, AdminKey: s.AdminKey,
			Out: out, Logger: logger, Ready: func(u string) { ready <- u },
		})
	}()
	select {
	case s.URL = <-ready:
	case err := <-s.done:
		cancel()
		return nil, fmt.Errorf("lakeproof.StartStack: %w\n%s", err, out)
	case <-time.After(startTimeout):
		s.Stop()
		return nil, fmt.Errorf("lakeproof.StartStack: the local stack did not serve within %v\n%s", startTimeout, out)
	case <-ctx.Done():
		s.Stop()
		return nil, ctx.Err()
	}
	banner := out.String()
	s.SecretKey = secretKeyRE.FindString(banner)
	d, b := dynamoRE.FindStringSubmatch(banner), s3RE.FindStringSubmatch(banner)
	if s.SecretKey == "" || d == nil || b == nil {
		s.Stop()
		return nil, fmt.Errorf("lakeproof.StartStack: the banner lacks the secret key, DynamoDB or S3 (an in-memory stack exports no files):\n%s", banner)
	}
	s.DynamoDBEndpoint, s.Table = d[1], d[2]
	// The banner names the directory of the export's files, the bucket's
	// directory and then the prefix.
	s.S3Endpoint, s.Bucket, s.BucketDir = b[1], b[2], filepath.Clean(b[3])
	if filepath.Base(s.BucketDir) == filepath.Clean(filepath.FromSlash(Prefix)) {
		s.BucketDir = filepath.Dir(s.BucketDir)
	}
	return s, nil
}

// Stop stops the stack and returns Run's error; stopping again returns the
// same.
func (s *Stack) Stop() error {
	s.once.Do(func() {
		s.cancel()
		select {
		case s.err = <-s.done:
		case <-time.After(stopTimeout):
			s.err = fmt.Errorf("lakeproof: the local stack did not stop within %v", stopTimeout)
		}
	})
	return s.err
}

// syncBuffer is a buffer the stack's goroutines write while the proof reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
