package growthbook

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"strconv"
	"strings"

	"github.com/refx-dev/refx/pkg/bucket"
	"github.com/refx-dev/refx/pkg/refx"
)

// Feature is a feature flag in GrowthBook's JSON shape: a default value and
// rules tried in order, the first that applies giving the value.
type Feature struct {
	DefaultValue json.RawMessage `json:"defaultValue,omitempty"`
	Rules        []Rule          `json:"rules,omitempty"`
}

// Rule is a GrowthBook feature rule. A rule with Force set (even to null)
// forces that value on the users it covers; otherwise a rule with Variations
// is an experiment; any other rule is skipped. Fields that GrowthBook's SDK
// reads and refx does not (parentConditions, contextual bandits) are refused
// by [ParseFeature]; fields neither reads are ignored, as GrowthBook does.
type Rule struct {
	ID    string          `json:"id,omitempty"`
	Force json.RawMessage `json:"force,omitempty"`
	Range *Range          `json:"range,omitempty"` // force rules: covers users hashing into Range, instead of Coverage
	// ExperimentSpec holds what a rule shares with an inline [Experiment]:
	// force rules read its targeting and hashing fields (Condition,
	// Coverage, Filters, HashAttribute, FallbackAttribute, HashVersion,
	// Seed), experiment rules all of it.
	ExperimentSpec
}

// ExperimentSpec is what GrowthBook's experiment feature rules and inline
// experiments have in common: who is eligible and how users are hashed into
// variations.
type ExperimentSpec struct {
	Key       string     `json:"key,omitempty"` // experiment key; in a rule, "" means the feature key
	Condition *Condition `json:"condition,omitempty"`
	// Coverage is the share of users a force rule covers (users whose hash is
	// at most Coverage), or the share of each variation's weight an
	// experiment enrols; nil means all.
	Coverage      *float64 `json:"coverage,omitempty"`
	HashAttribute string   `json:"hashAttribute,omitempty"`
	// FallbackAttribute hashes users who lack HashAttribute, but only with
	// sticky bucketing ([EvalFeatureSticky]), as in GrowthBook: without a
	// stored assignment, a user hashed by an anonymous id would change
	// variation on logging in.
	FallbackAttribute string            `json:"fallbackAttribute,omitempty"`
	HashVersion       int               `json:"hashVersion,omitempty"` // 0 means 1, GrowthBook's default
	Seed              string            `json:"seed,omitempty"`        // "" means the experiment key (experiments) or feature key (rollouts)
	Name              string            `json:"name,omitempty"`
	Phase             string            `json:"phase,omitempty"`
	Variations        []json.RawMessage `json:"variations,omitempty"`
	Weights           []float64         `json:"weights,omitempty"`
	Ranges            []Range           `json:"ranges,omitempty"` // explicit variation ranges, replacing Weights and Coverage
	Namespace         *Namespace        `json:"namespace,omitempty"`
	Filters           []Filter          `json:"filters,omitempty"`
	Meta              []VariationMeta   `json:"meta,omitempty"`
	// BucketVersion, MinBucketVersion and DisableStickyBucketing only matter
	// with sticky bucketing (see [EvalFeatureSticky]).
	BucketVersion          int  `json:"bucketVersion,omitempty"`
	MinBucketVersion       int  `json:"minBucketVersion,omitempty"`
	DisableStickyBucketing bool `json:"disableStickyBucketing,omitempty"`
}

// Range is GrowthBook's [start, end) pair.
type Range = bucket.Range

// Namespace is GrowthBook's [id, start, end]: the experiment only enrols
// users whose namespace hash lies in [Start, End).
type Namespace struct {
	ID         string
	Start, End float64
}

// Filter is GrowthBook's filter: the rule applies only to users whose hash of
// Attribute (default "id") with Seed falls in one of Ranges.
type Filter struct {
	Attribute   string  `json:"attribute,omitempty"`
	Seed        string  `json:"seed"`
	HashVersion int     `json:"hashVersion,omitempty"` // 0 means 2 here, as in GrowthBook
	Ranges      []Range `json:"ranges"`
}

// VariationMeta names a variation; a passthrough variation enrols the user
// but lets evaluation go on to the next rule (holdouts).
type VariationMeta struct {
	Key         string `json:"key,omitempty"`
	Name        string `json:"name,omitempty"`
	Passthrough bool   `json:"passthrough,omitempty"`
}

// Source says where a feature's value came from.
type Source string

// The sources refx produces, GrowthBook's names.
const (
	SourceUnknownFeature Source = "unknownFeature"
	SourceDefaultValue   Source = "defaultValue"
	SourceForce          Source = "force"
	SourceExperiment     Source = "experiment"
)

// Result is the outcome of evaluating a feature for one user.
type Result struct {
	Value  json.RawMessage // "null" when there is none
	Source Source
	RuleID string
	// The remaining fields describe the experiment that gave the value
	// (Source == SourceExperiment), or the one [RunExperiment] ran, and
	// are zero otherwise.
	ExperimentKey string
	VariationID   int
	VariationKey  string // the variation's meta key, or its index in decimal
	VariationName string
	InExperiment  bool
	HashUsed      bool
	HashAttribute string
	HashValue     any // the attribute's value as given, "" when it is missing or falsy
	Bucket        float64
	// StickyBucketUsed reports that the variation came from a stored sticky
	// bucket assignment rather than from the hash ([EvalFeatureSticky]).
	StickyBucketUsed bool
	// Passthrough reports a passthrough variation (see [VariationMeta]):
	// only [RunExperiment] returns one, as feature evaluation goes on to
	// the next rule.
	Passthrough bool
}

// On reports whether the value is truthy in JavaScript's sense (not null,
// false, 0 or ""), GrowthBook's definition of a feature being on.
func (r Result) On() bool {
	v := bytes.TrimSpace(r.Value)
	switch string(v) {
	case "", "null", "false", `""`:
		return false
	}
	if v[0] == '-' || (v[0] >= '0' && v[0] <= '9') {
		f, err := strconv.ParseFloat(string(v), 64)
		return err != nil || f != 0
	}
	return true
}

var nullJSON = json.RawMessage("null")

// ParseFeature parses and validates a feature in GrowthBook's JSON shape,
// refusing conditions as [ParseCondition] does and fields of the wrong type,
// with the JSON path of the fault in the error's Field
// ("rules[2].condition.country.$in").
func ParseFeature(data json.RawMessage) (*Feature, error) {
	var wire struct {
		DefaultValue json.RawMessage   `json:"defaultValue"`
		Rules        []json.RawMessage `json:"rules"`
	}
	if err := json.Unmarshal(data, &wire); err != nil {
		return nil, jsonFieldError("", err)
	}
	f := &Feature{DefaultValue: wire.DefaultValue, Rules: make([]Rule, len(wire.Rules))}
	for i, raw := range wire.Rules {
		path := "rules[" + strconv.Itoa(i) + "]"
		if err := parseRule(path, raw, &f.Rules[i]); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// unsupportedRuleFields are rule fields GrowthBook's SDK acts on and refx
// does not: ignoring them would silently change who gets what.
var unsupportedRuleFields = []string{"parentConditions", "contextualBanditRef", "contextualVariations", "tracks"}

func parseRule(path string, raw json.RawMessage, r *Rule) error {
	fields, err := decodeObject(path, raw, unsupportedRuleFields, r, &r.Condition)
	if err != nil {
		return err
	}
	if force, ok := fields["force"]; ok {
		r.Force = force // keeps an explicit null, which omitempty decoding drops
	}
	return nil
}

// decodeObject decodes the JSON object raw at path into dst, refusing the
// fields listed in unsupported and a null coverage, and parses its
// "condition" into *cond with errors that name the condition's path. It
// returns the object's fields for checks of their own.
func decodeObject(path string, raw json.RawMessage, unsupported []string, dst any, cond **Condition) (map[string]json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, jsonFieldError(path, err)
	}
	for _, name := range unsupported {
		if _, ok := fields[name]; ok {
			return nil, refx.FieldErrorf(path+"."+name, "not supported by refx")
		}
	}
	if bytes.Equal(fields["coverage"], []byte("null")) {
		// GrowthBook would treat a null coverage as 0 in experiments and as
		// "hash <= 0" in rollouts; neither is what its author meant.
		return nil, refx.FieldErrorf(path+".coverage", "must be a number")
	}
	c, hasCond := fields["condition"]
	rest := maps.Clone(fields)
	delete(rest, "condition")
	restJSON, _ := json.Marshal(rest)
	if err := json.Unmarshal(restJSON, dst); err != nil {
		return nil, jsonFieldError(path, err)
	}
	if hasCond {
		parsed, err := parseConditionAt(path+".condition", c)
		if err != nil {
			return nil, err
		}
		*cond = parsed
	}
	return fields, nil
}

// jsonFieldError turns a decoding error into an invalid_argument error naming
// the field.
func jsonFieldError(path string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		// encoding/json names an embedded struct's fields after its Go
		// type; in the JSON they are the object's own.
		field := strings.TrimPrefix(te.Field, "ExperimentSpec.")
		if path != "" {
			field = path + "." + field
		}
		return refx.FieldErrorf(field, "must be a JSON %s", jsonKind(te))
	}
	if path == "" {
		path = "feature"
	}
	return refx.FieldErrorf(path, "%v", err)
}

func jsonKind(te *json.UnmarshalTypeError) string {
	switch te.Type.Kind().String() {
	case "string":
		return "string"
	case "float64", "int":
		return "number"
	case "slice", "array":
		return "array"
	case "bool":
		return "boolean"
	}
	return "object"
}

// UnmarshalJSON reads GrowthBook's [id, start, end].
func (n *Namespace) UnmarshalJSON(data []byte) error {
	var t [3]json.RawMessage
	if err := json.Unmarshal(data, &t); err != nil {
		return err
	}
	if err := json.Unmarshal(t[0], &n.ID); err != nil {
		return err
	}
	if err := json.Unmarshal(t[1], &n.Start); err != nil {
		return err
	}
	return json.Unmarshal(t[2], &n.End)
}

// MarshalJSON writes GrowthBook's [id, start, end].
func (n Namespace) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{n.ID, n.Start, n.End})
}

// EvalFeature evaluates the feature key for a user, following GrowthBook's
// evalFeature: the first rule that applies gives the value, else the
// default. A nil feature gives SourceUnknownFeature. groups resolves
// $inGroup in conditions and may be nil. It does not allocate unless a
// condition or hash needs a non-string attribute as a string.
func EvalFeature(key string, f *Feature, attrs Attributes, groups SavedGroups) Result {
	return evalFeature(key, f, attrs, groups, nil)
}

// evalFeature is EvalFeature, with sticky bucketing when sticky is not nil.
func evalFeature(key string, f *Feature, attrs Attributes, groups SavedGroups, sticky *stickyState) Result {
	if f == nil {
		return Result{Value: nullJSON, Source: SourceUnknownFeature}
	}
	for i := range f.Rules {
		r := &f.Rules[i]
		if len(r.Filters) > 0 && filteredOut(r.Filters, attrs) {
			continue
		}
		if r.Force != nil {
			if !r.Condition.Eval(attrs, groups) || !inRollout(r, key, attrs, sticky.fallback(&r.ExperimentSpec)) {
				continue
			}
			return Result{Value: r.Force, Source: SourceForce, RuleID: r.ID}
		}
		if r.Variations == nil {
			continue
		}
		expKey := r.Key
		if expKey == "" {
			expKey = key
		}
		if res := runExperiment(&r.ExperimentSpec, expKey, nil, attrs, groups, sticky); res.InExperiment && !res.Passthrough {
			res.Source, res.RuleID = SourceExperiment, r.ID
			return res
		}
	}
	v := f.DefaultValue
	if v == nil {
		v = nullJSON
	}
	return Result{Value: v, Source: SourceDefaultValue}
}

// hashValue is GrowthBook's getHashAttribute: the top-level attribute attr
// (not a path; "" means "id"), or else fallback if it is set, or raw and s ""
// when neither is truthy.
func hashValue(attrs Attributes, attr, fallback string) (name string, raw any, s string) {
	attr = orID(attr)
	if v := attrs[attr]; truthy(v) {
		return attr, v, jsString(v)
	}
	if v := attrs[fallback]; fallback != "" && truthy(v) {
		return fallback, v, jsString(v)
	}
	return attr, "", ""
}

// filteredOut is GrowthBook's isFilteredOut.
func filteredOut(filters []Filter, attrs Attributes) bool {
	for _, f := range filters {
		_, _, v := hashValue(attrs, f.Attribute, "")
		if v == "" {
			return true
		}
		version := f.HashVersion
		if version == 0 {
			version = 2
		}
		n, ok := bucket.HashVersion(f.Seed, v, version)
		if !ok || !inAnyRange(n, f.Ranges) {
			return true
		}
	}
	return false
}

func inAnyRange(n float64, ranges []Range) bool {
	for _, r := range ranges {
		if r.Contains(n) {
			return true
		}
	}
	return false
}

// inRollout is GrowthBook's isIncludedInRollout for a force rule.
func inRollout(r *Rule, key string, attrs Attributes, fallback string) bool {
	if r.Range == nil && r.Coverage == nil {
		return true
	}
	if r.Range == nil && *r.Coverage == 0 {
		return false
	}
	_, _, v := hashValue(attrs, r.HashAttribute, fallback)
	if v == "" {
		return false
	}
	seed := r.Seed
	if seed == "" {
		seed = key
	}
	n, ok := bucket.HashVersion(seed, v, orOne(r.HashVersion))
	if !ok {
		return false
	}
	if r.Range != nil {
		return r.Range.Contains(n)
	}
	return n <= *r.Coverage // <=, not <, as in GrowthBook
}

func orOne(version int) int {
	if version == 0 {
		return 1
	}
	return version
}
