package growthbook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/refx-dev/refx/pkg/refx"
)

// Attributes are a user's attributes as decoded by encoding/json into
// map[string]any without UseNumber: numbers are float64, like JavaScript's,
// so comparisons and coercions match GrowthBook's SDK exactly. Values of other
// Go types (int, json.Number, structs) are treated like JavaScript objects.
type Attributes = map[string]any

// SavedGroups maps the id of a GrowthBook "ID list" saved group to its
// members, for $inGroup and $notInGroup. A nil map holds no groups.
type SavedGroups map[string][]any

// Limits applied when a condition is parsed. Go's regexp (RE2) runs in time
// linear in the input, so no pattern can backtrack catastrophically; the
// length bound keeps compiled programs, and the work per attribute, small.
const (
	maxPatternLen = 1024
	maxDepth      = 32
)

// Condition is a parsed GrowthBook targeting condition (the MongoDB-style
// JSON of GrowthBook's evalCondition). The zero Condition, like "{}",
// matches everyone. Parse with [ParseCondition]; evaluate with Eval.
type Condition struct {
	raw  json.RawMessage
	root cond
}

// cond is a JSON object of clauses, all of which must hold.
type cond []clause

type clauseKind uint8

const (
	clausePath clauseKind = iota
	clauseOr
	clauseNor
	clauseAnd
	clauseNot
)

type clause struct {
	kind clauseKind
	path []string // clausePath: the attribute path, split on "."
	val  *value   // clausePath
	subs []cond   // $or, $nor, $and; $not has one
}

type valueKind uint8

const (
	valString valueKind = iota
	valNumber
	valBool
	valNull
	valLiteral // an array, or an object that is not all operators: compared as JSON
	valOps
)

// value is a parsed condition value: a literal to compare the attribute with,
// or an object of operators.
type value struct {
	kind  valueKind
	s     string // valString
	lower string // valString, for case-insensitive $alli
	n     float64
	b     bool
	lit   any // valLiteral
	ops   []op
}

type op struct {
	name    string
	arg     any            // the operand as decoded ($eq, $lt, …; $in's []any)
	str     string         // $inGroup's group, $type's name, a $v… operand padded
	re      *regexp.Regexp // $regex, $regexi
	val     *value         // $not, $size, $elemMatch on values, $all/$alli items in vals
	vals    []value        // $all, $alli
	sub     cond           // $elemMatch on objects
	exists  bool           // $exists
	folded  []any          // $ini, $nini: the operand with strings lower-cased
	matchOp bool           // $elemMatch: val (operators) rather than sub (a condition)
}

// ParseCondition parses and validates a GrowthBook condition. It refuses,
// with an invalid_argument error whose Field is the JSON path of the fault
// (as in "condition.$or[1].country.$in"): anything that is not a JSON
// object, unknown operators, operands of the wrong type, objects that mix
// operators with field names, regular expressions that RE2 cannot compile or
// longer than 1 KiB, and nesting deeper than 32 levels. GrowthBook itself
// would evaluate most of these as false at run time; refusing them when a
// flag is saved turns a silent never-match into an error its author sees.
func ParseCondition(data json.RawMessage) (*Condition, error) {
	return parseConditionAt("condition", data)
}

func parseConditionAt(path string, data json.RawMessage) (*Condition, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, refx.FieldErrorf(path, "not valid JSON: %v", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, refx.FieldErrorf(path, "must be a JSON object")
	}
	p := parser{}
	root, err := p.cond(path, obj, 0)
	if err != nil {
		return nil, err
	}
	raw := bytes.Clone(data)
	return &Condition{raw: raw, root: root}, nil
}

// MarshalJSON returns the condition as it was parsed.
func (c *Condition) MarshalJSON() ([]byte, error) {
	if c == nil || c.raw == nil {
		return []byte("{}"), nil
	}
	return c.raw, nil
}

// UnmarshalJSON parses a condition with [ParseCondition].
func (c *Condition) UnmarshalJSON(data []byte) error {
	parsed, err := ParseCondition(data)
	if err != nil {
		return err
	}
	*c = *parsed
	return nil
}

type parser struct{}

func (p parser) cond(path string, obj map[string]any, depth int) (cond, error) {
	if depth > maxDepth {
		return nil, refx.FieldErrorf(path, "nested deeper than %d levels", maxDepth)
	}
	c := make(cond, 0, len(obj))
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		at := path + "." + k
		switch k {
		case "$or", "$nor", "$and":
			arr, ok := v.([]any)
			if !ok {
				return nil, refx.FieldErrorf(at, "must be an array of conditions")
			}
			kind := map[string]clauseKind{"$or": clauseOr, "$nor": clauseNor, "$and": clauseAnd}[k]
			cl := clause{kind: kind, subs: make([]cond, len(arr))}
			for i, e := range arr {
				o, ok := e.(map[string]any)
				eat := at + "[" + strconv.Itoa(i) + "]"
				if !ok {
					return nil, refx.FieldErrorf(eat, "must be a condition object")
				}
				sub, err := p.cond(eat, o, depth+1)
				if err != nil {
					return nil, err
				}
				cl.subs[i] = sub
			}
			c = append(c, cl)
		case "$not":
			o, ok := v.(map[string]any)
			if !ok {
				return nil, refx.FieldErrorf(at, "must be a condition object")
			}
			sub, err := p.cond(at, o, depth+1)
			if err != nil {
				return nil, err
			}
			c = append(c, clause{kind: clauseNot, subs: []cond{sub}})
		default:
			// Any other key, even one starting with "$" (GrowthBook's own
			// cases target an attribute named "$groups"), is an attribute path.
			val, err := p.value(at, v, depth+1)
			if err != nil {
				return nil, err
			}
			c = append(c, clause{kind: clausePath, path: strings.Split(k, "."), val: val})
		}
	}
	return c, nil
}

func (p parser) value(path string, v any, depth int) (*value, error) {
	if depth > maxDepth {
		return nil, refx.FieldErrorf(path, "nested deeper than %d levels", maxDepth)
	}
	switch v := v.(type) {
	case string:
		return &value{kind: valString, s: v, lower: strings.ToLower(v)}, nil
	case float64:
		return &value{kind: valNumber, n: v}, nil
	case bool:
		return &value{kind: valBool, b: v}, nil
	case nil:
		return &value{kind: valNull}, nil
	case []any:
		return &value{kind: valLiteral, lit: v}, nil
	case map[string]any:
		operators := 0
		for k := range v {
			if strings.HasPrefix(k, "$") {
				operators++
			}
		}
		if operators == 0 {
			return &value{kind: valLiteral, lit: v}, nil
		}
		if operators != len(v) {
			return nil, refx.FieldErrorf(path, "mixes operators with field names; use an attribute path (\"a.b\") for nested fields")
		}
		val := &value{kind: valOps, ops: make([]op, 0, len(v))}
		for _, k := range sortedKeys(v) {
			o, err := p.op(path+"."+k, k, v[k], depth)
			if err != nil {
				return nil, err
			}
			val.ops = append(val.ops, o)
		}
		return val, nil
	}
	return nil, refx.FieldErrorf(path, "unexpected %T", v)
}

func (p parser) op(path, name string, arg any, depth int) (op, error) {
	o := op{name: name, arg: arg}
	switch name {
	case "$eq", "$ne", "$lt", "$lte", "$gt", "$gte":
		switch arg.(type) {
		case string, float64, bool, nil:
		default:
			// JavaScript compares objects by identity: an array or object
			// operand would never equal (or always differ from) an attribute.
			return o, refx.FieldErrorf(path, "must be a string, number, boolean or null")
		}
	case "$veq", "$vne", "$vgt", "$vgte", "$vlt", "$vlte":
		switch arg.(type) {
		case string, float64:
		default:
			return o, refx.FieldErrorf(path, "must be a version string or number")
		}
		o.str = paddedVersion(arg)
	case "$in", "$nin", "$ini", "$nini":
		arr, ok := arg.([]any)
		if !ok {
			return o, refx.FieldErrorf(path, "must be an array")
		}
		if name == "$ini" || name == "$nini" {
			o.folded = make([]any, len(arr))
			for i, e := range arr {
				o.folded[i] = fold(e)
			}
		}
	case "$all", "$alli":
		arr, ok := arg.([]any)
		if !ok {
			return o, refx.FieldErrorf(path, "must be an array")
		}
		o.vals = make([]value, len(arr))
		for i, e := range arr {
			v, err := p.value(path+"["+strconv.Itoa(i)+"]", e, depth+1)
			if err != nil {
				return o, err
			}
			o.vals[i] = *v
		}
	case "$inGroup", "$notInGroup":
		s, ok := arg.(string)
		if !ok {
			return o, refx.FieldErrorf(path, "must be a saved group id (a string)")
		}
		o.str = s
	case "$regex", "$regexi":
		s, ok := arg.(string)
		if !ok {
			return o, refx.FieldErrorf(path, "must be a regular expression (a string)")
		}
		if len(s) > maxPatternLen {
			return o, refx.FieldErrorf(path, "regular expression longer than %d bytes", maxPatternLen)
		}
		if name == "$regexi" {
			s = "(?i)" + s
		}
		re, err := regexp.Compile(s)
		if err != nil {
			return o, refx.FieldErrorf(path, "invalid regular expression (RE2 syntax: no lookaround or backreferences): %v", err)
		}
		o.re = re
	case "$type":
		s, ok := arg.(string)
		switch s {
		case "string", "number", "boolean", "array", "object", "null", "undefined":
		default:
			ok = false
		}
		if !ok {
			return o, refx.FieldErrorf(path, "must be one of string, number, boolean, array, object, null, undefined")
		}
		o.str = s
	case "$exists":
		b, ok := arg.(bool)
		if !ok {
			return o, refx.FieldErrorf(path, "must be true or false")
		}
		o.exists = b
	case "$not", "$size":
		if _, isNum := arg.(float64); name == "$size" && !isNum && !isOperatorObject(arg) {
			return o, refx.FieldErrorf(path, "must be a number or an object of operators")
		}
		v, err := p.value(path, arg, depth+1)
		if err != nil {
			return o, err
		}
		o.val = v
	case "$elemMatch":
		obj, ok := arg.(map[string]any)
		if !ok {
			return o, refx.FieldErrorf(path, "must be an object")
		}
		if isOperatorObject(obj) {
			v, err := p.value(path, obj, depth+1)
			if err != nil {
				return o, err
			}
			o.val, o.matchOp = v, true
		} else {
			sub, err := p.cond(path, obj, depth+1)
			if err != nil {
				return o, err
			}
			o.sub = sub
		}
	default:
		return o, refx.FieldErrorf(path, "unknown operator %q", name)
	}
	return o, nil
}

// isOperatorObject is GrowthBook's test: a non-empty object whose keys all
// start with "$".
func isOperatorObject(v any) bool {
	obj, ok := v.(map[string]any)
	if !ok || len(obj) == 0 {
		return false
	}
	for k := range obj {
		if !strings.HasPrefix(k, "$") {
			return false
		}
	}
	return true
}

// sortedKeys gives parsing a fixed order, so that of several faults the same
// one is always reported.
func sortedKeys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}

// fold lower-cases strings, for the case-insensitive operators.
func fold(v any) any {
	if s, ok := v.(string); ok {
		return strings.ToLower(s)
	}
	return v
}

// Eval reports whether attrs satisfy the condition, with GrowthBook's
// evalCondition semantics; groups resolves $inGroup and may be nil. A nil
// condition matches everyone.
func (c *Condition) Eval(attrs Attributes, groups SavedGroups) bool {
	if c == nil {
		return true
	}
	return evalCond(c.root, attrs, groups)
}

// String returns the condition's JSON, for logs and errors.
func (c *Condition) String() string {
	b, _ := c.MarshalJSON()
	return string(b)
}

func evalCond(c cond, obj any, groups SavedGroups) bool {
	for i := range c {
		cl := &c[i]
		switch cl.kind {
		case clauseOr:
			if !evalOr(cl.subs, obj, groups) {
				return false
			}
		case clauseNor:
			if evalOr(cl.subs, obj, groups) {
				return false
			}
		case clauseAnd:
			for _, sub := range cl.subs {
				if !evalCond(sub, obj, groups) {
					return false
				}
			}
		case clauseNot:
			if evalCond(cl.subs[0], obj, groups) {
				return false
			}
		default:
			if !evalValue(cl.val, getPath(obj, cl.path), groups, false) {
				return false
			}
		}
	}
	return true
}

// evalOr is true for an empty list, as in GrowthBook (so "$nor": [] never
// matches).
func evalOr(subs []cond, obj any, groups SavedGroups) bool {
	if len(subs) == 0 {
		return true
	}
	for _, sub := range subs {
		if evalCond(sub, obj, groups) {
			return true
		}
	}
	return false
}

// getPath follows a dotted path through objects and arrays (by index, and
// "length", as JavaScript's `in` does); a missing step gives nil, which
// GrowthBook's getPath returns as null.
func getPath(obj any, path []string) any {
	cur := obj
	for _, part := range path {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[part]
			if !ok {
				return nil
			}
			cur = v
		case []any:
			if part == "length" {
				cur = float64(len(c))
				continue
			}
			i, ok := arrayIndex(part)
			if !ok || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// arrayIndex parses a canonical array index ("0", "12", not "01" or "+1").
func arrayIndex(s string) (int, bool) {
	if s == "" || len(s) > 9 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// evalValue is GrowthBook's evalConditionValue. insensitive only affects a
// string literal, as there ($alli).
func evalValue(v *value, actual any, groups SavedGroups, insensitive bool) bool {
	switch v.kind {
	case valString:
		if s, ok := actual.(string); ok && !insensitive {
			return s == v.s
		}
		if insensitive {
			return strings.ToLower(jsString(actual)) == v.lower
		}
		return jsString(actual) == v.s
	case valNumber:
		return jsToNumber(actual) == v.n
	case valBool:
		return actual != nil && truthy(actual) == v.b
	case valNull:
		return actual == nil
	case valLiteral:
		return jsonEqual(actual, v.lit)
	}
	for i := range v.ops {
		if !evalOp(&v.ops[i], actual, groups) {
			return false
		}
	}
	return true
}

func evalOp(o *op, actual any, groups SavedGroups) bool {
	switch o.name {
	case "$veq":
		return paddedVersion(actual) == o.str
	case "$vne":
		return paddedVersion(actual) != o.str
	case "$vgt":
		return paddedVersion(actual) > o.str
	case "$vgte":
		return paddedVersion(actual) >= o.str
	case "$vlt":
		return paddedVersion(actual) < o.str
	case "$vlte":
		return paddedVersion(actual) <= o.str
	case "$eq":
		return strictEqual(actual, o.arg)
	case "$ne":
		return !strictEqual(actual, o.arg)
	case "$lt":
		less, ok := jsLess(actual, o.arg)
		return ok && less
	case "$gt":
		less, ok := jsLess(o.arg, actual)
		return ok && less
	case "$lte":
		greater, ok := jsLess(o.arg, actual)
		return ok && !greater
	case "$gte":
		less, ok := jsLess(actual, o.arg)
		return ok && !less
	case "$exists":
		return (actual != nil) == o.exists
	case "$in":
		return isIn(actual, o.arg.([]any), false)
	case "$nin":
		return !isIn(actual, o.arg.([]any), false)
	case "$ini":
		return isIn(actual, o.folded, true)
	case "$nini":
		return !isIn(actual, o.folded, true)
	case "$inGroup":
		return isIn(actual, groups[o.str], false)
	case "$notInGroup":
		return !isIn(actual, groups[o.str], false)
	case "$not":
		return !evalValue(o.val, actual, groups, false)
	case "$size":
		arr, ok := actual.([]any)
		return ok && evalValue(o.val, float64(len(arr)), groups, false)
	case "$elemMatch":
		arr, ok := actual.([]any)
		if !ok {
			return false
		}
		for _, e := range arr {
			if !truthy(e) {
				continue // GrowthBook skips falsy elements
			}
			if o.matchOp && evalValue(o.val, e, groups, false) || !o.matchOp && evalCond(o.sub, e, groups) {
				return true
			}
		}
		return false
	case "$all", "$alli":
		arr, ok := actual.([]any)
		if !ok {
			return false
		}
		for i := range o.vals {
			found := false
			for _, e := range arr {
				if evalValue(&o.vals[i], e, groups, o.name == "$alli") {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	case "$regex", "$regexi":
		if s, ok := actual.(string); ok {
			return o.re.MatchString(s)
		}
		return o.re.MatchString(jsString(actual))
	case "$type":
		return jsType(actual) == o.str
	}
	panic(fmt.Sprintf("growthbook: operator %s passed parsing but has no evaluation", o.name))
}

// isIn is GrowthBook's isIn: membership by ===, or, for an array attribute,
// a non-empty intersection. With insensitive, expected is already folded.
func isIn(actual any, expected []any, insensitive bool) bool {
	if arr, ok := actual.([]any); ok {
		for _, e := range arr {
			if contains(expected, e, insensitive) {
				return true
			}
		}
		return false
	}
	return contains(expected, actual, insensitive)
}

func contains(list []any, v any, insensitive bool) bool {
	if insensitive {
		v = fold(v)
	}
	for _, e := range list {
		if strictEqual(v, e) {
			return true
		}
	}
	return false
}

// jsType is GrowthBook's getType.
func jsType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	}
	return "object"
}
