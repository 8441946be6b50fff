package headless

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// message is any CDP message: a command's answer (ID set) or an event
// (Method set).
type message struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    string `json:"data"`
	} `json:"error,omitempty"`
}

// conn is one CDP connection over a pipe: NUL-terminated JSON messages.
type conn struct {
	w io.WriteCloser
	r io.ReadCloser

	writeMu sync.Mutex

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan message
	subs    map[int64]subscription
	nextSub int64
	closed  chan struct{}
}

type subscription struct {
	session string
	fn      func(method string, params json.RawMessage)
}

func newConn(w io.WriteCloser, r io.ReadCloser) *conn {
	c := &conn{w: w, r: r, pending: map[int64]chan message{}, subs: map[int64]subscription{}, closed: make(chan struct{})}
	go c.read()
	return c
}

func (c *conn) read() {
	defer close(c.closed)
	br := bufio.NewReaderSize(c.r, 1<<20)
	for {
		raw, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var m message
		if json.Unmarshal(raw[:len(raw)-1], &m) != nil {
			continue
		}
		c.mu.Lock()
		if m.ID != 0 {
			if ch, ok := c.pending[m.ID]; ok {
				delete(c.pending, m.ID)
				ch <- m
			}
			c.mu.Unlock()
			continue
		}
		var fns []func(string, json.RawMessage)
		for _, s := range c.subs {
			if s.session == m.SessionID {
				fns = append(fns, s.fn)
			}
		}
		c.mu.Unlock()
		for _, fn := range fns {
			fn(m.Method, m.Params)
		}
	}
}

// subscribe calls fn with every event of the session ("" is the browser's)
// until the returned function is called. fn runs on the reading goroutine
// and must not block.
func (c *conn) subscribe(session string, fn func(method string, params json.RawMessage)) (unsubscribe func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextSub++
	id := c.nextSub
	c.subs[id] = subscription{session, fn}
	return func() {
		c.mu.Lock()
		delete(c.subs, id)
		c.mu.Unlock()
	}
}

// call sends a command and decodes its result into out (when not nil).
func (c *conn) call(ctx context.Context, session, method string, params, out any) error {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan message, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()

	req := map[string]any{"id": id, "method": method}
	if params != nil {
		req["params"] = params
	}
	if session != "" {
		req["sessionId"] = session
	}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	c.writeMu.Lock()
	_, err = c.w.Write(append(b, 0))
	c.writeMu.Unlock()
	if err != nil {
		return fmt.Errorf("headless: %s: %w", method, ErrClosed)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("headless: %s: %s %s", method, m.Error.Message, m.Error.Data)
		}
		if out != nil {
			return json.Unmarshal(m.Result, out)
		}
		return nil
	case <-c.closed:
		return fmt.Errorf("headless: %s: %w", method, ErrClosed)
	case <-ctx.Done():
		return fmt.Errorf("headless: %s: %w", method, ctx.Err())
	}
}

func (c *conn) close() {
	c.w.Close()
	c.r.Close()
}
