package refx

import (
	"math/big"
	"strings"
)

// Value amounts are exact decimals with at most DecimalPlaces fractional
// digits and an absolute value of at most MaxValue. DynamoDB numbers are
// exact 38-digit decimals and ADD on them is exact, so the sums Σvalue and
// Σvalue² are kept as decimals rather than integers of minor units: refx need
// not know a currency's exponent (JPY has 0 decimals, BHD 3) and never rounds.
// Σvalue² of values with 4 decimals has 8, and with |value| ≤ 1e9 one square
// has at most 26 significant digits, leaving 12 digits of headroom for the sum
// of a trillion events.
const (
	DecimalPlaces = 4
	MaxValue      = 1_000_000_000
)

// maxUnits is MaxValue in units of 1/10⁴.
const maxUnits = MaxValue * 10_000

// Decimal is an exact value amount, held as an integer count of 1/10⁴.
type Decimal struct {
	units int64
}

// maxExponent bounds a value's exponent. A value is at most 64 bytes, so
// its digits are at most 63 and no exponent beyond ±(63+13) can give an
// accepted non-zero value; refusing larger ones up front means no input
// makes the parser compute a power of ten (big.Rat would, up to 10^1000000).
const maxExponent = 100

// ParseDecimal parses a JSON number (plain or with an exponent) into a
// Decimal, refusing more than DecimalPlaces fractional digits, a magnitude
// above MaxValue, and exponents beyond ±100. It does no big-number
// arithmetic: the digits are scaled by moving the decimal point.
func ParseDecimal(s string) (Decimal, error) {
	if len(s) > 64 {
		return Decimal{}, FieldErrorf("value", "must be a number of at most 64 characters")
	}
	n, ok := scanNumber(s)
	if !ok {
		return Decimal{}, FieldErrorf("value", "must be a number")
	}
	if n.exp < -maxExponent || n.exp > maxExponent {
		return Decimal{}, FieldErrorf("value", "must have an exponent between -%d and %d", maxExponent, maxExponent)
	}
	// Significant digits without leading zeros, and the power of ten of
	// the last one in units of 1/10⁴.
	digits := strings.TrimLeft(n.whole+n.frac, "0")
	shift := n.exp - len(n.frac) + DecimalPlaces
	for digits != "" && shift < 0 && digits[len(digits)-1] == '0' {
		digits, shift = digits[:len(digits)-1], shift+1
	}
	if digits == "" {
		return Decimal{}, nil
	}
	if shift < 0 {
		return Decimal{}, FieldErrorf("value", "must have at most %d decimal places", DecimalPlaces)
	}
	// MaxValue in units has 14 digits; more cannot be in range.
	if len(digits)+shift > 14 {
		return Decimal{}, FieldErrorf("value", "must be between -%d and %d", MaxValue, MaxValue)
	}
	var units int64
	for i := 0; i < len(digits); i++ {
		units = units*10 + int64(digits[i]-'0')
	}
	for range shift {
		units *= 10
	}
	if units > maxUnits {
		return Decimal{}, FieldErrorf("value", "must be between -%d and %d", MaxValue, MaxValue)
	}
	if n.neg {
		units = -units
	}
	return Decimal{units: units}, nil
}

// number is a scanned JSON number: ±whole.frac·10^exp.
type number struct {
	neg         bool
	whole, frac string
	exp         int
}

// scanNumber parses s by the JSON number grammar
// (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?). An exponent's
// magnitude saturates past maxExponent instead of overflowing.
func scanNumber(s string) (number, bool) {
	var n number
	i := 0
	if i < len(s) && s[i] == '-' {
		n.neg = true
		i++
	}
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	whole := s[intStart:i]
	if whole == "" || len(whole) > 1 && whole[0] == '0' {
		return n, false
	}
	frac := ""
	if i < len(s) && s[i] == '.' {
		i++
		fracStart := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if frac = s[fracStart:i]; frac == "" {
			return n, false
		}
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		expNeg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			expNeg = s[i] == '-'
			i++
		}
		expStart := i
		for ; i < len(s) && isDigit(s[i]); i++ {
			if exp <= maxExponent {
				exp = exp*10 + int(s[i]-'0')
			}
		}
		if i == expStart {
			return n, false
		}
		if expNeg {
			exp = -exp
		}
	}
	if i != len(s) {
		return n, false
	}
	n.whole, n.frac, n.exp = whole, frac, exp
	return n, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// String formats d as a plain decimal without trailing zeros ("12.5", "-3").
func (d Decimal) String() string { return formatScaled(big.NewInt(d.units), DecimalPlaces) }

// Square returns d² exactly, formatted as a decimal string.
func (d Decimal) Square() string {
	u := big.NewInt(d.units)
	return formatScaled(u.Mul(u, u), 2*DecimalPlaces)
}

// IsZero reports whether d is zero.
func (d Decimal) IsZero() bool { return d.units == 0 }

// MarshalJSON writes d as a JSON number.
func (d Decimal) MarshalJSON() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalJSON reads d from a JSON number.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	v, err := ParseDecimal(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// formatScaled formats u·10^-places without trailing fractional zeros.
func formatScaled(u *big.Int, places int) string {
	neg := u.Sign() < 0
	digits := new(big.Int).Abs(u).String()
	if len(digits) <= places {
		digits = strings.Repeat("0", places-len(digits)+1) + digits
	}
	whole, frac := digits[:len(digits)-places], strings.TrimRight(digits[len(digits)-places:], "0")
	s := whole
	if frac != "" {
		s += "." + frac
	}
	if neg {
		s = "-" + s
	}
	return s
}
