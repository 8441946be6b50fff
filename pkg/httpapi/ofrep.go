package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/refx-dev/refx/pkg/growthbook"
	"github.com/refx-dev/refx/pkg/refx"
)

// The OpenFeature Remote Evaluation Protocol (OFREP, open-feature/protocol
// service/openapi.yaml): OpenFeature's providers evaluate a flag
// (POST /ofrep/v1/evaluate/flags/{key}, server side, per request) or every
// flag of the key's environment (POST /ofrep/v1/evaluate/flags, client side,
// once per context, revalidated with If-None-Match).
//
// A flag linked to a refx experiment is an exposure when evaluated alone
// (a server evaluates where it uses the value), not in bulk (assignLinked).

// flagPayloadTTL is how long an instance evaluates with an environment's
// payload before reading it again: every evaluation would otherwise read
// the same item, and a change is still visible within the payload read's
// eventual consistency plus this, under 10 s.
const flagPayloadTTL = 5 * time.Second

// The OFREP reasons and error codes refx answers with.
const (
	reasonStatic         = "STATIC"          // the flag has no rules
	reasonTargetingMatch = "TARGETING_MATCH" // a force rule's condition matched
	reasonSplit          = "SPLIT"           // a rollout or experiment rule's hash chose the value
	reasonDefault        = "DEFAULT"         // rules exist, none applied
	reasonDisabled       = "DISABLED"        // the flag is off in the key's environment

	ofrepFlagNotFound        = "FLAG_NOT_FOUND"
	ofrepParseError          = "PARSE_ERROR"
	ofrepTargetingKeyMissing = "TARGETING_KEY_MISSING"
	ofrepInvalidContext      = "INVALID_CONTEXT"
)

// flagCache holds each environment's parsed payload for flagPayloadTTL.
// Its zero value is empty and ready.
type flagCache struct {
	mu   sync.Mutex
	envs map[string]*flagEnv
}

// flagEnv is one environment's payload, parsed once for every evaluation.
type flagEnv struct {
	name     string
	version  int64
	features map[string]*ofrepFeature
	keys     []string // sorted, for a stable bulk answer
	until    time.Time

	payload *refx.FlagPayload // as stored, for the GrowthBook SDK payload
	sdkMu   sync.Mutex
	sdk     *sdkPayload // built on first use (growthbook.go)
}

type ofrepFeature struct {
	// stages are the flag's rules cut after each rule linking a refx
	// experiment: GrowthBook's evaluator runs a stage's own rules, and when
	// none applies, the linked rule assigns through refx (persisted,
	// sticky, enrolling the user once) before the next stage is tried.
	stages []ruleStage
	rules  []growthbook.Rule // all of them, their ids replaced by their indexes
	// ruleIDs are the rules' own ids: rules' are replaced by their indexes,
	// so that a result names the rule that gave it (ids are optional, and
	// evaluation does not read them).
	ruleIDs      []string
	defaultValue json.RawMessage
	disabled     bool
	kind         refx.FlagKind
	vtype        refx.ValueType
	err          error // a payload feature refx itself cannot parse: PARSE_ERROR
}

// ruleStage is a run of GrowthBook rules and the linked rule after it.
type ruleStage struct {
	rules growthbook.Feature // without a default value: none applying is a null from SourceDefaultValue
	link  *linkedRule        // nil in the last stage
}

// linkedRule is a rule linking a refx experiment.
type linkedRule struct {
	index         int
	experiment    string
	condition     *growthbook.Condition
	hashAttribute string
}

// flagEnv returns env's payload through the instance's cache. An
// environment without a payload (no flag ever enabled there) has no flags.
func (s *Server) flagEnv(r *http.Request, env string) (*flagEnv, error) {
	now := s.now()
	c := &s.flags
	c.mu.Lock()
	fe := c.envs[env]
	c.mu.Unlock()
	if fe != nil && now.Before(fe.until) {
		return fe, nil
	}
	p, err := s.Flags.FlagPayload(r.Context(), env)
	switch refx.ErrorCode(err) {
	case "":
	case refx.ENOTFOUND:
		p = &refx.FlagPayload{Environment: env}
	default:
		return nil, err // an outage is not remembered
	}
	fe = parsePayload(p)
	fe.until = now.Add(flagPayloadTTL)
	c.mu.Lock()
	if c.envs == nil {
		c.envs = map[string]*flagEnv{}
	}
	c.envs[env] = fe
	c.mu.Unlock()
	return fe, nil
}

func parsePayload(p *refx.FlagPayload) *flagEnv {
	p = holdOutOfFlags(p)
	fe := &flagEnv{name: p.Environment, version: p.Version, features: make(map[string]*ofrepFeature, len(p.Features)), payload: p}
	for key, pf := range p.Features {
		fe.features[key] = parseFeature(pf)
		fe.keys = append(fe.keys, key)
	}
	sort.Strings(fe.keys)
	return fe
}

// parseFeature parses a payload feature: GrowthBook's JSON plus refx's
// fields, which ParseFeature ignores. A rule linking a refx experiment has
// neither force nor variations, which GrowthBook's evaluator skips; it
// ends a stage instead.
func parseFeature(pf refx.PayloadFeature) *ofrepFeature {
	f := &ofrepFeature{defaultValue: pf.DefaultValue, disabled: pf.Disabled, kind: pf.Kind, vtype: pf.ValueType}
	raw, err := json.Marshal(pf)
	var feature *growthbook.Feature
	if err == nil {
		feature, err = growthbook.ParseFeature(raw)
	}
	if err != nil {
		f.err = err
		return f
	}
	f.rules = feature.Rules
	start := 0
	for i := range f.rules {
		r := &f.rules[i]
		f.ruleIDs = append(f.ruleIDs, r.ID)
		r.ID = strconv.Itoa(i)
		if id := pf.Rules[i].Experiment; id != "" {
			link := &linkedRule{index: i, experiment: id, condition: r.Condition, hashAttribute: r.HashAttribute}
			f.stages = append(f.stages, ruleStage{rules: growthbook.Feature{Rules: f.rules[start:i]}, link: link})
			start = i + 1
		}
	}
	f.stages = append(f.stages, ruleStage{rules: growthbook.Feature{Rules: f.rules[start:]}})
	return f
}

// ofrepResult is one flag's evaluation: the success fields or the error
// fields, as the protocol's evaluationSuccess and evaluationFailure.
type ofrepResult struct {
	Key string `json:"key"`
	// Value is never null (refx.ValueType refuses it), so refx never
	// answers the protocol's codeDefaultFlag, which has no value.
	Value        json.RawMessage `json:"value,omitempty"`
	Reason       string          `json:"reason,omitempty"`
	Variant      string          `json:"variant,omitempty"`
	ErrorCode    string          `json:"errorCode,omitempty"`
	ErrorDetails string          `json:"errorDetails,omitempty"`
	Metadata     map[string]any  `json:"metadata,omitempty"`
}

// ofrepError is a whole request's failure: evaluationFailure (with Key) or
// bulkEvaluationFailure.
type ofrepError struct {
	Key          string `json:"key,omitempty"`
	ErrorCode    string `json:"errorCode"`
	ErrorDetails string `json:"errorDetails,omitempty"`
}

// evaluate evaluates one flag of fe for attrs. With enrol, a flag linked to
// a refx experiment enrols the user; without, it only reads which arm the
// user gets. Only a linked experiment's assignment can fail (the store
// unreachable); the whole request then fails.
func (s *Server) evaluate(ctx context.Context, fe *flagEnv, key string, attrs growthbook.Attributes, enrol bool) (ofrepResult, error) {
	f, ok := fe.features[key]
	if !ok {
		return ofrepResult{Key: key, ErrorCode: ofrepFlagNotFound, ErrorDetails: "flag " + strconv.Quote(key) + " does not exist in environment " + fe.name}, nil
	}
	if f.err != nil {
		return ofrepResult{Key: key, ErrorCode: ofrepParseError, ErrorDetails: "the flag's stored rules cannot be evaluated"}, nil
	}
	out := ofrepResult{Key: key, Value: f.defaultValue, Variant: "default", Metadata: map[string]any{"kind": string(f.kind), "valueType": string(f.vtype), "version": fe.version}}
	if f.disabled {
		out.Reason = reasonDisabled
		return out, nil
	}
	for _, st := range f.stages {
		if res := growthbook.EvalFeature(key, &st.rules, attrs, nil); res.Source != growthbook.SourceDefaultValue {
			f.describe(&out, res)
			return out, nil
		}
		if st.link == nil {
			break
		}
		a, err := s.assignLinked(ctx, st.link, attrs, enrol)
		if err != nil {
			return ofrepResult{}, err
		}
		if a != nil {
			out.Value, out.Reason, out.Variant = a.Payload, reasonSplit, a.Variant
			out.Metadata["rule"] = st.link.index
			out.Metadata["experimentKey"] = a.Experiment
			out.Metadata["enrolled"] = enrol
			return out, nil
		}
	}
	out.Reason = reasonStatic
	if len(f.rules) > 0 {
		out.Reason = reasonDefault
	}
	return out, nil
}

// describe sets out from a rule's result.
func (f *ofrepFeature) describe(out *ofrepResult, res growthbook.Result) {
	out.Value = res.Value
	i, _ := strconv.Atoi(res.RuleID) // the index parseFeature gave the rule
	out.Metadata["rule"] = i
	if res.Source == growthbook.SourceExperiment {
		out.Reason, out.Variant = reasonSplit, res.VariationKey
		out.Metadata["experimentKey"] = res.ExperimentKey
		return
	}
	// A force rule: a rollout when a hash decides who it covers.
	rule := &f.rules[i]
	out.Reason = reasonTargetingMatch
	if rule.Coverage != nil || rule.Range != nil {
		out.Reason = reasonSplit
	}
	out.Variant = "rule-" + res.RuleID
	if id := f.ruleIDs[i]; id != "" {
		out.Variant = id
	}
}

// assignLinked applies a linked rule: when the user matches its condition,
// refx assigns them as POST /v1/assign does, so that the arm is the
// persisted, sticky one and the evaluation is the user's exposure, counted
// once. Without enrol, it answers the arm the hash gives, as GrowthBook's
// SDKs do, and writes nothing: a bulk evaluation serves every flag of a
// page, most never shown, and enrolling all their users would dilute the
// experiment with users who never saw it; the client enrols the user with
// POST /v1/assign when it shows the value (refx.js does). It returns nil
// when the rule does not apply: no match, no hash attribute, the
// experiment deleted or not running, the user outside its audience (the
// context's attributes) or coverage, or a variant without a payload to be
// the value.
func (s *Server) assignLinked(ctx context.Context, l *linkedRule, attrs growthbook.Attributes, enrol bool) (*refx.Assignment, error) {
	if !l.condition.Eval(attrs, nil) {
		return nil, nil
	}
	attr := l.hashAttribute
	if attr == "" {
		attr = "id"
	}
	user := ""
	switch v := attrs[attr].(type) {
	case string:
		user = refx.NormalizeUser(v)
	case float64:
		user = strconv.FormatFloat(v, 'f', -1, 64) // as JavaScript's String(v), which GrowthBook hashes
	}
	if !refx.ValidUser(user) {
		return nil, nil
	}
	if !enrol {
		return s.bucketLinked(ctx, l.experiment, user, attrs)
	}
	a, err := s.Assignments.Assign(ctx, l.experiment, user, attrs)
	switch {
	case refx.ErrorCode(err) == refx.ENOTFOUND:
		return nil, nil
	case err != nil:
		return nil, err
	case !a.InExperiment || len(a.Payload) == 0:
		return nil, nil
	}
	return a, nil
}

// bucketLinked is the arm of a running experiment the hash gives user, as
// an assignment not persisted, or nil outside it. An enrolled user outside
// the audience now is answered nil here, though POST /v1/assign keeps their
// arm: telling would cost the assignment read bulk evaluation avoids.
func (s *Server) bucketLinked(ctx context.Context, id, user string, attrs growthbook.Attributes) (*refx.Assignment, error) {
	e, err := s.Flags.LinkedExperiment(ctx, id)
	switch {
	case refx.ErrorCode(err) == refx.ENOTFOUND:
		return nil, nil
	case err != nil:
		return nil, err
	case e.Status != refx.StatusRunning || !e.Admits(user, attrs):
		return nil, nil
	}
	v, ok := e.Bucket(user)
	if !ok || len(v.Payload) == 0 {
		return nil, nil
	}
	return &refx.Assignment{Experiment: e.ID, User: user, Variant: v.Key, Payload: v.Payload, InExperiment: true}, nil
}

// ofrepRequest reads the body and the SDK key's environment. A failure the
// protocol describes is returned as an ofrepError (answered 400); others
// (no key, a body too large) as an error, answered in refx's shape.
func (s *Server) ofrepRequest(w http.ResponseWriter, r *http.Request) (env string, attrs growthbook.Attributes, oerr *ofrepError, err error) {
	key := callerOf(r.Context()).key
	if key == nil {
		// A keyless deployment lets keyless callers track; flags belong to
		// an environment, which only a key names.
		w.Header().Set("WWW-Authenticate", `Bearer realm="refx"`)
		return "", nil, nil, refx.Errorf(refx.EUNAUTHORIZED, "an SDK key is required: a client or secret key, as Authorization: Bearer <key> or in the %s header", KeyHeader)
	}
	var req struct {
		Context json.RawMessage `json:"context"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		if refx.ErrorCode(err) != refx.EINVALID {
			return "", nil, nil, err
		}
		return "", nil, &ofrepError{ErrorCode: ofrepParseError, ErrorDetails: refx.ErrorMessage(err)}, nil
	}
	// Numbers decode as float64, as the condition language expects.
	if err := json.Unmarshal(req.Context, &attrs); err != nil || attrs == nil {
		return "", nil, &ofrepError{ErrorCode: ofrepInvalidContext, ErrorDetails: "context must be a JSON object"}, nil
	}
	tk, ok := attrs["targetingKey"]
	if !ok {
		return "", nil, &ofrepError{ErrorCode: ofrepTargetingKeyMissing, ErrorDetails: "context.targetingKey is required"}, nil
	}
	if str, ok := tk.(string); !ok || strings.TrimSpace(str) == "" {
		return "", nil, &ofrepError{ErrorCode: ofrepInvalidContext, ErrorDetails: "context.targetingKey must be a non-empty string"}, nil
	}
	// GrowthBook hashes the attribute "id" unless a rule names another:
	// the targeting key is the user's id unless the context sets one.
	if _, ok := attrs["id"]; !ok {
		attrs["id"] = tk
	}
	return key.Environment, attrs, nil, nil
}

func (s *Server) ofrepEvaluate(w http.ResponseWriter, r *http.Request) error {
	flag := r.PathValue("key")
	env, attrs, oerr, err := s.ofrepRequest(w, r)
	if err != nil {
		return err
	}
	if oerr != nil {
		oerr.Key = flag
		writeJSON(w, http.StatusBadRequest, oerr)
		return nil
	}
	fe, err := s.flagEnv(r, env)
	if err != nil {
		return err
	}
	res, err := s.evaluate(r.Context(), fe, flag, attrs, true)
	if err != nil {
		return err
	}
	switch res.ErrorCode {
	case "":
		writeJSON(w, http.StatusOK, res)
	case ofrepFlagNotFound:
		writeJSON(w, http.StatusNotFound, res)
	default:
		writeJSON(w, http.StatusBadRequest, res)
	}
	return nil
}

func (s *Server) ofrepEvaluateAll(w http.ResponseWriter, r *http.Request) error {
	env, attrs, oerr, err := s.ofrepRequest(w, r)
	if err != nil {
		return err
	}
	if oerr != nil {
		writeJSON(w, http.StatusBadRequest, oerr)
		return nil
	}
	fe, err := s.flagEnv(r, env)
	if err != nil {
		return err
	}
	flags := make([]ofrepResult, 0, len(fe.keys))
	for _, key := range fe.keys {
		res, err := s.evaluate(r.Context(), fe, key, attrs, false)
		if err != nil {
			return err
		}
		flags = append(flags, res)
	}
	body, err := json.Marshal(map[string]any{
		"flags":    flags,
		"metadata": map[string]any{"environment": env, "version": fe.version},
	})
	if err != nil {
		return err
	}
	// The answer is the ETag's whole input: it depends on the flags, the
	// context, and the linked experiments' assignments and states, which
	// the payload's version does not follow.
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	writeJSONBytes(w, http.StatusOK, body)
	return nil
}

// etagMatches is If-None-Match's weak comparison (RFC 9110 §13.1.2).
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
