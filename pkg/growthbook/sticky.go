package growthbook

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
)

// StickyDoc is GrowthBook's sticky bucket assignment document: the
// variations assigned to the users identified by one attribute's value.
// Assignments maps "{experiment key}__{bucket version}" to the variation's
// key (its meta key, or its index in decimal).
type StickyDoc struct {
	AttributeName  string            `json:"attributeName"`
	AttributeValue string            `json:"attributeValue"`
	Assignments    map[string]string `json:"assignments"`
}

// StickyDocs are one user's sticky bucket documents, keyed by [StickyKey] of
// their attribute name and value, as GrowthBook's SDK holds them.
type StickyDocs map[string]StickyDoc

// StickyKey is GrowthBook's key of a sticky bucket document,
// "attributeName||attributeValue".
func StickyKey(attributeName, attributeValue string) string {
	return attributeName + "||" + attributeValue
}

// StickyKeys returns, sorted, the keys of the documents that evaluating
// features for a user may read: GrowthBook's getStickyBucketAttributes, the
// user's values of every experiment rule's hash and fallback attributes. A
// store loads these documents and passes them to [EvalFeatureSticky].
// Attributes the user lacks (or has falsy) are left out: no document is ever
// written for them.
func StickyKeys(features map[string]*Feature, attrs Attributes) []string {
	seen := map[string]bool{}
	add := func(attr string) {
		if v := attrs[attr]; truthy(v) {
			seen[StickyKey(attr, stickyValue(v))] = true
		}
	}
	for _, f := range features {
		for i := range f.Rules {
			r := &f.Rules[i]
			if r.Variations == nil {
				continue
			}
			add(orID(r.HashAttribute))
			if r.FallbackAttribute != "" {
				add(r.FallbackAttribute)
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// EvalFeatureSticky is [EvalFeature] with GrowthBook's sticky bucketing: a
// user keeps the variation stored in docs (the user's documents, as
// [StickyKeys] names them) for an experiment's key and BucketVersion even
// when its weights, coverage or targeting change; FallbackAttribute hashes
// users without HashAttribute; a user with an assignment under a bucket
// version below MinBucketVersion is left out of the experiment; rules with
// DisableStickyBucketing are evaluated as by EvalFeature. docs is not
// modified: changed holds the documents the evaluation created or updated,
// whole, to be stored and merged into docs (maps.Copy) before the user's next
// evaluation.
func EvalFeatureSticky(key string, f *Feature, attrs Attributes, groups SavedGroups, docs StickyDocs) (res Result, changed StickyDocs) {
	s := &stickyState{docs: docs}
	res = evalFeature(key, f, attrs, groups, s)
	return res, s.changed
}

// stickyState is one evaluation's view of a user's documents; a nil
// *stickyState means no sticky bucketing.
type stickyState struct {
	docs    StickyDocs
	changed StickyDocs // written by this evaluation, read before docs
}

func (s *stickyState) doc(key string) StickyDoc {
	if d, ok := s.changed[key]; ok {
		return d
	}
	return s.docs[key]
}

// enabled reports whether sticky bucketing applies to e.
func (s *stickyState) enabled(e *ExperimentSpec) bool {
	return s != nil && !e.DisableStickyBucketing
}

// fallback is the attribute that hashes users without e's hash attribute:
// GrowthBook ignores FallbackAttribute without sticky bucketing.
func (s *stickyState) fallback(e *ExperimentSpec) string {
	if !s.enabled(e) {
		return ""
	}
	return e.FallbackAttribute
}

// variation is GrowthBook's getStickyBucketVariation: the index of the
// variation stored for e's key and bucket version, or -1; blocked reports an
// assignment under a version below MinBucketVersion.
func (s *stickyState) variation(e *ExperimentSpec, key string, attrs Attributes) (assigned int, blocked bool) {
	// GrowthBook merges the fallback attribute's document under the hash
	// attribute's (the latter wins), so an assignment made while the user
	// was anonymous survives logging in. Its fallback defaults to "id",
	// which matters when HashAttribute is something else.
	hashAttr := orID(e.HashAttribute)
	primary := s.doc(StickyKey(hashAttr, stickyValue(attrs[hashAttr])))
	var secondary StickyDoc
	if fb := orID(e.FallbackAttribute); truthy(attrs[fb]) {
		secondary = s.doc(StickyKey(fb, stickyValue(attrs[fb])))
	}
	lookup := func(expKey string) (string, bool) {
		if v, ok := primary.Assignments[expKey]; ok {
			return v, true
		}
		v, ok := secondary.Assignments[expKey]
		return v, ok
	}
	for version := range e.MinBucketVersion {
		if _, ok := lookup(stickyExperimentKey(key, version)); ok {
			return -1, true
		}
	}
	varKey, ok := lookup(stickyExperimentKey(key, e.BucketVersion))
	if !ok {
		return -1, false
	}
	// A key no variation has any more is no assignment (without meta keys,
	// GrowthBook stores assignments it never reads back).
	return slices.IndexFunc(e.Meta, func(m VariationMeta) bool { return m.Key == varKey }), false
}

// save is the end of GrowthBook's runExperiment: the assignment is stored in
// the document of the attribute that hashed the user.
func (s *stickyState) save(e *ExperimentSpec, key, attr string, raw any, varKey string) {
	value := stickyValue(raw)
	docKey := StickyKey(attr, value)
	existing := s.doc(docKey)
	expKey := stickyExperimentKey(key, e.BucketVersion)
	if old, ok := existing.Assignments[expKey]; ok && old == varKey {
		return
	}
	assignments := maps.Clone(existing.Assignments)
	if assignments == nil {
		assignments = map[string]string{}
	}
	assignments[expKey] = varKey
	if s.changed == nil {
		s.changed = StickyDocs{}
	}
	s.changed[docKey] = StickyDoc{AttributeName: attr, AttributeValue: value, Assignments: assignments}
}

func stickyExperimentKey(key string, bucketVersion int) string {
	return key + "__" + strconv.Itoa(bucketVersion)
}

// stickyValue is GrowthBook's toString of an attribute in a document key:
// strings as they are, anything else as JSON, falsy values as "".
func stickyValue(v any) string {
	if !truthy(v) {
		return ""
	}
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return jsNumber(v) // as JSON.stringify for finite numbers
	}
	b, err := json.Marshal(v)
	if err != nil {
		return jsString(v)
	}
	return string(b)
}

func orID(attr string) string {
	if attr == "" {
		return "id"
	}
	return attr
}
