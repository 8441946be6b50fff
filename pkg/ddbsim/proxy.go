package ddbsim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Options configure a Proxy. The zero value forwards everything, charges
// write units and adds no latency.
type Options struct {
	// Conflicts turns on the emulation of transaction conflicts. Off, the
	// proxy rejects nothing but applies the same latencies and accounting.
	Conflicts bool
	// TransactionLatency is how long a TransactWriteItems keeps its items
	// held after the upstream answered it: real DynamoDB's prepare/commit
	// time, which DynamoDB Local does not have. The client waits for it too.
	TransactionLatency time.Duration
	// WriteLatency is added to each PutItem, UpdateItem, DeleteItem and
	// BatchWriteItem the same way.
	WriteLatency time.Duration
	// Keys names the key attributes of tables; a table missing from it is
	// described (DescribeTable) once, on its first write.
	Keys map[string]KeySchema
}

// KeySchema names a table's key attributes. Sort is empty for a table
// without a sort key.
type KeySchema struct {
	Partition, Sort string
}

// Proxy is a running emulation in front of an upstream DynamoDB endpoint.
// Its methods are safe for concurrent use.
type Proxy struct {
	opts     Options
	upstream string
	http     *http.Client
	srv      *httptest.Server

	keysMu sync.Mutex
	keys   map[string]KeySchema

	holdMu    sync.Mutex
	txHeld    map[string]bool // items of in-flight TransactWriteItems, by itemRef.id
	writeHeld map[string]int  // items of in-flight single-item and batch writes

	acct accounting
}

// New starts a proxy in front of the DynamoDB at upstreamEndpoint (such as
// dynamotest.Endpoint()). Close stops it.
func New(upstreamEndpoint string, opts Options) *Proxy {
	keys := map[string]KeySchema{}
	for t, k := range opts.Keys {
		keys[t] = k
	}
	p := &Proxy{
		opts:      opts,
		upstream:  strings.TrimRight(upstreamEndpoint, "/"),
		http:      &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}},
		keys:      keys,
		txHeld:    map[string]bool{},
		writeHeld: map[string]int{},
	}
	p.acct.reset()
	p.srv = httptest.NewServer(p)
	return p
}

// URL returns the endpoint to give the SDK client instead of the upstream's.
func (p *Proxy) URL() string { return p.srv.URL }

// Close stops the proxy after the requests in flight are answered.
func (p *Proxy) Close() {
	p.srv.Close()
	p.http.CloseIdleConnections()
}

// Usage returns a snapshot of the accounting since New or the last Reset.
func (p *Proxy) Usage() Usage { return p.acct.snapshot() }

// Reset clears the accounting.
func (p *Proxy) Reset() { p.acct.reset() }

// Held returns how many items in-flight transactions hold now; tests use it
// to know that a transaction is under way.
func (p *Proxy) Held() int {
	p.holdMu.Lock()
	defer p.holdMu.Unlock()
	return len(p.txHeld)
}

// ServeHTTP handles one DynamoDB JSON-protocol request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	var body []byte
	var err error
	if r.Body != nil {
		body, err = readAll(r)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.acct.request(op)
	var rep reply
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem":
		rep, err = p.singleWrite(r.Context(), r.Header, op, body)
	case "TransactWriteItems":
		rep, err = p.transactWrite(r.Context(), r.Header, body)
	case "BatchWriteItem":
		rep, err = p.batchWrite(r.Context(), r.Header, body)
	case "TransactGetItems":
		rep, err = p.transactGet(r.Context(), r.Header, body)
	default:
		rep, err = p.call(r.Context(), r.Header, op, body)
	}
	if err != nil {
		// The SDK retries a 500; a broken proxy should be visible, not hidden.
		rep = awsError("InternalServerError", "ddbsim: "+err.Error(), nil)
		rep.status = http.StatusInternalServerError
	}
	rep.write(w)
}

// itemRef identifies one item.
type itemRef struct {
	table     string
	key       map[string]json.RawMessage // the key attributes only
	id        string                     // table and key values, unique per item
	partition PartitionKey
}

// errNoKey marks a request the proxy cannot place; it is forwarded as it
// is, for the upstream to answer (a ValidationException, a missing table).
var errNoKey = errors.New("ddbsim: no key")

func (p *Proxy) ref(ctx context.Context, hdr http.Header, table string, attrs map[string]json.RawMessage) (itemRef, error) {
	ks, err := p.keySchema(ctx, hdr, table)
	if err != nil {
		return itemRef{}, err
	}
	pk, err := scalar(attrs[ks.Partition])
	if err != nil {
		return itemRef{}, err
	}
	ref := itemRef{
		table:     table,
		key:       map[string]json.RawMessage{ks.Partition: attrs[ks.Partition]},
		id:        table + "\x00" + pk,
		partition: PartitionKey{Table: table, Value: pk},
	}
	if ks.Sort != "" {
		sk, err := scalar(attrs[ks.Sort])
		if err != nil {
			return itemRef{}, err
		}
		ref.key[ks.Sort] = attrs[ks.Sort]
		ref.id += "\x00" + sk
	}
	return ref, nil
}

// scalar returns the value of a key attribute (S, N or B).
func scalar(raw json.RawMessage) (string, error) {
	if raw == nil {
		return "", errNoKey
	}
	var v attributeValue
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", errNoKey
	}
	switch {
	case v.S != nil:
		return *v.S, nil
	case v.N != nil:
		return *v.N, nil
	case v.B != nil:
		return base64.StdEncoding.EncodeToString(v.B), nil
	}
	return "", errNoKey
}

func (p *Proxy) keySchema(ctx context.Context, hdr http.Header, table string) (KeySchema, error) {
	p.keysMu.Lock()
	ks, ok := p.keys[table]
	p.keysMu.Unlock()
	if ok {
		return ks, nil
	}
	var out struct {
		Table struct {
			KeySchema []struct{ AttributeName, KeyType string }
		}
	}
	if err := p.callOK(ctx, hdr, "DescribeTable", map[string]string{"TableName": table}, &out); err != nil {
		return KeySchema{}, fmt.Errorf("%w: %v", errNoKey, err)
	}
	for _, k := range out.Table.KeySchema {
		if k.KeyType == "HASH" {
			ks.Partition = k.AttributeName
		} else {
			ks.Sort = k.AttributeName
		}
	}
	p.keysMu.Lock()
	p.keys[table] = ks
	p.keysMu.Unlock()
	return ks, nil
}

// writeSpec is the part of Put, Update, Delete and ConditionCheck (alone or
// in a transaction) the proxy reads.
type writeSpec struct {
	TableName string
	Item      map[string]json.RawMessage
	Key       map[string]json.RawMessage
}

func (s writeSpec) attrs() map[string]json.RawMessage {
	if s.Item != nil {
		return s.Item
	}
	return s.Key
}

func (p *Proxy) singleWrite(ctx context.Context, hdr http.Header, op string, body []byte) (reply, error) {
	var req writeSpec
	if json.Unmarshal(body, &req) != nil {
		return p.call(ctx, hdr, op, body)
	}
	ref, err := p.ref(ctx, hdr, req.TableName, req.attrs())
	if err != nil {
		return p.call(ctx, hdr, op, body)
	}
	if p.opts.Conflicts {
		p.holdMu.Lock()
		if p.txHeld[ref.id] {
			p.holdMu.Unlock()
			p.acct.conflict(op, []PartitionKey{ref.partition})
			return awsError("TransactionConflictException", conflictMessage, nil), nil
		}
		p.writeHeld[ref.id]++
		p.holdMu.Unlock()
		defer p.releaseWrites([]itemRef{ref})
	}
	after := readBack
	switch op {
	case "PutItem":
		after = putSize(req.Item)
	case "DeleteItem":
		after = 0
	}
	rep, err := p.chargedCall(ctx, hdr, op, body, []itemRef{ref}, []int{after}, 1)
	if err != nil {
		return reply{}, err
	}
	pause(ctx, p.opts.WriteLatency)
	return rep, nil
}

func (p *Proxy) batchWrite(ctx context.Context, hdr http.Header, body []byte) (reply, error) {
	const op = "BatchWriteItem"
	var req struct {
		RequestItems map[string][]struct {
			PutRequest    *struct{ Item map[string]json.RawMessage }
			DeleteRequest *struct{ Key map[string]json.RawMessage }
		}
	}
	if json.Unmarshal(body, &req) != nil {
		return p.call(ctx, hdr, op, body)
	}
	var refs []itemRef
	var after []int
	for table, writes := range req.RequestItems {
		for _, w := range writes {
			var attrs map[string]json.RawMessage
			switch {
			case w.PutRequest != nil:
				attrs = w.PutRequest.Item
				after = append(after, putSize(attrs))
			case w.DeleteRequest != nil:
				attrs = w.DeleteRequest.Key
				after = append(after, 0)
			}
			ref, err := p.ref(ctx, hdr, table, attrs)
			if err != nil {
				return p.call(ctx, hdr, op, body)
			}
			refs = append(refs, ref)
		}
	}
	if p.opts.Conflicts {
		p.holdMu.Lock()
		for _, r := range refs {
			p.writeHeld[r.id]++
		}
		p.holdMu.Unlock()
		defer p.releaseWrites(refs)
	}
	// DynamoDB Local never leaves items unprocessed, so every item is charged.
	rep, err := p.chargedCall(ctx, hdr, op, body, refs, after, 1)
	if err != nil {
		return reply{}, err
	}
	pause(ctx, p.opts.WriteLatency)
	return rep, nil
}

func (p *Proxy) releaseWrites(refs []itemRef) {
	p.holdMu.Lock()
	defer p.holdMu.Unlock()
	for _, r := range refs {
		if p.writeHeld[r.id]--; p.writeHeld[r.id] <= 0 {
			delete(p.writeHeld, r.id)
		}
	}
}

func (p *Proxy) transactWrite(ctx context.Context, hdr http.Header, body []byte) (reply, error) {
	const op = "TransactWriteItems"
	var req struct {
		TransactItems []struct {
			ConditionCheck, Put, Update, Delete *writeSpec
		}
	}
	if json.Unmarshal(body, &req) != nil {
		return p.call(ctx, hdr, op, body)
	}
	refs := make([]itemRef, len(req.TransactItems))
	after := make([]int, len(req.TransactItems))
	for i, it := range req.TransactItems {
		spec := firstSpec(it.Put, it.Update, it.Delete, it.ConditionCheck)
		switch {
		case it.Put != nil:
			after[i] = putSize(it.Put.Item)
		case it.Update != nil:
			after[i] = readBack
		case it.Delete != nil:
			after[i] = 0
		default:
			after[i] = unchanged
		}
		if spec == nil {
			return p.call(ctx, hdr, op, body)
		}
		var err error
		if refs[i], err = p.ref(ctx, hdr, spec.TableName, spec.attrs()); err != nil {
			return p.call(ctx, hdr, op, body)
		}
	}
	if p.opts.Conflicts {
		if rep, ok := p.acquire(op, refs); !ok {
			return rep, nil
		}
		defer p.releaseTx(refs)
	}
	rep, err := p.chargedCall(ctx, hdr, op, body, refs, after, 2)
	if err != nil {
		return reply{}, err
	}
	pause(ctx, p.opts.TransactionLatency)
	return rep, nil
}

// acquire holds every item of refs for a transaction, or none: if any is
// held already it answers the cancellation real DynamoDB sends.
func (p *Proxy) acquire(op string, refs []itemRef) (reply, bool) {
	p.holdMu.Lock()
	reasons, conflicting := p.reasons(refs, func(id string) bool { return p.txHeld[id] })
	if conflicting == nil {
		for _, r := range refs {
			p.txHeld[r.id] = true
		}
	}
	p.holdMu.Unlock()
	if conflicting != nil {
		p.acct.conflict(op, conflicting)
		return cancelled(reasons), false
	}
	return reply{}, true
}

// reasons returns the cancellation reasons for refs given which items are
// held, and the partitions of the held ones (nil if none is).
func (p *Proxy) reasons(refs []itemRef, held func(id string) bool) ([]cancellationReason, []PartitionKey) {
	reasons := make([]cancellationReason, len(refs))
	var conflicting []PartitionKey
	for i, r := range refs {
		reasons[i].Code = "None"
		if held(r.id) {
			reasons[i] = cancellationReason{Code: "TransactionConflict", Message: conflictMessage}
			conflicting = append(conflicting, r.partition)
		}
	}
	return reasons, conflicting
}

func (p *Proxy) releaseTx(refs []itemRef) {
	p.holdMu.Lock()
	defer p.holdMu.Unlock()
	for _, r := range refs {
		delete(p.txHeld, r.id)
	}
}

func (p *Proxy) transactGet(ctx context.Context, hdr http.Header, body []byte) (reply, error) {
	const op = "TransactGetItems"
	var req struct {
		TransactItems []struct{ Get *writeSpec }
	}
	if !p.opts.Conflicts || json.Unmarshal(body, &req) != nil {
		return p.call(ctx, hdr, op, body)
	}
	refs := make([]itemRef, len(req.TransactItems))
	for i, it := range req.TransactItems {
		if it.Get == nil {
			return p.call(ctx, hdr, op, body)
		}
		var err error
		if refs[i], err = p.ref(ctx, hdr, it.Get.TableName, it.Get.Key); err != nil {
			return p.call(ctx, hdr, op, body)
		}
	}
	p.holdMu.Lock()
	reasons, conflicting := p.reasons(refs, func(id string) bool { return p.txHeld[id] || p.writeHeld[id] > 0 })
	p.holdMu.Unlock()
	if conflicting != nil {
		p.acct.conflict(op, conflicting)
		return cancelled(reasons), nil
	}
	return p.call(ctx, hdr, op, body)
}

// What the proxy knows of an item's size after a write, beside a size: a
// Put's is its item's, a Delete's zero, but an Update's must be read back,
// and a ConditionCheck leaves the item unchanged.
const (
	readBack  = -1
	unchanged = -2
)

// putSize returns the size of a put item, or readBack if it cannot tell.
func putSize(item map[string]json.RawMessage) int {
	n, err := itemSize(item)
	if err != nil {
		return readBack
	}
	return n
}

// chargedCall forwards a write of refs and charges it: per item the larger
// of its sizes before and after (after[i], or readBack, or unchanged), times
// factor (2 in a transaction). A write refused for a failed condition,
// alone or in a cancelled transaction, costs the size of the item as it
// was, at least one unit, times factor.
func (p *Proxy) chargedCall(ctx context.Context, hdr http.Header, op string, body []byte, refs []itemRef, after []int, factor int64) (reply, error) {
	before, err := p.sizes(ctx, hdr, refs)
	if err != nil {
		return reply{}, err
	}
	rep, err := p.call(ctx, hdr, op, body)
	if err != nil {
		return reply{}, err
	}
	written := false
	switch rep.errorCode() {
	case "":
		written = true
	case "ConditionalCheckFailedException", "TransactionCanceledException":
	default:
		return rep, nil // refused before anything was written: nothing charged
	}
	var reread map[string]int
	if written {
		var updated []itemRef
		for i, r := range refs {
			if after[i] == readBack {
				updated = append(updated, r)
			}
		}
		if len(updated) > 0 {
			if reread, err = p.sizes(ctx, hdr, updated); err != nil {
				return reply{}, err
			}
		}
	}
	charges := make([]charge, len(refs))
	for i, r := range refs {
		size := before[r.id]
		if written {
			switch after[i] {
			case unchanged:
			case readBack:
				size = max(size, reread[r.id])
			default:
				size = max(size, after[i])
			}
		}
		charges[i] = charge{partition: r.partition, wru: factor * writeUnits(size)}
	}
	p.acct.charge(op, charges)
	return rep, nil
}

// sizes reads the items of refs (strongly consistent) and returns their
// sizes by id; a missing item is absent (size 0).
func (p *Proxy) sizes(ctx context.Context, hdr http.Header, refs []itemRef) (map[string]int, error) {
	type keysAndAttributes struct {
		Keys           []map[string]json.RawMessage
		ConsistentRead bool
	}
	pending := map[string]*keysAndAttributes{}
	seen := map[string]bool{}
	for _, r := range refs {
		if seen[r.id] {
			continue
		}
		seen[r.id] = true
		if pending[r.table] == nil {
			pending[r.table] = &keysAndAttributes{ConsistentRead: true}
		}
		pending[r.table].Keys = append(pending[r.table].Keys, r.key)
	}
	out := map[string]int{}
	for len(pending) > 0 {
		// At most 100 keys per BatchGetItem.
		batch, n := map[string]*keysAndAttributes{}, 0
		for t, ka := range pending {
			take := min(len(ka.Keys), 100-n)
			batch[t] = &keysAndAttributes{Keys: ka.Keys[:take], ConsistentRead: true}
			if ka.Keys = ka.Keys[take:]; len(ka.Keys) == 0 {
				delete(pending, t)
			}
			if n += take; n == 100 {
				break
			}
		}
		var resp struct {
			Responses       map[string][]map[string]json.RawMessage
			UnprocessedKeys map[string]*keysAndAttributes
		}
		if err := p.callOK(ctx, hdr, "BatchGetItem", map[string]any{"RequestItems": batch}, &resp); err != nil {
			return nil, err
		}
		for t, items := range resp.Responses {
			for _, item := range items {
				ref, err := p.ref(ctx, hdr, t, item)
				if err != nil {
					return nil, err
				}
				if out[ref.id], err = itemSize(item); err != nil {
					return nil, err
				}
			}
		}
		for t, ka := range resp.UnprocessedKeys {
			if pending[t] == nil {
				pending[t] = &keysAndAttributes{ConsistentRead: true}
			}
			pending[t].Keys = append(pending[t].Keys, ka.Keys...)
		}
	}
	return out, nil
}

func firstSpec(specs ...*writeSpec) *writeSpec {
	for _, s := range specs {
		if s != nil {
			return s
		}
	}
	return nil
}

// pause waits d, or until ctx is done.
func pause(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
