package refx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// MaxImportFlags bounds the flags one import creates or changes: an import
// is one transaction, which also writes the flags' version and every
// environment's payload, and DynamoDB's transactions hold 100 items.
const MaxImportFlags = 80

// MaxImportBytes bounds an import's body, a whole GrowthBook SDK payload.
const MaxImportBytes = MaxFlagSetBytes

// GrowthBookPayload is the body of POST /v1/flags:import: a GrowthBook SDK
// payload as GrowthBook's API serves it. Its features become flags of one
// environment; saved groups are inlined into the conditions that name them.
type GrowthBookPayload struct {
	Features    map[string]GrowthBookFeature `json:"features"`
	SavedGroups map[string][]json.RawMessage `json:"savedGroups"`
	// What refx cannot import is refused rather than dropped.
	Experiments          []json.RawMessage `json:"experiments"`
	EncryptedFeatures    string            `json:"encryptedFeatures"`
	EncryptedSavedGroups string            `json:"encryptedSavedGroups"`
	// GrowthBook's own bookkeeping, read and ignored.
	Status      json.RawMessage `json:"status"`
	DateUpdated json.RawMessage `json:"dateUpdated"`
}

// GrowthBookFeature is one feature of a GrowthBook SDK payload. Its rules
// are decoded one by one, so that a refusal names the rule's path.
type GrowthBookFeature struct {
	DefaultValue json.RawMessage   `json:"defaultValue"`
	Rules        []json.RawMessage `json:"rules"`
}

// unimportedRuleFields are rule fields GrowthBook's SDKs act on that refx
// neither evaluates nor serves: prerequisites and contextual bandits.
var unimportedRuleFields = []string{"parentConditions", "tracks", "contextualBanditRef", "contextualVariations"}

// decodeRules decodes a feature's rules strictly, naming the field of a
// refusal from the feature down ("features.x.rules[1].parentConditions").
func decodeRules(field string, raws []json.RawMessage) ([]FlagRule, error) {
	rules := make([]FlagRule, len(raws))
	for i, raw := range raws {
		rf := fmt.Sprintf("%s.rules[%d]", field, i)
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, FieldErrorf(rf, "must be a JSON object (a GrowthBook feature rule)")
		}
		for name := range fields {
			if slices.Contains(unimportedRuleFields, name) {
				return nil, FieldErrorf(rf+"."+name, "is not supported by refx: remove it from the rule, or the rule")
			}
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&rules[i]); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field != "" {
				return nil, FieldErrorf(rf+"."+te.Field, "must be a JSON %s", te.Type)
			}
			if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
				return nil, FieldErrorf(rf+"."+strings.Trim(name, `"`), "is not a field of a GrowthBook feature rule that refx knows")
			}
			return nil, FieldErrorf(rf, "%v", err)
		}
	}
	return rules, nil
}

// ImportResult says what an import did to each flag.
type ImportResult struct {
	Environment string   `json:"environment"`
	Created     []string `json:"created"`
	Updated     []string `json:"updated"`
	Unchanged   []string `json:"unchanged"`
}

// Import returns the flags that importing p into environment env creates or
// changes, each validated and at its next version, and what happens to each
// feature. A feature becomes a flag of the same key whose rules in env are
// the feature's, enabled there; an existing flag keeps its other
// environments, kind and owner, and must have the feature's value type. A
// new flag's value type comes from its default value, its kind is
// experiment when a rule runs an experiment and release otherwise, and its
// other environments start disabled. Nothing is returned on any error.
func (s FlagSet) Import(p GrowthBookPayload, env string, now time.Time) ([]*Flag, *ImportResult, error) {
	switch {
	case !ValidSlug(env):
		return nil, nil, FieldErrorf("environment", "must be 1-64 characters of a-z, 0-9, '-' or '_'")
	case p.EncryptedFeatures != "" || p.EncryptedSavedGroups != "":
		return nil, nil, FieldErrorf("encryptedFeatures", "is not supported: export the SDK connection's payload unencrypted")
	case len(p.Experiments) > 0:
		return nil, nil, FieldErrorf("experiments", "auto experiments (visual editor, URL redirects) are not supported: only features are imported")
	case len(p.Features) == 0:
		return nil, nil, FieldErrorf("features", "must hold at least one feature")
	}
	res := &ImportResult{Environment: env, Created: []string{}, Updated: []string{}, Unchanged: []string{}}
	var changed []*Flag
	for _, key := range sortedKeys(p.Features) {
		field := "features." + key
		if !ValidKey(key) {
			return nil, nil, FieldErrorf(field, "a flag key must be 1-64 characters of letters, digits, '-', '_' or '.', starting with a letter or digit")
		}
		gf := p.Features[key]
		rules, err := decodeRules(field, gf.Rules)
		if err != nil {
			return nil, nil, err
		}
		rules, err = inlineSavedGroups(field, rules, p.SavedGroups)
		if err != nil {
			return nil, nil, err
		}
		vt, ok := valueTypeOf(gf.DefaultValue)
		if !ok {
			return nil, nil, FieldErrorf(field+".defaultValue", "must be a boolean, string, number, object or array: refx flags have a typed default")
		}
		current := s.Flags[key]
		if current == nil {
			n := NewFlag{Key: key, Kind: FlagRelease, ValueType: vt, DefaultValue: gf.DefaultValue,
				Environments: map[string]FlagEnvironment{env: {Enabled: true, Rules: rules}}}
			for _, r := range rules {
				if len(r.Variations) > 0 {
					n.Kind = FlagExperiment
				}
			}
			f, err := n.Build(now)
			if err != nil {
				return nil, nil, UnderField(field+".", err)
			}
			changed = append(changed, f)
			res.Created = append(res.Created, key)
			continue
		}
		if vt != current.ValueType && current.ValueType != ValueJSON {
			return nil, nil, FieldErrorf(field+".defaultValue", "is a %s; flag %s holds %s values", vt, key, current.ValueType)
		}
		envs := map[string]*FlagEnvironmentPatch{env: {Enabled: new(true), Rules: &rules}}
		next, err := current.Apply(FlagPatch{Version: current.Version, DefaultValue: gf.DefaultValue, Environments: envs}, now)
		if err != nil {
			return nil, nil, UnderField(field+".", err)
		}
		if sameFlag(current, next) {
			res.Unchanged = append(res.Unchanged, key)
			continue
		}
		changed = append(changed, next)
		res.Updated = append(res.Updated, key)
	}
	if len(changed) > MaxImportFlags {
		return nil, nil, Errorf(ELIMIT, "the payload would create or change %d flags; one import changes at most %d: split it", len(changed), MaxImportFlags)
	}
	return changed, res, nil
}

// sameFlag reports whether next, a patched a, changes nothing but its
// version and time.
func sameFlag(a, next *Flag) bool {
	x := *next
	x.Version, x.UpdatedAt = a.Version, a.UpdatedAt
	ja, _ := json.Marshal(a)
	jx, _ := json.Marshal(&x)
	return bytes.Equal(ja, jx)
}

// valueTypeOf is the value type of a JSON value; false for null.
func valueTypeOf(v json.RawMessage) (ValueType, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "", false
	}
	switch c := v[0]; {
	case c == 't' || c == 'f':
		return ValueBoolean, true
	case c == '"':
		return ValueString, true
	case c == '-' || c >= '0' && c <= '9':
		return ValueNumber, true
	case c == '{' || c == '[':
		return ValueJSON, true
	}
	return "", false
}

// inlineSavedGroups returns rules with every {"$inGroup": id} of their
// conditions replaced by {"$in": [the group's values]} and $notInGroup by
// $nin, which is what they mean: refx has segments, not saved groups.
func inlineSavedGroups(field string, rules []FlagRule, groups map[string][]json.RawMessage) ([]FlagRule, error) {
	out := make([]FlagRule, len(rules))
	for i, r := range rules {
		out[i] = r
		if len(r.Condition) == 0 || !bytes.Contains(r.Condition, []byte("Group")) {
			continue
		}
		rf := fmt.Sprintf("%s.rules[%d].condition", field, i)
		var c any
		d := json.NewDecoder(bytes.NewReader(r.Condition))
		d.UseNumber()
		if err := d.Decode(&c); err != nil {
			return nil, FieldErrorf(rf, "must be a JSON object (a GrowthBook condition)")
		}
		c, err := replaceGroups(rf, c, groups)
		if err != nil {
			return nil, err
		}
		if out[i].Condition, err = json.Marshal(c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func replaceGroups(field string, v any, groups map[string][]json.RawMessage) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, sub := range x {
			op := map[string]string{"$inGroup": "$in", "$notInGroup": "$nin"}[k]
			if op == "" {
				r, err := replaceGroups(field+"."+k, sub, groups)
				if err != nil {
					return nil, err
				}
				out[k] = r
				continue
			}
			id, _ := sub.(string)
			values, ok := groups[id]
			if !ok {
				return nil, FieldErrorf(field+"."+k, "names saved group %q, which the payload's savedGroups do not hold", id)
			}
			if values == nil {
				values = []json.RawMessage{}
			}
			out[op] = values
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, sub := range x {
			r, err := replaceGroups(fmt.Sprintf("%s[%d]", field, i), sub, groups)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}
