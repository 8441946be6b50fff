package headless

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Page is one tab.
type Page struct {
	b           *Browser
	session     string
	target      string
	unsubscribe func()
	// browserContext is the page's own context, disposed of with it.
	browserContext string

	mu      sync.Mutex
	loads   int
	changed chan struct{}
	logs    []string
}

func (p *Page) call(ctx context.Context, method string, params, out any) error {
	return p.b.conn.call(ctx, p.session, method, params, out)
}

// record keeps the page's console output and exceptions (for failure
// messages) and counts load events (for Navigate).
func (p *Page) record(method string, params json.RawMessage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch method {
	case "Page.loadEventFired":
		p.loads++
		if p.changed != nil {
			close(p.changed)
			p.changed = nil
		}
	case "Runtime.consoleAPICalled":
		var e struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		json.Unmarshal(params, &e)
		parts := []string{"console." + e.Type + ":"}
		for _, a := range e.Args {
			if a.Value != nil {
				parts = append(parts, fmt.Sprint(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		p.logs = append(p.logs, strings.Join(parts, " "))
	case "Runtime.exceptionThrown":
		var e struct {
			Details struct {
				Text      string `json:"text"`
				Exception struct {
					Description string `json:"description"`
				} `json:"exception"`
			} `json:"exceptionDetails"`
		}
		json.Unmarshal(params, &e)
		p.logs = append(p.logs, "exception: "+e.Details.Text+" "+e.Details.Exception.Description)
	}
}

// Logs returns the console messages and uncaught exceptions so far.
func (p *Page) Logs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.logs...)
}

// loadCount returns the number of load events and a channel closed at the
// next one.
func (p *Page) loadCount() (int, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.changed == nil {
		p.changed = make(chan struct{})
	}
	return p.loads, p.changed
}

// Navigate loads url and waits for its load event.
func (p *Page) Navigate(ctx context.Context, url string) error {
	before, _ := p.loadCount()
	var res struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.call(ctx, "Page.navigate", map[string]any{"url": url}, &res); err != nil {
		return err
	}
	if res.ErrorText != "" {
		return fmt.Errorf("headless: navigate to %s: %s", url, res.ErrorText)
	}
	return p.waitLoad(ctx, before)
}

// waitLoad waits for a load event after the count before.
func (p *Page) waitLoad(ctx context.Context, before int) error {
	for {
		n, next := p.loadCount()
		if n > before {
			return nil
		}
		select {
		case <-next:
		case <-ctx.Done():
			return fmt.Errorf("headless: waiting for the page to load: %w", ctx.Err())
		}
	}
}

// Reload reloads the page and waits for its load event.
func (p *Page) Reload(ctx context.Context) error {
	before, _ := p.loadCount()
	if err := p.call(ctx, "Page.reload", map[string]any{}, nil); err != nil {
		return err
	}
	return p.waitLoad(ctx, before)
}

// Eval evaluates a JavaScript expression in the page, awaiting it when it
// is a promise, and decodes its JSON value into out (when not nil). An
// exception is an error carrying its message.
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	var res struct {
		Result struct {
			Type  string          `json:"type"`
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := p.call(ctx, "Runtime.evaluate", map[string]any{
		"expression": expr, "awaitPromise": true, "returnByValue": true, "userGesture": true,
	}, &res)
	if err != nil {
		return err
	}
	if d := res.ExceptionDetails; d != nil {
		return fmt.Errorf("headless: %s: %s", d.Text, d.Exception.Description)
	}
	if out != nil && len(res.Result.Value) > 0 {
		return json.Unmarshal(res.Result.Value, out)
	}
	return nil
}

// WaitFor evaluates expr until it is truthy, every 25ms.
func (p *Page) WaitFor(ctx context.Context, expr string) error {
	var last error
	for {
		var ok bool
		if err := p.Eval(ctx, "!!("+expr+")", &ok); err == nil && ok {
			return nil
		} else if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("headless: waiting for %s: %w (last error: %v; page logs: %q)", expr, ctx.Err(), last, p.Logs())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// Click clicks the middle of the first element matching selector, as a
// user would: mouse events at its position, after scrolling it into view.
func (p *Page) Click(ctx context.Context, selector string) error {
	sel, _ := json.Marshal(selector)
	var at *struct{ X, Y float64 }
	err := p.Eval(ctx, `(() => {
		const el = document.querySelector(`+string(sel)+`);
		if (!el) return null;
		el.scrollIntoView({block: "center"});
		const r = el.getBoundingClientRect();
		return {X: r.x + r.width / 2, Y: r.y + r.height / 2};
	})()`, &at)
	if err != nil {
		return err
	}
	if at == nil {
		return fmt.Errorf("headless: click: no element matches %s", selector)
	}
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		ev := map[string]any{"type": typ, "x": at.X, "y": at.Y}
		if typ != "mouseMoved" {
			ev["button"], ev["clickCount"] = "left", 1
		}
		if err := p.call(ctx, "Input.dispatchMouseEvent", ev, nil); err != nil {
			return err
		}
	}
	return nil
}

// Screenshot writes a PNG of the viewport to path.
func (p *Page) Screenshot(ctx context.Context, path string) error {
	var res struct {
		Data string `json:"data"`
	}
	if err := p.call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"}, &res); err != nil {
		return err
	}
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		return fmt.Errorf("headless: screenshot: %w", err)
	}
	return os.WriteFile(path, png, 0o644)
}

// Close closes the tab (and its browser context, if it has its own).
func (p *Page) Close(ctx context.Context) error {
	p.unsubscribe()
	if err := p.b.conn.call(ctx, "", "Target.closeTarget", map[string]any{"targetId": p.target}, nil); err != nil {
		return err
	}
	if p.browserContext != "" {
		return p.b.conn.call(ctx, "", "Target.disposeBrowserContext", map[string]any{"browserContextId": p.browserContext}, nil)
	}
	return nil
}
