package bucket_test

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/refx-dev/refx/pkg/bucket"
)

// growthbookCases mirrors testdata/growthbook_cases.json, a verbatim extract of
// GrowthBook's packages/sdk-js/test/cases.json (see testdata/README.md).
type growthbookCases struct {
	Hash            [][]json.RawMessage `json:"hash"`
	GetBucketRange  [][]json.RawMessage `json:"getBucketRange"`
	ChooseVariation [][]json.RawMessage `json:"chooseVariation"`
	GetEqualWeights [][]json.RawMessage `json:"getEqualWeights"`
}

func loadCases(t *testing.T) growthbookCases {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "growthbook_cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c growthbookCases
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("parse growthbook_cases.json: %v", err)
	}
	if len(c.Hash) == 0 || len(c.GetBucketRange) == 0 || len(c.ChooseVariation) == 0 || len(c.GetEqualWeights) == 0 {
		t.Fatalf("growthbook_cases.json is missing a section: %d hash, %d getBucketRange, %d chooseVariation, %d getEqualWeights rows",
			len(c.Hash), len(c.GetBucketRange), len(c.ChooseVariation), len(c.GetEqualWeights))
	}
	return c
}

// decode unmarshals the fields of one test-vector row into dst, one pointer
// per field, failing the test on a shape mismatch.
func decode(t *testing.T, row []json.RawMessage, dst ...any) {
	t.Helper()
	if len(row) != len(dst) {
		t.Fatalf("row has %d fields, want %d: %s", len(row), len(dst), row)
	}
	for i := range row {
		if err := json.Unmarshal(row[i], dst[i]); err != nil {
			t.Fatalf("field %d of row %s: %v", i, row, err)
		}
	}
}

// pairsToRanges converts GrowthBook's [[start, end], ...] to []bucket.Range.
func pairsToRanges(pairs [][2]float64) []bucket.Range {
	r := make([]bucket.Range, len(pairs))
	for i, p := range pairs {
		r[i] = bucket.Range{Start: p[0], End: p[1]}
	}
	return r
}

const rangeTolerance = 1e-9

func TestGrowthBookHash(t *testing.T) {
	for _, row := range loadCases(t).Hash {
		var (
			seed, value string
			version     int
			want        *float64 // null for an unknown version
		)
		decode(t, row, &seed, &value, &version, &want)
		t.Run(fmt.Sprintf("v%d/%q/%q", version, seed, value), func(t *testing.T) {
			got, ok := bucket.HashVersion(seed, value, version)
			if want == nil {
				if ok {
					t.Fatalf("HashVersion(%q, %q, %d) = %v, true; want ok=false (null)", seed, value, version, got)
				}
				return
			}
			if !ok {
				t.Fatalf("HashVersion(%q, %q, %d) ok=false, want %v", seed, value, version, *want)
			}
			// JavaScript computes (n % m) / m in float64, exactly like Go, so the
			// results must be identical, not merely close.
			if got != *want {
				t.Errorf("HashVersion(%q, %q, %d) = %v, want exactly %v", seed, value, version, got, *want)
			}
			if version == 2 {
				if h := bucket.Hash(seed, value); h != *want {
					t.Errorf("Hash(%q, %q) = %v, want exactly %v", seed, value, h, *want)
				}
			}
		})
	}
}

func TestGrowthBookGetBucketRange(t *testing.T) {
	for _, row := range loadCases(t).GetBucketRange {
		var (
			name   string
			args   []json.RawMessage // [numVariations, coverage, weights | null]
			expect [][2]float64
		)
		decode(t, row, &name, &args, &expect)
		var (
			numVariations int
			coverage      float64
			weights       []float64 // nil for null
		)
		decode(t, args, &numVariations, &coverage, &weights)
		want := pairsToRanges(expect)

		t.Run(name, func(t *testing.T) {
			got := bucket.BucketRanges(numVariations, coverage, weights)
			assertRanges(t, fmt.Sprintf("BucketRanges(%d, %v, %v)", numVariations, coverage, weights), got, want)

			// Ranges infers the number of variations from the weights; it can
			// express every vector whose weights are null (as equal weights) or
			// of the right length.
			switch {
			case weights == nil:
				got := bucket.Ranges(bucket.EqualWeights(numVariations), coverage)
				assertRanges(t, fmt.Sprintf("Ranges(EqualWeights(%d), %v)", numVariations, coverage), got, want)
			case len(weights) == numVariations:
				got := bucket.Ranges(weights, coverage)
				assertRanges(t, fmt.Sprintf("Ranges(%v, %v)", weights, coverage), got, want)
			}
		})
	}
}

func assertRanges(t *testing.T, call string, got, want []bucket.Range) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s = %v, want %v", call, got, want)
	}
	for i := range want {
		if math.Abs(got[i].Start-want[i].Start) > rangeTolerance || math.Abs(got[i].End-want[i].End) > rangeTolerance {
			t.Errorf("%s[%d] = %v, want %v (±%g)", call, i, got[i], want[i], rangeTolerance)
		}
	}
}

func TestGrowthBookChooseVariation(t *testing.T) {
	for _, row := range loadCases(t).ChooseVariation {
		var (
			name   string
			n      float64
			ranges [][2]float64
			want   int
		)
		decode(t, row, &name, &n, &ranges, &want)
		t.Run(name, func(t *testing.T) {
			if got := bucket.Choose(n, pairsToRanges(ranges)); got != want {
				t.Errorf("Choose(%v, %v) = %d, want %d", n, ranges, got, want)
			}
		})
	}
}

func TestGrowthBookGetEqualWeights(t *testing.T) {
	// Upstream writes 1/3 as 0.33333333, so allow for that rounding.
	const tol = 1e-8
	for _, row := range loadCases(t).GetEqualWeights {
		var (
			n    int
			want []float64
		)
		decode(t, row, &n, &want)
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			got := bucket.EqualWeights(n)
			if got == nil || len(got) != len(want) {
				t.Fatalf("EqualWeights(%d) = %#v, want %v", n, got, want)
			}
			for i := range want {
				if math.Abs(got[i]-want[i]) > tol {
					t.Errorf("EqualWeights(%d)[%d] = %v, want %v (±%g)", n, i, got[i], want[i], tol)
				}
			}
		})
	}
}

// referenceHash is the version-2 hash written the naive way, with string
// concatenation, the standard library's FNV-1a and strconv: the zero-allocation
// Hash must agree with it on every input.
func referenceHash(seed, value string) float64 {
	h1 := fnv.New32a()
	h1.Write([]byte(seed + value))
	h2 := fnv.New32a()
	h2.Write([]byte(strconv.FormatUint(uint64(h1.Sum32()), 10)))
	return float64(h2.Sum32()%10000) / 10000
}

func referenceHashV1(seed, value string) float64 {
	h := fnv.New32a()
	h.Write([]byte(value + seed))
	return float64(h.Sum32()%1000) / 1000
}

func TestHashMatchesReference(t *testing.T) {
	tests := []struct{ seed, value string }{
		{"", ""},
		{"", "a"},
		{"seed", ""},
		{"my-experiment", "user-123"},
		{"4294967295", "0"},
		{"checkout", "f47ac10b-58cc-4372-a567-0e02b2c3d479"},
		{"ünïcødé", "用户"},
		{"\x00\xff", "\xfe\x01"},
	}
	for i := range 2000 {
		tests = append(tests, struct{ seed, value string }{"exp-" + strconv.Itoa(i%7), "user-" + strconv.Itoa(i)})
	}
	for _, tt := range tests {
		want := referenceHash(tt.seed, tt.value)
		if got := bucket.Hash(tt.seed, tt.value); got != want {
			t.Errorf("Hash(%q, %q) = %v, reference %v", tt.seed, tt.value, got, want)
		}
		if got, ok := bucket.HashVersion(tt.seed, tt.value, 2); !ok || got != want {
			t.Errorf("HashVersion(%q, %q, 2) = %v, %v, reference %v", tt.seed, tt.value, got, ok, want)
		}
		wantV1 := referenceHashV1(tt.seed, tt.value)
		if got, ok := bucket.HashVersion(tt.seed, tt.value, 1); !ok || got != wantV1 {
			t.Errorf("HashVersion(%q, %q, 1) = %v, %v, reference %v", tt.seed, tt.value, got, ok, wantV1)
		}
	}
}

func TestHashVersionUnknown(t *testing.T) {
	for _, v := range []int{-1, 0, 3, 99} {
		if got, ok := bucket.HashVersion("abc", "def", v); ok || got != 0 {
			t.Errorf("HashVersion(_, _, %d) = %v, %v; want 0, false", v, got, ok)
		}
	}
}

func TestHashRange(t *testing.T) {
	for i := range 10000 {
		h := bucket.Hash("range", strconv.Itoa(i))
		if h < 0 || h >= 1 || h != math.Round(h*10000)/10000 {
			t.Fatalf("Hash(range, %d) = %v, want a multiple of 1e-4 in [0, 1)", i, h)
		}
	}
}

func TestRangesAndChooseEdgeCases(t *testing.T) {
	tests := []struct {
		name     string
		weights  []float64
		coverage float64
		want     []bucket.Range
	}{
		{"nil weights", nil, 1, []bucket.Range{}},
		{"single arm", []float64{1}, 0.3, []bucket.Range{{0, 0.3}}},
		{"sum just inside 0.99", []float64{0.5, 0.49}, 1, []bucket.Range{{0, 0.5}, {0.5, 0.99}}},
		{"sum just outside 0.99", []float64{0.5, 0.48}, 1, []bucket.Range{{0, 0.5}, {0.5, 1}}},
		{"sum above 1.01 is equalized", []float64{0.9, 0.2}, 0.5, []bucket.Range{{0, 0.25}, {0.5, 0.75}}},
		{"zero weight arm is empty", []float64{0.5, 0, 0.5}, 1, []bucket.Range{{0, 0.5}, {0.5, 0.5}, {0.5, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bucket.Ranges(tt.weights, tt.coverage)
			if got == nil {
				t.Fatalf("Ranges returned nil")
			}
			assertRanges(t, fmt.Sprintf("Ranges(%v, %v)", tt.weights, tt.coverage), got, tt.want)
		})
	}

	if got := bucket.BucketRanges(-3, 1, nil); got == nil || len(got) != 0 {
		t.Errorf("BucketRanges(-3, 1, nil) = %#v, want empty", got)
	}
	if got := bucket.Choose(0.5, nil); got != -1 {
		t.Errorf("Choose(0.5, nil) = %d, want -1", got)
	}
	// A NaN coverage is kept as in GrowthBook and includes nobody.
	if got := bucket.Assign("s", "u", []float64{0.5, 0.5}, math.NaN()); got != -1 {
		t.Errorf("Assign with NaN coverage = %d, want -1", got)
	}
}

func TestAssignDeterministic(t *testing.T) {
	weights := []float64{0.2, 0.3, 0.5}
	for i := range 1000 {
		user := "user-" + strconv.Itoa(i)
		first := bucket.Assign("determinism", user, weights, 0.8)
		for range 3 {
			if got := bucket.Assign("determinism", user, weights, 0.8); got != first {
				t.Fatalf("Assign(determinism, %s) = %d, then %d", user, first, got)
			}
		}
	}
	// Pin a few assignments so an accidental algorithm change is caught even
	// if it stays self-consistent. The hash values are GrowthBook's (see the
	// "Uses seed ..." and "creates experiments properly" vectors in cases.json:
	// seed "foo", id "1", 50/50 → variation 1; seed "feature", id "123",
	// 0.1/0.9 at coverage 0.99 → bucket 0.5231, variation 1).
	pinned := []struct {
		seed, user string
		weights    []float64
		coverage   float64
		want       int
	}{
		{"foo", "1", []float64{0.5, 0.5}, 1, 1},
		{"foo", "1", []float64{0.5, 0.5}, 0.99, 1},
		{"feature", "123", []float64{0.1, 0.9}, 0.99, 1},
		{"seed", "a", []float64{0.5, 0.5}, 1, 0},    // Hash = 0.0505, in [0, 0.5)
		{"seed", "a", []float64{0.5, 0.5}, 0.1, -1}, // ranges [0, 0.05) and [0.5, 0.55) miss 0.0505
	}
	if got := bucket.Hash("feature", "123"); got != 0.5231 {
		t.Errorf("Hash(feature, 123) = %v, want 0.5231", got)
	}
	for _, p := range pinned {
		if got := bucket.Assign(p.seed, p.user, p.weights, p.coverage); got != p.want {
			t.Errorf("Assign(%q, %q, %v, %v) = %d, want %d", p.seed, p.user, p.weights, p.coverage, got, p.want)
		}
	}
}

func TestAssignAgreesWithChoose(t *testing.T) {
	weightSets := [][]float64{
		nil,
		{1},
		{0.5, 0.5},
		{0.1, 0.9},
		{0.2, 0.3, 0.5},
		{1.0 / 3, 1.0 / 3, 1.0 / 3},
		{0.4, 0.5999},        // kept as is, sums to 0.9999
		{0.7, 0.6},           // equalized
		{0.25, 0, 0.25, 0.5}, // empty arm
		make16(),
	}
	coverages := []float64{-0.5, 0, 0.01, 0.25, 0.5, 0.99, 1, 1.5}
	for _, w := range weightSets {
		for _, c := range coverages {
			ranges := bucket.Ranges(w, c)
			for i := range 2000 {
				user := strconv.Itoa(i)
				want := bucket.Choose(bucket.Hash("agree", user), ranges)
				if got := bucket.Assign("agree", user, w, c); got != want {
					t.Fatalf("weights %v coverage %v user %s: Assign = %d, Choose(Hash, Ranges) = %d", w, c, user, got, want)
				}
			}
		}
	}
}

func make16() []float64 {
	w := make([]float64, 16)
	for i := range w {
		w[i] = 1.0 / 16
	}
	return w
}

// TestCoverageNeverMovesUsers checks that, for a fixed split, a user included
// at some coverage is in the same arm at every coverage at which they are
// included, and stays included when coverage grows.
func TestCoverageNeverMovesUsers(t *testing.T) {
	const users = 10000
	coverages := []float64{0, 0.01, 0.05, 0.1, 0.2, 1.0 / 3, 0.5, 0.75, 0.9, 0.99, 1}
	tests := []struct {
		name    string
		weights []float64
	}{
		{"50/50", []float64{0.5, 0.5}},
		{"10/90", []float64{0.1, 0.9}},
		{"20/30/50", []float64{0.2, 0.3, 0.5}},
		{"equal thirds", []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}},
		{"invalid sum (equalized)", []float64{0.7, 0.6}},
		{"16 arms", make16()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for u := range users {
				user := "user-" + strconv.Itoa(u)
				arm, armCoverage := -1, 0.0
				for _, c := range coverages {
					got := bucket.Assign("sticky", user, tt.weights, c)
					switch {
					case got == -1 && arm != -1:
						t.Fatalf("%s: in arm %d at coverage %v but excluded at higher coverage %v", user, arm, armCoverage, c)
					case got != -1 && arm != -1 && got != arm:
						t.Fatalf("%s: arm %d at coverage %v but arm %d at coverage %v", user, arm, armCoverage, got, c)
					case got != -1 && arm == -1:
						arm, armCoverage = got, c
					}
				}
				if arm == -1 {
					t.Fatalf("%s: not assigned even at full coverage", user)
				}
			}
		})
	}
}

// TestVersion2RemovesSeedCorrelation backs the claim in doc.go: under version
// 1, two 50/50 experiments whose seeds differ in one bit put most users in the
// same arm; under version 2 the arms are independent.
func TestVersion2RemovesSeedCorrelation(t *testing.T) {
	const users = 100000
	sameArm := func(version int) float64 {
		same := 0
		for u := range users {
			id := "user-" + strconv.Itoa(u)
			a, _ := bucket.HashVersion("test-a", id, version)
			b, _ := bucket.HashVersion("test-q", id, version)
			if (a < 0.5) == (b < 0.5) {
				same++
			}
		}
		return float64(same) / users
	}
	if v1 := sameArm(1); v1 < 0.7 {
		t.Errorf("version 1: %.4f of users in the same arm, expected the documented strong correlation (> 0.7)", v1)
	}
	if v2 := sameArm(2); math.Abs(v2-0.5) > 0.01 {
		t.Errorf("version 2: %.4f of users in the same arm, want 0.5 ± 0.01", v2)
	}
}

func TestCoverageFraction(t *testing.T) {
	const users = 100000
	for _, c := range []float64{0.1, 0.5, 0.9} {
		in := 0
		for u := range users {
			if bucket.Assign("coverage-fraction", strconv.Itoa(u), []float64{0.5, 0.5}, c) != -1 {
				in++
			}
		}
		if frac := float64(in) / users; math.Abs(frac-c) > 0.01 {
			t.Errorf("coverage %v: %.4f of users included, want %v ± 0.01", c, frac, c)
		}
	}
}

func TestSplitDistribution(t *testing.T) {
	const users = 100000
	tests := []struct {
		name    string
		seed    string
		weights []float64
	}{
		{"50/50", "split-test", []float64{0.5, 0.5}},
		{"50/50 other seed", "homepage-hero", []float64{0.5, 0.5}},
		{"20/30/50", "three-way", []float64{0.2, 0.3, 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counts := make([]int, len(tt.weights))
			for u := range users {
				arm := bucket.Assign(tt.seed, "user-"+strconv.Itoa(u), tt.weights, 1)
				if arm < 0 {
					t.Fatalf("user-%d not assigned at full coverage", u)
				}
				counts[arm]++
			}
			for i, w := range tt.weights {
				// The standard deviation of a share over 100k users is at most
				// 0.0016; 0.01 is a loose bound that still catches a biased hash.
				if frac := float64(counts[i]) / users; math.Abs(frac-w) > 0.01 {
					t.Errorf("arm %d: %.4f of users, want %v ± 0.01 (counts %v)", i, frac, w, counts)
				}
			}
		})
	}
}

func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation can allocate")
	}
	weights := []float64{0.2, 0.3, 0.5}
	var sink float64
	var arm int
	if a := testing.AllocsPerRun(1000, func() { sink += bucket.Hash("alloc-test", "user-1234567890") }); a != 0 {
		t.Errorf("Hash allocates %v times per call, want 0", a)
	}
	if a := testing.AllocsPerRun(1000, func() { arm += bucket.Assign("alloc-test", "user-1234567890", weights, 0.8) }); a != 0 {
		t.Errorf("Assign allocates %v times per call, want 0", a)
	}
	if a := testing.AllocsPerRun(1000, func() {
		v, _ := bucket.HashVersion("alloc-test", "user-1234567890", 1)
		sink += v
	}); a != 0 {
		t.Errorf("HashVersion(_, _, 1) allocates %v times per call, want 0", a)
	}
	_, _ = sink, arm
}

var (
	benchSinkFloat float64
	benchSinkInt   int
)

func BenchmarkHash(b *testing.B) {
	b.ReportAllocs()
	var s float64
	for b.Loop() {
		s += bucket.Hash("checkout-button-color", "f47ac10b-58cc-4372-a567-0e02b2c3d479")
	}
	benchSinkFloat = s
}

func BenchmarkAssign(b *testing.B) {
	b.ReportAllocs()
	weights := []float64{0.2, 0.3, 0.5}
	var s int
	for b.Loop() {
		s += bucket.Assign("checkout-button-color", "f47ac10b-58cc-4372-a567-0e02b2c3d479", weights, 0.8)
	}
	benchSinkInt = s
}

func ExampleAssign() {
	// 50/50 split over all traffic, seeded with the experiment key.
	fmt.Println(bucket.Assign("foo", "1", []float64{0.5, 0.5}, 1))
	// Output: 1
}

func ExampleRanges() {
	// 50/50 split at 40% coverage: each arm keeps its start, only its length shrinks.
	fmt.Println(bucket.Ranges([]float64{0.5, 0.5}, 0.4))
	// Output: [{0 0.2} {0.5 0.7}]
}

func TestRangeJSON(t *testing.T) {
	var r bucket.Range
	if err := json.Unmarshal([]byte(`[0.25, 0.5]`), &r); err != nil || r != (bucket.Range{Start: 0.25, End: 0.5}) {
		t.Fatalf("Unmarshal([0.25, 0.5]) = %v, %v", r, err)
	}
	if b, err := json.Marshal(r); err != nil || string(b) != `[0.25,0.5]` {
		t.Fatalf("Marshal(%v) = %s, %v", r, b, err)
	}
	for _, bad := range []string{`[0.5]`, `[0, 0.5, 1]`, `{"Start": 0}`, `"0-1"`} {
		if err := json.Unmarshal([]byte(bad), &r); err == nil {
			t.Errorf("Unmarshal(%s) succeeded, want an error", bad)
		}
	}
}

// TestChooseWeightedMismatch covers a weight count that differs from the
// number of variations (GrowthBook then uses equal weights), which Assign,
// counting variations by weights, never produces.
func TestChooseWeightedMismatch(t *testing.T) {
	ranges := bucket.BucketRanges(4, 0.8, []float64{0.5, 0.5})
	for i := range 10000 {
		n := float64(i) / 10000
		if got, want := bucket.ChooseWeighted(n, 4, 0.8, []float64{0.5, 0.5}), bucket.Choose(n, ranges); got != want {
			t.Fatalf("ChooseWeighted(%v, 4, 0.8, [0.5 0.5]) = %d, Choose = %d", n, got, want)
		}
	}
}
