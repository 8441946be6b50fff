package refx_test

import (
	"encoding/json"
	"math/big"
	"regexp"
	"strconv"
	"testing"

	"github.com/refx-dev/refx/pkg/refx"
)

// smallExponent matches JSON numbers whose exponent, if any, has at most 3
// digits: the reference (big.Rat) is cheap on them.
var smallExponent = regexp.MustCompile(`^-?[0-9.]+([eE][+-]?([0-9]{1,3}))?$`)

// FuzzParseDecimal checks ParseDecimal against big.Rat, the parser it
// replaced: every JSON number of at most 64 bytes and an exponent within
// ±100 is accepted exactly when its value has at most 4 decimals and lies
// within ±MaxValue, and then with that value; everything else is refused.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"12.5", "-0.0001", "1e3", "1E+9", "1000000000.00001e1", "0.5e-3", "00", "1e999999", "-", "1.0e-100"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := refx.ParseDecimal(s)
		if err != nil && refx.ErrorCode(err) != refx.EINVALID {
			t.Fatalf("ParseDecimal(%q): %v, want an invalid_argument error", s, err)
		}
		m := smallExponent.FindStringSubmatch(s)
		isNumber := len(s) > 0 && (s[0] == '-' || '0' <= s[0] && s[0] <= '9') && json.Valid([]byte(s))
		if !isNumber || len(s) > 64 || m == nil {
			if err == nil && (!isNumber || len(s) > 64) {
				t.Fatalf("ParseDecimal(%q) = %s, want an error", s, d)
			}
			return
		}
		if exp, _ := strconv.Atoi(m[2]); exp > 100 {
			if err == nil {
				t.Fatalf("ParseDecimal(%q) = %s, want an error for the exponent", s, d)
			}
			return
		}
		want, _ := new(big.Rat).SetString(s)
		units := new(big.Rat).Mul(want, big.NewRat(10_000, 1))
		ok := units.IsInt() && new(big.Int).Abs(units.Num()).Cmp(big.NewInt(refx.MaxValue*10_000)) <= 0
		if ok != (err == nil) {
			t.Fatalf("ParseDecimal(%q) error %v, want ok %v", s, err, ok)
		}
		if got, _ := new(big.Rat).SetString(d.String()); ok && got.Cmp(want) != 0 {
			t.Fatalf("ParseDecimal(%q) = %s, want %s", s, d, want.FloatString(4))
		}
	})
}
