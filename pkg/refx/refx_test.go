package refx_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
)

func TestDecimal(t *testing.T) {
	tests := []struct {
		in, str, square, code string
	}{
		{"12.5", "12.5", "156.25", ""},
		{"0.0001", "0.0001", "0.00000001", ""},
		{"-3", "-3", "9", ""},
		{"1e3", "1000", "1000000", ""},
		{"1.50", "1.5", "2.25", ""},
		{"1000000000", "1000000000", "1000000000000000000", ""},
		{"0", "0", "0", ""},
		{"1.23456", "", "", refx.EINVALID},
		{"1000000000.0001", "", "", refx.EINVALID},
		{"1e300", "", "", refx.EINVALID},
		{"abc", "", "", refx.EINVALID},
		{"1/3", "", "", refx.EINVALID},
		{"-0", "0", "0", ""},
		{"0e100", "0", "0", ""},
		{"1.5E+2", "150", "22500", ""},
		{"12345e-4", "1.2345", "1.52399025", ""},
		{"1.000000000000000000000000000000000000000000000000000000000", "1", "1", ""},
		{"100000000000000000000000000000000000000e-29", "1000000000", "1000000000000000000", ""},
		{"-1000000000", "-1000000000", "1000000000000000000", ""},
		{"-1000000000.0001", "", "", refx.EINVALID},
		{"1e10", "", "", refx.EINVALID},
		// Huge exponents are refused before any arithmetic: big.Rat
		// spent ~40 ms computing 10^999999 for this 8-byte value.
		{"1e999999", "", "", refx.EINVALID},
		{"1e-999999", "", "", refx.EINVALID},
		{"0e101", "", "", refx.EINVALID},
		{"1e99999999999999999999999999999999999999999999", "", "", refx.EINVALID},
		{"1" + strings.Repeat("0", 64), "", "", refx.EINVALID},
		// Only the JSON grammar: big.Rat also read these.
		{"+1", "", "", refx.EINVALID},
		{".5", "", "", refx.EINVALID},
		{"1.", "", "", refx.EINVALID},
		{"01", "", "", refx.EINVALID},
		{"0x10", "", "", refx.EINVALID},
		{"1_000", "", "", refx.EINVALID},
		{"1e", "", "", refx.EINVALID},
		{"", "", "", refx.EINVALID},
		{"-", "", "", refx.EINVALID},
		{`"12"`, "", "", refx.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := refx.ParseDecimal(tt.in)
			if refx.ErrorCode(err) != tt.code {
				t.Fatalf("ParseDecimal(%q) error %v, want code %q", tt.in, err, tt.code)
			}
			if err == nil && (d.String() != tt.str || d.Square() != tt.square) {
				t.Fatalf("ParseDecimal(%q) = %s, square %s; want %s, %s", tt.in, d, d.Square(), tt.str, tt.square)
			}
		})
	}
}

func TestValidators(t *testing.T) {
	tests := []struct {
		name  string
		valid func(string) bool
		ok    []string
		bad   []string
	}{
		{"Slug", refx.ValidSlug, []string{"cta-test", "a", "exp_1", strings.Repeat("a", 64)},
			[]string{"", "-a", "A", "a b", "a#b", strings.Repeat("a", 65)}},
		{"Key", refx.ValidKey, []string{"control", "Bold", "v1.2", "a_b-c"},
			[]string{"", ".a", "a#b", "a b", strings.Repeat("k", 65)}},
		{"User", refx.ValidUser, []string{"alice", "user#1", "ünïcode", strings.Repeat("u", 256),
			"\u00e9", "\u03a9", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "\U0001F469\u200d\U0001F4BB", "\ufffd"},
			[]string{"", "a\x00b", "tab\there", "\xff", strings.Repeat("u", 257),
				"\xed\xa0\x80",      // a surrogate encoded in UTF-8
				"e\u0301", "\u2126", // not NFC: é and Ω spelled otherwise
				"\u202egnp.exe", "a\u202ab", "\u2066x\u2069", "\u200ex", "x\u200f", "\u061cx", // bidi controls
				"a\u200bb", "\ufeffa", "a\u00adb", "a\U000E0041", "a\u0085b"}},
		{"UUID", refx.ValidUUID, []string{"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90", "6F1C2A9E-8D4B-4C3A-9F1E-2B7D5C8A1E90"},
			[]string{"", "6f1c2a9e8d4b4c3a9f1e2b7d5c8a1e90", "6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e9g", "6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e900"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range tt.ok {
				if !tt.valid(s) {
					t.Errorf("%q refused", s)
				}
			}
			for _, s := range tt.bad {
				if tt.valid(s) {
					t.Errorf("%q accepted", s)
				}
			}
		})
	}
}

func TestNormalizeUser(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice", "alice"},
		{"Jose\u0301", "Jos\u00e9"},
		{"\u2126", "\u03a9"},
		{"\u1100\u1161", "\uac00"},
		{"\u00e9", "\u00e9"},
		// Not a canonical equivalence: compatibility forms stay apart.
		{"\ufb01", "\ufb01"},
	}
	for _, tt := range tests {
		if got := refx.NormalizeUser(tt.in); got != tt.want || !refx.ValidUser(got) {
			t.Errorf("NormalizeUser(%+q) = %+q (valid %v), want %+q", tt.in, got, refx.ValidUser(got), tt.want)
		}
	}
}

func draft(t *testing.T) *refx.Experiment {
	t.Helper()
	e, err := refx.NewExperiment{
		ID:       "exp",
		Variants: []refx.Variant{{Key: "control", Weight: 1}, {Key: "bold", Weight: 3, Payload: json.RawMessage(`{"a": 1}`)}},
		Goals:    []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial}},
	}.Build(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestBuildDefaults(t *testing.T) {
	e := draft(t)
	if e.Name != "exp" || e.Seed != "exp" || e.Control != "control" || e.Coverage != 1 ||
		e.CounterShards != refx.DefaultShards || e.Status != refx.StatusDraft || e.Version != 1 {
		t.Fatalf("defaults not applied: %+v", e)
	}
}

func TestBucketFollowsRelativeWeights(t *testing.T) {
	e := draft(t) // control 1 : bold 3
	bold := 0
	const n = 20000
	for i := range n {
		v, ok := e.Bucket("user-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + time.Duration(i).String())
		if !ok {
			t.Fatal("full coverage excluded a user")
		}
		if v.Key == "bold" {
			bold++
		}
	}
	if share := float64(bold) / n; share < 0.73 || share > 0.77 {
		t.Fatalf("bold share = %.3f, want ≈ 0.75", share)
	}
}

func TestApply(t *testing.T) {
	name := "new name"
	weights := []refx.Variant{{Key: "control", Weight: 1}, {Key: "bold", Weight: 1, Payload: json.RawMessage(`{"a":1}`)}}
	sameSplit := []refx.Variant{{Key: "control", Weight: 2}, {Key: "bold", Weight: 6, Payload: json.RawMessage(`{"a":1}`)}}
	payload := []refx.Variant{{Key: "control", Weight: 1}, {Key: "bold", Weight: 3, Payload: json.RawMessage(`{"a":2}`)}}
	goals := []refx.Goal{{Key: "buy", Kind: refx.GoalValue}}
	control := "bold"
	half, full := 0.5, 1.0
	tests := []struct {
		name   string
		status refx.Status
		from   float64 // the coverage before the patch
		patch  refx.ExperimentPatch
		code   string
		field  string
	}{
		// Refusals whose field is one a new phase may change say so.
		{"DraftAnything", refx.StatusDraft, 1, refx.ExperimentPatch{Version: 1, Goals: &goals, Control: &control, Variants: &payload, Coverage: &half}, "", ""},
		{"ErrStale", refx.StatusDraft, 1, refx.ExperimentPatch{Version: 2, Name: &name}, refx.ECONFLICT, ""},
		{"ErrRunningWeights", refx.StatusRunning, 1, refx.ExperimentPatch{Version: 1, Variants: &weights}, refx.ECONFLICT, "variants"},
		// 2:6 is the 1:3 split: no user changes arm.
		{"RunningSameSplit", refx.StatusRunning, 1, refx.ExperimentPatch{Version: 1, Variants: &sameSplit}, "", ""},
		{"RunningCoverageUp", refx.StatusRunning, 0.5, refx.ExperimentPatch{Version: 1, Coverage: &full}, "", ""},
		{"ErrRunningCoverageDown", refx.StatusRunning, 1, refx.ExperimentPatch{Version: 1, Coverage: &half}, refx.ECONFLICT, "coverage"},
		{"ErrRunningPayload", refx.StatusRunning, 1, refx.ExperimentPatch{Version: 1, Variants: &payload}, refx.ECONFLICT, "variants"},
		{"ErrRunningGoals", refx.StatusRunning, 1, refx.ExperimentPatch{Version: 1, Goals: &goals}, refx.ECONFLICT, "goals"},
		{"ErrRunningControl", refx.StatusRunning, 1, refx.ExperimentPatch{Version: 1, Control: &control}, refx.ECONFLICT, "control"},
		{"StoppedBrief", refx.StatusStopped, 1, refx.ExperimentPatch{Version: 1, Name: &name}, "", ""},
		{"ErrStoppedCoverage", refx.StatusStopped, 0.5, refx.ExperimentPatch{Version: 1, Coverage: &full}, refx.ECONFLICT, "coverage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := draft(t)
			e.Status, e.Coverage = tt.status, tt.from
			next, err := e.Apply(tt.patch, time.Now())
			if refx.ErrorCode(err) != tt.code || refx.ErrorField(err) != tt.field {
				t.Fatalf("Apply: %v (field %q), want code %q field %q", err, refx.ErrorField(err), tt.code, tt.field)
			}
			if (tt.field == "coverage" || tt.name == "ErrRunningWeights") && tt.status == refx.StatusRunning && !strings.Contains(err.Error(), "new phase") {
				t.Fatalf("Apply: %v, want it to say to start a new phase", err)
			}
			if err == nil && next.Version != 2 {
				t.Fatalf("version = %d, want 2", next.Version)
			}
			if e.Version != 1 {
				t.Fatal("Apply changed its receiver")
			}
		})
	}
}

// TestCoverageIncreaseKeepsArms: a running experiment may raise its
// coverage because bucket ranges grow in place: every user covered before
// is covered after, in the same arm.
func TestCoverageIncreaseKeepsArms(t *testing.T) {
	e := draft(t)
	steps := []float64{0.1, 0.35, 0.8, 1}
	moved, covered := 0, 0
	for i := range 10000 {
		user := fmt.Sprint("user-", i)
		first := ""
		for _, c := range steps {
			e.Coverage = c
			v, ok := e.Bucket(user)
			switch {
			case !ok && first != "":
				t.Fatalf("%s left the experiment when the coverage rose to %v", user, c)
			case ok && first == "":
				first = v.Key
				covered++
			case ok && v.Key != first:
				moved++
			}
		}
	}
	if moved != 0 || covered < 9900 {
		t.Fatalf("%d of %d covered users changed arm as the coverage rose", moved, covered)
	}
}
