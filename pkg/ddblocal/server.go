package ddblocal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/refx-dev/refx/pkg/childproc"
	"github.com/refx-dev/refx/pkg/dynamo"
)

// DefaultJVMFlags are the JVM flags Start uses when Options.JVMFlags is nil.
// They suit a small machine shared by several test binaries: a modest heap
// that is not committed up front, the serial collector (no GC threads), and
// only the C1 JIT (-XX:TieredStopAtLevel=1). Measured on 2 CPUs against
// full tiered compilation, C1 alone starts about 0.2 s faster (0.75 s
// instead of 0.95 s), serves twice the requests in the first seconds
// (PutItem/GetItem/Query from 8 goroutines: 2400-2800 against 1450 ops/s
// over the first 5 s), and with two servers loaded in parallel, as when
// several test binaries run, does 2-2.7 times the work in 12 s, because C2
// compilation no longer competes with the requests for CPU. Full tiering
// overtakes it only after about 25 s of sustained load, by about 10%.
var DefaultJVMFlags = []string{"-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k"}

// StartTimeout bounds how long Start waits for DynamoDB Local to answer
// requests when the context passed to Start has no earlier deadline.
const StartTimeout = 60 * time.Second

// stopGrace is how long Stop waits after SIGTERM before sending SIGKILL.
const stopGrace = 5 * time.Second

// Options configures Start.
type Options struct {
	// JarDir is the directory holding DynamoDBLocal.jar and
	// DynamoDBLocal_lib, as returned by Install. Empty means
	// Install(ctx, RepoRoot()).
	JarDir string
	// Port is the TCP port to listen on; 0 picks a free one. DynamoDB Local
	// has no option to choose the interface and listens on all of them;
	// Endpoint always points at 127.0.0.1.
	Port int
	// DBPath, when set, keeps the data in SQLite files in that directory
	// (created if missing) with -sharedDb, so a later Start with the same
	// DBPath finds the tables again. Empty runs -inMemory: data dies with
	// the process.
	DBPath string
	// JVMFlags replaces DefaultJVMFlags when non-nil.
	JVMFlags []string
	// Stdout and Stderr, when non-nil, receive the process's output. The
	// last few kilobytes are kept regardless, for error messages.
	Stdout, Stderr io.Writer
}

// Server is a running DynamoDB Local child process.
type Server struct {
	cmd      *exec.Cmd
	port     int
	endpoint string
	output   *tailWriter
	portLock io.Closer

	done    chan struct{} // closed once the process has exited
	waitErr error         // the result of cmd.Wait, set before done closes

	stopOnce sync.Once
	stopErr  error
}

// Start starts DynamoDB Local and returns once it answers a ListTables
// request, or fails after StartTimeout (or when ctx ends) with an error that
// quotes the end of the process's output. ctx bounds only the start-up: the
// server keeps running until Stop, or until the Go process exits, which also
// kills the JVM.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.JarDir == "" {
		root, err := RepoRoot()
		if err != nil {
			return nil, fmt.Errorf("ddblocal.Start: %w", err)
		}
		if opts.JarDir, err = Install(ctx, root); err != nil {
			return nil, fmt.Errorf("ddblocal.Start: %w", err)
		}
	}
	if !hasJar(opts.JarDir) {
		return nil, fmt.Errorf("ddblocal.Start: %s holds no DynamoDBLocal.jar and DynamoDBLocal_lib; run %s", opts.JarDir, InstallScript)
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("ddblocal.Start: %w", errNoJava)
	}
	if opts.DBPath != "" {
		if opts.DBPath, err = filepath.Abs(opts.DBPath); err != nil {
			return nil, fmt.Errorf("ddblocal.Start: %w", err)
		}
		if err := os.MkdirAll(opts.DBPath, 0o755); err != nil {
			return nil, fmt.Errorf("ddblocal.Start: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()

	// A free port picked here can be taken by someone else before the JVM
	// binds it; the JVM then exits, and Start tries another port.
	const attempts = 3
	for attempt := 1; ; attempt++ {
		srv, err := start(ctx, java, opts)
		if err == nil {
			return srv, nil
		}
		var bindErr *bindError
		if opts.Port != 0 || attempt == attempts || !errors.As(err, &bindErr) || ctx.Err() != nil {
			return nil, fmt.Errorf("ddblocal.Start: %w", err)
		}
	}
}

// bindError reports that the JVM could not listen on its port.
type bindError struct{ err error }

func (e *bindError) Error() string { return e.err.Error() }
func (e *bindError) Unwrap() error { return e.err }

// start makes one attempt at starting the server.
func start(ctx context.Context, java string, opts Options) (*Server, error) {
	port, lock, err := reservePort(opts.Port)
	if err != nil {
		return nil, err
	}
	jvm := opts.JVMFlags
	if jvm == nil {
		jvm = DefaultJVMFlags
	}
	args := append([]string(nil), jvm...)
	args = append(args,
		"-Djava.library.path="+filepath.Join(opts.JarDir, "DynamoDBLocal_lib"),
		"-jar", filepath.Join(opts.JarDir, "DynamoDBLocal.jar"),
		"-port", strconv.Itoa(port),
		"-disableTelemetry",
		"-sharedDb")
	if opts.DBPath == "" {
		args = append(args, "-inMemory")
	} else {
		args = append(args, "-dbPath", opts.DBPath)
	}

	s := &Server{
		port:     port,
		endpoint: "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		output:   &tailWriter{max: 8 << 10},
		portLock: lock,
		done:     make(chan struct{}),
	}
	s.cmd = exec.Command(java, args...)
	s.cmd.Dir = opts.JarDir
	s.cmd.Stdout = writers(s.output, opts.Stdout)
	s.cmd.Stderr = writers(s.output, opts.Stderr)
	s.cmd.SysProcAttr = childproc.SysProcAttr()
	if err := s.cmd.Start(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("start %s: %w", java, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()

	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// waitReady polls the server with ListTables until it answers, the process
// exits or ctx ends.
func (s *Server) waitReady(ctx context.Context) error {
	client, err := dynamo.NewClient(ctx, dynamo.ClientConfig{Endpoint: s.endpoint})
	if err != nil {
		return err
	}
	noRetry := func(o *dynamodb.Options) { o.Retryer = aws.NopRetryer{} }
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := client.ListTables(callCtx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)}, noRetry)
		cancel()
		if err == nil {
			select {
			case <-s.done: // Someone else answered on our port.
			default:
				return nil
			}
		}
		select {
		case <-s.done:
			out := s.output.String()
			err := fmt.Errorf("DynamoDB Local exited before answering on port %d (%v); its output ends with:\n%s", s.port, s.waitErr, out)
			if strings.Contains(out, "BindException") || strings.Contains(out, "Failed to bind") {
				return &bindError{err}
			}
			return err
		case <-ctx.Done():
			return fmt.Errorf("DynamoDB Local did not answer on %s within the start timeout (%v); last error: %v; its output ends with:\n%s",
				s.endpoint, ctx.Err(), err, s.output.String())
		case <-tick.C:
		}
	}
}

// Endpoint returns the URL clients reach the server at,
// "http://127.0.0.1:PORT".
func (s *Server) Endpoint() string { return s.endpoint }

// Port returns the TCP port the server listens on.
func (s *Server) Port() int { return s.port }

// Stop stops the server: SIGTERM to its process group, SIGKILL if it is still
// running a few seconds later, then it waits for the process to exit. It is
// safe to call more than once and from several goroutines; later calls
// return the first call's result. An exit caused by Stop's signals is not an
// error.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		defer s.portLock.Close()
		select {
		case <-s.done:
			// Exited on its own: report why.
			if s.waitErr != nil {
				s.stopErr = fmt.Errorf("ddblocal: DynamoDB Local had exited: %w", s.waitErr)
			}
			return
		default:
		}
		if err := childproc.Terminate(s.cmd.Process); err != nil {
			_ = childproc.Kill(s.cmd.Process)
		}
		select {
		case <-s.done:
			return
		case <-time.After(stopGrace):
		}
		if err := childproc.Kill(s.cmd.Process); err != nil {
			s.stopErr = fmt.Errorf("ddblocal: kill DynamoDB Local: %w", err)
		}
		<-s.done
	})
	return s.stopErr
}

// Output returns the last few kilobytes the process wrote to stdout and
// stderr, for diagnostics.
func (s *Server) Output() string { return s.output.String() }

// writers combines w with an optional extra writer.
func writers(w io.Writer, extra io.Writer) io.Writer {
	if extra == nil {
		return w
	}
	return io.MultiWriter(w, extra)
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return childproc.Tail(t.buf, t.max)
}
