package stats

import (
	"testing"
)

// Published worked examples. Each test states its source and checks our
// result to the precision printed in the source.

// Welch two-sample t-test, R's t.test(ts1, ts2) output as quoted in a
// Cross Validated answer on Welch confidence intervals (reproduced at
// https://boxhoidap.com/huong-dan-welchs-t-test-confidence-interval-python-tran-khoang-tin-cay-t-test-cua-welch):
//
//	t = -1.8325, df = 17.9, p-value = 0.08356
//	95 percent confidence interval: -2.1469104  0.1469104
func TestTextbookWelchRExample(t *testing.T) {
	ts1 := []float64{11, 9, 10, 11, 10, 12, 9, 11, 12, 9}
	ts2 := []float64{11, 13, 10, 13, 12, 9, 11, 12, 12, 11}
	sums := func(x []float64) Stats {
		s := Stats{N: int64(len(x))}
		for _, v := range x {
			s.Sum += v
			s.SumSquares += v * v
		}
		return s
	}
	// R's t.test(x, y) estimates mean(x) − mean(y): ts1 is the "treatment" here.
	ctl, _ := MomentsOf(KindMean, sums(ts2))
	trt, _ := MomentsOf(KindMean, sums(ts1))
	r, err := WelchTTest(ctl, trt, ScaleAbsolute, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "t", r.Estimate/r.StdErr, -1.8325, 5e-5)
	near(t, "df", r.DF, 17.9, 0.05)
	near(t, "p", r.PValue, 0.08356, 5e-6)
	near(t, "ci.lower", r.CI.Lower, -2.1469104, 5e-8)
	near(t, "ci.upper", r.CI.Upper, 0.1469104, 5e-8)
}

// Two-proportion z-test with pooled standard error, worked example at
// https://www.usablestats.com/askstats/question/866/ :
// 118 of 3303 versus 80 of 3303, z = 2.74195, two-sided p = .00611.
func TestTextbookTwoProportionZ(t *testing.T) {
	r, err := ProportionZTest(80, 3303, 118, 3303, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "z", r.Z, 2.74195, 5e-4) // the source rounds intermediate values
	near(t, "p", r.PValue, 0.00611, 5e-6)
	near(t, "difference", r.Estimate, 0.01150, 5e-6)
}

// Pearson chi-square goodness of fit on Mendel's (1866) dihybrid cross:
// 315 round-yellow, 108 round-green, 101 wrinkled-yellow, 32 wrinkled-green
// against 9:3:3:1 gives χ² = 0.470 with 3 degrees of freedom, p = 0.925.
func TestTextbookMendelChiSquare(t *testing.T) {
	r, err := SRMTest([]int64{315, 108, 101, 32}, []float64{9, 3, 3, 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "chi2", *r.ChiSquare, 0.470, 5e-4)
	near(t, "p", *r.PValue, 0.925, 5e-4)
	if r.DF != 3 || r.Mismatch {
		t.Errorf("df %d mismatch %v", r.DF, r.Mismatch)
	}
}

// Benjamini & Hochberg (1995), J. R. Statist. Soc. B 57:289–300, section 4:
// of these 15 p-values the step-up procedure at q = 0.05 rejects the four
// smallest, while Bonferroni-type control (Holm here) rejects only three.
func TestTextbookBenjaminiHochberg1995(t *testing.T) {
	p := []float64{0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000}
	count := func(adj []float64) int {
		n := 0
		for _, v := range adj {
			if v <= 0.05 {
				n++
			}
		}
		return n
	}
	bh, _ := AdjustPValues(p, CorrectionBH)
	holm, _ := AdjustPValues(p, CorrectionHolm)
	if got := count(bh); got != 4 {
		t.Errorf("BH rejects %d, want 4", got)
	}
	if got := count(holm); got != 3 {
		t.Errorf("Holm rejects %d, want 3", got)
	}
}
