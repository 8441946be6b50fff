package refx_test

import (
	"math/big"
	"testing"

	"github.com/refx-dev/refx/pkg/refx"
)

// BenchmarkParseDecimal compares ParseDecimal, which reads the number's
// grammar and refuses huge exponents before any arithmetic, with big.Rat
// parsing the same text (what a value cost before). 1e999999 is the body an
// attacker sends 25 times a batch.
func BenchmarkParseDecimal(b *testing.B) {
	for _, s := range []string{"12.5", "1e999999"} {
		b.Run("ParseDecimal/"+s, func(b *testing.B) {
			for b.Loop() {
				refx.ParseDecimal(s)
			}
		})
		b.Run("BigRat/"+s, func(b *testing.B) {
			for b.Loop() {
				new(big.Rat).SetString(s)
			}
		})
	}
}
