package headless

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/refx-dev/refx/pkg/childproc"
	"github.com/refx-dev/refx/pkg/ddblocal"
)

// InstallScript is the path, relative to the repository root, of the script
// that installs Chromium when the system has none.
const InstallScript = "scripts/install-chromium"

// candidates are the names Chromium goes by on PATH.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"}

// Find returns the path of a Chromium: REFX_CHROMIUM, else the first
// candidate on PATH, else what InstallScript installs (its last line of
// output). The script's progress goes to stderr.
func Find(ctx context.Context, stderr io.Writer) (string, error) {
	if p := os.Getenv("REFX_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	root, err := ddblocal.RepoRoot()
	if err != nil {
		return "", err
	}
	if stderr == nil {
		stderr = os.Stderr
	}
	path, err := childproc.RunScript(ctx, root, InstallScript, stderr)
	if err != nil {
		return "", fmt.Errorf("headless: no Chromium found: %w", err)
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("headless: %s printed %q, which is not a file: %w", InstallScript, path, err)
	}
	return path, nil
}

// Options configure Start.
type Options struct {
	// Path is Chromium's executable (default: Find).
	Path string
	// Stderr receives Chromium's own logs (default: discarded).
	Stderr io.Writer
	// Width and Height are the viewport of new pages (default 1024×768).
	Width, Height int
}

// Browser is a running headless Chromium.
type Browser struct {
	conn    *conn
	cmd     *exec.Cmd
	dataDir string
	opts    Options
	exited  chan struct{}
	once    sync.Once
}

// Start launches a headless Chromium with a fresh profile.
func Start(ctx context.Context, opts Options) (*Browser, error) {
	if opts.Path == "" {
		p, err := Find(ctx, nil)
		if err != nil {
			return nil, err
		}
		opts.Path = p
	}
	if opts.Width == 0 || opts.Height == 0 {
		opts.Width, opts.Height = 1024, 768
	}
	dataDir, err := os.MkdirTemp("", "refx-chromium-")
	if err != nil {
		return nil, fmt.Errorf("headless: %w", err)
	}
	// Chromium reads commands from fd 3 and writes answers to fd 4.
	toChrome, ourEnd, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("headless: %w", err)
	}
	ourRead, fromChrome, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("headless: %w", err)
	}
	cmd := exec.Command(opts.Path,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-default-apps", "--disable-extensions", "--no-first-run", "--no-default-browser-check",
		"--mute-audio", "--hide-scrollbars", "--remote-debugging-pipe",
		"--user-data-dir="+dataDir, "about:blank")
	cmd.ExtraFiles = []*os.File{toChrome, fromChrome}
	cmd.Stdout, cmd.Stderr = opts.Stderr, opts.Stderr
	cmd.SysProcAttr = childproc.SysProcAttr()
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dataDir)
		return nil, fmt.Errorf("headless: start %s: %w", opts.Path, err)
	}
	toChrome.Close()
	fromChrome.Close()
	b := &Browser{conn: newConn(ourEnd, ourRead), cmd: cmd, dataDir: dataDir, opts: opts, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(b.exited)
	}()
	// The first answer proves the pipe works.
	vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var version struct {
		Product string `json:"product"`
	}
	if err := b.conn.call(vctx, "", "Browser.getVersion", nil, &version); err != nil {
		b.Close()
		return nil, fmt.Errorf("headless: %s does not answer over --remote-debugging-pipe: %w", opts.Path, err)
	}
	return b, nil
}

// Close closes the browser, killing it if it does not exit promptly, and
// removes its profile.
func (b *Browser) Close() error {
	b.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		b.conn.call(ctx, "", "Browser.close", nil, nil)
		select {
		case <-b.exited:
		case <-time.After(5 * time.Second):
		}
		// Helpers (renderers, the zygote) may outlive the browser process.
		childproc.Kill(b.cmd.Process)
		<-b.exited
		b.conn.close()
		os.RemoveAll(b.dataDir)
	})
	return nil
}

// NewPage opens a new tab on about:blank and attaches to it. Its storage
// and cookies are the browser's default profile, shared by such pages.
func (b *Browser) NewPage(ctx context.Context) (*Page, error) { return b.newPage(ctx, "") }

// NewIsolatedPage opens a tab in a browser context of its own, like a
// separate incognito window: cookies and storage shared with no other page.
// Closing the page disposes of the context.
func (b *Browser) NewIsolatedPage(ctx context.Context) (*Page, error) {
	var bc struct {
		BrowserContextID string `json:"browserContextId"`
	}
	if err := b.conn.call(ctx, "", "Target.createBrowserContext", map[string]any{}, &bc); err != nil {
		return nil, err
	}
	return b.newPage(ctx, bc.BrowserContextID)
}

func (b *Browser) newPage(ctx context.Context, browserContext string) (*Page, error) {
	params := map[string]any{"url": "about:blank"}
	if browserContext != "" {
		params["browserContextId"] = browserContext
	}
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.conn.call(ctx, "", "Target.createTarget", params, &target); err != nil {
		return nil, err
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.conn.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached); err != nil {
		return nil, err
	}
	p := &Page{b: b, session: attached.SessionID, target: target.TargetID, browserContext: browserContext}
	p.unsubscribe = b.conn.subscribe(p.session, p.record)
	for _, m := range []string{"Page.enable", "Runtime.enable"} {
		if err := p.call(ctx, m, nil, nil); err != nil {
			return nil, err
		}
	}
	err := p.call(ctx, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": b.opts.Width, "height": b.opts.Height, "deviceScaleFactor": 1, "mobile": false,
	}, nil)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// ErrClosed is returned by calls on a browser that has gone away.
var ErrClosed = errors.New("headless: the browser connection is closed")
