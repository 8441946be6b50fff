package bucket

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// FNV-1a 32-bit parameters (http://www.isthe.com/chongo/tech/comp/fnv/).
const (
	fnvOffset32 uint32 = 2166136261
	fnvPrime32  uint32 = 16777619
)

// fnv1a continues a 32-bit FNV-1a hash h over the bytes of s. Starting from
// fnvOffset32 and feeding a then b gives the hash of a+b without building the
// concatenated string.
func fnv1a(h uint32, s string) uint32 {
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= fnvPrime32
	}
	return h
}

// fnv1aBytes is fnv1a over a byte slice.
func fnv1aBytes(h uint32, b []byte) uint32 {
	for _, c := range b {
		h ^= uint32(c)
		h *= fnvPrime32
	}
	return h
}

// Hash returns GrowthBook's version-2 hash of (seed, value): a number in
// [0, 1) with a resolution of 1/10000, computed as
//
//	n = fnv1a32(decimal(fnv1a32(seed + value)))
//	return float64(n % 10000) / 10000
//
// where decimal formats the intermediate uint32 in base 10 without leading
// zeros. seed is normally the experiment's seed (its key unless overridden)
// and value the user's hash attribute (for example the user id).
//
// Strings are hashed as their UTF-8 bytes, like GrowthBook's Go SDK. For
// ASCII input (every published test vector) this equals the JavaScript SDK,
// which hashes UTF-16 code units; for non-ASCII input the two can differ.
//
// Hash does not allocate.
func Hash(seed, value string) float64 {
	h := fnv1a(fnv1a(fnvOffset32, seed), value)
	var buf [10]byte // len("4294967295")
	n := fnv1aBytes(fnvOffset32, strconv.AppendUint(buf[:0], uint64(h), 10))
	return float64(n%10000) / 10000
}

// hashV1 is GrowthBook's original hash: fnv1a32(value + seed) % 1000 / 1000.
func hashV1(seed, value string) float64 {
	h := fnv1a(fnv1a(fnvOffset32, value), seed)
	return float64(h%1000) / 1000
}

// HashVersion returns GrowthBook's hash of (seed, value) for the given
// hashing version, with ok reporting whether the version is known:
//
//   - version 2 is [Hash];
//   - version 1 is the original algorithm, fnv1a32(value + seed) % 1000 / 1000
//     (note the reversed order and the coarser 1/1000 resolution);
//   - any other version, including 0, returns (0, false), matching the
//     JavaScript SDK's hash(), which returns null for unknown versions.
//
// Callers that follow GrowthBook's convention of treating a missing
// hashVersion as 1 must make that substitution themselves.
func HashVersion(seed, value string, version int) (float64, bool) {
	switch version {
	case 2:
		return Hash(seed, value), true
	case 1:
		return hashV1(seed, value), true
	default:
		return 0, false
	}
}

// Range is the half-open interval [Start, End) of the unit interval. A hash n
// falls in the range when Start <= n < End, so a range with End <= Start is
// empty.
type Range struct{ Start, End float64 }

// Contains reports whether n lies in the half-open interval [r.Start, r.End).
func (r Range) Contains(n float64) bool {
	return n >= r.Start && n < r.End
}

// MarshalJSON writes the range as GrowthBook does, [start, end].
func (r Range) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]float64{r.Start, r.End})
}

// UnmarshalJSON reads GrowthBook's [start, end].
func (r *Range) UnmarshalJSON(data []byte) error {
	var pair []float64
	if err := json.Unmarshal(data, &pair); err != nil {
		return err
	}
	if len(pair) != 2 {
		return fmt.Errorf("bucket: a range is [start, end], got %d numbers", len(pair))
	}
	*r = Range{pair[0], pair[1]}
	return nil
}

// EqualWeights returns n weights of 1/n each, or an empty (non-nil) slice when
// n <= 0. It is GrowthBook's getEqualWeights.
func EqualWeights(n int) []float64 {
	if n <= 0 {
		return []float64{}
	}
	w := make([]float64, n)
	for i := range w {
		w[i] = 1 / float64(n)
	}
	return w
}

// clampCoverage limits coverage to [0, 1] the way GrowthBook does. NaN is
// passed through (JavaScript's comparisons are false for NaN too), which
// yields ranges that contain nothing.
func clampCoverage(coverage float64) float64 {
	if coverage < 0 {
		return 0
	}
	if coverage > 1 {
		return 1
	}
	return coverage
}

// validWeights reports whether GrowthBook would use weights as given for an
// experiment with numVariations variations: the length must match and the sum
// must lie within [0.99, 1.01]. Otherwise equal weights are used instead.
// A NaN sum passes, as in GrowthBook.
func validWeights(numVariations int, weights []float64) bool {
	if len(weights) != numVariations {
		return false
	}
	total := 0.0
	for _, w := range weights {
		total += w
	}
	return !(total < 0.99 || total > 1.01)
}

// BucketRanges is GrowthBook's getBucketRanges with its exact signature and
// rules, for callers that know the number of variations independently of the
// weights:
//
//  1. coverage is clamped to [0, 1];
//  2. if the length of weights differs from numVariations (nil, GrowthBook's
//     "missing", has length 0) or their sum is outside [0.99, 1.01], the
//     weights are replaced by [EqualWeights](numVariations);
//  3. range i is [c_i, c_i + coverage*w_i), where c_i = w_0 + ... + w_{i-1}
//     is the cumulative weight of the preceding variations.
//
// Weights that sum to nearly 1 are not renormalized, so the last range may
// end slightly before or after 1 (0.4/0.5999 gives [0,0.4), [0.4,0.9999)).
// It returns a non-nil slice of numVariations ranges (empty when
// numVariations <= 0).
func BucketRanges(numVariations int, coverage float64, weights []float64) []Range {
	if numVariations < 0 {
		numVariations = 0
	}
	coverage = clampCoverage(coverage)
	ranges := make([]Range, numVariations)
	if !validWeights(numVariations, weights) {
		w := 1 / float64(numVariations)
		cumulative := 0.0
		for i := range ranges {
			start := cumulative
			cumulative += w
			ranges[i] = Range{start, start + coverage*w}
		}
		return ranges
	}
	cumulative := 0.0
	for i, w := range weights {
		start := cumulative
		cumulative += w
		ranges[i] = Range{start, start + coverage*w}
	}
	return ranges
}

// Ranges builds GrowthBook's bucket ranges for one variation per weight:
// it is BucketRanges(len(weights), coverage, weights). Weights whose sum is
// outside [0.99, 1.01] are replaced by equal weights; coverage is clamped to
// [0, 1]; range i is [c_i, c_i + coverage*w_i) where c_i is the sum of the
// weights before i.
//
// Every range starts at the same point whatever the coverage, and coverage
// only scales its length, so raising coverage extends each range in place and
// lowering it shrinks each range towards its start: a user that is in an arm
// at one coverage is in the same arm at every higher coverage, and users never
// move between arms when only coverage changes.
func Ranges(weights []float64, coverage float64) []Range {
	return BucketRanges(len(weights), coverage, weights)
}

// Choose returns the index of the first range that contains n, or -1 if none
// does (the user is not in the experiment). It is GrowthBook's
// chooseVariation.
func Choose(n float64, ranges []Range) int {
	for i, r := range ranges {
		if r.Contains(n) {
			return i
		}
	}
	return -1
}

// Assign returns the variation index of user in the experiment with the given
// seed, weights and coverage, or -1 if the user falls outside the covered
// traffic or there are no weights. It equals
//
//	Choose(Hash(seed, user), Ranges(weights, coverage))
//
// bit for bit, but computes the ranges on the fly and so does not allocate.
func Assign(seed, user string, weights []float64, coverage float64) int {
	return ChooseWeighted(Hash(seed, user), len(weights), coverage, weights)
}

// ChooseWeighted returns the variation whose range contains n, or -1:
// Choose(n, BucketRanges(numVariations, coverage, weights)) bit for bit,
// computing each range on the fly so that nothing is allocated (feature
// evaluation runs it on every request).
func ChooseWeighted(n float64, numVariations int, coverage float64, weights []float64) int {
	coverage = clampCoverage(coverage)
	equal := !validWeights(numVariations, weights)
	eq := 1 / float64(numVariations)
	cumulative := 0.0
	for i := 0; i < numVariations; i++ {
		w := eq
		if !equal {
			w = weights[i]
		}
		start := cumulative
		cumulative += w
		if n >= start && n < start+coverage*w {
			return i
		}
	}
	return -1
}

// InNamespace reports whether the user whose hash attribute is value lies in
// [start, end) of the namespace id: GrowthBook's inNamespace, which hashes with
// version 1 and the seed "__" + id, so that experiments sharing a namespace
// split the same hash space whatever their own seeds. It does not allocate.
func InNamespace(value, id string, start, end float64) bool {
	h := fnv1a(fnv1a(fnv1a(fnvOffset32, value), "__"), id)
	n := float64(h%1000) / 1000
	return n >= start && n < end
}
