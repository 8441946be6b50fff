package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/mathext"
)

// BetaPosterior is a Beta(A, B) distribution, the exact posterior of a
// conversion rate after observing conversions out of n under a Beta prior.
type BetaPosterior struct {
	// A is the first shape parameter (prior alpha + conversions).
	A float64 `json:"a"`
	// B is the second shape parameter (prior beta + non-conversions).
	B float64 `json:"b"`
}

// BetaPosteriorOf returns the posterior Beta(prior.Alpha + conversions,
// prior.Beta + n − conversions). A nil prior (or non-positive parameters)
// means the uniform Beta(1, 1) prior.
func BetaPosteriorOf(conversions, n int64, prior *BetaPrior) BetaPosterior {
	a0, b0 := 1.0, 1.0
	if prior != nil && prior.Alpha > 0 && prior.Beta > 0 {
		a0, b0 = prior.Alpha, prior.Beta
	}
	return BetaPosterior{A: a0 + float64(conversions), B: b0 + float64(n-conversions)}
}

// Mean returns A/(A+B).
func (p BetaPosterior) Mean() float64 { return p.A / (p.A + p.B) }

// Variance returns AB/((A+B)²(A+B+1)).
func (p BetaPosterior) Variance() float64 {
	s := p.A + p.B
	return p.A * p.B / (s * s * (s + 1))
}

// betaTailEps is the probability mass ignored in each tail when integrating
// over a Beta distribution.
const betaTailEps = 1e-15

// betaDist caches what the numerical routines need about one Beta distribution.
type betaDist struct {
	a, b     float64
	lnC      float64 // −ln B(a, b)
	mean, sd float64
	lo, hi   float64 // betaTailEps quantiles

	// Cache of the density at the panel nodes of the last integration over
	// this distribution (the layout is usually the same across Newton steps).
	cacheKey panelKey
	cacheF   []float64
}

// panelKey identifies a panel layout: the interval, the number of uniform
// panels and whether each end is geometrically graded.
type panelKey struct {
	a, b           float64
	panels         int
	gradeL, gradeR bool
}

// pdfAtNodes returns the density at the Gauss–Legendre nodes of the panels
// delimited by edges, reusing the previous result when the layout (identified
// by key) is unchanged.
func (d *betaDist) pdfAtNodes(key panelKey, edges []float64) []float64 {
	if d.cacheF != nil && d.cacheKey == key {
		return d.cacheF
	}
	n := (len(edges) - 1) * panelNodes
	if cap(d.cacheF) >= n {
		d.cacheF = d.cacheF[:n]
	} else {
		d.cacheF = make([]float64, n)
	}
	for k := 0; k+1 < len(edges); k++ {
		left, h := edges[k], edges[k+1]-edges[k]
		for j := 0; j < panelNodes; j++ {
			d.cacheF[k*panelNodes+j] = d.pdf(left + h*glU[j])
		}
	}
	d.cacheKey = key
	return d.cacheF
}

// newBetaDist precomputes the normalising constant, moments and effective
// support (betaTailEps quantiles) of a Beta posterior.
func newBetaDist(p BetaPosterior) betaDist {
	d := betaDist{a: p.A, b: p.B, lnC: -lbeta(p.A, p.B), mean: p.Mean(), sd: math.Sqrt(p.Variance())}
	d.lo = mathext.InvRegIncBeta(p.A, p.B, betaTailEps)
	d.hi = 1 - mathext.InvRegIncBeta(p.B, p.A, betaTailEps)
	if !(d.lo >= 0) {
		d.lo = 0
	}
	if !(d.hi <= 1) {
		d.hi = 1
	}
	return d
}

// pdf is the Beta density; it is only evaluated strictly inside (0, 1).
func (d *betaDist) pdf(x float64) float64 {
	if x <= 0 || x >= 1 {
		return 0
	}
	return math.Exp(d.lnC + (d.a-1)*math.Log(x) + (d.b-1)*math.Log1p(-x))
}

// cdf is the regularized incomplete beta function I_x(a, b).
func (d *betaDist) cdf(x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	return mathext.RegIncBeta(d.a, d.b, x)
}

// Gauss–Legendre panel rule on [0,1] and its spectral integration matrix:
// glS[k][j] = ∫_0^{glU[k]} ℓ_j(s) ds for the Lagrange basis ℓ_j on the nodes,
// so that ∫_0^{u_k} g ≈ Σ_j glS[k][j] g(u_j) with the accuracy of degree-15
// polynomial interpolation.
const panelNodes = 16

// panelWidth is the width of one panel in standard deviations of the narrower
// function; 16 nodes resolve a Gaussian-like density over 5 standard
// deviations to about 1e-11, so 4 leaves a margin.
const panelWidth = 4.0

var (
	glU, glW [panelNodes]float64
	glS      [panelNodes][panelNodes]float64
)

func init() {
	quad.Legendre{}.FixedLocations(glU[:], glW[:], 0, 1)
	lagrange := func(j int, s float64) float64 {
		v := 1.0
		for i := 0; i < panelNodes; i++ {
			if i != j {
				v *= (s - glU[i]) / (glU[j] - glU[i])
			}
		}
		return v
	}
	for k := 0; k < panelNodes; k++ {
		for j := 0; j < panelNodes; j++ {
			var s float64
			for m := 0; m < panelNodes; m++ {
				s += glW[m] * lagrange(j, glU[k]*glU[m])
			}
			glS[k][j] = glU[k] * s
		}
	}
}

// cdfIntegral computes, for independent U and V and the increasing affine map
// ψ(u) = p·u + q (p > 0),
//
//	I  = ∫ f_U(u) F_V(ψ(u)) du = P(V ≤ ψ(U)),
//	J1 = ∫ f_U(u) f_V(ψ(u)) du,
//	J2 = ∫ f_U(u) u f_V(ψ(u)) du.
//
// The integral runs over the part of U's effective support where F_V(ψ(u)) is
// neither 0 nor 1 (so the support edges of V, where F_V is not smooth, are
// integration end points); it is split into Gauss–Legendre panels no wider
// than panelWidth standard deviations of the narrower of f_U and f_V∘ψ, and
// F_V(ψ(u)) at the nodes is obtained by spectral integration of f_V∘ψ from a
// single regularized incomplete beta evaluation at the left end.
func cdfIntegral(U, V *betaDist, p, q float64) (I, J1, J2 float64) {
	vlo, vhi := (V.lo-q)/p, (V.hi-q)/p
	a := math.Max(U.lo, vlo)
	b := math.Min(U.hi, vhi)
	if a >= b {
		if vlo >= U.hi {
			return 0, 0, 0 // ψ(U) is below V's support: P(V ≤ ψ(U)) = 0
		}
		return 1, 0, 0
	}
	if b < U.hi {
		I = 1 - U.cdf(b) // where ψ(u) is above V's support F_V = 1
	}
	scale := math.Min(U.sd, V.sd/p)
	panels := int(math.Ceil((b - a) / (panelWidth * scale)))
	if panels < 1 {
		panels = 1
	}
	if panels > 64 {
		panels = 64
	}
	h := (b - a) / float64(panels)
	// A support edge of a Beta density with a small non-integer shape is an
	// algebraic singularity (x^(a−1)); when it sits at an end of the interval,
	// grade the panels geometrically towards it.
	key := panelKey{a: a, b: b, panels: panels}
	key.gradeL = (a == U.lo && singularEdge(U.lo, U.a, h)) || (a == vlo && singularEdge(V.lo, V.a, h*p))
	key.gradeR = (b == U.hi && singularEdge(1-U.hi, U.b, h)) || (b == vhi && singularEdge(1-V.hi, V.b, h*p))
	if panels == 1 && key.gradeL && key.gradeR {
		panels, h = 2, h/2
		key.panels = 2
	}
	var buf [64 + 2*gradeLevels + 1]float64
	edges := panelEdges(buf[:0], a, b, h, panels, key.gradeL, key.gradeR)

	var G float64
	if x := p*a + q; x > V.lo {
		G = V.cdf(x)
	}
	fuAll := U.pdfAtNodes(key, edges)
	var fv [panelNodes]float64
	for k := 0; k+1 < len(edges); k++ {
		left, w := edges[k], edges[k+1]-edges[k]
		fu := fuAll[k*panelNodes : (k+1)*panelNodes]
		for j := 0; j < panelNodes; j++ {
			fv[j] = V.pdf(p*(left+w*glU[j]) + q)
		}
		var acc, end float64
		for j := 0; j < panelNodes; j++ {
			var cum float64
			row := &glS[j]
			for m := 0; m < panelNodes; m++ {
				cum += row[m] * fv[m]
			}
			g := G + p*w*cum
			if g > 1 {
				g = 1
			}
			u := left + w*glU[j]
			wt := w * glW[j] * fu[j]
			acc += wt * g
			J1 += wt * fv[j]
			J2 += wt * u * fv[j]
			end += glW[j] * fv[j]
		}
		I += acc
		G += p * w * end
	}
	return I, J1, J2
}

// gradeLevels and gradeRatio define the geometric grading towards a singular
// end: sub-panels [e + h·r^(k+1), e + h·r^k] for k < gradeLevels, which
// resolves x^(a−1) singularities with a ≥ 0.5 to better than 1e-10.
const (
	gradeLevels = 30
	gradeRatio  = 0.25
)

// singularEdge reports whether a Beta support edge at distance dist from the
// end of the integration interval, with shape parameter shape at that edge,
// needs graded panels: the shape is small and not a whole number (so the
// density is not polynomial there) and the edge is within half a panel.
func singularEdge(dist, shape, panel float64) bool {
	return shape < 30 && shape != math.Trunc(shape) && dist < 0.5*panel
}

// panelEdges appends the panel boundaries on [a, b]: `panels` uniform panels
// of width h, with the first and/or last replaced by geometrically graded ones.
func panelEdges(edges []float64, a, b, h float64, panels int, gradeL, gradeR bool) []float64 {
	edges = append(edges, a)
	if gradeL {
		for k := gradeLevels; k >= 1; k-- {
			edges = append(edges, a+h*math.Pow(gradeRatio, float64(k)))
		}
	}
	for k := 1; k < panels; k++ {
		edges = append(edges, a+float64(k)*h)
	}
	if gradeR {
		for k := 1; k <= gradeLevels; k++ {
			edges = append(edges, b-h*math.Pow(gradeRatio, float64(k)))
		}
	}
	return append(edges, b)
}

// probLE returns P(T ≤ s·C + c) for independent C and T (s > 0) together with
// its derivatives with respect to c and s. It integrates over whichever of C
// and T is narrower on the scale of the comparison.
func probLE(C, T *betaDist, s, c float64) (P, dc, ds float64) {
	if s*C.sd <= T.sd {
		I, J1, J2 := cdfIntegral(C, T, s, c)
		return I, J1, J2
	}
	// P(T ≤ sC + c) = P(C ≥ (T − c)/s) = 1 − P(C ≤ T/s − c/s).
	I, J1, J2 := cdfIntegral(T, C, 1/s, -c/s)
	return 1 - I, J1 / s, (J2 - c*J1) / (s * s)
}

// isWholeNumber reports whether x is an integer small enough for the closed-form sum.
func isWholeNumber(x float64) bool { return x == math.Trunc(x) && x >= 1 && x <= 1e9 }

// closedFormMaxTerms bounds the work of the closed-form sum before falling back to quadrature.
const closedFormMaxTerms = 200000

// probGreaterClosed returns P(X_B > X_A) for X_A ~ Beta(aA, bA), X_B ~ Beta(aB, bB)
// with integer aB, using the finite sum (Miller 2015; Cook 2005)
//
//	P = Σ_{i=0}^{aB−1} t_i,  t_i = B(aA+i, bA+bB) / ((bB+i) B(1+i, bB) B(aA, bA)).
//
// The t_i form a unimodal probability mass function in i with
// t_{i+1}/t_i = (aA+i)(bB+i)/((aA+bA+bB+i)(1+i)), so the sum is evaluated from
// index aB−1 (or aB) away from the mode with the ratio recurrence, stopping
// once terms are negligible; only one term needs log-beta functions. ok is
// false when the sum would need more than closedFormMaxTerms terms.
func probGreaterClosed(aA, bA, aB, bB float64) (p float64, ok bool) {
	K := aB - 1
	logt := func(i float64) float64 {
		return lbeta(aA+i, bA+bB) - math.Log(bB+i) - lbeta(1+i, bB) - lbeta(aA, bA)
	}
	ratio := func(i float64) float64 {
		return (aA + i) * (bB + i) / ((aA + bA + bB + i) * (1 + i))
	}
	mode := math.Max(0, math.Ceil((aA*bB-aA-bA-bB)/(bA+1)))
	if K < mode {
		// Lower part: terms decrease from i = K down to 0.
		lt := logt(K)
		t, s := 1.0, 1.0
		for i, n := K, 0; i > 0; i, n = i-1, n+1 {
			if n > closedFormMaxTerms {
				return 0, false
			}
			t /= ratio(i - 1)
			s += t
			if t <= s*1e-17 {
				break
			}
		}
		return clamp01(math.Exp(lt + math.Log(s))), true
	}
	// Upper tail: terms decrease from i = K+1 upwards; P = 1 − tail.
	lt := logt(K + 1)
	if lt < -800 {
		return 1, true
	}
	t, s := 1.0, 1.0
	for i, n := K+1, 0; ; i, n = i+1, n+1 {
		if n > closedFormMaxTerms {
			return 0, false
		}
		t *= ratio(i)
		s += t
		// Absolute precision suffices because the tail is subtracted from 1.
		if t <= s*1e-17 || (lt+math.Log(t)) < -41.5 {
			break
		}
	}
	return clamp01(1 - math.Exp(lt+math.Log(s))), true
}

// ProbGreater returns P(X > Y) for independent X ~ x and Y ~ y.
// When one shape parameter is a whole number (always the case with integer
// priors such as the default Beta(1,1)) it uses the exact finite sum, choosing
// among its four symmetric forms the one whose terms decay fastest; otherwise
// it integrates numerically (Gauss–Legendre panels, see cdfIntegral).
// The result is deterministic and accurate to about 1e-12.
func ProbGreater(x, y BetaPosterior) float64 {
	type form struct {
		exponent   float64 // decay exponent of the heavy tail of the terms
		applicable bool
		eval       func() (float64, bool)
	}
	forms := [4]form{
		{y.B, isWholeNumber(x.A), func() (float64, bool) { return probGreaterClosed(y.A, y.B, x.A, x.B) }},
		{x.B, isWholeNumber(y.A), func() (float64, bool) {
			p, ok := probGreaterClosed(x.A, x.B, y.A, y.B)
			return 1 - p, ok
		}},
		{x.A, isWholeNumber(y.B), func() (float64, bool) { return probGreaterClosed(x.B, x.A, y.B, y.A) }},
		{y.A, isWholeNumber(x.B), func() (float64, bool) {
			p, ok := probGreaterClosed(y.B, y.A, x.B, x.A)
			return 1 - p, ok
		}},
	}
	// Try the applicable forms from the fastest-decaying tail down.
	var used [4]bool
	for range forms {
		best := -1
		for i, f := range forms {
			if f.applicable && !used[i] && (best < 0 || f.exponent > forms[best].exponent) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		used[best] = true
		if p, ok := forms[best].eval(); ok {
			return clamp01(p)
		}
	}
	X, Y := newBetaDist(x), newBetaDist(y)
	P, _, _ := probLE(&Y, &X, 1, 0) // P(X ≤ Y)
	return clamp01(1 - P)
}

// BetaTestResult is the exact Bayesian comparison of two conversion rates.
type BetaTestResult struct {
	// ChanceToWin is P(p_treatment > p_control).
	ChanceToWin float64 `json:"chance_to_win"`
	// Absolute describes p_treatment − p_control.
	Absolute EffectPosterior `json:"absolute"`
	// Relative describes p_treatment/p_control − 1; nil when the control
	// posterior has A ≤ 2 (its mean and variance would be infinite).
	Relative *EffectPosterior `json:"relative"`
}

// BetaBinomialTest compares two Beta posteriors exactly: the chance to win
// and the expected losses are closed-form sums (see ProbGreater), using
// E[(T−C)⁺] = μ_T·P(T⁺ > C) − μ_C·P(T > C⁺) where X⁺ ~ Beta(a+1, b), and for the
// relative scale E[(T/C−1)⁺] = μ_T·E[1/C]·P(T⁺ > C⁻) − P(T > C) where
// C⁻ ~ Beta(a−1, b); posterior means and standard deviations of the lifts are
// exact; the equal-tailed 1−alpha credible intervals are exact quantiles of
// the distribution of T−C and T/C−1, found by Newton's method on their
// numerically integrated distribution functions.
func BetaBinomialTest(control, treatment BetaPosterior, alpha float64) (BetaTestResult, error) {
	if !(alpha > 0 && alpha < 1) {
		return BetaTestResult{}, fmt.Errorf("stats: alpha %g must be in (0, 1)", alpha)
	}
	for _, v := range []float64{control.A, control.B, treatment.A, treatment.B} {
		if !(v > 0) || !isFinite(v) {
			return BetaTestResult{}, fmt.Errorf("stats: Beta shape %g must be positive and finite", v)
		}
	}
	C, T := newBetaDist(control), newBetaDist(treatment)
	return betaBinomialTest(&C, &T, alpha), nil
}

func betaBinomialTest(C, T *betaDist, alpha float64) BetaTestResult {
	c := BetaPosterior{C.a, C.b}
	t := BetaPosterior{T.a, T.b}
	cPlus := BetaPosterior{c.A + 1, c.B}
	tPlus := BetaPosterior{t.A + 1, t.B}
	mc, mt := C.mean, T.mean

	p0 := ProbGreater(t, c)
	p1 := ProbGreater(tPlus, c)
	p2 := ProbGreater(t, cPlus)
	lossC := mt*p1 - mc*p2 // E[(T−C)⁺]
	lossT := lossC - (mt - mc)
	res := BetaTestResult{ChanceToWin: p0}
	absMean := mt - mc
	absSD := math.Sqrt(C.sd*C.sd + T.sd*T.sd)
	res.Absolute = EffectPosterior{
		ChanceToWin: p0,
		Mean:        absMean,
		StdDev:      absSD,
		Risk:        Risk{Control: math.Max(lossC, 0), Treatment: math.Max(lossT, 0)},
	}
	res.Absolute.CI = Interval{
		Lower: liftQuantile(C, T, false, alpha/2),
		Upper: liftQuantile(C, T, false, 1-alpha/2),
	}
	if c.A > 2 {
		s := c.A + c.B
		inv1 := (s - 1) / (c.A - 1)                         // E[1/C]
		inv2 := (s - 1) * (s - 2) / ((c.A - 1) * (c.A - 2)) // E[1/C²]
		et2 := t.A * (t.A + 1) / ((t.A + t.B) * (t.A + t.B + 1))
		relMean := mt*inv1 - 1
		relVar := et2*inv2 - (mt*inv1)*(mt*inv1)
		p3 := ProbGreater(tPlus, BetaPosterior{c.A - 1, c.B})
		lossRC := mt*inv1*p3 - p0
		lossRT := lossRC - relMean
		rel := EffectPosterior{
			ChanceToWin: p0,
			Mean:        relMean,
			StdDev:      math.Sqrt(math.Max(relVar, 0)),
			Risk:        Risk{Control: math.Max(lossRC, 0), Treatment: math.Max(lossRT, 0)},
			CI: Interval{
				Lower: liftQuantile(C, T, true, alpha/2),
				Upper: liftQuantile(C, T, true, 1-alpha/2),
			},
		}
		res.Relative = &rel
	}
	return res
}

// liftQuantile returns the prob-quantile of T−C (relative=false) or T/C−1
// (relative=true), solving P(T ≤ C + d) = prob or P(T ≤ (1+r)C) = prob by a
// bracketed Newton iteration started from a skewness-corrected normal guess.
func liftQuantile(C, T *betaDist, relative bool, prob float64) float64 {
	z := normQuantile(prob)
	var x, lo, hi, tol float64
	if relative {
		// Work with s = 1 + r > 0; start from the Cornish–Fisher expansion of
		// log(T/C), whose cumulants are exact polygamma differences.
		k1 := mathext.Digamma(T.a) - mathext.Digamma(T.a+T.b) - mathext.Digamma(C.a) + mathext.Digamma(C.a+C.b)
		k2 := polygamma(1, T.a) - polygamma(1, T.a+T.b) + polygamma(1, C.a) - polygamma(1, C.a+C.b)
		k3 := polygamma(2, T.a) - polygamma(2, T.a+T.b) - polygamma(2, C.a) + polygamma(2, C.a+C.b)
		k4 := polygamma(3, T.a) - polygamma(3, T.a+T.b) + polygamma(3, C.a) - polygamma(3, C.a+C.b)
		sd := math.Sqrt(k2)
		x = math.Exp(k1 + sd*cornishFisher(z, k3/(k2*sd), k4/(k2*k2)))
		lo, hi = 0, math.Inf(1)
		tol = 1e-12 * math.Max(x*sd, 1e-300)
	} else {
		sd := math.Sqrt(C.sd*C.sd + T.sd*T.sd)
		// Cornish–Fisher expansion with the exact cumulants of T − C.
		k3 := betaCumulant3(T) - betaCumulant3(C)
		k4 := betaCumulant4(T) + betaCumulant4(C)
		g1 := k3 / (sd * sd * sd)
		g2 := k4 / (sd * sd * sd * sd)
		x = T.mean - C.mean + sd*cornishFisher(z, g1, g2)
		lo, hi = -1, 1
		tol = 1e-12 * math.Max(sd, 1e-300)
	}
	if !(x > lo && x < hi) {
		if relative {
			x = T.mean / C.mean
		} else {
			x = T.mean - C.mean
		}
	}
	for iter := 0; iter < 100; iter++ {
		var F, dF float64
		if relative {
			F, _, dF = probLE(C, T, x, 0)
		} else {
			F, dF, _ = probLE(C, T, 1, x)
		}
		diff := F - prob
		if diff > 0 {
			hi = x
		} else {
			lo = x
		}
		var next float64
		if dF > 0 {
			next = x - diff/dF
		}
		if !(dF > 0) || !(next > lo && next < hi) {
			// Fall back to bisection (or expansion when the bracket is open).
			if math.IsInf(hi, 1) {
				next = 2*x + 1
			} else {
				next = 0.5 * (lo + hi)
			}
		}
		if math.Abs(next-x) <= tol || hi-lo <= tol {
			x = next
			break
		}
		// Newton converges quadratically with error ≈ step²/σ near a tail
		// quantile: once a step is below 1e-4 standard deviations, taking it
		// leaves an error of about 1e-8 standard deviations.
		if dF > 0 && next > lo && next < hi && math.Abs(next-x) <= 1e8*tol {
			x = next
			break
		}
		x = next
	}
	if relative {
		return x - 1
	}
	return x
}

// betaCumulant3 returns the third cumulant (central moment) of a Beta distribution.
func betaCumulant3(d *betaDist) float64 {
	a, b := d.a, d.b
	s := a + b
	return 2 * a * b * (b - a) / (s * s * s * (s + 1) * (s + 2))
}

// betaCumulant4 returns the fourth cumulant of a Beta distribution
// (excess kurtosis times the squared variance).
func betaCumulant4(d *betaDist) float64 {
	a, b := d.a, d.b
	s := a + b
	exKurt := 6 * ((a-b)*(a-b)*(s+1) - a*b*(s+2)) / (a * b * (s + 2) * (s + 3))
	v := d.sd * d.sd
	return exKurt * v * v
}

// cornishFisher returns the standardized quantile z + (z²−1)γ1/6 + (z³−3z)γ2/24 − (2z³−5z)γ1²/36
// for skewness γ1 and excess kurtosis γ2.
func cornishFisher(z, g1, g2 float64) float64 {
	z2 := z * z
	return z + (z2-1)*g1/6 + (z2-3)*z*g2/24 - (2*z2-5)*z*g1*g1/36
}

// polygamma returns ψ⁽ⁿ⁾(x) for n = 1, 2, 3 and x > 0, using the recurrence
// to reach x ≥ 10 and then the asymptotic (Bernoulli) series.
func polygamma(n int, x float64) float64 {
	var acc float64
	for x < 10 {
		switch n {
		case 1:
			acc += 1 / (x * x)
		case 2:
			acc -= 2 / (x * x * x)
		case 3:
			acc += 6 / (x * x * x * x)
		}
		x++
	}
	r := 1 / x
	r2 := r * r
	switch n {
	case 1:
		return acc + r + r2*(0.5+r*(1.0/6+r2*(-1.0/30+r2*(1.0/42+r2*(-1.0/30)))))
	case 2:
		return acc - r2*(1+r*(1+r*(0.5+r2*(-1.0/6+r2*(1.0/6+r2*(-3.0/10))))))
	case 3:
		return acc + r2*r*(2+r*(3+r*(2+r2*(-1+r2*(4.0/3+r2*(-3))))))
	}
	panic("polygamma: unsupported order")
}
