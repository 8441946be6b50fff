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
	freq        [2]*TestResult // frequentist/sequential results per scale
	decision    int            // index into scales, or -1 when undefined
	p           float64        // decision-scale p-value, or Bayesian posterior tail probability (NaN when undefined)
	ctw         float64        // Bayesian chance that the variant is better (direction-aware)
	bayes       bayesState     // Bayesian decision inputs (bayes_decision.go)
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
	mr := MetricResult{
		Key:           m.Key,
		Name:          name,
		Kind:          m.Kind,
		LowerIsBetter: m.LowerIsBetter,
		Variants:      make([]ArmSummary, nv),
		Comparisons:   make([]Comparison, 0, nv-1),
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
			DecisionScale: cfg.scale,
			IntervalLevel: 1 - cfg.alpha,
			Notes:         []string{},
		})
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
			decision:    -1,
			p:           math.NaN(),
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
			frequentist(cfg, w, cfg.alpha)
		}
		ws = append(ws, w)
	}
	return mr, ws, nil
}

// chooseDecision picks the decision scale: the requested one if defined,
// otherwise the other one with a note.
func chooseDecision(cfg config, w *work, ok [2]bool, errs [2]error) {
	want := scaleIndex(cfg.scale)
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

// frequentist runs the Welch or sequential test on both scales at level alpha.
func frequentist(cfg config, w *work, alpha float64) {
	var ok [2]bool
	var errs [2]error
	for i, s := range scales {
		var r TestResult
		if cfg.engine == EngineSequential {
			r, errs[i] = SequentialTest(w.c, w.t, s, alpha, cfg.tuning)
		} else {
			r, errs[i] = WelchTTest(w.c, w.t, s, alpha)
		}
		if errs[i] == nil {
			rr := r
			w.freq[i] = &rr
			ok[i] = true
		}
	}
	chooseDecision(cfg, w, ok, errs)
	if w.decision >= 0 {
		w.p = w.freq[w.decision].PValue
	}
}

// intervalAt widens r, the test of w on scale s, to level 1−alpha: the
// interval the same test run at alpha would give, without computing its
// p-value again.
func intervalAt(cfg config, w *work, s Scale, r *TestResult, alpha float64) Interval {
	if cfg.engine == EngineSequential {
		_, v, _ := EffectEstimate(w.c, w.t, s) // succeeded when r was computed
		return sequentialCI(r.Estimate, v, w.c.N+w.t.N, alpha, sequentialRho2(alpha, cfg.tuning))
	}
	return welchCI(r.Estimate, r.StdErr, r.DF, alpha)
}

// bayesGaussian runs GrowthBook's Gaussian effect test on both scales.
func bayesGaussian(cfg config, w *work, prior *EffectPrior) {
	var ok [2]bool
	var errs [2]error
	var post [2]EffectPosterior
	for i, s := range scales {
		post[i], errs[i] = GaussianEffectTest(w.c, w.t, s, prior, cfg.alpha)
		ok[i] = errs[i] == nil
	}
	lifts := [2]*Lift{&w.out.Absolute, &w.out.Relative}
	for i := range scales {
		if ok[i] {
			setBayesLift(lifts[i], post[i], w.lowerBetter)
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
	chooseDecision(cfg, w, ok, errs)
	lifts := [2]*Lift{&w.out.Absolute, &w.out.Relative}
	setBayesDecision(w, res.ChanceToWin, *lifts[w.decision].Risk, C.mean)
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

// finish applies the correction, sets intervals at the corrected level and
// writes verdicts.
func finish(cfg config, srm bool, all []*work) error {
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
			w.out.IntervalLevel = 1 - ialpha
			lifts := [2]*Lift{&w.out.Absolute, &w.out.Relative}
			for si, s := range scales {
				r := w.freq[si]
				if r == nil {
					continue
				}
				ci := r.CI
				if ialpha != cfg.alpha {
					ci = intervalAt(cfg, w, s, r, ialpha)
				}
				lifts[si].Estimate = opt(r.Estimate)
				lifts[si].StdErr = opt(r.StdErr)
				lifts[si].CI = optInterval(ci.Lower, ci.Upper)
				lifts[si].PValue = opt(r.PValue)
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
	for _, w := range all {
		w.out.Verdict = verdict(cfg, design, w, srm)
	}
	return nil
}

// verdict applies the decision rules to one comparison.
func verdict(cfg config, design powerDesign, w *work, srm bool) Verdict {
	if srm {
		return srmVerdict()
	}
	if w.decision < 0 {
		return insufficientVerdict(w.variantName, w.controlName, w.metric)
	}
	if cfg.engine == EngineBayesian {
		if v, ok := bayesVerdict(cfg, w); ok {
			return v
		}
	} else if w.out.AdjustedPValue != nil && *w.out.AdjustedPValue < cfg.alpha {
		better := w.freq[w.decision].Estimate > 0
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
	if cfg.target != nil {
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
