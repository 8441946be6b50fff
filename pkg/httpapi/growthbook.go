package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/refx-dev/refx/pkg/bucket"
	"github.com/refx-dev/refx/pkg/refx"
)

// GrowthBook's SDK payload: GET /api/features/{clientKey} answers what
// GrowthBook's own API answers there, so that the unmodified GrowthBook SDKs
// (apiHost = refx, clientKey = a refx client key) evaluate the key
// environment's flags locally. A rule linking a refx experiment becomes a
// GrowthBook experiment rule built from the experiment, with the ranges refx
// assigns by, so that an SDK picks the arm POST /v1/assign persists.

// sdkCacheControl lets browsers and shared caches reuse a payload for as
// long as an instance does (flagPayloadTTL). public is safe: the key is in
// the URL, so a cache keys on it, and the answer is the same for every user
// of the key (the rules, never a user's arm), which any page holding the
// client key can read anyway. Short, because a revoked key or a stopped
// experiment must stop being served within seconds; revalidation is cheap
// (If-None-Match answers 304 without a body).
const sdkCacheControl = "public, max-age=5"

// sdkPayload is an environment's answer, built once per cached payload.
type sdkPayload struct {
	body []byte
	etag string
}

type sdkResponse struct {
	Status      int                   `json:"status"`
	Features    map[string]sdkFeature `json:"features"`
	DateUpdated time.Time             `json:"dateUpdated"`
}

type sdkFeature struct {
	DefaultValue json.RawMessage `json:"defaultValue"`
	Rules        []refx.FlagRule `json:"rules,omitempty"`
}

func (s *Server) growthbookFeatures(w http.ResponseWriter, r *http.Request) error {
	key := callerOf(r.Context()).key
	if key == nil {
		// The route's key is in its path, so public never lets a request
		// through without one; a nil here would be a routing mistake.
		return refx.Errorf(refx.EUNAUTHORIZED, "a client key is required in the path: /api/features/<client key>")
	}
	fe, err := s.flagEnv(r, key.Environment)
	if err != nil {
		return err
	}
	p, err := s.sdkPayload(r.Context(), fe)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Cache-Control", sdkCacheControl)
	h.Set("ETag", p.etag)
	if etagMatches(r.Header.Get("If-None-Match"), p.etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(p.body)
	return nil
}

// sdkPayload returns fe's GrowthBook payload, building it on first use. A
// failed build (the store unreachable) is not remembered.
func (s *Server) sdkPayload(ctx context.Context, fe *flagEnv) (*sdkPayload, error) {
	fe.sdkMu.Lock()
	defer fe.sdkMu.Unlock()
	if fe.sdk != nil {
		return fe.sdk, nil
	}
	out := sdkResponse{Status: http.StatusOK, Features: make(map[string]sdkFeature, len(fe.payload.Features)), DateUpdated: fe.payload.UpdatedAt}
	for key, pf := range fe.payload.Features {
		if pf.Disabled {
			continue // GrowthBook's SDKs know no disabled flag: absent, it evaluates to null
		}
		f := sdkFeature{DefaultValue: pf.DefaultValue}
		for _, rule := range pf.Rules {
			rule.Description = "" // refx's note, not GrowthBook's
			if rule.Experiment == "" {
				f.Rules = append(f.Rules, rule)
				continue
			}
			er, updated, err := s.experimentRule(ctx, rule)
			if err != nil {
				return nil, err
			}
			if er != nil {
				f.Rules = append(f.Rules, *er)
			}
			if updated.After(out.DateUpdated) {
				out.DateUpdated = updated
			}
		}
		out.Features[key] = f
	}
	body, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	fe.sdk = &sdkPayload{body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
	return fe.sdk, nil
}

// experimentRule turns a rule linking a refx experiment into GrowthBook's
// experiment rule, or nil while the experiment is not running (or was
// deleted): everyone then gets the rules after it, as /v1/assign answers
// such an experiment's control to everyone. It also returns when the
// experiment last changed.
func (s *Server) experimentRule(ctx context.Context, rule refx.FlagRule) (*refx.FlagRule, time.Time, error) {
	e, err := s.Flags.LinkedExperiment(ctx, rule.Experiment)
	switch refx.ErrorCode(err) {
	case "":
	case refx.ENOTFOUND:
		return nil, time.Time{}, nil
	default:
		return nil, time.Time{}, err
	}
	if e.Status != refx.StatusRunning {
		return nil, e.UpdatedAt, nil
	}
	out := rule
	out.Name = e.Name
	out.Experiment = ""
	out.Condition = withAudience(rule.Condition, e.Audience)
	out.TrackingKey = e.ID
	out.Seed = e.Seed
	// refx hashes the user id with hash version 2 (pkg/bucket); a rule
	// naming another attribute hashes that one, in refx's evaluation too.
	if out.HashAttribute == "" {
		out.HashAttribute = "id"
	}
	out.HashVersion = 2
	coverage := e.Coverage
	out.Coverage = &coverage
	out.Weights = e.Weights(nil)
	// The explicit ranges are the ones refx assigns by, so an SDK uses them
	// rather than rebuilding them from weights and coverage.
	out.Ranges = bucket.Ranges(out.Weights, coverage)
	for _, v := range e.Variants {
		out.Variations = append(out.Variations, v.Payload)
		out.Meta = append(out.Meta, refx.VariationMeta{Key: v.Key})
	}
	out.Namespace, out.Filters = layerFilters(e, out.HashAttribute)
	return &out, e.UpdatedAt, nil
}

// withAudience is a linked rule's condition ANDed with its experiment's
// audience: an SDK then enters only the users POST /v1/assign would, and
// skips the rule for the others, as refx's evaluation does (assignLinked).
func withAudience(condition, audience json.RawMessage) json.RawMessage {
	switch {
	case len(audience) == 0:
		return condition
	case len(condition) == 0:
		return audience
	}
	both, _ := json.Marshal(map[string][]json.RawMessage{"$and": {condition, audience}})
	return both
}

// layerFilters expresses e's layer range and covering holdouts for a
// GrowthBook SDK, so that it enrols the users /v1/assign does. The range
// is GrowthBook's namespace (refx places users with its hash); a holdout
// is a filter keeping its general arm only. GrowthBook's SDKs skip the
// namespace of a rule that has filters, so with holdouts the range is a
// filter too: inNamespace's hash (version 1, seed "__" + layer).
func layerFilters(e *refx.Experiment, attribute string) (*refx.Namespace, []refx.RuleFilter) {
	var ns *refx.Namespace
	var filters []refx.RuleFilter
	r, layered := e.ClaimedRange()
	if layered {
		ns = &refx.Namespace{ID: e.Layer, Start: r.Start, End: r.End}
	}
	for _, h := range e.Holdouts {
		filters = append(filters, generalArmFilter(h, attribute))
	}
	if layered && len(filters) > 0 {
		filters = append(filters, refx.RuleFilter{Attribute: attribute, Seed: "__" + e.Layer, HashVersion: 1, Ranges: []bucket.Range{{Start: r.Start, End: r.End}}})
	}
	return ns, filters
}

// holdOutOfFlags returns p with its running flag holdouts applied: each
// rule but linked experiments' gets a filter per holdout keeping its
// general arm only, so that a held-out user passes every such rule and
// gets the flag's default (reason DEFAULT over OFREP). Linked rules are
// left alone: their experiments honour the holdouts that cover them
// through assignment (experimentRule's layerFilters). As a filter, the
// holdout is evaluated alike by refx (OFREP), GrowthBook's SDKs and the
// Go provider, which evaluate this same payload. It hashes "id", the
// user a holdout's arm is of, whatever attribute a rollout hashes.
func holdOutOfFlags(p *refx.FlagPayload) *refx.FlagPayload {
	if len(p.Holdouts) == 0 {
		return p
	}
	filters := make([]refx.RuleFilter, 0, len(p.Holdouts))
	for _, h := range p.Holdouts {
		filters = append(filters, generalArmFilter(h, "id"))
	}
	out := *p
	out.Features = make(map[string]refx.PayloadFeature, len(p.Features))
	for key, pf := range p.Features {
		rules := make([]refx.FlagRule, len(pf.Rules))
		for i, r := range pf.Rules {
			if r.Experiment == "" {
				r.Filters = append(slices.Clip(r.Filters), filters...)
			}
			rules[i] = r
		}
		pf.Rules = rules
		out.Features[key] = pf
	}
	return &out
}

// generalArmFilter is a GrowthBook filter passing the users of h's general
// arm only: h's seed and hash, the arm's range.
func generalArmFilter(h refx.HoldoutRef, attribute string) refx.RuleFilter {
	general := bucket.Ranges([]float64{h.Share, 1 - h.Share}, 1)[1]
	return refx.RuleFilter{Attribute: attribute, Seed: h.Seed, HashVersion: 2, Ranges: []bucket.Range{general}}
}
