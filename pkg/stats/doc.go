// Package stats is refx's A/B-testing statistics engine. It is pure
// computation (no I/O, no AWS): it works only from exact sufficient
// statistics and returns deterministic, JSON-safe results that the results
// API returns as-is.
//
// # Entry points
//
//   - Analyze(Request) (Analysis, error): every metric × every non-control
//     variant against the control, with the chosen engine, multiple-comparison
//     correction, sample-ratio-mismatch check and a verdict per comparison.
//   - Power(PowerRequest) (PowerResult, error): sample size per arm, power and
//     minimum detectable effect for a planned experiment.
//   - Building blocks, usable on their own: MomentsOf, EffectEstimate,
//     WelchTTest, LogRatioTest, FisherExact, SequentialTest,
//     SequentialLogRatioTest, GaussianEffectTest, GaussianLogRatioTest, BetaPosteriorOf, BetaBinomialTest, ProbGreater,
//     ProportionZTest, SRMTest, AdjustPValues, CUPED.
//
// # Inputs: sufficient statistics
//
// Per variant and metric the caller supplies N (units: participants, or
// referrers for per-referrer metrics), Σy and Σy²; ratio metrics add Σx, Σx²
// and Σxy (numerator y, denominator x per unit). From these, MomentsOf derives
// the mean and per-unit variance:
//
//   - binomial: p = conversions/N, variance p(1−p) (GrowthBook's ProportionStatistic);
//   - mean: ȳ = Σy/N, variance (Σy² − (Σy)²/N)/(N−1);
//   - ratio: R = Σy/Σx with the delta-method per-unit variance
//     σy²/μx² − 2σxy·μy/μx³ + μy²σx²/μx⁴ (Deng, Knoblich & Lu 2018), as GrowthBook's RatioStatistic.
//
// # Frequentist engine
//
// WelchTTest is a two-sided Welch t-test for every metric kind, as in
// GrowthBook: estimate / standard error against a Student t distribution with
// Welch–Satterthwaite degrees of freedom (Welch 1947; Satterthwaite 1946), and
// the interval estimate ± t(1−α/2, df)·se. We chose the Welch t-test rather than
// the pooled two-proportion z-test for binomial metrics so that all kinds share
// one method and one interval, so that the test and its interval agree, and to
// match GrowthBook; with the sample sizes of online experiments the two agree
// closely. The textbook pooled z-test is available as ProportionZTest.
//
// The relative lift μt/μc − 1 is tested on the log scale (LogRatioTest): the
// delta method gives log(μt/μc) the variance σt²/(nt·μt²) + σc²/(nc·μc²), its
// Welch–Satterthwaite degrees of freedom come from those two terms, and the
// interval exp(log(μt/μc) ± t·se) − 1 is the relative interval; the p-value
// comes from the same t statistic, so interval and test always agree. Why
// not GrowthBook's linear delta method ((μt−μc)/μc ± t·se, still what
// WelchTTest, SequentialTest and GaussianEffectTest compute on ScaleRelative,
// to mirror GrowthBook; Analyze no longer uses it in any engine): a ratio of means is skewed, the more so the noisier the control, and
// the symmetric interval both crosses −100% (a lift below −100% is
// impossible: refx showed [−140%, +89.6%]) and undercovers on the upper
// side, while its p-value can disagree wildly with the absolute test (15/15
// vs 6/24: relative p 0.045, absolute p 1.5e-8). The log ratio is nearly
// normal (Deng, Knoblich & Lu 2018 §3.3; Katz et al. 1978 for proportions;
// statsmodels' "log" risk-ratio method), and the simulations in
// decision_property_test.go cover +10% in 94–96% of runs at control rates of
// 1–20%. Both means must be positive: otherwise (a control mean of 0, or
// means that can be negative) the relative lift is undefined and decisions
// use the absolute lift, with a note. The absolute lift keeps the Welch test
// and interval. The reported relative standard error is (μt/μc)·se(log),
// which equals the linear delta-method one.
//
// Small or degenerate binomial arms: when either arm has fewer than 10
// conversions or fewer than 10 non-conversions (exactMinCount, the usual
// np ≥ 10 rule; it includes arms at 0% and 100%, whose zero variance makes a
// Wald statistic look infinitely precise), the p-value is Fisher's exact test
// (FisherExact, conditional on the total conversions; two-sided as in scipy,
// summing every table no more likely than the observed one), Comparison.Method
// says "fisher_exact", and the intervals are Newcombe's hybrid score interval
// for the difference and the log-adjusted (0.5 added to each count) interval
// for the ratio, which stay sensible at 0% and 100% but, being approximations,
// can disagree with Fisher's test near the threshold (a note says so). Fisher's
// test is conservative (A/A false positives 2.4% at α = 5% with 60 units per
// arm at 10%). When both arms are at 0% (or both at 100%) nothing can be
// learnt yet: "insufficient_data".
//
// One-sided tests (Metric.OneSided) test only the improving direction given
// LowerIsBetter: the p-value is the one-sided tail of the same statistic
// (Fisher's one-sided tail for small arms), such a metric can be a winner but
// never a loser, and its intervals have level 1−2α (90% at α = 5%), so that
// the bound on the improving side is the one-sided 1−α bound and excludes
// zero exactly when the test rejects. The sequential and Bayesian engines test
// both directions and say so in a note.
//
// # Roles and guardrails
//
// Metric.Role is "primary" (default), "secondary" or "guardrail". A guardrail
// is judged by a one-sided non-inferiority test with the relative margin
// Metric.NonInferiorityMargin m (0.02: "may not get worse by more than 2%"),
// on the relative scale where it is defined: H0 log(μt/μc) ≤ log(1−m) against
// H1 log(μt/μc) > log(1−m) (for LowerIsBetter, H0 ≥ log(1+m)); on the
// absolute scale the tolerated worsening is m·|μc|. For small binomial arms
// the statistic is the log-adjusted one against a normal. Verdicts:
//
//	guardrail_ok        non-inferiority shown: the family-adjusted p-value of
//	                    the non-inferiority test is below α
//	guardrail_violated  not shown, and the variant is significantly worse than
//	                    the control (unadjusted one-sided test of "no harm" at
//	                    α; harm is flagged without correction, erring on the
//	                    side of caution)
//	inconclusive        neither, with the units per arm needed to show
//	                    non-inferiority if the variant changes nothing
//
// Comparison.Test is "non_inferiority", PValue and AdjustedPValue are those of
// the non-inferiority test, and intervals have level 1−2α (their bound on the
// harmful side is the one-sided bound the test inverts). The sequential and
// Bayesian engines read the same rules off their decision-scale interval
// (lower bound above −m: ok; upper bound below 0: violated). With m = 0 a
// guardrail passes only when it is significantly better.
//
// Metric.MinSamplePerArm holds back every verdict until both arms have that
// many units: the verdict is "insufficient_data" and says how many more are
// needed; all numbers are still reported and the comparison stays in its
// correction family.
//
// # Sequential engine (anytime valid)
//
// SequentialTest gives the asymptotic confidence sequence of Waudby-Smith,
// Arnold, Wu, Wang & Ramdas (2023), in GrowthBook's parameterisation. With v
// the variance of the estimate (either scale), n = nc + nt, and the tuning
// parameter N (GrowthBook's sequential_tuning_parameter: the total sample
// size at which the sequence is tightest):
//
//	ρ² = (−2 ln α + ln(−2 ln α + 1)) / N                      (eq. 161)
//	half-width = sqrt(v·n) · sqrt( 2(nρ²+1)/(n²ρ²) · ln(sqrt(nρ²+1)/α) )   (eq. 9)
//
// and the anytime-valid p-value is min(1, 1/E) for the Gaussian-mixture
// e-value E = exp(ρ²·n·est²/(2v(nρ²+1))) / sqrt(nρ²+1) (eq. 155), which is
// exactly dual to the interval (p ≤ α iff the sequence excludes 0). Checking
// results after every new observation keeps the false positive rate at most α
// (asymptotically); see TestPropertySequentialPeeking.
//
// The relative lift is the same sequence on the log ratio
// (SequentialLogRatioTest): est = log(μt/μc), v = σt²/(nt·μt²) + σc²/(nc·μc²)
// as in LogRatioTest, the interval exp(est ± half-width) − 1 and the p-value
// from the e-value of that est, so it never crosses −100% (the linear sequence
// did, often: [−662%, +542%] for a K-factor with a dozen referrers per arm) and
// stays dual to its test. Both means must be positive, otherwise decisions use
// the absolute lift with a note. Looked at 20 times up to 10,000 units per
// arm, it misses the true lift at some look in 1.0–1.3% of 1,000 runs
// (binomial 2% A/A, 5% vs 5.5%, skewed means +10%, referral ratio A/A;
// TestPropertySequentialLogRatio).
//
// N is Request.SequentialTuning when given, otherwise Request.PlannedSampleSize
// (the total units, all arms, the experiment is planned to reach), otherwise
// 5000 (GrowthBook's default). GrowthBook advises tuning at the expected
// total sample: the sequence is then narrowest where the decision is meant to
// be made (within 0.01% of the narrowest any N gives there, against scipy's
// minimisation: TestSequentialTunedAtPlanIsNarrowest), at the price of wider
// intervals at early looks. A/A experiments planned at 10,000 units and
// looked at 20 times call a false winner or loser in 2.4% (binomial) and 1.4%
// (skewed means) of 2,000 runs, below α because a confidence sequence guards
// against continuous peeking; a fixed-horizon test looked at the same times:
// 24% (TestPropertySequentialPlannedAA).
//
// # Bayesian engine
//
// Binomial metrics use exact Beta posteriors: Beta(α0 + conversions, β0 +
// N − conversions), default prior Beta(1, 1) (Metric.BetaPrior). The chance
// to beat control P(pt > pc) is the exact finite sum
//
//	P = Σ_{i=0}^{at−1} B(ac+i, bc+bt) / ((bt+i) B(1+i, bt) B(ac, bc))
//
// (Cook 2005; Miller 2015), evaluated from the end of the summation range
// away from the mode of its terms with the ratio recurrence, so only
// O(posterior spread) terms are needed; among the four symmetric forms of the
// sum the one whose terms decay fastest is used. When no shape parameter is a
// whole number (non-integer priors) or the sum would be too long, P is obtained
// by Gauss–Legendre quadrature (see below). Expected losses are exact through
// the identities E[(T−C)⁺] = μt·P(T⁺ > C) − μc·P(T > C⁺) with X⁺ ~ Beta(a+1, b)
// (Stucchio 2015) and, for the relative scale, E[(T/C−1)⁺] = μt·E[1/C]·P(T⁺ >
// C⁻) − P(T > C) with C⁻ ~ Beta(ac−1, bc). Posterior means and standard
// deviations of the lifts are exact. Credible intervals are equal-tailed exact
// quantiles of T−C and T/C−1: their distribution functions P(T ≤ C + d) and
// P(T ≤ sC) are integrated over the narrower posterior with 16-point
// Gauss–Legendre panels, the inner Beta CDF obtained by spectral integration of
// its density from one regularized incomplete beta value, panels graded
// geometrically towards algebraic singularities of non-integer shapes; the
// quantile is found by a bracketed Newton iteration from a Cornish–Fisher
// start (exact cumulants; polygamma cumulants of log(T/C) for the relative
// lift). Accuracy: chance to win and losses agree with independent adaptive
// quadrature to better than 1e-8, interval end points to about 1e-8
// posterior standard deviations. The relative block needs ac > 2
// (finite E[1/C²]); otherwise it is null and decisions use the absolute scale.
// Everything is deterministic: there is no Monte Carlo.
//
// Mean and ratio metrics use GrowthBook's Gaussian effect test
// (GaussianEffectTest, EffectBayesianABTest in gbstats): likelihood N(estimate,
// v) on the chosen scale, optional Gaussian prior on the effect
// (Metric.EffectPrior, relative or absolute, rescaled by |control mean| when
// the scales differ), flat improper prior by default. Chance to win is
// Φ(μ/σ), risks are E[δ⁺] = μΦ(μ/σ)+σφ(μ/σ) and E[δ⁻] = −μΦ(−μ/σ)+σφ(μ/σ), the
// interval is μ ± z(1−α/2)σ. That is the absolute lift; the relative lift
// (GaussianLogRatioTest) puts the same normal model on L = log(μt/μc) with
// LogRatioTest's delta-method variance, so the lift e^L − 1 has a lognormal
// posterior that puts no mass below −100%: a relative prior N(m, s²) enters
// as its delta-method image N(log(1+m), (s/(1+m))²) (m > −1; an absolute
// prior is divided by the control mean first), chance to win is
// P(L > 0) = Φ(μ/σ), the interval exp(μ ± zσ) − 1, the mean and standard
// deviation are the lognormal's, and the risks its exact partial expectations
// E[(e^L−1)⁺] = e^{μ+σ²/2}Φ(μ/σ+σ) − Φ(μ/σ) and E[(1−e^L)⁺] = Φ(−μ/σ) −
// e^{μ+σ²/2}Φ(−μ/σ−σ) (matched to scipy quadrature: the "bayes_decision"
// fixtures). Both means must be positive, otherwise decisions use the
// absolute lift with a note.
//
// Risk.Control is the expected loss of keeping the control, Risk.Treatment
// that of shipping the variant; for LowerIsBetter metrics the chance and risks
// are oriented so that "better" means lower.
//
// # Bayesian decisions
//
// GrowthBook shows a variant as a winner when its chance to win is at least
// 95% (a loser at most 5%), and colours its risk (expected loss) as
// acceptable below the metric's winRisk, 0.25% of the control by default,
// and as too high above its loseRisk, 1.25%. That rule calls a false winner
// or loser in about 2α of A/A comparisons (10.8% binomial, 9.1% skewed means
// in 2,000 simulated runs each) and in 43–46% of A/A experiments with six
// comparisons: the risk condition rarely binds once the chance is extreme.
// refx therefore decides as follows:
//
//   - the posterior tail probability q = 2·min(chance, 1−chance) — equal to the
//     two-sided p-value of the same estimate under the flat prior — is
//     adjusted with Request.Correction like p-values (Holm or
//     Benjamini–Hochberg over the analysis' comparisons);
//   - a variant wins when the adjusted q < α, the chance is above ½ and the
//     risk of shipping it, as a relative lift, is at most
//     Metric.RiskThreshold (default 0.25%, GrowthBook's winRisk); it loses
//     when the adjusted q < α, the chance is below ½ and the risk of keeping
//     the control is at most the threshold; otherwise it is inconclusive, with
//     a note when only the risk stood in the way.
//
// Without a correction a verdict thus needs a chance of at least 1−α/2
// (97.5%). The risk is the relative lift's, or the absolute one divided by
// the control mean when the relative lift is undefined (a note says when
// neither exists and the chance alone decides). In 2,000 simulated A/A runs
// each the rule calls a false winner or loser in 5.5% (binomial) and 4.4%
// (skewed means) of single comparisons and, with Holm, in 4.9% and 4.9% of
// experiments with six comparisons (two variants × three metrics); without a
// correction six comparisons give 26% (TestPropertyBayesianAAFalsePositives).
// Credible intervals keep the level 1−α.
//
// # Decision scale
//
// Request.DecisionScale ("relative" by default, like GrowthBook) selects which
// lift drives the headline p-value, chance to win, risk and the verdict. Both
// lifts are always reported. When the relative lift is undefined (control mean
// zero, a mean that is not positive for the log ratio, or a Beta control
// posterior with a ≤ 2) the absolute lift is used and a note says so.
//
// # Sample ratio mismatch
//
// SRMTest is Pearson's chi-square goodness-of-fit test of Variant.Participants
// against the configured weights with k−1 degrees of freedom, flagged when
// p < 0.001 (Request.SRMThreshold). A flagged analysis still reports all
// numbers, but every verdict becomes "srm" (Kohavi, Tang & Xu 2020; Fabijan et
// al. 2019).
//
// # Multiple comparisons
//
// Each role is its own family: the primary metrics' variant×metric
// comparisons (with a defined p-value on the decision scale) are one family,
// the secondary metrics' another and the guardrails' a third, so adding a
// secondary metric or a guardrail never changes a primary verdict
// (TestFamiliesAreIndependent), and the family-wise error rate is controlled
// for the decision (primary) metrics, where it matters, without diluting
// their power by every metric a team adds for insight. Within a family,
// Request.Correction applies: AdjustPValues implements Holm (1979) and
// Benjamini & Hochberg (1995) exactly as statsmodels' multipletests; a comparison is
// significant when its adjusted p-value is below α. Intervals are widened to
// match: Holm uses the Bonferroni level α/m (simultaneous coverage; slightly
// conservative relative to Holm's step-down decisions, so a Holm-significant
// result can occasionally have an interval touching 0); Benjamini–Hochberg
// uses the Benjamini & Yekutieli (2005) false-coverage-rate level α·R/m, R the
// number of significant comparisons (α/m when R = 0). Sequential p-values are
// computed with ρ from the nominal α and adjusted; sequential intervals use ρ at
// the adjusted level. The Bayesian engine adjusts its posterior tail
// probabilities the same way (see Bayesian decisions); its credible
// intervals are not widened.
//
// # Power and "N more participants"
//
// Power uses the two-sided normal approximation with unpooled variances
// (binomial p1q1 + p2q2, mean 2σ²), counting both rejection tails, which is
// statsmodels' NormalIndPower with effect size δ/sqrt(v/2); sequential planning
// replaces the critical value by the confidence-sequence half-width (without
// PowerRequest.SequentialTuning the sequence is tuned at the plan's own total,
// where its half-width is a constant 3.04 standard errors at α = 0.05, so a
// sequential plan needs about 1.9 times the fixed-horizon units), and
// Bayesian planning uses the flat-prior equivalence of its decision "chance
// ≥ 1−α/2 or ≤ α/2" with a two-sided test at α (the risk condition is not
// modelled). For an inconclusive comparison Analyze reports
// AdditionalUnitsPerArm: the units per arm needed, from the observed per-unit
// variances, to detect Request.TargetLift (relative; or the observed lift when
// unset) with Request.TargetPower (0.8) at the interval level actually used,
// minus the smaller arm's current N. Sizing on the observed lift is a rough
// guide (it is noisy and tends to be optimistic); prefer setting TargetLift.
//
// # Verdicts
//
// Each comparison gets a stable code and a sentence:
//
//	srm                sample ratio mismatch: do not trust these results
//	insufficient_data  not enough data yet to compare bold with control on signup
//	                   (below the minimum sample: "...: 79 more participants per arm needed before a verdict (minimum 100 per arm)")
//	winner             bold beats control on signup
//	loser              control beats bold on signup
//	guardrail_ok       bold does not worsen refunds by more than 2% compared with control
//	guardrail_violated bold worsens the guardrail refunds compared with control
//	inconclusive       no detectable difference between bold and control on signup yet, ~N more participants per arm needed
//	                   (guardrails: not yet shown that bold does not worsen refunds by more than 2%, ~N more ...)
//
// in that order of precedence (guardrails get only guardrail_ok,
// guardrail_violated or inconclusive; one-sided metrics never loser). The unit word comes from Metric.UnitLabel.
//
// # CUPED (regression adjustment)
//
// CUPED takes per arm N, Σy, Σy², Σx, Σx², Σxy, x a covariate measured
// before enrolment (Deng, Xu, Kohavi & Walker 2013). θ = Σ Sxy / Σ Sxx over
// the arms' centred sums (the within-arm slope pooled across arms: the
// coefficient of x in the OLS fit of y on the arm indicators and x, so each
// adjusted difference equals that fit's coefficient of its arm); arm k's
// adjusted mean is ȳk − θ(x̄k − x̄) and its per-unit variance that of y − θx,
// (Syy − 2θSxy + θ²Sxx)/(N−1). Compare runs WelchTTest on the adjusted and
// on the unadjusted moments and reports the variance reduction
// 1 − se²adjusted/se²unadjusted, about ρ². θ is estimated from the same data
// (a bias of order 1/N) and its own uncertainty is left out of the standard
// error, as in the CUPED paper; at experiment sizes the error is within a few
// percent of OLS's (cuped_test.go checks 3%).
//
// # Degenerate inputs
//
// Analyze returns an error only for invalid requests (unknown engine, bad
// alpha, mismatched lengths, conversions > N, Σy² < (Σy)²/N, non-finite sums,
// ...). Data that cannot support a test — zero units, a single unit, zero
// variance in both arms, 0%/100% rates, a zero control mean for relative
// lift, a single variant — yields nil values (JSON null), an explanatory note
// and the "insufficient_data" verdict, never NaN or ±Inf: every optional float
// is a pointer set only when finite. The exact Beta engine still gives defined
// answers at 0% and 100% rates.
//
// # Verification
//
// GrowthBook gbstats (github.com/growthbook/growthbook, packages/stats/tests)
// expected values are reproduced to 1e-5 by tests named after the Python test
// they mirror (growthbook_test.go):
//
//   - frequentist/test_tests.py: TestTwoSidedTTest.test_two_sided_ttest,
//     test_two_sided_ttest_absolute, test_two_sided_ttest_binom,
//     test_two_sided_ttest_missing_variance (we reject the inconsistent
//     statistics instead of returning GrowthBook's default output);
//     TestSequentialTTest.test_sequential_test_runs,
//     test_sequential_test_runs_prop, test_sequential_test_tuning_as_expected.
//   - bayesian/test_tests.py (Gaussian effect test): TestBinom.test_bayesian_binomial_ab_test,
//     TestBinom/TestNorm.test_missing_data (we return "undefined" rather than
//     chance 0.5), TestNorm.test_bayesian_gaussian_ab_test,
//     test_bayesian_gaussian_ab_test_informative,
//     TestGaussianEffectRelativeAbsolutePriors.test_bayesian_effect_relative_effect.
//   - the exact Beta expected losses ("risk") of the older BinomialBayesianABTest
//     (TestBinom.test_bayesian_binomial_ab_test and ..._with_prior).
//
// Not mirrored: regression adjustment (CUPED), quantile metrics, one-sided
// tests and post-stratification (GrowthBook's; CUPED and one-sided tests are
// implemented here and checked against scipy/statsmodels instead).
//
// testdata/fixtures.json is generated by scripts/stats-fixtures.py from scipy
// and statsmodels (Welch tests on raw data, proportion z-tests, chi-square,
// multipletests, adaptive quadrature of Beta posteriors cross-checked with the
// exact sum, NormalIndPower; for issue 14 log-ratio intervals checked against
// statsmodels' "log" risk-ratio method, scipy's fisher_exact two- and
// one-sided, statsmodels' Newcombe and log-adjusted intervals, scipy's
// one-sided Welch tests, non-inferiority tests on shifted data and
// test_proportions_2indep, and multipletests per role family through
// Analyze: decision_fixtures_test.go) and matched to a relative tolerance of 1e-6.
// textbook_test.go checks published worked examples (R's Welch t.test output,
// a pooled two-proportion z example, Mendel's 9:3:3:1 chi-square, the
// Benjamini–Hochberg 1995 example). property_test.go simulates experiments
// with a fixed-seed PCG generator: interval coverage, false positives under
// continuous peeking, and Bayesian calibration; bayes_decision_test.go and
// sequential_plan_test.go the A/A false-positive rates of the Bayesian rule
// and of the sequential engine tuned at the plan. The "bayes_decision"
// fixtures check chances, relative risks and verdicts of the Bayesian rule
// against scipy quadrature and statsmodels multipletests. The "cuped"
// fixtures are statsmodels OLS fits and numpy computations on simulated raw
// data (normal, lognormal, binary outcomes, three arms, a third of the
// covariates missing as 0), matched to 1e-9; a seeded simulation checks the
// adjusted estimate's variance is (1 − ρ²) times the unadjusted one's within
// 5% (TestCUPEDVarianceReductionSimulation).
//
// # References
//
//   - Welch, B. L. (1947). The generalization of "Student's" problem when several
//     different population variances are involved. Biometrika 34, 28–35.
//   - Satterthwaite, F. E. (1946). An approximate distribution of estimates of
//     variance components. Biometrics Bulletin 2, 110–114.
//   - Deng, A., Knoblich, U. & Lu, J. (2018). Applying the delta method in metric
//     analytics: a practical guide with novel ideas. KDD 2018.
//   - Waudby-Smith, I., Arnold, D., Wu, J. J., Wang, T. & Ramdas, A. (2023).
//     Time-uniform central limit theory and asymptotic confidence sequences.
//     arXiv:2103.06476 (v7), equations 9, 155 and 161.
//   - GrowthBook statistics documentation and gbstats source
//     (packages/stats/gbstats/frequentist/tests.py, bayesian/tests.py).
//   - Cook, J. D. (2005). Exact calculation of beta inequalities. UT MD Anderson
//     Cancer Center Department of Biostatistics technical report.
//   - Miller, E. (2015). Formulas for Bayesian A/B testing. evanmiller.org.
//   - Stucchio, C. (2015). Bayesian A/B testing at VWO. VWO technical paper.
//   - Katz, D., Baptista, J., Azen, S. P. & Pike, M. C. (1978). Obtaining
//     confidence intervals for the risk ratio in cohort studies. Biometrics
//     34, 469–474 (the log risk-ratio interval).
//   - Newcombe, R. G. (1998). Interval estimation for the difference between
//     independent proportions: comparison of eleven methods. Statistics in
//     Medicine 17, 873–890 (method 10).
//   - Fisher, R. A. (1935). The logic of inductive inference. Journal of the
//     Royal Statistical Society 98, 39–82 (the exact test).
//   - Holm, S. (1979). A simple sequentially rejective multiple test procedure.
//     Scandinavian Journal of Statistics 6, 65–70.
//   - Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate.
//     Journal of the Royal Statistical Society B 57, 289–300.
//   - Benjamini, Y. & Yekutieli, D. (2005). False discovery rate–adjusted
//     multiple confidence intervals for selected parameters. JASA 100, 71–81.
//   - Kohavi, R., Tang, D. & Xu, Y. (2020). Trustworthy Online Controlled
//     Experiments. Cambridge University Press (sample ratio mismatch).
//   - Fabijan, A. et al. (2019). Diagnosing sample ratio mismatch in online
//     controlled experiments. KDD 2019.
//   - Abramowitz, M. & Stegun, I. (1964). Handbook of Mathematical Functions,
//     26.7.5 (Student t quantile expansion used for df ≥ 1000).
//   - Cornish, E. A. & Fisher, R. A. (1937). Moments and cumulants in the
//     specification of distributions. Revue de l'Institut International de
//     Statistique 5, 307–320.
package stats
