package growthbook

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/refx-dev/refx/pkg/bucket"
	"github.com/refx-dev/refx/pkg/refx"
)

// Experiment is a GrowthBook inline experiment (what its SDK's run takes):
// the fields it shares with an experiment rule, plus the ones only inline
// experiments have.
type Experiment struct {
	ExperimentSpec
	Active *bool  `json:"active,omitempty"` // nil means true; false enrols nobody
	Status string `json:"status,omitempty"` // "draft" and "stopped" enrol nobody, as in GrowthBook
	// Force, when set, gives every user the coverage and targeting would
	// enrol this variation, without hashing (HashUsed false); an index out
	// of range enrols nobody.
	Force *int `json:"force,omitempty"`
}

// unsupportedExperimentFields are inline-experiment fields GrowthBook's SDK
// acts on and refx does not: prerequisites need the other features, URL
// targeting the page's address, groups the SDK context's user groups.
var unsupportedExperimentFields = []string{"parentConditions", "url", "urlPatterns", "groups", "contextualBanditRef"}

// ParseExperiment parses and validates an inline experiment in GrowthBook's
// JSON shape, as [ParseFeature] does a feature: with the JSON path of the
// fault in the error's Field, refusing fields refx does not implement.
func ParseExperiment(data json.RawMessage) (*Experiment, error) {
	e := &Experiment{}
	fields, err := decodeObject("experiment", data, unsupportedExperimentFields, e, &e.Condition)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(fields["force"], []byte("null")) {
		// GrowthBook would "force" a variation index of null and return
		// an undefined value.
		return nil, refx.FieldErrorf("experiment.force", "must be a number")
	}
	return e, nil
}

// RunExperiment runs an inline experiment for a user, following GrowthBook's
// runExperiment without what only its SDK's context holds (enabled, QA mode,
// forced variations, the page URL) and without sticky bucketing. The Result
// has no Source or RuleID; when the user is not enrolled, InExperiment is
// false and Value is the first variation's, as in GrowthBook.
func RunExperiment(e *Experiment, attrs Attributes, groups SavedGroups) Result {
	return runExperiment(&e.ExperimentSpec, e.Key, e, attrs, groups, nil)
}

// runExperiment is GrowthBook's runExperiment, numbered as its steps are
// (steps 2 to 4 read the SDK's context, which refx does not have), with
// sticky bucketing when sticky is not nil. It runs e under the experiment
// key key; inline holds the fields only inline experiments have and is nil
// for a feature rule (which is not copied into an Experiment: evaluation
// would pay for the copy on every call).
func runExperiment(e *ExperimentSpec, key string, inline *Experiment, attrs Attributes, groups SavedGroups, sticky *stickyState) Result {
	// 6 first, as GrowthBook's results carry the hash attribute even when
	// the user is not enrolled.
	attr, raw, v := hashValue(attrs, e.HashAttribute, sticky.fallback(e))
	// Built only when returned: feature evaluation discards it.
	notIn := func() Result { return e.result(key, attr, raw, -1, false, 0, false) }
	// 1, 5, 6
	if len(e.Variations) < 2 || inline.skipped() || v == "" {
		return notIn()
	}
	assigned, found, blocked := -1, false, false
	if sticky.enabled(e) {
		assigned, blocked = sticky.variation(e, key, attrs)
		found = assigned >= 0
	}
	// 7, 8: a user with a sticky bucket keeps it even if no longer targeted.
	if !found {
		if len(e.Filters) > 0 {
			if filteredOut(e.Filters, attrs) {
				return notIn()
			}
		} else if ns := e.Namespace; ns != nil && !bucket.InNamespace(v, ns.ID, ns.Start, ns.End) {
			return notIn()
		}
		if !e.Condition.Eval(attrs, groups) {
			return notIn()
		}
	}
	// 9
	seed := e.Seed
	if seed == "" {
		seed = key
	}
	n, ok := bucket.HashVersion(seed, v, orOne(e.HashVersion))
	if !ok {
		return notIn()
	}
	if !found {
		if e.Ranges != nil {
			assigned = bucket.Choose(n, e.Ranges)
		} else {
			coverage := 1.0
			if e.Coverage != nil {
				coverage = *e.Coverage
			}
			assigned = bucket.ChooseWeighted(n, len(e.Variations), coverage, e.Weights)
		}
	}
	// 9.5: a user assigned under a bucket version below MinBucketVersion
	// leaves the experiment.
	if blocked {
		res := notIn()
		res.StickyBucketUsed = true
		return res
	}
	// 10, 11, 12.5
	switch {
	case assigned < 0:
		return notIn()
	case inline != nil && inline.Force != nil:
		return e.result(key, attr, raw, *inline.Force, false, 0, false)
	case inline != nil && inline.Status == "stopped":
		return notIn()
	}
	// 13
	res := e.result(key, attr, raw, assigned, true, n, found)
	if sticky.enabled(e) {
		sticky.save(e, key, attr, raw, res.VariationKey)
	}
	return res
}

// skipped reports an inline experiment that is inactive or a draft.
func (x *Experiment) skipped() bool {
	return x != nil && (x.Status == "draft" || (x.Active != nil && !*x.Active))
}

// result is GrowthBook's getExperimentResult: an assigned index out of range
// means the user is not enrolled and sees the first variation.
func (e *ExperimentSpec) result(key, attr string, raw any, assigned int, hashUsed bool, n float64, stickyUsed bool) Result {
	in := assigned >= 0 && assigned < len(e.Variations)
	if !in {
		assigned = 0
	}
	value := nullJSON
	if assigned < len(e.Variations) {
		value = e.Variations[assigned]
	}
	var meta VariationMeta
	if assigned < len(e.Meta) {
		meta = e.Meta[assigned]
	}
	varKey := meta.Key
	if varKey == "" {
		varKey = strconv.Itoa(assigned)
	}
	res := Result{
		Value:            value,
		ExperimentKey:    key,
		VariationID:      assigned,
		VariationKey:     varKey,
		VariationName:    meta.Name,
		InExperiment:     in,
		HashUsed:         hashUsed,
		HashAttribute:    attr,
		HashValue:        raw,
		StickyBucketUsed: stickyUsed,
		Passthrough:      meta.Passthrough,
	}
	if hashUsed {
		res.Bucket = n
	}
	return res
}
