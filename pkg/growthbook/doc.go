// Package growthbook evaluates feature flags written in GrowthBook's JSON:
// targeting conditions in its MongoDB-style condition language and features
// as a default value plus rules (force, percentage rollout, experiment). It
// is pure Go, without AWS or HTTP, so the API, the local server and tests
// share one evaluator.
//
// # Parse once, evaluate often
//
// [ParseCondition] and [ParseFeature] validate when a flag is written and
// compile what evaluation needs: attribute paths are split, regular
// expressions compiled, version operands padded, case-insensitive operands
// folded. Input GrowthBook would accept and silently evaluate as false
// (unknown operators, $in with a non-array, invalid regular expressions) is
// refused instead, with the JSON path of the fault as the error's Field. So
// is any rule field GrowthBook acts on that refx does not implement
// (parentConditions, contextual bandits): ignoring it would change who gets
// what. Evaluation ([Condition.Eval], [EvalFeature]) then only reads, and the
// usual path, with string attributes, allocates nothing.
//
// # JavaScript semantics
//
// GrowthBook's reference is its JavaScript SDK, and its conditions inherit
// JavaScript's coercions: {"n": 0} matches a missing attribute (null * 1 is
// 0), {"n": {"$lt": 5}} too, and a string condition compares String(value).
// The package reproduces them (js.go) for attributes decoded by
// encoding/json, numbers as float64 (see [Attributes]), and passes every
// evalCondition case of GrowthBook's cross-SDK suite. Two deliberate
// differences: an object literal in a condition matches an attribute object
// with the same keys in any order (JavaScript compares JSON.stringify output,
// which depends on key order that decoded attributes do not keep), and
// regular expressions use Go's RE2 syntax, which has no lookaround or
// backreferences but runs in linear time, so no pattern can be slow.
// Hashing is UTF-8 based, as explained in package bucket.
//
// # Inline experiments and sticky bucketing
//
// [RunExperiment] runs a GrowthBook inline experiment ([ParseExperiment]) as
// its SDK's run does, minus what only the SDK's context holds (enabled, QA
// mode, forced variations, the page URL); feature rules run through the same
// code. [EvalFeatureSticky] adds GrowthBook's sticky bucketing: the caller
// loads the user's assignment documents ([StickyKeys] names them), and gets
// back the documents to store. The evaluator never reads or writes a store
// itself, so [EvalFeature] stays allocation-free.
//
// # Compatibility
//
// testdata/cases.json is GrowthBook's conformance suite; conformance_test.go
// runs the evalCondition, feature, run, stickyBucket, hash, getBucketRange,
// chooseVariation, getEqualWeights and inNamespace sections, logs how many
// cases pass and which are skipped and why (prerequisites, forced
// variations, QA mode, the context's enabled switch, query strings,
// contextual bandits), and lists the sections it does not run with the
// reason (browser-only features, encrypted payloads, contextual bandits).
package growthbook
