// Package bucket assigns users to experiment variations deterministically,
// with the same results as GrowthBook's SDKs (hashing version 2).
//
// Assignment has two steps. [Hash] maps a (seed, user) pair to a number n in
// [0, 1); [Ranges] turns the variation weights and the experiment coverage
// into one half-open range of [0, 1) per variation; [Choose] returns the
// variation whose range contains n, or -1 when the user is outside the
// experiment's traffic. [Assign] does all three without allocating:
//
//	arm := bucket.Assign("checkout-button", userID, []float64{0.5, 0.5}, 0.2)
//	// arm is 0 or 1 for about 20% of users and -1 for the rest.
//
// The same inputs always give the same arm, on every machine and, for ASCII
// ids (see below), in every GrowthBook SDK, so no assignment needs to be
// stored.
//
// # Why FNV-1a
//
// The hash has to be stable forever, identical across languages (GrowthBook
// has SDKs for JavaScript, Python, Go, Java, Swift, …) and cheap enough to
// run on every request. It does not have to resist an adversary: a user who
// can pick their own id can already pick their own variation. 32-bit FNV-1a
// fits: it is a byte loop of one XOR and one multiplication with no tables or
// seeds, it is trivial to reimplement bit-exactly everywhere, and it mixes
// short strings such as ids well enough for uniform buckets.
//
// # Why the double hash
//
// Version 1 returned fnv1a32(value+seed) % 1000 / 1000. FNV-1a's low bits are
// weak: XOR and multiplication modulo 2^32 both preserve residues modulo 2^k,
// so h mod 2^k depends only on the low k bits of each input byte. Taking
// h mod 1000 keeps such a factor (1000 = 8 × 125), so part of the bucket
// ignores most of every byte; and since the seed came last, a user's buckets
// in experiments with similar seeds are correlated. For example, over 100,000
// ids, two 50/50 experiments seeded "test-a" and "test-q" (which differ in one
// bit) put 77% of users in the same arm under version 1, instead of 50%.
//
// Version 2 hashes seed+value, writes the 32-bit result in decimal and hashes
// that string again, keeping n % 10000. The decimal digits depend on all 32
// bits of the first hash, so every input bit reaches the final bucket through
// a second round of mixing; the example above gives 50% under version 2. The
// resolution is also finer: 1/10000 instead of 1/1000. Version 1 is
// still available through [HashVersion] for experiments created with it.
//
// [Hash] computes version 2 without building any string: FNV-1a is a running
// state, so hashing seed and then value equals hashing seed+value, and the
// intermediate number is formatted into a 10-byte stack buffer.
//
// Strings are hashed as UTF-8 bytes, like GrowthBook's Go SDK. The JavaScript
// SDK hashes UTF-16 code units instead, which is the same thing for ASCII (ids,
// UUIDs, emails without accents, and all the published test vectors) but not
// for other characters.
//
// # Ranges and sticky assignment
//
// With weights w_0 … w_{k-1} (falling back to equal weights when they do not
// sum to 1 ± 0.01, or when their count does not match the number of
// variations, see [BucketRanges]) and coverage c clamped to [0, 1], variation
// i owns
//
//	[c_i, c_i + c·w_i)   where c_i = w_0 + … + w_{i-1}
//
// Each range starts where the full-coverage range would start and coverage
// only scales its length; the space between c_i + c·w_i and c_{i+1} belongs
// to no variation. For a 50/50 split at 40% coverage the ranges are
// [0, 0.2) and [0.5, 0.7).
//
// Because the start of every range is independent of coverage, raising
// coverage only adds users, at the end of each range, and never moves an
// included user to another variation; lowering it only removes users. This is
// what makes a gradual rollout (10% → 50% → 100%) safe. Changing the weights,
// by contrast, moves range boundaries and does reassign some users.
//
// The package follows GrowthBook's getBucketRanges and chooseVariation
// exactly, including its float arithmetic, and its tests check every
// hash, getBucketRange, chooseVariation and getEqualWeights vector of
// GrowthBook's cross-SDK test suite (testdata/growthbook_cases.json).
package bucket
