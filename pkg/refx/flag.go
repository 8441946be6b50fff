package refx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/refx-dev/refx/pkg/bucket"
)

// FlagKind says what a flag is for; it changes nothing in evaluation, only
// how the dashboard and its owners treat it (a kill switch stays forever,
// a release flag is removed once rolled out).
type FlagKind string

// Flag kinds.
const (
	FlagRelease     FlagKind = "release"
	FlagExperiment  FlagKind = "experiment"
	FlagOperational FlagKind = "operational"
	FlagPermission  FlagKind = "permission"
)

// ValueType is the JSON type of a flag's values.
type ValueType string

// Value types, as GrowthBook names them.
const (
	ValueBoolean ValueType = "boolean"
	ValueString  ValueType = "string"
	ValueNumber  ValueType = "number"
	ValueJSON    ValueType = "json"
)

// The environments every flag has; others may be added per flag.
const (
	EnvDev        = "dev"
	EnvProduction = "production"
)

// Flag limits. Every flag and segment is read by every flag write (the
// payloads are rebuilt from all of them), and each environment's payload is
// one DynamoDB item: the bounds keep that read small and the item under
// DynamoDB's 400 KB.
const (
	MaxFlagBytes        = 64 << 10
	MaxSegmentBytes     = 16 << 10
	MaxFlagSetBytes     = 1 << 20
	MaxFlagPayloadBytes = 300 << 10
	MaxFlags            = 1000
	MaxSegments         = 200
	MaxEnvironments     = 8
	MaxRules            = 50
	MaxRuleSegments     = 10
	MaxTags             = 20
	MaxVariations       = MaxVariants
)

// Flag is a feature flag: its brief, its value type and default, and per
// environment whether it is on and its ordered rules.
//
// Rules belong to an environment, as in GrowthBook, rather than being
// shared with a per-environment switch: a rollout is at 100 % in dev and at
// 5 % in production, a force rule for testers exists in dev only, and a
// change tried in dev must not reach production until it is copied there
// on purpose.
type Flag struct {
	Key          string                     `json:"key"`
	Description  string                     `json:"description,omitempty"`
	Owner        string                     `json:"owner,omitempty"`
	Kind         FlagKind                   `json:"kind"`
	ValueType    ValueType                  `json:"value_type"`
	DefaultValue json.RawMessage            `json:"default_value"`
	Environments map[string]FlagEnvironment `json:"environments"`
	Tags         []string                   `json:"tags,omitempty"`
	Version      int64                      `json:"version"`
	CreatedAt    time.Time                  `json:"created_at"`
	UpdatedAt    time.Time                  `json:"updated_at"`
}

// FlagEnvironment is a flag's state in one environment. A disabled flag is
// left out of GrowthBook's SDK payload: GrowthBook's SDKs evaluate it to
// null, as they do an unknown flag, and the application's own fallback
// applies; OFREP answers it with reason DISABLED and the default value.
type FlagEnvironment struct {
	Enabled bool       `json:"enabled"`
	Rules   []FlagRule `json:"rules"`
}

// FlagRule is one rule, in GrowthBook's feature-rule JSON shape (hence the
// camelCase names) plus refx's own fields, segments and experiment. A rule
// is one of:
//   - a force rule: force, for the users matching condition and segments,
//     or for a sticky coverage share of them (a rollout: the share is a
//     hash of hashAttribute, so raising it only adds users);
//   - a GrowthBook experiment rule: variations (weights, key, seed,
//     namespace, coverage optional);
//   - a refx experiment rule: experiment, the id of a refx experiment whose
//     variants' payloads are the flag's values; the experiment owns the
//     weights, coverage and seed.
type FlagRule struct {
	ID          string          `json:"id,omitempty"`
	Description string          `json:"description,omitempty"`
	Condition   json.RawMessage `json:"condition,omitempty"`
	// Segments are keys of saved segments the user must also match; the
	// payload inlines their conditions.
	Segments      []string        `json:"segments,omitempty"`
	Force         json.RawMessage `json:"force,omitempty"`
	Coverage      *float64        `json:"coverage,omitempty"`
	Range         *bucket.Range   `json:"range,omitempty"` // a force rule's users: those hashing into it, instead of coverage
	HashAttribute string          `json:"hashAttribute,omitempty"`
	// FallbackAttribute, BucketVersion, MinBucketVersion and
	// DisableStickyBucketing drive GrowthBook's sticky bucketing, which
	// GrowthBook's SDKs apply with a sticky bucket service of their own.
	FallbackAttribute      string            `json:"fallbackAttribute,omitempty"`
	BucketVersion          int               `json:"bucketVersion,omitempty"`
	MinBucketVersion       int               `json:"minBucketVersion,omitempty"`
	DisableStickyBucketing bool              `json:"disableStickyBucketing,omitempty"`
	Variations             []json.RawMessage `json:"variations,omitempty"`
	Weights                []float64         `json:"weights,omitempty"`
	// Ranges are the variations' explicit hash ranges, replacing weights
	// and coverage.
	Ranges      []bucket.Range  `json:"ranges,omitempty"`
	Meta        []VariationMeta `json:"meta,omitempty"`
	Filters     []RuleFilter    `json:"filters,omitempty"`
	TrackingKey string          `json:"key,omitempty"`
	Name        string          `json:"name,omitempty"`
	Phase       string          `json:"phase,omitempty"`
	Seed        string          `json:"seed,omitempty"`
	Namespace   *Namespace      `json:"namespace,omitempty"`
	HashVersion int             `json:"hashVersion,omitempty"`
	Experiment  string          `json:"experiment,omitempty"`
}

// VariationMeta names a variation of an experiment rule, as GrowthBook's
// meta does: key is what tracking reports, and a passthrough variation
// enrols the user but lets evaluation go on to the next rule.
type VariationMeta struct {
	Key         string `json:"key,omitempty"`
	Name        string `json:"name,omitempty"`
	Passthrough bool   `json:"passthrough,omitempty"`
}

// RuleFilter is GrowthBook's filter: the rule applies only to the users
// whose hash of attribute (default id) with seed falls in one of ranges,
// the way mutually exclusive experiments share users.
type RuleFilter struct {
	Attribute   string         `json:"attribute,omitempty"`
	Seed        string         `json:"seed"`
	HashVersion int            `json:"hashVersion,omitempty"`
	Ranges      []bucket.Range `json:"ranges"`
}

// Namespace is GrowthBook's ["id", start, end]: a rule applies only to the
// users whose hash in namespace id falls in [start, end), so that rules
// sharing a namespace with disjoint ranges never share a user.
type Namespace struct {
	ID         string
	Start, End float64
}

// MarshalJSON writes the namespace as GrowthBook's three-element array.
func (n Namespace) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{n.ID, n.Start, n.End})
}

// UnmarshalJSON reads GrowthBook's three-element array.
func (n *Namespace) UnmarshalJSON(b []byte) error {
	var parts []json.RawMessage
	if err := json.Unmarshal(b, &parts); err != nil || len(parts) != 3 ||
		json.Unmarshal(parts[0], &n.ID) != nil || json.Unmarshal(parts[1], &n.Start) != nil || json.Unmarshal(parts[2], &n.End) != nil {
		return fmt.Errorf(`namespace must be ["id", start, end]`)
	}
	return nil
}

// Segment is a saved, named condition that rules of several flags may
// reference by key.
type Segment struct {
	Key         string          `json:"key"`
	Description string          `json:"description,omitempty"`
	Condition   json.RawMessage `json:"condition"`
	Version     int64           `json:"version"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// NewFlag is the body of a create request. Environments absent from it are
// created disabled, without rules.
type NewFlag struct {
	Key          string                     `json:"key"`
	Description  string                     `json:"description"`
	Owner        string                     `json:"owner"`
	Kind         FlagKind                   `json:"kind"`
	ValueType    ValueType                  `json:"value_type"`
	DefaultValue json.RawMessage            `json:"default_value"`
	Environments map[string]FlagEnvironment `json:"environments"`
	Tags         []string                   `json:"tags"`
}

// Build validates n and returns the flag it describes, at version 1.
func (n NewFlag) Build(now time.Time) (*Flag, error) {
	f := &Flag{
		Key: n.Key, Description: n.Description, Owner: n.Owner, Kind: n.Kind, ValueType: n.ValueType,
		DefaultValue: n.DefaultValue, Environments: map[string]FlagEnvironment{}, Tags: n.Tags,
		Version: 1, CreatedAt: now.UTC(), UpdatedAt: now.UTC(),
	}
	for name, env := range n.Environments {
		f.Environments[name] = env
	}
	for _, name := range []string{EnvDev, EnvProduction} {
		if _, ok := f.Environments[name]; !ok {
			f.Environments[name] = FlagEnvironment{}
		}
	}
	f.normalize()
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// normalize gives every environment a non-nil rule list, so that a flag
// reads back with "rules": [] rather than null, and compacts JSON values.
func (f *Flag) normalize() {
	f.DefaultValue = compactJSON(f.DefaultValue)
	for name, env := range f.Environments {
		if env.Rules == nil {
			env.Rules = []FlagRule{}
		}
		f.Environments[name] = env
	}
}

// Validate checks every invariant of a flag on its own. What involves other
// items (segments exist, linked experiments' payloads, the bounds on all
// flags) is checked by FlagSet.Validate and CheckLinks, and the conditions'
// language by CheckConditions.
func (f *Flag) Validate() error {
	switch {
	case !ValidKey(f.Key):
		return FieldErrorf("key", "must be 1-64 characters of letters, digits, '-', '_' or '.', starting with a letter or digit")
	case len(f.Description) > MaxTextLen:
		return FieldErrorf("description", "must be at most %d bytes", MaxTextLen)
	case len(f.Owner) > MaxSlugLen*2:
		return FieldErrorf("owner", "must be at most %d bytes", MaxSlugLen*2)
	case !slices.Contains([]FlagKind{FlagRelease, FlagExperiment, FlagOperational, FlagPermission}, f.Kind):
		return FieldErrorf("kind", "must be release, experiment, operational or permission")
	case !slices.Contains([]ValueType{ValueBoolean, ValueString, ValueNumber, ValueJSON}, f.ValueType):
		return FieldErrorf("value_type", "must be boolean, string, number or json")
	case len(f.DefaultValue) == 0:
		return FieldErrorf("default_value", "is required")
	}
	if err := f.ValueType.check("default_value", f.DefaultValue); err != nil {
		return err
	}
	if err := validateTags(f.Tags); err != nil {
		return err
	}
	if len(f.Environments) > MaxEnvironments {
		return FieldErrorf("environments", "must be at most %d", MaxEnvironments)
	}
	for _, name := range []string{EnvDev, EnvProduction} {
		if _, ok := f.Environments[name]; !ok {
			return FieldErrorf("environments", "must include %q", name)
		}
	}
	for _, name := range sortedKeys(f.Environments) {
		if !ValidSlug(name) {
			return FieldErrorf("environments", "name %q must be 1-64 characters of a-z, 0-9, '-' or '_'", name)
		}
		env := f.Environments[name]
		if len(env.Rules) > MaxRules {
			return FieldErrorf("environments."+name+".rules", "must hold at most %d rules", MaxRules)
		}
		ids := map[string]bool{}
		for i, r := range env.Rules {
			field := fmt.Sprintf("environments.%s.rules[%d]", name, i)
			if err := r.validate(field, f.ValueType); err != nil {
				return err
			}
			if r.ID != "" && ids[r.ID] {
				return FieldErrorf(field+".id", "%q appears twice in the environment", r.ID)
			}
			ids[r.ID] = true
		}
	}
	if b, _ := json.Marshal(f); len(b) > MaxFlagBytes {
		return &Error{Code: ETOOLARGE, Field: "environments", Message: fmt.Sprintf("the flag takes %d bytes of JSON, over %d", len(b), MaxFlagBytes)}
	}
	return nil
}

func validateTags(tags []string) error {
	if len(tags) > MaxTags {
		return FieldErrorf("tags", "must list at most %d tags", MaxTags)
	}
	for i, t := range tags {
		switch {
		case !ValidKey(t):
			return FieldErrorf("tags", "tag %q must be 1-64 characters of letters, digits, '-', '_' or '.'", t)
		case slices.Contains(tags[:i], t):
			return FieldErrorf("tags", "tag %q appears twice", t)
		}
	}
	return nil
}

func (r FlagRule) validate(field string, vt ValueType) error {
	kinds := 0
	for _, set := range []bool{len(r.Force) > 0, len(r.Variations) > 0, r.Experiment != ""} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return FieldErrorf(field, "must have exactly one of force (a value or a rollout), variations (a GrowthBook experiment) or experiment (a refx experiment)")
	}
	switch {
	case r.ID != "" && !ValidKey(r.ID):
		return FieldErrorf(field+".id", "must be 1-64 characters of letters, digits, '-', '_' or '.'")
	case len(r.Description) > MaxTextLen:
		return FieldErrorf(field+".description", "must be at most %d bytes", MaxTextLen)
	case r.Coverage != nil && (math.IsNaN(*r.Coverage) || *r.Coverage < 0 || *r.Coverage > 1):
		return FieldErrorf(field+".coverage", "must be between 0 and 1")
	case r.HashAttribute != "" && !ValidUser(r.HashAttribute):
		return InvalidUser(field + ".hashAttribute")
	case len(r.Seed) > MaxSlugLen*2:
		return FieldErrorf(field+".seed", "must be at most %d bytes", MaxSlugLen*2)
	case r.TrackingKey != "" && !ValidKey(r.TrackingKey):
		return FieldErrorf(field+".key", "must be 1-64 characters of letters, digits, '-', '_' or '.'")
	case r.HashVersion != 0 && r.HashVersion != 1 && r.HashVersion != 2:
		return FieldErrorf(field+".hashVersion", "must be 1 or 2")
	case len(r.Segments) > MaxRuleSegments:
		return FieldErrorf(field+".segments", "must list at most %d segments", MaxRuleSegments)
	}
	if len(r.Condition) > 0 {
		if err := CheckCondition(field+".condition", r.Condition); err != nil {
			return err
		}
	}
	for i, s := range r.Segments {
		if !ValidKey(s) || slices.Contains(r.Segments[:i], s) {
			return FieldErrorf(field+".segments", "%q must be a segment key, listed once", s)
		}
	}
	if err := r.validateGrowthBookFields(field); err != nil {
		return err
	}
	if n := r.Namespace; n != nil && (!ValidKey(n.ID) || math.IsNaN(n.Start) || math.IsNaN(n.End) || n.Start < 0 || n.Start >= n.End || n.End > 1) {
		return FieldErrorf(field+".namespace", `must be ["id", start, end] with 0 <= start < end <= 1`)
	}
	switch {
	case len(r.Force) > 0:
		if r.Weights != nil || r.TrackingKey != "" || r.Namespace != nil || r.Ranges != nil || r.Meta != nil {
			return FieldErrorf(field, "weights, ranges, meta, key and namespace belong to experiment rules, not to a force rule")
		}
		return vt.check(field+".force", r.Force)
	case r.Experiment != "":
		if !ValidSlug(r.Experiment) {
			return FieldErrorf(field+".experiment", "must be an experiment id")
		}
		if r.Coverage != nil || r.Weights != nil || r.Ranges != nil || r.Range != nil || r.Meta != nil || r.TrackingKey != "" || r.Seed != "" || r.Namespace != nil || r.HashVersion != 0 {
			return FieldErrorf(field, "coverage, weights, ranges, meta, key, seed, namespace and hashVersion of a refx experiment rule are the experiment's")
		}
		return nil
	}
	if len(r.Variations) < 2 || len(r.Variations) > MaxVariations {
		return FieldErrorf(field+".variations", "must list 2 to %d values", MaxVariations)
	}
	if r.Range != nil {
		return FieldErrorf(field+".range", "belongs to force rules; an experiment rule has ranges, one per variation")
	}
	if r.Ranges != nil && len(r.Ranges) != len(r.Variations) {
		return FieldErrorf(field+".ranges", "must have one range per variation")
	}
	if r.Meta != nil && len(r.Meta) != len(r.Variations) {
		return FieldErrorf(field+".meta", "must have one entry per variation")
	}
	for i, v := range r.Variations {
		if err := vt.check(fmt.Sprintf("%s.variations[%d]", field, i), v); err != nil {
			return err
		}
	}
	if r.Weights == nil {
		return nil
	}
	if len(r.Weights) != len(r.Variations) {
		return FieldErrorf(field+".weights", "must have one weight per variation")
	}
	var sum float64
	for _, w := range r.Weights {
		if math.IsNaN(w) || w < 0 || w > 1 {
			return FieldErrorf(field+".weights", "must each be between 0 and 1")
		}
		sum += w
	}
	// GrowthBook's weights are shares summing to 1; its SDKs fall back to
	// equal weights otherwise, which is never what was meant.
	if math.Abs(sum-1) > 1e-6 {
		return FieldErrorf(field+".weights", "must sum to 1, not %g", sum)
	}
	return nil
}

// MaxRuleFilters bounds a rule's filters, each a hash per evaluation.
const MaxRuleFilters = 10

// validateGrowthBookFields checks the fields a rule carries for GrowthBook's
// SDKs: hash ranges within [0, 1], names and seeds of bounded length.
func (r FlagRule) validateGrowthBookFields(field string) error {
	switch {
	case len(r.Name) > MaxTextLen:
		return FieldErrorf(field+".name", "must be at most %d bytes", MaxTextLen)
	case len(r.Phase) > MaxSlugLen:
		return FieldErrorf(field+".phase", "must be at most %d bytes", MaxSlugLen)
	case r.FallbackAttribute != "" && !ValidUser(r.FallbackAttribute):
		return InvalidUser(field + ".fallbackAttribute")
	case r.BucketVersion < 0 || r.MinBucketVersion < 0 || r.MinBucketVersion > r.BucketVersion:
		return FieldErrorf(field+".minBucketVersion", "must be between 0 and bucketVersion")
	case len(r.Filters) > MaxRuleFilters:
		return FieldErrorf(field+".filters", "must list at most %d filters", MaxRuleFilters)
	}
	if r.Range != nil && !unitRange(*r.Range) {
		return FieldErrorf(field+".range", "must be [start, end] with 0 <= start <= end <= 1")
	}
	for i, rg := range r.Ranges {
		if !unitRange(rg) {
			return FieldErrorf(fmt.Sprintf("%s.ranges[%d]", field, i), "must be [start, end] with 0 <= start <= end <= 1")
		}
	}
	for i, m := range r.Meta {
		if len(m.Key) > MaxSlugLen*2 || len(m.Name) > MaxTextLen {
			return FieldErrorf(fmt.Sprintf("%s.meta[%d]", field, i), "key must be at most %d bytes, name %d", MaxSlugLen*2, MaxTextLen)
		}
	}
	for i, f := range r.Filters {
		ff := fmt.Sprintf("%s.filters[%d]", field, i)
		switch {
		case f.Attribute != "" && !ValidUser(f.Attribute):
			return InvalidUser(ff + ".attribute")
		case len(f.Seed) > MaxSlugLen*2:
			return FieldErrorf(ff+".seed", "must be at most %d bytes", MaxSlugLen*2)
		case f.HashVersion != 0 && f.HashVersion != 1 && f.HashVersion != 2:
			return FieldErrorf(ff+".hashVersion", "must be 1 or 2")
		case len(f.Ranges) == 0 || len(f.Ranges) > MaxVariations:
			return FieldErrorf(ff+".ranges", "must list 1 to %d ranges", MaxVariations)
		}
		for _, rg := range f.Ranges {
			if !unitRange(rg) {
				return FieldErrorf(ff+".ranges", "must each be [start, end] with 0 <= start <= end <= 1")
			}
		}
	}
	return nil
}

func unitRange(r bucket.Range) bool {
	return !math.IsNaN(r.Start) && !math.IsNaN(r.End) && 0 <= r.Start && r.Start <= r.End && r.End <= 1
}

// check reports whether v, one JSON value, is of the value type.
func (vt ValueType) check(field string, v json.RawMessage) error {
	var x any
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	if err := d.Decode(&x); err != nil {
		return FieldErrorf(field, "must be a JSON value")
	}
	ok := false
	switch vt {
	case ValueBoolean:
		_, ok = x.(bool)
	case ValueString:
		_, ok = x.(string)
	case ValueNumber:
		_, ok = x.(json.Number)
	case ValueJSON:
		ok = x != nil
	}
	if !ok {
		return FieldErrorf(field, "must be a %s value, as the flag's value_type says", vt)
	}
	return nil
}

// CheckCondition checks the shape of a rule's or segment's condition: a
// JSON object. Its operators are GrowthBook's parser's to check
// (CheckConditions), outside the core.
func CheckCondition(field string, c json.RawMessage) error {
	if len(bytes.TrimSpace(c)) == 0 || bytes.TrimSpace(c)[0] != '{' || !json.Valid(c) {
		return FieldErrorf(field, "must be a JSON object (a GrowthBook condition)")
	}
	return nil
}

// CheckConditions checks every rule's condition with parse: GrowthBook's
// parser, which lives in pkg/growthbook, a package that imports this one.
// parse's error names the field from the condition down ("condition.$or[1]
// .country"); the rule's path is put in front of it.
func (f *Flag) CheckConditions(parse func(json.RawMessage) error) error {
	for _, name := range sortedKeys(f.Environments) {
		for i, r := range f.Environments[name].Rules {
			if len(r.Condition) == 0 {
				continue
			}
			if err := parse(r.Condition); err != nil {
				return UnderField(fmt.Sprintf("environments.%s.rules[%d].", name, i), err)
			}
		}
	}
	return nil
}

// UnderField returns err with its field placed under prefix.
func UnderField(prefix string, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	field := e.Field
	if field == "" {
		field = "condition"
	}
	return &Error{Code: e.Code, Message: e.Message, Field: prefix + field, Cause: e.Cause}
}

// linkedExperiments returns the ids of the refx experiments the flag's
// rules link to, each with the first rule's field naming it.
func (f *Flag) linkedExperiments() map[string]string {
	links := map[string]string{}
	for _, name := range sortedKeys(f.Environments) {
		for i, r := range f.Environments[name].Rules {
			if _, seen := links[r.Experiment]; r.Experiment != "" && !seen {
				links[r.Experiment] = fmt.Sprintf("environments.%s.rules[%d].experiment", name, i)
			}
		}
	}
	return links
}

// CheckLinks checks the experiments the flag's rules link to: each must
// exist, and each variant's payload, which becomes the flag's value, must
// be of the flag's value type. experiment reads one (ENOTFOUND when absent).
func (f *Flag) CheckLinks(ctx context.Context, experiment func(context.Context, string) (*Experiment, error)) error {
	for id, field := range f.linkedExperiments() {
		e, err := experiment(ctx, id)
		switch ErrorCode(err) {
		case "":
		case ENOTFOUND:
			return FieldErrorf(field, "names no experiment: %s does not exist", id)
		default:
			return err
		}
		for _, v := range e.Variants {
			if len(v.Payload) == 0 {
				return FieldErrorf(field, "experiment %s's variant %q has no payload to be the flag's value", id, v.Key)
			}
			if err := f.ValueType.check(field, v.Payload); err != nil {
				return FieldErrorf(field, "experiment %s's variant %q has a payload that is not a %s value", id, v.Key, f.ValueType)
			}
		}
	}
	return nil
}

// FlagPatch is the body of a flag update. Version is the version the client
// read; a stale one is a conflict. Environments patches the environments it
// names (null removes one; dev and production cannot be removed) and leaves
// the others as they are.
type FlagPatch struct {
	Version      int64                            `json:"version"`
	Description  *string                          `json:"description"`
	Owner        *string                          `json:"owner"`
	Kind         *FlagKind                        `json:"kind"`
	ValueType    *ValueType                       `json:"value_type"`
	DefaultValue json.RawMessage                  `json:"default_value"`
	Environments map[string]*FlagEnvironmentPatch `json:"environments"`
	Tags         *[]string                        `json:"tags"`
}

// FlagEnvironmentPatch changes one environment: switching a flag off in
// production sends only enabled, and keeps the rules.
type FlagEnvironmentPatch struct {
	Enabled *bool       `json:"enabled"`
	Rules   *[]FlagRule `json:"rules"`
}

// Apply returns a copy of f with the patch applied, validated, its version
// bumped.
func (f *Flag) Apply(p FlagPatch, now time.Time) (*Flag, error) {
	if p.Version != f.Version {
		return nil, Errorf(ECONFLICT, "flag %s is at version %d, not %d: read it again", f.Key, f.Version, p.Version)
	}
	next := *f
	next.Environments = make(map[string]FlagEnvironment, len(f.Environments))
	for name, env := range f.Environments {
		next.Environments[name] = env
	}
	set(&next.Description, p.Description)
	set(&next.Owner, p.Owner)
	set(&next.Kind, p.Kind)
	set(&next.ValueType, p.ValueType)
	set(&next.Tags, p.Tags)
	if len(p.DefaultValue) > 0 {
		next.DefaultValue = p.DefaultValue
	}
	for name, ep := range p.Environments {
		if ep == nil {
			if name == EnvDev || name == EnvProduction {
				return nil, FieldErrorf("environments."+name, "cannot be removed: every flag has dev and production")
			}
			delete(next.Environments, name)
			continue
		}
		env := next.Environments[name]
		set(&env.Enabled, ep.Enabled)
		set(&env.Rules, ep.Rules)
		next.Environments[name] = env
	}
	next.normalize()
	if err := next.Validate(); err != nil {
		return nil, err
	}
	next.Version++
	next.UpdatedAt = now.UTC()
	return &next, nil
}

func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// NewSegment is the body of a segment's create request.
type NewSegment struct {
	Key         string          `json:"key"`
	Description string          `json:"description"`
	Condition   json.RawMessage `json:"condition"`
}

// Build validates n and returns the segment, at version 1.
func (n NewSegment) Build(now time.Time) (*Segment, error) {
	s := &Segment{Key: n.Key, Description: n.Description, Condition: compactJSON(n.Condition), Version: 1, CreatedAt: now.UTC(), UpdatedAt: now.UTC()}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// Validate checks a segment.
func (s *Segment) Validate() error {
	switch {
	case !ValidKey(s.Key):
		return FieldErrorf("key", "must be 1-64 characters of letters, digits, '-', '_' or '.', starting with a letter or digit")
	case len(s.Description) > MaxTextLen:
		return FieldErrorf("description", "must be at most %d bytes", MaxTextLen)
	case len(s.Condition) > MaxSegmentBytes:
		return &Error{Code: ETOOLARGE, Field: "condition", Message: fmt.Sprintf("must be at most %d bytes", MaxSegmentBytes)}
	}
	return CheckCondition("condition", s.Condition)
}

// SegmentPatch is the body of a segment update, under optimistic locking.
type SegmentPatch struct {
	Version     int64           `json:"version"`
	Description *string         `json:"description"`
	Condition   json.RawMessage `json:"condition"`
}

// Apply returns a copy of s with the patch applied, validated, its version
// bumped.
func (s *Segment) Apply(p SegmentPatch, now time.Time) (*Segment, error) {
	if p.Version != s.Version {
		return nil, Errorf(ECONFLICT, "segment %s is at version %d, not %d: read it again", s.Key, s.Version, p.Version)
	}
	next := *s
	set(&next.Description, p.Description)
	if len(p.Condition) > 0 {
		next.Condition = compactJSON(p.Condition)
	}
	if err := next.Validate(); err != nil {
		return nil, err
	}
	next.Version++
	next.UpdatedAt = now.UTC()
	return &next, nil
}

// FlagSet is every flag and segment, as one flag write sees them: the
// payloads are built from it and its bounds checked on it.
type FlagSet struct {
	Flags    map[string]*Flag
	Segments map[string]*Segment
}

// Validate checks what involves several items: every segment a rule names
// exists, and the bounds on the whole set hold (ELIMIT).
func (s FlagSet) Validate() error {
	switch {
	case len(s.Flags) > MaxFlags:
		return Errorf(ELIMIT, "at most %d flags may exist", MaxFlags)
	case len(s.Segments) > MaxSegments:
		return Errorf(ELIMIT, "at most %d segments may exist", MaxSegments)
	}
	size := 0
	envs := map[string]bool{}
	for _, key := range sortedKeys(s.Flags) {
		f := s.Flags[key]
		b, _ := json.Marshal(f)
		size += len(b)
		for _, name := range sortedKeys(f.Environments) {
			envs[name] = true
			for i, r := range f.Environments[name].Rules {
				for _, seg := range r.Segments {
					if s.Segments[seg] == nil {
						return FieldErrorf(fmt.Sprintf("environments.%s.rules[%d].segments", name, i), "segment %q does not exist", seg)
					}
				}
			}
		}
	}
	for _, seg := range s.Segments {
		b, _ := json.Marshal(seg)
		size += len(b)
	}
	switch {
	case size > MaxFlagSetBytes:
		return Errorf(ELIMIT, "all flags and segments together would take %d bytes of JSON, over %d", size, MaxFlagSetBytes)
	case len(envs) > MaxEnvironments:
		return Errorf(ELIMIT, "flags may use at most %d environments in all", MaxEnvironments)
	}
	return nil
}

// SegmentUsers returns the keys of the flags whose rules name the segment.
func (s FlagSet) SegmentUsers(segment string) []string {
	var users []string
	for _, key := range sortedKeys(s.Flags) {
		for _, env := range s.Flags[key].Environments {
			if slices.ContainsFunc(env.Rules, func(r FlagRule) bool { return slices.Contains(r.Segments, segment) }) {
				users = append(users, key)
				break
			}
		}
	}
	return users
}

// Environments returns the environments of the payloads: dev, production
// and every other one a flag has, sorted.
func (s FlagSet) Environments() []string {
	envs := map[string]bool{EnvDev: true, EnvProduction: true}
	for _, f := range s.Flags {
		for name := range f.Environments {
			envs[name] = true
		}
	}
	return sortedKeys(envs)
}

// FlagPayload is what SDKs of one environment read: every flag of the
// environment, in GrowthBook's SDK payload shape (features: key →
// defaultValue and rules), with the segments' conditions inlined into the
// rules'. A disabled flag is there without its rules, so that OFREP can
// answer DISABLED rather than "not found".
type FlagPayload struct {
	Environment string `json:"environment"`
	// Version increases with every change to any flag or segment.
	Version   int64                     `json:"version"`
	UpdatedAt time.Time                 `json:"updated_at"`
	Features  map[string]PayloadFeature `json:"features"`
	// Holdouts are the running holdouts with Flags, as the store reads
	// them beside the payload (never stored in it: they change with
	// holdouts' starts and stops, not flags' versions).
	Holdouts []HoldoutRef `json:"holdouts,omitempty"`
}

// PayloadFeature is one flag in a payload. kind and valueType are refx's,
// beside GrowthBook's defaultValue and rules.
type PayloadFeature struct {
	DefaultValue json.RawMessage `json:"defaultValue"`
	Rules        []FlagRule      `json:"rules,omitempty"`
	ValueType    ValueType       `json:"valueType"`
	Kind         FlagKind        `json:"kind"`
	Disabled     bool            `json:"disabled,omitempty"`
}

// Payload builds environment env's payload at version. ELIMIT when it would
// pass MaxFlagPayloadBytes; the JSON is returned with it, as stored.
func (s FlagSet) Payload(env string, version int64, now time.Time) (*FlagPayload, []byte, error) {
	p := &FlagPayload{Environment: env, Version: version, UpdatedAt: now.UTC(), Features: map[string]PayloadFeature{}}
	for key, f := range s.Flags {
		fe, ok := f.Environments[env]
		if !ok {
			continue
		}
		pf := PayloadFeature{DefaultValue: f.DefaultValue, ValueType: f.ValueType, Kind: f.Kind, Disabled: !fe.Enabled}
		if pf.Disabled {
			p.Features[key] = pf
			continue
		}
		for _, r := range fe.Rules {
			pf.Rules = append(pf.Rules, s.inline(r))
		}
		p.Features[key] = pf
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, nil, err
	}
	if len(b) > MaxFlagPayloadBytes {
		return nil, nil, Errorf(ELIMIT, "the flags enabled in %s would take %d bytes, over %d: disable or remove some", env, len(b), MaxFlagPayloadBytes)
	}
	return p, b, nil
}

// inline returns r with its segments' conditions and its own joined into
// one GrowthBook condition, so that an SDK needs no segment of its own.
func (s FlagSet) inline(r FlagRule) FlagRule {
	if len(r.Segments) == 0 {
		return r
	}
	var all []json.RawMessage
	if len(r.Condition) > 0 {
		all = append(all, r.Condition)
	}
	for _, key := range r.Segments {
		all = append(all, s.Segments[key].Condition)
	}
	r.Segments = nil
	if len(all) == 1 {
		r.Condition = all[0]
		return r
	}
	r.Condition, _ = json.Marshal(map[string][]json.RawMessage{"$and": all})
	return r
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// FlagService manages flags and segments. Every change rebuilds the
// payloads of every environment with it, atomically.
type FlagService interface {
	// CreateFlag stores a new flag. ECONFLICT if the key is taken,
	// EINVALID for an unknown segment or linked experiment, ELIMIT.
	CreateFlag(ctx context.Context, f *Flag) error
	// Flag returns one flag. ENOTFOUND.
	Flag(ctx context.Context, key string) (*Flag, error)
	// Flags returns every flag, by key.
	Flags(ctx context.Context) ([]*Flag, error)
	// UpdateFlag applies a patch under optimistic locking. ENOTFOUND,
	// ECONFLICT for a stale version, EINVALID, ELIMIT.
	UpdateFlag(ctx context.Context, key string, p FlagPatch) (*Flag, error)
	// ImportFlags creates or changes, at once, the flags of a GrowthBook
	// SDK payload in one environment (FlagSet.Import). EINVALID, ELIMIT.
	ImportFlags(ctx context.Context, p GrowthBookPayload, env string) (*ImportResult, error)
	// DeleteFlag deletes a flag. ENOTFOUND.
	DeleteFlag(ctx context.Context, key string) error
	// CreateSegment stores a new segment. ECONFLICT if the key is taken.
	CreateSegment(ctx context.Context, s *Segment) error
	// Segment returns one segment. ENOTFOUND.
	Segment(ctx context.Context, key string) (*Segment, error)
	// Segments returns every segment, by key.
	Segments(ctx context.Context) ([]*Segment, error)
	// UpdateSegment applies a patch under optimistic locking. ENOTFOUND,
	// ECONFLICT.
	UpdateSegment(ctx context.Context, key string, p SegmentPatch) (*Segment, error)
	// DeleteSegment deletes a segment no flag uses. ENOTFOUND, ECONFLICT
	// while a rule names it.
	DeleteSegment(ctx context.Context, key string) error
	// FlagPayload returns an environment's payload with the running
	// holdouts with Flags: two small reads, made once per cache period by
	// the SDK routes. ENOTFOUND before any flag was written.
	FlagPayload(ctx context.Context, env string) (*FlagPayload, error)
	// LinkedExperiment returns an experiment a rule links, as /v1/assign
	// reads it: through the instance's short experiment cache, so that
	// serving payloads is no storm of consistent reads. ENOTFOUND.
	LinkedExperiment(ctx context.Context, id string) (*Experiment, error)
}
