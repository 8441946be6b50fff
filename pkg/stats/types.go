package stats

// Engine selects the inference method used by Analyze.
type Engine string

// Supported engines.
const (
	// EngineFrequentist is a fixed-horizon Welch t-test, a log-ratio test of
	// the relative lift and Fisher's exact test for small binomial arms.
	EngineFrequentist Engine = "frequentist"
	// EngineSequential gives anytime-valid confidence sequences and p-values
	// (Waudby-Smith et al. asymptotic confidence sequences), safe under continuous peeking.
	EngineSequential Engine = "sequential"
	// EngineBayesian gives chance to beat control, expected loss and credible intervals.
	EngineBayesian Engine = "bayesian"
)

// Correction selects the multiple-comparison adjustment applied within each
// role's family: all variant-versus-control comparisons of the primary
// metrics, those of the secondary metrics, and those of the guardrails.
type Correction string

// Supported corrections.
const (
	// CorrectionNone applies no adjustment.
	CorrectionNone Correction = "none"
	// CorrectionHolm applies the Holm–Bonferroni step-down procedure (controls the
	// family-wise error rate); intervals use the Bonferroni level alpha/m.
	CorrectionHolm Correction = "holm"
	// CorrectionBH applies the Benjamini–Hochberg step-up procedure (controls the
	// false discovery rate); intervals use the Benjamini–Yekutieli false coverage
	// rate level alpha·R/m.
	CorrectionBH Correction = "bh"
)

// Role is a metric's part in the decision. Each role is its own
// multiple-comparison family (see Request.Correction), so adding a secondary
// metric or a guardrail never changes a primary metric's verdict.
type Role string

// Supported roles.
const (
	// RolePrimary is a metric the decision is made on (the default).
	RolePrimary Role = "primary"
	// RoleSecondary is a metric reported for insight; it has its own correction family.
	RoleSecondary Role = "secondary"
	// RoleGuardrail is a metric that must not get worse: it is judged by a
	// one-sided non-inferiority test with Metric.NonInferiorityMargin.
	RoleGuardrail Role = "guardrail"
)

// MetricKind describes how a metric's sufficient statistics are interpreted.
type MetricKind string

// Supported metric kinds.
const (
	// KindBinomial is a conversion rate: Sum is the number of converted units.
	KindBinomial MetricKind = "binomial"
	// KindMean is a mean value per unit: Sum is Σy and SumSquares is Σy².
	KindMean MetricKind = "mean"
	// KindRatio is a ratio of two per-unit sums Σy/Σx analysed with the delta method.
	KindRatio MetricKind = "ratio"
)

// Scale is the scale of a lift: relative ((treatment-control)/control) or absolute (treatment-control).
type Scale string

// Supported scales.
const (
	// ScaleRelative is (treatment − control) / control.
	ScaleRelative Scale = "relative"
	// ScaleAbsolute is treatment − control.
	ScaleAbsolute Scale = "absolute"
)

// Defaults used when the corresponding Request or PowerRequest field is zero.
const (
	// DefaultAlpha is the two-sided significance level (95% intervals).
	DefaultAlpha = 0.05
	// DefaultSequentialTuning is GrowthBook's default sequential_tuning_parameter.
	DefaultSequentialTuning = 5000.0
	// DefaultSRMThreshold is the p-value below which a sample ratio mismatch is flagged.
	DefaultSRMThreshold = 0.001
	// DefaultTargetPower is the power used for sample-size estimates.
	DefaultTargetPower = 0.8
	// DefaultRiskThreshold is the acceptable risk of a Bayesian decision:
	// the expected relative loss (0.25%) below which GrowthBook calls a risk
	// low enough to act on (its metric default winRisk).
	DefaultRiskThreshold = 0.0025
)

// Stats holds the exact sufficient statistics of one metric in one variant.
//
// For KindBinomial only N and Sum (the number of converted units, 0 <= Sum <= N)
// are used; Σy² equals Σy for 0/1 data. For KindMean, Sum = Σy and SumSquares = Σy².
// For KindRatio the numerator y and denominator x are both per-unit sums:
// Sum = Σy, SumSquares = Σy², DenominatorSum = Σx, DenominatorSumSquares = Σx²,
// SumProducts = Σxy. The unit is whatever N counts (participant or referrer).
type Stats struct {
	// N is the number of units.
	N int64 `json:"n"`
	// Sum is Σy (conversions for binomial metrics).
	Sum float64 `json:"sum"`
	// SumSquares is Σy² (ignored for binomial metrics).
	SumSquares float64 `json:"sum_squares"`
	// DenominatorSum is Σx (ratio metrics only).
	DenominatorSum float64 `json:"denominator_sum"`
	// DenominatorSumSquares is Σx² (ratio metrics only).
	DenominatorSumSquares float64 `json:"denominator_sum_squares"`
	// SumProducts is Σxy (ratio metrics only).
	SumProducts float64 `json:"sum_products"`
}

// Variant is one arm of the experiment.
type Variant struct {
	// Key is the stable identifier of the variant (e.g. "control", "bold").
	Key string `json:"key"`
	// Name is used in verdict sentences; defaults to Key.
	Name string `json:"name"`
	// Weight is the configured traffic share (any positive scale). If every
	// weight is zero, equal weights are assumed.
	Weight float64 `json:"weight"`
	// Participants is the number of units assigned to the variant; used for the
	// sample-ratio-mismatch test.
	Participants int64 `json:"participants"`
}

// BetaPrior is a Beta(Alpha, Beta) prior on a conversion rate, used by the
// Bayesian engine for binomial metrics. The zero value means Beta(1, 1).
type BetaPrior struct {
	// Alpha is the prior pseudo-count of conversions (> 0).
	Alpha float64 `json:"alpha"`
	// Beta is the prior pseudo-count of non-conversions (> 0).
	Beta float64 `json:"beta"`
}

// EffectPrior is a Gaussian prior N(Mean, StdDev²) on the treatment effect,
// used by the Bayesian engine for mean and ratio metrics (GrowthBook's Gaussian
// effect test). Scale says whether Mean and StdDev are relative (default) or
// absolute; the prior is rescaled by the control mean for the other scale.
type EffectPrior struct {
	// Mean is the prior mean of the effect.
	Mean float64 `json:"mean"`
	// StdDev is the prior standard deviation; 0 means a flat improper prior.
	StdDev float64 `json:"std_dev"`
	// Scale is the scale of Mean and StdDev ("relative" when empty).
	Scale Scale `json:"scale"`
}

// Metric is one goal with its kind and per-variant sufficient statistics.
type Metric struct {
	// Key is the stable identifier of the goal (e.g. "signup").
	Key string `json:"key"`
	// Name is used in verdict sentences; defaults to Key.
	Name string `json:"name"`
	// Kind says how Stats are interpreted.
	Kind MetricKind `json:"kind"`
	// LowerIsBetter flips "winner"/"loser", the chance to win and risk.
	LowerIsBetter bool `json:"lower_is_better"`
	// Role is "primary" (default when empty), "secondary" or "guardrail".
	Role Role `json:"role,omitempty"`
	// OneSided tests only the improving direction (higher, or lower when
	// LowerIsBetter): such a metric can be a winner but never a loser, and its
	// intervals have level 1−2α so that their improving bound is the
	// one-sided 1−α bound. Frequentist engine only.
	OneSided bool `json:"one_sided,omitempty"`
	// MinSamplePerArm is the number of units both arms need before the
	// comparison gets a verdict (0: no minimum); below it the verdict is
	// "insufficient_data" and says how many more are needed.
	MinSamplePerArm int64 `json:"min_sample_per_arm,omitempty"`
	// NonInferiorityMargin is, for guardrails only, the relative worsening
	// that is tolerated (0.02: "may not get worse by more than 2%"), in
	// [0, 1). With 0 a guardrail passes only when it is significantly better.
	NonInferiorityMargin float64 `json:"non_inferiority_margin,omitempty"`
	// UnitLabel names the unit N counts in verdict sentences (default "participants";
	// e.g. "referrers" for per-referrer metrics).
	UnitLabel string `json:"unit_label"`
	// BetaPrior is the prior for binomial metrics under the Bayesian engine (nil = Beta(1,1)).
	BetaPrior *BetaPrior `json:"beta_prior,omitempty"`
	// EffectPrior is an optional proper prior on the effect for mean/ratio metrics
	// under the Bayesian engine (nil = flat improper prior).
	EffectPrior *EffectPrior `json:"effect_prior,omitempty"`
	// RiskThreshold is the acceptable risk of a Bayesian verdict, as a
	// relative lift (0 means DefaultRiskThreshold, 0.25%): a winner needs the
	// expected relative loss of shipping the variant, a loser that of keeping
	// the control, at or below it.
	RiskThreshold float64 `json:"risk_threshold,omitempty"`
	// Stats holds one entry per variant, in the order of Request.Variants.
	Stats []Stats `json:"stats"`
}

// Request is the input to Analyze.
type Request struct {
	// Engine is "frequentist", "sequential" or "bayesian".
	Engine Engine `json:"engine"`
	// Alpha is the significance level (0 means DefaultAlpha). Bayesian verdicts
	// need a chance to win of at least 1−Alpha/2 (before any correction);
	// credible intervals have level 1−Alpha.
	Alpha float64 `json:"alpha"`
	// Correction is "holm", "bh" or "none" (empty means none). The Bayesian
	// engine applies it to the posterior tail probabilities 2·min(chance, 1−chance).
	Correction Correction `json:"correction"`
	// ControlIndex is the index of the control variant in Variants.
	ControlIndex int `json:"control_index"`
	// DecisionScale selects the lift scale that drives the headline p-value,
	// chance to win, risk and verdict: "relative" (default) or "absolute".
	// When the relative lift is undefined (control mean 0) the absolute scale is used.
	DecisionScale Scale `json:"decision_scale"`
	// SequentialTuning is GrowthBook's sequential_tuning_parameter N: the
	// total sample size at which the confidence sequence is tightest. 0 means
	// PlannedSampleSize, or DefaultSequentialTuning (5000) without a plan.
	SequentialTuning float64 `json:"sequential_tuning"`
	// PlannedSampleSize is the total number of units (all arms) the
	// experiment is planned to reach; the sequential engine is tuned to be
	// tightest there (GrowthBook's guidance). 0 means no plan.
	PlannedSampleSize int64 `json:"planned_sample_size,omitempty"`
	// SRMThreshold is the p-value below which a sample ratio mismatch is flagged (0 means 0.001).
	SRMThreshold float64 `json:"srm_threshold"`
	// TargetPower is the power used for "N more participants needed" (0 means 0.8).
	TargetPower float64 `json:"target_power"`
	// TargetLift is the relative effect the experiment should detect, used for
	// "N more participants needed". Nil means the currently observed lift.
	TargetLift *float64 `json:"target_lift,omitempty"`
	// Variants lists the arms; Metrics[i].Stats must have the same length.
	Variants []Variant `json:"variants"`
	// Metrics lists the goals to analyse.
	Metrics []Metric `json:"metrics"`
}

// Interval is a two-sided interval [Lower, Upper]; both bounds are finite.
type Interval struct {
	// Lower is the lower bound.
	Lower float64 `json:"lower"`
	// Upper is the upper bound.
	Upper float64 `json:"upper"`
}

// Risk is the Bayesian expected loss: Control is the expected amount by which
// the treatment beats the control if you ship the control, Treatment the
// expected amount by which the control beats the treatment if you ship the
// treatment. Both are non-negative and on the scale of the enclosing Lift.
type Risk struct {
	// Control is the expected loss of keeping the control.
	Control float64 `json:"control"`
	// Treatment is the expected loss of shipping the treatment.
	Treatment float64 `json:"treatment"`
}

// Lift is an effect estimate of treatment versus control on one scale.
// Fields that are undefined for the inputs are nil (JSON null).
type Lift struct {
	// Estimate is the point estimate (frequentist) or posterior mean (Bayesian).
	Estimate *float64 `json:"estimate"`
	// StdErr is the standard error (frequentist) or posterior standard deviation (Bayesian).
	StdErr *float64 `json:"std_err"`
	// CI is the confidence interval, confidence sequence (sequential) or
	// equal-tailed credible interval (Bayesian) at level Comparison.IntervalLevel.
	CI *Interval `json:"ci"`
	// PValue is the p-value of the comparison's Test on this scale (two-sided,
	// one-sided or non-inferiority; frequentist and sequential only).
	PValue *float64 `json:"p_value"`
	// Risk is the expected loss on this scale (Bayesian only).
	Risk *Risk `json:"risk"`
}

// TestKind names the hypothesis a comparison tests.
type TestKind string

// Supported test kinds.
const (
	// TestTwoSided tests "no difference" against a difference in either direction.
	TestTwoSided TestKind = "two_sided"
	// TestOneSided tests "no improvement" against an improvement (Metric.OneSided).
	TestOneSided TestKind = "one_sided"
	// TestNonInferiority tests "worse by at least the margin" against "worse
	// by less than the margin, or better" (guardrails).
	TestNonInferiority TestKind = "non_inferiority"
)

// VerdictCode is the stable machine-readable verdict of a comparison.
type VerdictCode string

// Verdict codes.
const (
	// VerdictWinner means the variant is significantly better than control.
	VerdictWinner VerdictCode = "winner"
	// VerdictLoser means the variant is significantly worse than control.
	VerdictLoser VerdictCode = "loser"
	// VerdictInconclusive means no difference was detected yet.
	VerdictInconclusive VerdictCode = "inconclusive"
	// VerdictSRM means the sample ratio mismatch check failed; results are not trustworthy.
	VerdictSRM VerdictCode = "srm"
	// VerdictInsufficientData means the comparison cannot be computed from the
	// data yet, or an arm is below Metric.MinSamplePerArm.
	VerdictInsufficientData VerdictCode = "insufficient_data"
	// VerdictGuardrailOK means a guardrail's non-inferiority test passed: the
	// variant does not worsen it by more than the margin.
	VerdictGuardrailOK VerdictCode = "guardrail_ok"
	// VerdictGuardrailViolated means the variant is significantly worse than
	// the control on a guardrail and non-inferiority was not shown.
	VerdictGuardrailViolated VerdictCode = "guardrail_violated"
)

// Verdict is a plain-language conclusion with a stable code.
type Verdict struct {
	// Code is the machine-readable verdict.
	Code VerdictCode `json:"code"`
	// Text is the plain-language sentence, e.g. "bold beats control on signup".
	Text string `json:"text"`
}

// ArmSummary describes one variant on one metric.
type ArmSummary struct {
	// Variant is the variant key.
	Variant string `json:"variant"`
	// Units is N, the number of units (participants or referrers).
	Units int64 `json:"units"`
	// Sum is Σy (conversions for binomial metrics).
	Sum float64 `json:"sum"`
	// DenominatorSum is Σx for ratio metrics, nil otherwise.
	DenominatorSum *float64 `json:"denominator_sum"`
	// Mean is the conversion rate, mean per unit, or ratio Σy/Σx.
	Mean *float64 `json:"mean"`
	// StdDev is the per-unit standard deviation (delta method for ratios).
	StdDev *float64 `json:"std_dev"`
}

// Comparison is one non-control variant compared with the control on one metric.
type Comparison struct {
	// Variant is the key of the variant compared with the control.
	Variant string `json:"variant"`
	// Control is the key of the control variant.
	Control string `json:"control"`
	// DecisionScale is the scale that drives PValue, ChanceToWin, Risk and the verdict.
	DecisionScale Scale `json:"decision_scale"`
	// IntervalLevel is the coverage of the reported intervals (e.g. 0.95, or
	// higher after a multiple-comparison correction; 0.90 for one-sided and
	// non-inferiority tests at α = 0.05).
	IntervalLevel float64 `json:"interval_level"`
	// Test is the hypothesis tested: "two_sided", "one_sided" (improvement
	// only) or "non_inferiority" (guardrails).
	Test TestKind `json:"test"`
	// Method is how the frequentist p-value was computed: "welch_t", or
	// "fisher_exact" for binomial arms too small or degenerate for a
	// normal approximation; empty for the other engines.
	Method string `json:"method,omitempty"`
	// Absolute is the lift treatment − control.
	Absolute Lift `json:"absolute"`
	// Relative is the lift (treatment − control)/control.
	Relative Lift `json:"relative"`
	// PValue is the p-value of Test on the decision scale (frequentist and sequential).
	PValue *float64 `json:"p_value"`
	// AdjustedPValue is PValue after the requested correction (equal to PValue for "none").
	AdjustedPValue *float64 `json:"adjusted_p_value"`
	// ChanceToWin is the posterior probability that the variant is better than control (Bayesian).
	ChanceToWin *float64 `json:"chance_to_win"`
	// Risk is the expected loss on the decision scale (Bayesian).
	Risk *Risk `json:"risk"`
	// AdditionalUnitsPerArm estimates how many more units each arm needs to
	// detect the target (or observed) lift with the target power; nil when not estimable.
	AdditionalUnitsPerArm *int64 `json:"additional_units_per_arm"`
	// Verdict is the conclusion for this comparison.
	Verdict Verdict `json:"verdict"`
	// Notes explains undefined values and fallbacks, in a stable order.
	Notes []string `json:"notes"`
}

// MetricResult is the analysis of one metric.
type MetricResult struct {
	// Key is the metric key.
	Key string `json:"key"`
	// Name is the display name (Key if none was given).
	Name string `json:"name"`
	// Kind is the metric kind.
	Kind MetricKind `json:"kind"`
	// LowerIsBetter echoes the metric setting.
	LowerIsBetter bool `json:"lower_is_better"`
	// Role is the metric's role ("primary" when none was given).
	Role Role `json:"role"`
	// NonInferiorityMargin echoes the guardrail margin (0 for other roles).
	NonInferiorityMargin float64 `json:"non_inferiority_margin"`
	// Variants summarises every variant, in request order.
	Variants []ArmSummary `json:"variants"`
	// Comparisons has one entry per non-control variant, in request order.
	Comparisons []Comparison `json:"comparisons"`
}

// SRMResult is the sample-ratio-mismatch check: a chi-square goodness-of-fit
// test of the observed participants against the configured weights.
type SRMResult struct {
	// Observed is the number of participants per variant.
	Observed []int64 `json:"observed"`
	// Expected is the count expected from the weights.
	Expected []float64 `json:"expected"`
	// ChiSquare is Pearson's statistic (nil when not computable or infinite).
	ChiSquare *float64 `json:"chi_square"`
	// DF is the degrees of freedom (variants with positive weight minus one).
	DF int `json:"df"`
	// PValue is the chi-square p-value (nil with fewer than two variants or no participants).
	PValue *float64 `json:"p_value"`
	// Threshold is the p-value below which a mismatch is flagged.
	Threshold float64 `json:"threshold"`
	// Mismatch is true when PValue < Threshold.
	Mismatch bool `json:"mismatch"`
}

// Analysis is the result of Analyze.
type Analysis struct {
	// Engine is the engine used.
	Engine Engine `json:"engine"`
	// Alpha is the significance level used.
	Alpha float64 `json:"alpha"`
	// Correction is the correction applied.
	Correction Correction `json:"correction"`
	// DecisionScale is the requested decision scale (see Comparison.DecisionScale for fallbacks).
	DecisionScale Scale `json:"decision_scale"`
	// SequentialTuning is the tuning parameter (sequential engine only).
	SequentialTuning *float64 `json:"sequential_tuning"`
	// Control is the key of the control variant.
	Control string `json:"control"`
	// SRM is the sample-ratio-mismatch check.
	SRM SRMResult `json:"srm"`
	// Metrics has one entry per requested metric, in request order.
	Metrics []MetricResult `json:"metrics"`
	// Notes lists analysis-wide remarks (e.g. corrections not applied), in a stable order.
	Notes []string `json:"notes"`
}
