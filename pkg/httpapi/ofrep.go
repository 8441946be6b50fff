package httpapi

import (
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
	feature *growthbook.Feature
	// ruleIDs are the rules' own ids: feature's are replaced by their
	// indexes, so that a result names the rule that gave it (ids are
	// optional, and evaluation does not read them).
	ruleIDs []string
	kind    refx.FlagKind
	vtype   refx.ValueType
	err     error // a payload feature refx itself cannot parse: PARSE_ERROR
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
	fe := &flagEnv{name: p.Environment, version: p.Version, features: make(map[string]*ofrepFeature, len(p.Features)), payload: p}
	for key, pf := range p.Features {
		f := &ofrepFeature{kind: pf.Kind, vtype: pf.ValueType}
		// The payload is GrowthBook's JSON plus refx's fields, which
		// ParseFeature ignores; a rule linked to a refx experiment
		// (experiment) has neither force nor variations, so it never
		// applies here: OFREP evaluation of linked experiments is not built.
		raw, err := json.Marshal(pf)
		if err == nil {
			f.feature, err = growthbook.ParseFeature(raw)
		}
		if err != nil {
			f.err = err
		} else {
			for i := range f.feature.Rules {
				f.ruleIDs = append(f.ruleIDs, f.feature.Rules[i].ID)
				f.feature.Rules[i].ID = strconv.Itoa(i)
			}
		}
		fe.features[key] = f
		fe.keys = append(fe.keys, key)
	}
	sort.Strings(fe.keys)
	return fe
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

// evaluate evaluates one flag of fe for attrs.
func (fe *flagEnv) evaluate(key string, attrs growthbook.Attributes) ofrepResult {
	f, ok := fe.features[key]
	if !ok {
		// A flag disabled in the environment is left out of its payload,
		// so it is indistinguishable from one that does not exist.
		return ofrepResult{Key: key, ErrorCode: ofrepFlagNotFound, ErrorDetails: "flag " + strconv.Quote(key) + " is not enabled in environment " + fe.name}
	}
	if f.err != nil {
		return ofrepResult{Key: key, ErrorCode: ofrepParseError, ErrorDetails: "the flag's stored rules cannot be evaluated"}
	}
	res := growthbook.EvalFeature(key, f.feature, attrs, nil)
	out := ofrepResult{Key: key, Value: res.Value, Metadata: map[string]any{"kind": string(f.kind), "valueType": string(f.vtype), "version": fe.version}}
	if res.Source == growthbook.SourceDefaultValue {
		out.Reason, out.Variant = reasonStatic, "default"
		if len(f.feature.Rules) > 0 {
			out.Reason = reasonDefault
		}
		return out
	}
	i, _ := strconv.Atoi(res.RuleID) // the index parsePayload gave the rule
	out.Metadata["rule"] = i
	if res.Source == growthbook.SourceExperiment {
		out.Reason, out.Variant = reasonSplit, res.VariationKey
		out.Metadata["experimentKey"] = res.ExperimentKey
		return out
	}
	// A force rule: a rollout when a hash decides who it covers.
	rule := &f.feature.Rules[i]
	out.Reason = reasonTargetingMatch
	if rule.Coverage != nil || rule.Range != nil {
		out.Reason = reasonSplit
	}
	out.Variant = "rule-" + res.RuleID
	if id := f.ruleIDs[i]; id != "" {
		out.Variant = id
	}
	return out
}

// ofrepRequest reads the body and the SDK key's environment. A failure the
// protocol describes is returned as an ofrepError (answered 400); others
// (no key, a body too large) as an error, answered in refx's shape.
func (s *Server) ofrepRequest(w http.ResponseWriter, r *http.Request) (env string, ctxRaw json.RawMessage, attrs growthbook.Attributes, oerr *ofrepError, err error) {
	key := callerOf(r.Context()).key
	if key == nil {
		// A keyless deployment lets keyless callers track; flags belong to
		// an environment, which only a key names.
		w.Header().Set("WWW-Authenticate", `Bearer realm="refx"`)
		return "", nil, nil, nil, refx.Errorf(refx.EUNAUTHORIZED, "an SDK key is required: a client or secret key, as Authorization: Bearer <key> or in the %s header", KeyHeader)
	}
	var req struct {
		Context json.RawMessage `json:"context"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		if refx.ErrorCode(err) != refx.EINVALID {
			return "", nil, nil, nil, err
		}
		return "", nil, nil, &ofrepError{ErrorCode: ofrepParseError, ErrorDetails: refx.ErrorMessage(err)}, nil
	}
	// Numbers decode as float64, as the condition language expects.
	if err := json.Unmarshal(req.Context, &attrs); err != nil || attrs == nil {
		return "", nil, nil, &ofrepError{ErrorCode: ofrepInvalidContext, ErrorDetails: "context must be a JSON object"}, nil
	}
	tk, ok := attrs["targetingKey"]
	if !ok {
		return "", nil, nil, &ofrepError{ErrorCode: ofrepTargetingKeyMissing, ErrorDetails: "context.targetingKey is required"}, nil
	}
	if str, ok := tk.(string); !ok || strings.TrimSpace(str) == "" {
		return "", nil, nil, &ofrepError{ErrorCode: ofrepInvalidContext, ErrorDetails: "context.targetingKey must be a non-empty string"}, nil
	}
	// GrowthBook hashes the attribute "id" unless a rule names another:
	// the targeting key is the user's id unless the context sets one.
	if _, ok := attrs["id"]; !ok {
		attrs["id"] = tk
	}
	return key.Environment, req.Context, attrs, nil, nil
}

func (s *Server) ofrepEvaluate(w http.ResponseWriter, r *http.Request) error {
	flag := r.PathValue("key")
	env, _, attrs, oerr, err := s.ofrepRequest(w, r)
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
	res := fe.evaluate(flag, attrs)
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
	env, ctxRaw, attrs, oerr, err := s.ofrepRequest(w, r)
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
	// The answer depends on the flags and on the context, so both make
	// the ETag: a provider revalidating with another context gets 200.
	sum := sha256.Sum256([]byte(env + "\x00" + strconv.FormatInt(fe.version, 10) + "\x00" + string(ctxRaw)))
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	flags := make([]ofrepResult, 0, len(fe.keys))
	for _, key := range fe.keys {
		flags = append(flags, fe.evaluate(key, attrs))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"flags":    flags,
		"metadata": map[string]any{"environment": env, "version": fe.version},
	})
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
