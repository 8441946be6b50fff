package openfeature

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/refx-dev/refx/pkg/growthbook"
)

// DefaultInterval is how often a provider refreshes its payload unless
// [WithInterval] says otherwise.
const DefaultInterval = 10 * time.Second

// maxPayloadBytes bounds a payload read: refx caps a stored payload at
// 300 KiB, and experiment rules add a little to it.
const maxPayloadBytes = 8 << 20

// maxSeen bounds the exposures remembered for deduplication; past it the
// set starts over, which at worst reports a user's exposure again (refx
// counts a user once however often /v1/assign is called).
const maxSeen = 100_000

// Provider is an OpenFeature provider evaluating a refx environment's flags
// locally. Create it with [New]; it is safe for concurrent use.
type Provider struct {
	baseURL, key string
	client       *http.Client
	interval     time.Duration
	exposure     func(context.Context, Exposure)
	assign       bool

	payload atomic.Pointer[payload]
	events  chan of.Event

	mu     sync.Mutex // guards seen
	seen   map[string]struct{}
	assigq chan Exposure

	startOnce, stopOnce sync.Once
	// ctx ends when Shutdown starts: it stops the refresh and tells the
	// assign loop to drain its queue, whose posts run until postCtx ends
	// (Shutdown's own context).
	ctx, postCtx        context.Context
	cancel, cancelPosts context.CancelFunc
	loops               sync.WaitGroup
	stale               bool // the last refresh failed; read by Init, then by the refresh loop only
}

var (
	_ of.FeatureProvider          = (*Provider)(nil)
	_ of.ContextAwareStateHandler = (*Provider)(nil)
	_ of.EventHandler             = (*Provider)(nil)
)

// payload is one version of the environment's flags, parsed.
type payload struct {
	etag     string
	features map[string]*feature
}

type feature struct {
	raw json.RawMessage // as served, to tell which flags a refresh changed
	f   *growthbook.Feature
	// ruleIDs are the rules' own ids: f's are replaced by their indexes,
	// so that a result names the rule that gave it, as in pkg/httpapi's
	// OFREP evaluation.
	ruleIDs []string
	err     error // the feature cannot be evaluated: PARSE_ERROR
}

// Exposure is a user's exposure to a refx experiment: the user was hashed
// into Variant (an arm's key) while evaluating Flag.
type Exposure struct {
	Flag       string
	Experiment string // the refx experiment id
	Variant    string
	User       string // the value of the rule's hash attribute, "id" by default
	// Attributes are the evaluation context's, with "id": the experiment's
	// audience judges them again when /v1/assign enrols the user.
	Attributes map[string]any
}

// Option configures a Provider.
type Option func(*Provider)

// WithInterval sets how often the payload is refreshed; d ≤ 0 keeps
// DefaultInterval.
func WithInterval(d time.Duration) Option {
	return func(p *Provider) {
		if d > 0 {
			p.interval = d
		}
	}
}

// WithHTTPClient sets the client the provider reads the payload and posts
// exposures with (default: a client with a 10 s timeout).
func WithHTTPClient(c *http.Client) Option { return func(p *Provider) { p.client = c } }

// WithExposure calls fn, on the evaluating goroutine, the first time the
// provider sees a user in an experiment (per experiment and user, within
// the provider's memory of 100,000 exposures). fn must be quick.
func WithExposure(fn func(ctx context.Context, e Exposure)) Option {
	return func(p *Provider) { p.exposure = fn }
}

// WithAssign posts each exposure to the deployment's POST /v1/assign with
// the provider's key and the evaluation's attributes (for the experiment's
// audience), from a background goroutine, so that refx enrols and counts
// the user as it does for its own SDKs. A failed post is retried at
// the user's next evaluation; Shutdown waits for queued posts until its
// context ends.
func WithAssign() Option { return func(p *Provider) { p.assign = true } }

// New returns a provider reading the flags of clientKey's environment from
// the refx deployment at baseURL. It reads nothing until Init.
func New(baseURL, clientKey string, opts ...Option) *Provider {
	p := &Provider{
		baseURL:  strings.TrimRight(baseURL, "/"),
		key:      clientKey,
		client:   &http.Client{Timeout: 10 * time.Second},
		interval: DefaultInterval,
		// Buffered so that a refresh never waits for the SDK; the SDK
		// drains it while the provider is registered.
		events: make(chan of.Event, 8),
		seen:   map[string]struct{}{},
	}
	for _, o := range opts {
		o(p)
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.postCtx, p.cancelPosts = context.WithCancel(context.Background())
	if p.assign {
		p.assigq = make(chan Exposure, 1024)
	}
	return p
}

// Metadata names the provider.
func (p *Provider) Metadata() of.Metadata { return of.Metadata{Name: "refx"} }

// Hooks returns no hooks.
func (p *Provider) Hooks() []of.Hook { return nil }

// EventChannel returns the provider's events: PROVIDER_READY after a
// failed start or stale period, PROVIDER_STALE when a refresh fails,
// PROVIDER_CONFIGURATION_CHANGED when the payload changes.
func (p *Provider) EventChannel() <-chan of.Event { return p.events }

// Init reads the payload and starts the refresh.
func (p *Provider) Init(evalCtx of.EvaluationContext) error {
	return p.InitWithContext(context.Background(), evalCtx)
}

// InitWithContext reads the payload within ctx and starts the refresh. If
// the read fails the refresh still starts, and emits PROVIDER_READY once a
// read succeeds.
func (p *Provider) InitWithContext(ctx context.Context, _ of.EvaluationContext) error {
	_, err := p.refresh(ctx)
	p.startOnce.Do(func() {
		p.stale = err != nil
		p.loops.Add(1)
		go p.refreshLoop()
		if p.assign {
			p.loops.Add(1)
			go p.assignLoop()
		}
	})
	if err != nil {
		return fmt.Errorf("refx openfeature: %w", err)
	}
	return nil
}

// Shutdown stops the refresh and posts the queued exposures for up to 5 s.
func (p *Provider) Shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.ShutdownWithContext(ctx)
}

// ShutdownWithContext stops the refresh and posts the queued exposures
// until ctx ends. Evaluation goes on with the last payload.
func (p *Provider) ShutdownWithContext(ctx context.Context) error {
	p.stopOnce.Do(func() {
		stop := context.AfterFunc(ctx, p.cancelPosts)
		defer stop()
		p.cancel()
		p.loops.Wait()
		p.cancelPosts()
	})
	return ctx.Err()
}

func (p *Provider) refreshLoop() {
	defer p.loops.Done()
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
		changed, err := p.refresh(p.ctx)
		switch {
		case err != nil && p.ctx.Err() != nil:
			return
		case err != nil:
			if !p.stale {
				p.stale = true
				p.emit(of.ProviderStale, of.ProviderEventDetails{Message: err.Error()})
			}
		case p.stale:
			p.stale = false
			p.emit(of.ProviderReady, of.ProviderEventDetails{FlagChanges: changed})
		case len(changed) > 0:
			p.emit(of.ProviderConfigChange, of.ProviderEventDetails{FlagChanges: changed})
		}
	}
}

func (p *Provider) emit(t of.EventType, d of.ProviderEventDetails) {
	select {
	case p.events <- of.Event{ProviderName: "refx", EventType: t, ProviderEventDetails: d}:
	default: // nobody is draining: the provider is used without the SDK
	}
}

// refresh reads the payload, revalidating the current one, and returns the
// keys of the flags that changed (sorted).
func (p *Provider) refresh(ctx context.Context) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.baseURL+"/api/features/"+url.PathEscape(p.key), nil)
	if err != nil {
		return nil, err
	}
	cur := p.payload.Load()
	if cur != nil && cur.etag != "" {
		req.Header.Set("If-None-Match", cur.etag)
	}
	res, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusNotModified && cur != nil:
		return nil, nil
	case res.StatusCode != http.StatusOK:
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return nil, fmt.Errorf("GET /api/features: %s: %s", res.Status, bytes.TrimSpace(msg))
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxPayloadBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxPayloadBytes {
		return nil, fmt.Errorf("GET /api/features: payload larger than %d bytes", maxPayloadBytes)
	}
	next, err := parsePayload(body, res.Header.Get("ETag"))
	if err != nil {
		return nil, err
	}
	p.payload.Store(next)
	return changedKeys(cur, next), nil
}

// parsePayload parses each feature on its own: one refx cannot evaluate
// answers PARSE_ERROR without taking the others down.
func parsePayload(body []byte, etag string) (*payload, error) {
	var wire struct {
		Features map[string]json.RawMessage `json:"features"`
	}
	if err := json.Unmarshal(body, &wire); err != nil {
		return nil, fmt.Errorf("GET /api/features: %w", err)
	}
	next := &payload{etag: etag, features: make(map[string]*feature, len(wire.Features))}
	for key, raw := range wire.Features {
		f, err := growthbook.ParseFeature(raw)
		ft := &feature{raw: raw, f: f, err: err}
		if err == nil {
			for i := range f.Rules {
				ft.ruleIDs = append(ft.ruleIDs, f.Rules[i].ID)
				f.Rules[i].ID = strconv.Itoa(i)
			}
		}
		next.features[key] = ft
	}
	return next, nil
}

func changedKeys(cur, next *payload) []string {
	var out []string
	if cur == nil {
		for k := range next.features {
			out = append(out, k)
		}
	} else {
		for k, f := range next.features {
			if old, ok := cur.features[k]; !ok || !bytes.Equal(old.raw, f.raw) {
				out = append(out, k)
			}
		}
		for k := range cur.features {
			if _, ok := next.features[k]; !ok {
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// BooleanEvaluation resolves a boolean flag.
func (p *Provider) BooleanEvaluation(ctx context.Context, flag string, defaultValue bool, flatCtx of.FlattenedContext) of.BoolResolutionDetail {
	return resolve(p, ctx, flag, defaultValue, flatCtx, "boolean", func(raw json.RawMessage) (bool, bool) {
		switch string(raw) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
		return false, false
	})
}

// StringEvaluation resolves a string flag.
func (p *Provider) StringEvaluation(ctx context.Context, flag string, defaultValue string, flatCtx of.FlattenedContext) of.StringResolutionDetail {
	return resolve(p, ctx, flag, defaultValue, flatCtx, "string", func(raw json.RawMessage) (v string, ok bool) {
		return v, len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &v) == nil
	})
}

// FloatEvaluation resolves a number flag.
func (p *Provider) FloatEvaluation(ctx context.Context, flag string, defaultValue float64, flatCtx of.FlattenedContext) of.FloatResolutionDetail {
	return resolve(p, ctx, flag, defaultValue, flatCtx, "number", func(raw json.RawMessage) (v float64, ok bool) {
		return v, isNumber(raw) && json.Unmarshal(raw, &v) == nil
	})
}

// IntEvaluation resolves a number flag whose value is an integer: 3 and
// 3.0 resolve, 3.5 is a TYPE_MISMATCH.
func (p *Provider) IntEvaluation(ctx context.Context, flag string, defaultValue int64, flatCtx of.FlattenedContext) of.IntResolutionDetail {
	return resolve(p, ctx, flag, defaultValue, flatCtx, "integer", func(raw json.RawMessage) (int64, bool) {
		var f float64
		if !isNumber(raw) || json.Unmarshal(raw, &f) != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
			return 0, false
		}
		// json.Number keeps integers past 2^53 exact.
		if n, err := json.Number(raw).Int64(); err == nil {
			return n, true
		}
		return int64(f), true
	})
}

// ObjectEvaluation resolves any flag to its JSON value decoded as
// encoding/json does (objects as map[string]any, numbers as float64).
func (p *Provider) ObjectEvaluation(ctx context.Context, flag string, defaultValue any, flatCtx of.FlattenedContext) of.InterfaceResolutionDetail {
	return resolve(p, ctx, flag, defaultValue, flatCtx, "value", func(raw json.RawMessage) (v any, ok bool) {
		_ = json.Unmarshal(raw, &v) // raw was decoded once already, with the payload
		return v, true
	})
}

// resolve evaluates flag and decodes its value with decode, which answers
// false for a value that is not a want: a TYPE_MISMATCH, with the default.
func resolve[T any](p *Provider, ctx context.Context, flag string, defaultValue T, flatCtx of.FlattenedContext, want string, decode func(json.RawMessage) (T, bool)) of.GenericResolutionDetail[T] {
	raw, d := p.evaluate(ctx, flag, flatCtx)
	out := of.GenericResolutionDetail[T]{Value: defaultValue, ProviderResolutionDetail: d}
	if d.ResolutionError != (of.ResolutionError{}) {
		return out
	}
	v, ok := decode(raw)
	if !ok {
		return mismatch(out, flag, want, raw)
	}
	out.Value = v
	return out
}

func isNumber(raw json.RawMessage) bool {
	return len(raw) > 0 && (raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'))
}

func mismatch[T any](out of.GenericResolutionDetail[T], flag, want string, raw json.RawMessage) of.GenericResolutionDetail[T] {
	if len(raw) > 64 {
		raw = append(raw[:61:61], "..."...)
	}
	out.ResolutionError = of.NewTypeMismatchResolutionError(fmt.Sprintf("flag %s is not a %s: %s", flag, want, raw))
	out.Reason = of.ErrorReason
	out.Variant = ""
	return out
}

// evaluate evaluates flag for flatCtx and returns its JSON value with the
// details OFREP would answer, or an error detail.
func (p *Provider) evaluate(ctx context.Context, flag string, flatCtx of.FlattenedContext) (json.RawMessage, of.ProviderResolutionDetail) {
	pl := p.payload.Load()
	if pl == nil {
		return nil, errDetail(of.ProviderNotReadyError)
	}
	f, ok := pl.features[flag]
	if !ok {
		return nil, errDetail(of.NewFlagNotFoundResolutionError("flag " + flag + " is not enabled in the key's environment"))
	}
	if f.err != nil {
		return nil, errDetail(of.NewParseErrorResolutionError("flag "+flag+": refx cannot evaluate its rules", f.err))
	}
	attrs, rerr := attributes(flatCtx)
	if rerr != nil {
		return nil, errDetail(*rerr)
	}
	res := growthbook.EvalFeature(flag, f.f, attrs, nil)
	d := of.ProviderResolutionDetail{}
	if res.Source == growthbook.SourceDefaultValue {
		d.Reason, d.Variant = of.StaticReason, "default"
		if len(f.f.Rules) > 0 {
			d.Reason = of.DefaultReason
		}
		return res.Value, d
	}
	i, _ := strconv.Atoi(res.RuleID) // the index parsePayload gave the rule
	d.FlagMetadata = of.FlagMetadata{"rule": i}
	if res.Source == growthbook.SourceExperiment {
		d.Reason, d.Variant = of.SplitReason, res.VariationKey
		d.FlagMetadata["experimentKey"] = res.ExperimentKey
		if res.InExperiment {
			p.expose(ctx, Exposure{Flag: flag, Experiment: res.ExperimentKey, Variant: res.VariationKey, User: hashString(res.HashValue), Attributes: attrs})
		}
		return res.Value, d
	}
	rule := &f.f.Rules[i]
	d.Reason = of.TargetingMatchReason
	if rule.Coverage != nil || rule.Range != nil {
		d.Reason = of.SplitReason
	}
	d.Variant = f.ruleIDs[i]
	if d.Variant == "" {
		d.Variant = "rule-" + res.RuleID
	}
	return res.Value, d
}

func errDetail(e of.ResolutionError) of.ProviderResolutionDetail {
	return of.ProviderResolutionDetail{ResolutionError: e, Reason: of.ErrorReason}
}

// attributes turns the SDK's flattened context into GrowthBook attributes:
// the targeting key is required, as over OFREP, and becomes "id" unless the
// context sets one; values become what encoding/json decodes, the types the
// condition language compares. flatCtx is the SDK's copy, made for this
// evaluation, so it is reused.
func attributes(flatCtx of.FlattenedContext) (growthbook.Attributes, *of.ResolutionError) {
	tk, ok := flatCtx[of.TargetingKey]
	if !ok {
		e := of.NewTargetingKeyMissingResolutionError("the evaluation context has no targeting key")
		return nil, &e
	}
	if s, ok := tk.(string); !ok || strings.TrimSpace(s) == "" {
		e := of.NewInvalidContextResolutionError("the targeting key must be a non-empty string")
		return nil, &e
	}
	attrs := growthbook.Attributes(flatCtx)
	for k, v := range attrs {
		jv, err := jsonValue(v)
		if err != nil {
			e := of.NewInvalidContextResolutionError(fmt.Sprintf("attribute %s: %v", k, err))
			return nil, &e
		}
		attrs[k] = jv
	}
	if _, ok := attrs["id"]; !ok {
		attrs["id"] = tk
	}
	return attrs, nil
}

// jsonValue returns v as encoding/json would decode its JSON; the usual
// types pass through without allocating.
func jsonValue(v any) (any, error) {
	switch v := v.(type) {
	case nil, string, bool, float64:
		return v, nil
	case int:
		return float64(v), nil
	case int64:
		return float64(v), nil
	case int32:
		return float64(v), nil
	case float32:
		return float64(v), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

// hashString is the user refx knows: the hash attribute as a string.
func hashString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// expose reports e once per experiment and user.
func (p *Provider) expose(ctx context.Context, e Exposure) {
	if p.exposure == nil && !p.assign {
		return
	}
	id := e.Experiment + "\x00" + e.User
	p.mu.Lock()
	_, dup := p.seen[id]
	if !dup {
		if len(p.seen) >= maxSeen {
			clear(p.seen)
		}
		p.seen[id] = struct{}{}
	}
	p.mu.Unlock()
	if dup {
		return
	}
	if p.exposure != nil {
		p.exposure(ctx, e)
	}
	if p.assign {
		p.queueAssign(e)
	}
}

func (p *Provider) queueAssign(e Exposure) {
	select {
	case p.assigq <- e:
	default:
		p.forget(e) // the queue is full: a later evaluation retries
	}
}

func (p *Provider) forget(e Exposure) {
	p.mu.Lock()
	delete(p.seen, e.Experiment+"\x00"+e.User)
	p.mu.Unlock()
}

// assignLoop posts queued exposures; once Shutdown starts it posts what is
// queued and returns. Exposures queued after that stay unsent.
func (p *Provider) assignLoop() {
	defer p.loops.Done()
	for {
		select {
		case e := <-p.assigq:
			p.post(e)
		case <-p.ctx.Done():
			for {
				select {
				case e := <-p.assigq:
					p.post(e)
				default:
					return
				}
			}
		}
	}
}

func (p *Provider) post(e Exposure) {
	if err := p.postAssign(e); err != nil {
		p.forget(e) // the user's next evaluation posts it again
	}
}

// postAssign posts one exposure to POST /v1/assign.
func (p *Provider) postAssign(e Exposure) error {
	body, err := json.Marshal(map[string]any{"experiment": e.Experiment, "user": e.User, "attributes": e.Attributes})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(p.postCtx, http.MethodPost, p.baseURL+"/v1/assign", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+p.key)
	res, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /v1/assign: %s", res.Status)
	}
	return nil
}
