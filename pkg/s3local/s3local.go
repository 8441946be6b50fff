package s3local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Options configure Start.
type Options struct {
	// Dir persists the buckets under Dir; empty keeps them in memory.
	Dir string
	// Bucket is created at start unless it exists (default "refx-analytics").
	Bucket string
	// Addr is the listen address (default "127.0.0.1:0", a free port).
	Addr string
}

// DefaultBucket is the bucket the local stack exports to.
const DefaultBucket = "refx-analytics"

// Server is a running in-process S3.
type Server struct {
	srv      *http.Server
	endpoint string
	bucket   string
	dir      string
	done     chan error
}

// Start serves S3 on loopback and creates the bucket.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Bucket == "" {
		opts.Bucket = DefaultBucket
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	var backend gofakes3.Backend
	if opts.Dir == "" {
		backend = s3mem.New()
	} else {
		fs, err := s3afero.FsPath(opts.Dir, s3afero.FsPathCreateAll)
		if err != nil {
			return nil, fmt.Errorf("s3local.Start: %w", err)
		}
		if backend, err = s3afero.MultiBucket(fs); err != nil {
			return nil, fmt.Errorf("s3local.Start: %w", err)
		}
	}
	if err := backend.CreateBucket(opts.Bucket); err != nil && !gofakes3.IsAlreadyExists(err) {
		return nil, fmt.Errorf("s3local.Start: create bucket %s: %w", opts.Bucket, err)
	}
	fake := gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog()), gofakes3.WithoutVersioning())
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("s3local.Start: listen on %s: %w", opts.Addr, err)
	}
	s := &Server{
		srv:      &http.Server{Handler: fake.Server(), ReadHeaderTimeout: 10 * time.Second},
		endpoint: "http://" + ln.Addr().String(),
		bucket:   opts.Bucket,
		done:     make(chan error, 1),
	}
	if opts.Dir != "" {
		s.dir = filepath.Join(opts.Dir, "buckets", opts.Bucket)
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Endpoint is the server's base URL, like http://127.0.0.1:34567.
func (s *Server) Endpoint() string { return s.endpoint }

// Bucket is the bucket created at start.
func (s *Server) Bucket() string { return s.bucket }

// BucketDir is the directory holding the bucket's objects as files, or ""
// when the server keeps them in memory.
func (s *Server) BucketDir() string { return s.dir }

// Client returns an S3 client for the server: static dummy credentials,
// path-style addressing, checksums only where an operation requires them.
func (s *Server) Client(ctx context.Context) (*s3.Client, error) {
	return NewClient(ctx, s.endpoint)
}

// NewClient returns an S3 client for a local S3 at endpoint.
func NewClient(ctx context.Context, endpoint string) (*s3.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")),
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	)
	if err != nil {
		return nil, fmt.Errorf("s3local.NewClient: %w", err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	}), nil
}

// Close stops the server, waiting up to five seconds for requests in flight.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serveErr := <-s.done; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	if err != nil {
		return fmt.Errorf("s3local.Close: %w", err)
	}
	return nil
}
