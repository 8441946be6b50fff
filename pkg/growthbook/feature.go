package growthbook

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

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
	ID        string          `json:"id,omitempty"`
	Condition *Condition      `json:"condition,omitempty"`
	Force     json.RawMessage `json:"force,omitempty"`
	// Coverage is the share of users a force rule covers (users whose hash is
	// at most Coverage), or the share of each variation's weight an
	// experiment enrols; nil means all.
	Coverage      *float64 `json:"coverage,omitempty"`
	Range         *Range   `json:"range,omitempty"` // force rules: covers users hashing into Range, instead of Coverage
	HashAttribute string   `json:"hashAttribute,omitempty"`
	// FallbackAttribute only applies with sticky bucketing in GrowthBook,
	// which refx does not implement, so it is kept but never used.
	FallbackAttribute string            `json:"fallbackAttribute,omitempty"`
	HashVersion       int               `json:"hashVersion,omitempty"` // 0 means 1, GrowthBook's default
	Seed              string            `json:"seed,omitempty"`        // "" means the experiment key (experiments) or feature key (rollouts)
	Key               string            `json:"key,omitempty"`         // experiment key; "" means the feature key
	Name              string            `json:"name,omitempty"`
	Phase             string            `json:"phase,omitempty"`
	Variations        []json.RawMessage `json:"variations,omitempty"`
	Weights           []float64         `json:"weights,omitempty"`
	Ranges            []Range           `json:"ranges,omitempty"` // explicit variation ranges, replacing Weights and Coverage
	Namespace         *Namespace        `json:"namespace,omitempty"`
	Filters           []Filter          `json:"filters,omitempty"`
	Meta              []VariationMeta   `json:"meta,omitempty"`
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
	// (Source == SourceExperiment) and are zero otherwise.
	ExperimentKey string
	VariationID   int
	VariationKey  string // the variation's meta key, or its index in decimal
	VariationName string
	InExperiment  bool
	HashUsed      bool
	HashAttribute string
	HashValue     any // the attribute's value as given
	Bucket        float64
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
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return jsonFieldError(path, err)
	}
	for _, name := range unsupportedRuleFields {
		if _, ok := fields[name]; ok {
			return refx.FieldErrorf(path+"."+name, "not supported by refx")
		}
	}
	if bytes.Equal(fields["coverage"], []byte("null")) {
		// GrowthBook would treat a null coverage as 0 in experiments and as
		// "hash <= 0" in rollouts; neither is what its author meant.
		return refx.FieldErrorf(path+".coverage", "must be a number")
	}
	// The condition is parsed on its own, for errors that name its path.
	cond, hasCond := fields["condition"]
	delete(fields, "condition")
	rest, _ := json.Marshal(fields)
	if err := json.Unmarshal(rest, r); err != nil {
		return jsonFieldError(path, err)
	}
	if force, ok := fields["force"]; ok {
		r.Force = force // keeps an explicit null, which omitempty decoding drops
	}
	if hasCond {
		c, err := parseConditionAt(path+".condition", cond)
		if err != nil {
			return err
		}
		r.Condition = c
	}
	return nil
}

// jsonFieldError turns a decoding error into an invalid_argument error naming
// the field.
func jsonFieldError(path string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		field := te.Field
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
	if f == nil {
		return Result{Value: nullJSON, Source: SourceUnknownFeature}
	}
	for i := range f.Rules {
		r := &f.Rules[i]
		if len(r.Filters) > 0 && filteredOut(r.Filters, attrs) {
			continue
		}
		if r.Force != nil {
			if !r.Condition.Eval(attrs, groups) || !inRollout(r, key, attrs) {
				continue
			}
			return Result{Value: r.Force, Source: SourceForce, RuleID: r.ID}
		}
		if r.Variations == nil {
			continue
		}
		if res, ok := runExperiment(r, key, attrs, groups); ok {
			return res
		}
	}
	v := f.DefaultValue
	if v == nil {
		v = nullJSON
	}
	return Result{Value: v, Source: SourceDefaultValue}
}

// hashValue is GrowthBook's getHashAttribute without sticky bucketing: the
// top-level attribute (not a path), or "" when it is missing or falsy.
func hashValue(attrs Attributes, attr string) (name string, raw any, s string) {
	if attr == "" {
		attr = "id"
	}
	v := attrs[attr]
	if !truthy(v) {
		return attr, v, ""
	}
	return attr, v, jsString(v)
}

// filteredOut is GrowthBook's isFilteredOut.
func filteredOut(filters []Filter, attrs Attributes) bool {
	for _, f := range filters {
		_, _, v := hashValue(attrs, f.Attribute)
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
func inRollout(r *Rule, key string, attrs Attributes) bool {
	if r.Range == nil && r.Coverage == nil {
		return true
	}
	if r.Range == nil && *r.Coverage == 0 {
		return false
	}
	_, _, v := hashValue(attrs, r.HashAttribute)
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

// runExperiment is the part of GrowthBook's runExperiment that applies to a
// feature's experiment rule on a server: ok reports that the user is enrolled
// in a variation that is not a passthrough, so the rule gives the value.
func runExperiment(r *Rule, key string, attrs Attributes, groups SavedGroups) (Result, bool) {
	numVariations := len(r.Variations)
	if numVariations < 2 {
		return Result{}, false
	}
	attr, raw, v := hashValue(attrs, r.HashAttribute)
	if v == "" {
		return Result{}, false
	}
	if len(r.Filters) > 0 {
		if filteredOut(r.Filters, attrs) {
			return Result{}, false
		}
	} else if ns := r.Namespace; ns != nil && !bucket.InNamespace(v, ns.ID, ns.Start, ns.End) {
		return Result{}, false
	}
	if !r.Condition.Eval(attrs, groups) {
		return Result{}, false
	}
	expKey := r.Key
	if expKey == "" {
		expKey = key
	}
	seed := r.Seed
	if seed == "" {
		seed = expKey
	}
	n, ok := bucket.HashVersion(seed, v, orOne(r.HashVersion))
	if !ok {
		return Result{}, false
	}
	var assigned int
	if r.Ranges != nil {
		assigned = bucket.Choose(n, r.Ranges)
	} else {
		coverage := 1.0
		if r.Coverage != nil {
			coverage = *r.Coverage
		}
		assigned = bucket.ChooseWeighted(n, numVariations, coverage, r.Weights)
	}
	if assigned < 0 || assigned >= numVariations {
		return Result{}, false
	}
	var meta VariationMeta
	if assigned < len(r.Meta) {
		meta = r.Meta[assigned]
	}
	if meta.Passthrough {
		return Result{}, false
	}
	varKey := meta.Key
	if varKey == "" {
		varKey = strconv.Itoa(assigned)
	}
	return Result{
		Value:         r.Variations[assigned],
		Source:        SourceExperiment,
		RuleID:        r.ID,
		ExperimentKey: expKey,
		VariationID:   assigned,
		VariationKey:  varKey,
		VariationName: meta.Name,
		InExperiment:  true,
		HashUsed:      true,
		HashAttribute: attr,
		HashValue:     raw,
		Bucket:        n,
	}, true
}
