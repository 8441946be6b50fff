package stats

import (
	"errors"
	"fmt"
	"math"
)

// config is a validated Request with defaults applied.
type config struct {
	engine       Engine
	alpha        float64
	correction   Correction
	scale        Scale
	tuning       float64
	srmThreshold float64
	power        float64
	target       *float64
	control      int
	keys, names  []string
}

func newConfig(req Request) (config, error) {
	cfg := config{
		engine:       req.Engine,
		alpha:        req.Alpha,
		correction:   req.Correction,
		scale:        req.DecisionScale,
		tuning:       req.SequentialTuning,
		srmThreshold: req.SRMThreshold,
		power:        req.TargetPower,
		target:       req.TargetLift,
		control:      req.ControlIndex,
	}
	if cfg.alpha == 0 {
		cfg.alpha = DefaultAlpha
	}
	if cfg.correction == "" {
		cfg.correction = CorrectionNone
	}
	if cfg.scale == "" {
		cfg.scale = ScaleRelative
	}
	if cfg.tuning == 0 {
		// GrowthBook's guidance: tune the sequence to be tightest at the
		// planned total sample, where the decision is expected to be made.
		cfg.tuning = DefaultSequentialTuning
		if req.PlannedSampleSize > 0 {
			cfg.tuning = float64(req.PlannedSampleSize)
		}
	}
	if cfg.srmThreshold == 0 {
		cfg.srmThreshold = DefaultSRMThreshold
	}
	if cfg.power == 0 {
		cfg.power = DefaultTargetPower
	}
	switch cfg.engine {
	case EngineFrequentist, EngineSequential, EngineBayesian:
	default:
		return cfg, fmt.Errorf("stats: unknown engine %q", req.Engine)
	}
	switch cfg.correction {
	case CorrectionNone, CorrectionHolm, CorrectionBH:
	default:
		return cfg, fmt.Errorf("stats: unknown correction %q", req.Correction)
	}
	if cfg.scale != ScaleRelative && cfg.scale != ScaleAbsolute {
		return cfg, fmt.Errorf("stats: unknown decision scale %q", req.DecisionScale)
	}
	if !(cfg.alpha > 0 && cfg.alpha < 0.5) {
		return cfg, fmt.Errorf("stats: alpha %g must be in (0, 0.5)", cfg.alpha)
	}
	if !(cfg.tuning > 0) || !isFinite(cfg.tuning) {
		return cfg, fmt.Errorf("stats: sequential tuning %g must be positive", cfg.tuning)
	}
	if req.PlannedSampleSize < 0 {
		return cfg, fmt.Errorf("stats: planned sample size %d must not be negative", req.PlannedSampleSize)
	}
	if !(cfg.srmThreshold > 0 && cfg.srmThreshold < 1) {
		return cfg, fmt.Errorf("stats: SRM threshold %g must be in (0, 1)", cfg.srmThreshold)
	}
	if !(cfg.power > 0 && cfg.power < 1) {
		return cfg, fmt.Errorf("stats: target power %g must be in (0, 1)", cfg.power)
	}
	if cfg.target != nil && (!isFinite(*cfg.target) || *cfg.target == 0 || *cfg.target <= -1) {
		return cfg, fmt.Errorf("stats: target lift %g must be finite, non-zero and > -1", *cfg.target)
	}
	if len(req.Variants) == 0 {
		return cfg, errors.New("stats: no variants")
	}
	if cfg.control < 0 || cfg.control >= len(req.Variants) {
		return cfg, fmt.Errorf("stats: control index %d out of range", cfg.control)
	}
	seen := make(map[string]bool, len(req.Variants))
	for i, v := range req.Variants {
		if v.Key == "" {
			return cfg, fmt.Errorf("stats: variant %d has an empty key", i)
		}
		if seen[v.Key] {
			return cfg, fmt.Errorf("stats: duplicate variant key %q", v.Key)
		}
		seen[v.Key] = true
		name := v.Name
		if name == "" {
			name = v.Key
		}
		cfg.keys = append(cfg.keys, v.Key)
		cfg.names = append(cfg.names, name)
	}
	for i, m := range req.Metrics {
		if len(m.Stats) != len(req.Variants) {
			return cfg, fmt.Errorf("stats: metric %q has %d stats for %d variants", m.Key, len(m.Stats), len(req.Variants))
		}
		for j, s := range m.Stats {
			if err := validateStats(m.Kind, s); err != nil {
				return cfg, fmt.Errorf("metric %q (index %d), variant %q: %w", m.Key, i, req.Variants[j].Key, err)
			}
		}
		if p := m.BetaPrior; p != nil && (!(p.Alpha > 0) || !(p.Beta > 0) || !isFinite(p.Alpha) || !isFinite(p.Beta)) {
			return cfg, fmt.Errorf("stats: metric %q: Beta prior parameters must be positive", m.Key)
		}
		if r := m.RiskThreshold; !(r >= 0) || !isFinite(r) {
			return cfg, fmt.Errorf("stats: metric %q: risk threshold %g must be a non-negative number", m.Key, r)
		}
		switch m.Role {
		case "", RolePrimary, RoleSecondary, RoleGuardrail:
		default:
			return cfg, fmt.Errorf("stats: metric %q: unknown role %q", m.Key, m.Role)
		}
		if !(m.NonInferiorityMargin >= 0 && m.NonInferiorityMargin < 1) {
			return cfg, fmt.Errorf("stats: metric %q: non-inferiority margin %g must be in [0, 1)", m.Key, m.NonInferiorityMargin)
		}
		if m.NonInferiorityMargin != 0 && m.Role != RoleGuardrail {
			return cfg, fmt.Errorf("stats: metric %q: only guardrails take a non-inferiority margin", m.Key)
		}
		if m.OneSided && m.Role == RoleGuardrail {
			return cfg, fmt.Errorf("stats: metric %q: a guardrail's non-inferiority test is already one-sided", m.Key)
		}
		if m.MinSamplePerArm < 0 {
			return cfg, fmt.Errorf("stats: metric %q: minimum sample %d must not be negative", m.Key, m.MinSamplePerArm)
		}
		if p := m.EffectPrior; p != nil {
			if !isFinite(p.Mean) || !(p.StdDev >= 0) || !isFinite(p.StdDev) {
				return cfg, fmt.Errorf("stats: metric %q: effect prior must have finite mean and non-negative standard deviation", m.Key)
			}
			if p.Scale != "" && p.Scale != ScaleRelative && p.Scale != ScaleAbsolute {
				return cfg, fmt.Errorf("stats: metric %q: unknown prior scale %q", m.Key, p.Scale)
			}
		}
	}
	return cfg, nil
}

// reason turns an "undefined" error into a short explanation.
func reason(err error) string {
	switch {
	case errors.Is(err, ErrNoUnits):
		return "an arm has no units yet"
	case errors.Is(err, ErrTooFewUnits):
		return "an arm has fewer than two units, so its variance is undefined"
	case errors.Is(err, ErrZeroVariance):
		return "the values do not vary, so the test statistic is undefined"
	case errors.Is(err, ErrZeroBaseline):
		return "the control mean is zero"
	case errors.Is(err, ErrZeroDenominator):
		return "the ratio denominator is zero in an arm"
	}
	return err.Error()
}

// scaleIndex maps a Scale to the index used in per-scale arrays (0 absolute, 1 relative).
func scaleIndex(s Scale) int {
	if s == ScaleRelative {
		return 1
	}
	return 0
}

var scales = [2]Scale{ScaleAbsolute, ScaleRelative}

// work carries one comparison through the analysis passes.
type work struct {
	out         *Comparison
	c, t        Moments
	lowerBetter bool
	metric      string
	unit        string
	variantName string
	controlName string
	tests       [2]*scaleTest // frequentist/sequential tests per scale
	role        Role
	test        TestKind
	margin      float64    // guardrail non-inferiority margin (relative)
	minSample   int64      // Metric.MinSamplePerArm
	exact       bool       // binomial arms too small for Welch: Fisher's exact test
	pHarm       float64    // frequentist guardrails: one-sided p-value of "no harm", unadjusted
	decision    int        // index into scales, or -1 when undefined
	p           float64    // decision-scale p-value, or Bayesian posterior tail probability (NaN when undefined)
	ctw         float64    // Bayesian chance that the variant is better (direction-aware)
	bayes       bayesState // Bayesian decision inputs (bayes_decision.go)
}

// Analyze runs the requested engine on every metric and every non-control
// variant against the control, applies the multiple-comparison correction,
// the sample-ratio-mismatch check and the verdict rules, and returns a
// JSON-safe Analysis. It returns an error only for invalid requests; data that
// merely cannot support a conclusion yields nil fields, notes and the
// "insufficient_data" verdict. Results are deterministic.
func Analyze(req Request) (Analysis, error) {
	cfg, err := newConfig(req)
	if err != nil {
		return Analysis{}, err
	}
	out := Analysis{
		Engine:        cfg.engine,
		Alpha:         cfg.alpha,
		Correction:    cfg.correction,
		DecisionScale: cfg.scale,
		Control:       cfg.keys[cfg.control],
		Metrics:       make([]MetricResult, 0, len(req.Metrics)),
		Notes:         []string{},
	}
	if cfg.engine == EngineSequential {
		out.SequentialTuning = opt(cfg.tuning)
	}
	if len(req.Variants) < 2 {
		out.Notes = append(out.Notes, "only one variant: there is nothing to compare")
	}

	obs := make([]int64, len(req.Variants))
	weights := make([]float64, len(req.Variants))
	for i, v := range req.Variants {
		obs[i], weights[i] = v.Participants, v.Weight
	}
	out.SRM, err = SRMTest(obs, weights, cfg.srmThreshold)
	if err != nil {
		return Analysis{}, err
	}

	var all []*work
	for _, m := range req.Metrics {
		mr, ws, err := analyzeMetric(cfg, m)
		if err != nil {
			return Analysis{}, err
		}
		out.Metrics = append(out.Metrics, mr)
		all = append(all, ws...)
	}
	// Pointers into Comparisons stay valid: those slices are never appended to again.
	if err := finish(cfg, out.SRM.Mismatch, all); err != nil {
		return Analysis{}, err
	}
	return out, nil
}

// analyzeMetric computes arm summaries and the unadjusted comparisons of one metric.
func analyzeMetric(cfg config, m Metric) (MetricResult, []*work, error) {
	nv := len(cfg.keys)
	name := m.Name
	if name == "" {
		name = m.Key
	}
	unit := m.UnitLabel
	if unit == "" {
		unit = "participants"
	}
	role := m.Role
	if role == "" {
		role = RolePrimary
	}
	test, scale := TestTwoSided, cfg.scale
	switch {
	case role == RoleGuardrail:
		// The margin is relative, so is the test (absolute only as a fallback).
		test, scale = TestNonInferiority, ScaleRelative
	case m.OneSided && cfg.engine == EngineFrequentist:
		test = TestOneSided
	}
	mr := MetricResult{
		Key:           m.Key,
		Name:          name,
		Kind:          m.Kind,
		LowerIsBetter: m.LowerIsBetter,
		Role:          role,
		Variants:      make([]ArmSummary, nv),
		Comparisons:   make([]Comparison, 0, nv-1),
	}
	if role == RoleGuardrail {
		mr.NonInferiorityMargin = m.NonInferiorityMargin
	}
	moments := make([]Moments, nv)
	merr := make([]error, nv)
	for i := 0; i < nv; i++ {
		s := m.Stats[i]
		moments[i], merr[i] = MomentsOf(m.Kind, s)
		if merr[i] != nil && !isUndefined(merr[i]) {
			return mr, nil, fmt.Errorf("metric %q, variant %q: %w", m.Key, cfg.keys[i], merr[i])
		}
		arm := ArmSummary{Variant: cfg.keys[i], Units: s.N, Sum: s.Sum, Mean: opt(moments[i].Mean), StdDev: opt(math.Sqrt(moments[i].Variance))}
		if m.Kind == KindRatio {
			arm.DenominatorSum = opt(s.DenominatorSum)
		}
		mr.Variants[i] = arm
	}

	var betas []betaDist
	if cfg.engine == EngineBayesian && m.Kind == KindBinomial {
		betas = make([]betaDist, nv)
		for i := 0; i < nv; i++ {
			if m.Stats[i].N > 0 {
				betas[i] = newBetaDist(BetaPosteriorOf(int64(m.Stats[i].Sum), m.Stats[i].N, m.BetaPrior))
			}
		}
	}

	riskThreshold := m.RiskThreshold
	if riskThreshold == 0 {
		riskThreshold = DefaultRiskThreshold
	}
	ci := cfg.control
	for vi := 0; vi < nv; vi++ {
		if vi == ci {
			continue
		}
		mr.Comparisons = append(mr.Comparisons, Comparison{
			Variant:       cfg.keys[vi],
			Control:       cfg.keys[ci],
			DecisionScale: scale,
			IntervalLevel: 1 - cfg.alpha,
			Test:          test,
			Notes:         []string{},
		})
		if m.OneSided && test != TestOneSided {
			c := &mr.Comparisons[len(mr.Comparisons)-1]
			c.Notes = append(c.Notes, "one-sided tests are run by the frequentist engine only; this comparison is two-sided")
		}
	}
	ws := make([]*work, 0, nv-1)
	k := 0
	for vi := 0; vi < nv; vi++ {
		if vi == ci {
			continue
		}
		w := &work{
			out:         &mr.Comparisons[k],
			c:           moments[ci],
			t:           moments[vi],
			lowerBetter: m.LowerIsBetter,
			metric:      name,
			unit:        unit,
			variantName: cfg.names[vi],
			controlName: cfg.names[ci],
			role:        role,
			test:        test,
			margin:      m.NonInferiorityMargin,
			minSample:   m.MinSamplePerArm,
			decision:    -1,
			p:           math.NaN(),
			pHarm:       math.NaN(),
			ctw:         math.NaN(),
			bayes:       bayesState{padj: math.NaN(), riskThreshold: riskThreshold},
		}
		k++
		// Observed lifts are reported even when no test can be run.
		if isFinite(w.c.Mean) && isFinite(w.t.Mean) {
			w.out.Absolute.Estimate = opt(w.t.Mean - w.c.Mean)
			if w.c.Mean != 0 {
				w.out.Relative.Estimate = opt((w.t.Mean - w.c.Mean) / w.c.Mean)
			}
		}
		armErr := merr[ci]
		if armErr == nil {
			armErr = merr[vi]
		}
		switch {
		case cfg.engine == EngineBayesian && m.Kind == KindBinomial:
			if m.Stats[ci].N == 0 || m.Stats[vi].N == 0 {
				w.out.Notes = append(w.out.Notes, reason(ErrNoUnits))
			} else {
				bayesBinomial(cfg, w, &betas[ci], &betas[vi])
			}
		case armErr != nil:
			w.out.Notes = append(w.out.Notes, reason(armErr))
		case cfg.engine == EngineBayesian:
			bayesGaussian(cfg, w, m.EffectPrior)
		default:
			if cfg.engine == EngineFrequentist {
				w.exact = m.Kind == KindBinomial && needsExact(w.c, w.t)
				w.out.Method = "welch_t"
				if w.exact {
					w.out.Method = "fisher_exact"
					w.out.Notes = append(w.out.Notes, fmt.Sprintf("an arm has fewer than %d conversions or non-conversions: the p-value is Fisher's exact test; the intervals (Newcombe, log-adjusted ratio) are approximations that can disagree with it near the threshold", exactMinCount))
				}
			}
			frequentist(cfg, w)
		}
		ws = append(ws, w)
	}
	return mr, ws, nil
}

// chooseDecision picks the decision scale: the requested one if defined,
// otherwise the other one with a note.
func chooseDecision(cfg config, w *work, ok [2]bool, errs [2]error) {
	want := scaleIndex(w.out.DecisionScale)
	other := 1 - want
	switch {
	case ok[want]:
		w.decision = want
	case ok[other]:
		w.decision = other
		w.out.DecisionScale = scales[other]
		w.out.Notes = append(w.out.Notes, fmt.Sprintf("%s lift undefined (%s); decisions use the %s lift", scales[want], reason(errs[want]), scales[other]))
	default:
		if errs[0] != nil && errs[1] != nil && errors.Is(errs[1], errs[0]) {
			w.out.Notes = append(w.out.Notes, reason(errs[0]))
		} else {
			for i := range errs {
				if errs[i] != nil {
					w.out.Notes = append(w.out.Notes, fmt.Sprintf("%s lift undefined: %s", scales[i], reason(errs[i])))
				}
			}
		}
	}
}

// frequentist runs the comparison's test (see newScaleTest) on both scales
// and picks the decision scale's p-value for the metric's test kind.
func frequentist(cfg config, w *work) {
	var ok [2]bool
	var errs [2]error
	for i, s := range scales {
		w.tests[i], errs[i] = newScaleTest(cfg, w, s)
		ok[i] = errs[i] == nil
	}
	chooseDecision(cfg, w, ok, errs)
	if w.decision >= 0 {
		st := w.tests[w.decision]
		w.p = st.pValue(w.null(w.decision), w.alternative())
		if w.test == TestNonInferiority {
			harm := AltLess
			if w.lowerBetter {
				harm = AltGreater
			}
			w.pHarm = st.pValue(0, harm)
		}
	}
}

// alternative is the alternative hypothesis of w's test: one-sided tests and
// non-inferiority look in the improving direction only.
func (w *work) alternative() Alternative {
	switch {
	case w.test == TestTwoSided:
		return AltTwoSided
	case w.lowerBetter:
		return AltLess
	}
	return AltGreater
}

// null is the null value of w's test on scale index si: 0, or for
// non-inferiority the tolerated worsening, −margin (relative; the log ratio
// log(1−margin)) or −margin·|control mean| (absolute), mirrored when lower is
// better.
func (w *work) null(si int) float64 {
	if w.test != TestNonInferiority || w.tests[si] == nil {
		return 0
	}
	worse := -w.margin
	if w.lowerBetter {
		worse = w.margin
	}
	if w.tests[si].logScale {
		return math.Log1p(worse)
	}
	return worse * math.Abs(w.c.Mean)
}

// bayesGaussian runs GrowthBook's Gaussian effect test on the absolute scale
// and its log-ratio form (GaussianLogRatioTest) on the relative one.
func bayesGaussian(cfg config, w *work, prior *EffectPrior) {
	var ok [2]bool
	var errs [2]error
	var post [2]EffectPosterior
	post[0], errs[0] = GaussianEffectTest(w.c, w.t, ScaleAbsolute, prior, cfg.alpha)
	post[1], errs[1] = GaussianLogRatioTest(w.c, w.t, prior, cfg.alpha)
	for i := range scales {
		ok[i] = errs[i] == nil
	}
	lifts := [2]*Lift{&w.out.Absolute, &w.out.Relative}
	for i := range scales {
		if ok[i] {
			setBayesLift(lifts[i], post[i], w.lowerBetter)
			// A lognormal posterior far in its tail can have an infinite
			// expected loss: no decision on that scale (FuzzAnalyze).
			if lifts[i].Risk == nil {
				ok[i], errs[i] = false, errors.New("its risk is not a finite number")
			}
		}
	}
	chooseDecision(cfg, w, ok, errs)
	if w.decision >= 0 {
		setBayesDecision(w, post[w.decision].ChanceToWin, *lifts[w.decision].Risk, math.Abs(w.c.Mean))
	}
}

// bayesBinomial runs the exact Beta–binomial comparison.
func bayesBinomial(cfg config, w *work, C, T *betaDist) {
	res := betaBinomialTest(C, T, cfg.alpha)
	setBayesLift(&w.out.Absolute, res.Absolute, w.lowerBetter)
	var ok [2]bool
	var errs [2]error
	ok[0] = true
	if res.Relative != nil {
		setBayesLift(&w.out.Relative, *res.Relative, w.lowerBetter)
		ok[1] = true
	} else {
		errs[1] = errors.New("the control posterior needs a shape parameter above 2 (at least 2 conversions under the default Beta(1,1) prior)")
	}
	lifts := [2]*Lift{&w.out.Absolute, &w.out.Relative}
	for i := range scales {
		if ok[i] && lifts[i].Risk == nil {
			ok[i], errs[i] = false, errors.New("its risk is not a finite number")
		}
	}
	chooseDecision(cfg, w, ok, errs)
	if w.decision >= 0 {
		setBayesDecision(w, res.ChanceToWin, *lifts[w.decision].Risk, C.mean)
	}
}

// setBayesLift fills a Lift from a posterior; risk is oriented so that
// Control is the loss of keeping the control when the variant is better.
func setBayesLift(l *Lift, p EffectPosterior, lowerBetter bool) {
	l.Estimate = opt(p.Mean)
	l.StdErr = opt(p.StdDev)
	l.CI = optInterval(p.CI.Lower, p.CI.Upper)
	r := p.Risk
	if lowerBetter {
		r = Risk{Control: r.Treatment, Treatment: r.Control}
	}
	if isFinite(r.Control) && isFinite(r.Treatment) {
		l.Risk = &r
	}
}

// setBayesDecision records the decision-scale chance to win and risk; base
// is the control mean that turns an absolute risk into a relative one when
// the relative lift is undefined.
func setBayesDecision(w *work, ctwRaw float64, risk Risk, base float64) {
	ctw := ctwRaw
	if w.lowerBetter {
		ctw = 1 - ctwRaw
	}
	w.ctw = ctw
	w.p = posteriorTail(ctw)
	w.bayes.relRisk = relativeRisk(w.out, base)
	w.out.ChanceToWin = opt(ctw)
	r := risk
	w.out.Risk = &r
}

// roles lists the correction families in a stable order.
var roles = []Role{RolePrimary, RoleSecondary, RoleGuardrail}

// finish finishes each role's comparisons as one multiple-comparison family,
// so that the primary verdicts do not depend on how many secondary metrics or
// guardrails an experiment has.
func finish(cfg config, srm bool, all []*work) error {
	for _, role := range roles {
		var family []*work
		for _, w := range all {
			if w.role == role {
				family = append(family, w)
			}
		}
		if err := finishFamily(cfg, srm, family); err != nil {
			return err
		}
	}
	return nil
}

// finishFamily applies the correction to one family, sets intervals at the
// corrected level (doubled alpha for one-sided and non-inferiority tests,
// whose interval bound in the improving direction is then the one-sided
// bound) and writes verdicts.
func finishFamily(cfg config, srm bool, all []*work) error {
	ialpha := cfg.alpha
	if cfg.engine != EngineBayesian {
		ps := make([]float64, len(all))
		for i, w := range all {
			ps[i] = w.p
		}
		adj, err := AdjustPValues(ps, cfg.correction)
		if err != nil {
			return err
		}
		ialpha = intervalAlpha(cfg.alpha, cfg.correction, adj)
		for i, w := range all {
			w.out.PValue = opt(w.p)
			w.out.AdjustedPValue = opt(adj[i])
			if w.decision < 0 {
				continue
			}
			level := ialpha
			if cfg.engine == EngineFrequentist && w.test != TestTwoSided {
				level = 2 * ialpha
			}
			w.out.IntervalLevel = 1 - level
			lifts := [2]*Lift{&w.out.Absolute, &w.out.Relative}
			for si := range scales {
				st := w.tests[si]
				if st == nil {
					continue
				}
				ci := st.ci(level)
				lifts[si].Estimate = opt(st.est)
				lifts[si].StdErr = opt(st.se)
				lifts[si].CI = optInterval(ci.Lower, ci.Upper)
				lifts[si].PValue = opt(st.pValue(w.null(si), w.alternative()))
			}
		}
	}
	if cfg.engine == EngineBayesian {
		var err error
		if ialpha, err = bayesAdjust(cfg, all); err != nil {
			return err
		}
	}
	design := newPowerDesign(cfg.engine, ialpha, cfg.tuning)
	oneSided := newPowerDesign(cfg.engine, 2*ialpha, cfg.tuning)
	for _, w := range all {
		d := design
		if cfg.engine == EngineFrequentist && w.test != TestTwoSided {
			d = oneSided
		}
		w.out.Verdict = verdict(cfg, d, w, srm)
	}
	return nil
}

// verdict applies the decision rules to one comparison.
func verdict(cfg config, design powerDesign, w *work, srm bool) Verdict {
	if srm {
		return srmVerdict()
	}
	if short := w.minSample - int64(math.Min(w.c.N, w.t.N)); w.minSample > 0 && short > 0 {
		w.out.AdditionalUnitsPerArm = &short
		return belowMinimumVerdict(w.variantName, w.controlName, w.metric, w.unit, short, w.minSample)
	}
	if w.decision < 0 {
		return insufficientVerdict(w.variantName, w.controlName, w.metric)
	}
	if w.role == RoleGuardrail {
		return guardrailVerdict(cfg, design, w)
	}
	if cfg.engine == EngineBayesian {
		if v, ok := bayesVerdict(cfg, w); ok {
			return v
		}
	} else if w.out.AdjustedPValue != nil && *w.out.AdjustedPValue < cfg.alpha {
		better := w.tests[w.decision].est > 0
		if w.lowerBetter {
			better = !better
		}
		if better {
			return winnerVerdict(w.variantName, w.controlName, w.metric)
		}
		return loserVerdict(w.variantName, w.controlName, w.metric)
	}
	w.out.AdditionalUnitsPerArm = additionalUnits(cfg, design, w)
	return inconclusiveVerdict(w.variantName, w.controlName, w.metric, w.unit, w.out.AdditionalUnitsPerArm, cfg.target)
}

// additionalUnits estimates the extra units per arm needed to detect the
// target lift (or the observed lift) with the target power, using the
// observed per-unit variances of both arms.
func additionalUnits(cfg config, design powerDesign, w *work) *int64 {
	v1 := w.c.Variance + w.t.Variance
	if !(v1 > 0) || !isFinite(v1) {
		return nil
	}
	var delta float64
	if w.role == RoleGuardrail {
		// Plan to show non-inferiority if the variant changes nothing.
		delta = w.margin * math.Abs(w.c.Mean)
	} else if cfg.target != nil {
		delta = *cfg.target * math.Abs(w.c.Mean)
	} else {
		delta = w.t.Mean - w.c.Mean
	}
	if !(delta != 0) || !isFinite(delta) {
		return nil
	}
	n := design.unitsPerArm(delta, v1, cfg.power)
	if !isFinite(n) || n > 1e15 {
		return nil
	}
	more := int64(math.Ceil(n - math.Min(w.c.N, w.t.N)))
	if more < 0 {
		more = 0
	}
	return &more
}

// guardrailVerdict judges a guardrail by non-inferiority: "ok" when the
// variant is shown not to worsen the metric by more than the margin,
// "violated" when it is shown to worsen it at all and non-inferiority was not
// shown. The frequentist engine uses the family-adjusted non-inferiority
// p-value and the unadjusted one-sided p-value of harm (flagging harm
// uncorrected errs on the side of caution); the other engines read the same
// rules off the decision-scale interval.
func guardrailVerdict(cfg config, design powerDesign, w *work) Verdict {
	var ok, harmed bool
	if cfg.engine == EngineFrequentist {
		ok = w.out.AdjustedPValue != nil && *w.out.AdjustedPValue < cfg.alpha
		harmed = w.pHarm < cfg.alpha
	} else {
		l := w.out.Relative
		tolerated := -w.margin
		if w.decision == 0 {
			l = w.out.Absolute
			tolerated *= math.Abs(w.c.Mean)
		}
		if ci := l.CI; ci != nil {
			if w.lowerBetter {
				ok, harmed = ci.Upper < -tolerated, ci.Lower > 0
			} else {
				ok, harmed = ci.Lower > tolerated, ci.Upper < 0
			}
		}
	}
	switch {
	case ok:
		return guardrailOKVerdict(w.variantName, w.controlName, w.metric, w.margin)
	case harmed:
		return guardrailViolatedVerdict(w.variantName, w.controlName, w.metric)
	}
	w.out.AdditionalUnitsPerArm = additionalUnits(cfg, design, w)
	return guardrailInconclusiveVerdict(w.variantName, w.metric, w.unit, w.margin, w.out.AdditionalUnitsPerArm)
}
