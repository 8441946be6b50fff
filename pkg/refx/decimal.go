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

var decimalScale = big.NewInt(10_000)

// Decimal is an exact value amount, held as an integer count of 1/10⁴.
type Decimal struct {
	units int64
}

// ParseDecimal parses a JSON number (plain or with an exponent) into a
// Decimal, refusing more than DecimalPlaces fractional digits or a magnitude
// above MaxValue.
func ParseDecimal(s string) (Decimal, error) {
	if s == "" || len(s) > 64 || strings.ContainsAny(s, "/ ") {
		return Decimal{}, FieldErrorf("value", "must be a number")
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return Decimal{}, FieldErrorf("value", "must be a number")
	}
	r.Mul(r, new(big.Rat).SetInt(decimalScale))
	if !r.IsInt() {
		return Decimal{}, FieldErrorf("value", "must have at most %d decimal places", DecimalPlaces)
	}
	u := r.Num()
	limit := new(big.Int).Mul(big.NewInt(MaxValue), decimalScale)
	if new(big.Int).Abs(u).Cmp(limit) > 0 {
		return Decimal{}, FieldErrorf("value", "must be between -%d and %d", MaxValue, MaxValue)
	}
	return Decimal{units: u.Int64()}, nil
}

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
