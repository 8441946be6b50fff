package analysis

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stats"
)

// Bounds of an A/A simulation.
const (
	// DefaultAASimulations is the number of simulated splits when none is asked.
	DefaultAASimulations = 1000
	// MaxAASimulations bounds the work of one request.
	MaxAASimulations = 10_000
)

// AASource is an experiment whose counts describe the traffic an A/A
// simulation draws from: the simulated experiment itself, or an experiment
// sharing its goals.
type AASource struct {
	Experiment *refx.Experiment
	Results    *refx.Results
}

// AAOptions describe an A/A simulation: the reading of Options (engine,
// alpha, correction, planned sample) applied to every simulated split.
type AAOptions struct {
	Options
	// Simulations is the number of splits (0: DefaultAASimulations; at
	// most MaxAASimulations).
	Simulations int
	// Seed makes the simulation repeatable: the same seed, experiment and
	// sources give the same answer.
	Seed uint64
	// Participants is the size of each simulated experiment (all arms);
	// 0 takes the largest participant count among the sources.
	Participants int64
}

// AASimulation is the false-positive rate of an experiment's reading when
// no variant differs: each simulated split draws every arm from the same
// traffic, so every significant verdict is a false positive.
type AASimulation struct {
	Experiment string           `json:"experiment"`
	Engine     stats.Engine     `json:"engine"`
	Alpha      float64          `json:"alpha"`
	Correction stats.Correction `json:"correction"`
	Seed       uint64           `json:"seed"`
	// Simulations is the number asked; Completed how many ran before the
	// context ended (Truncated then says the rates are of fewer splits and
	// are no longer repeatable for the seed).
	Simulations  int   `json:"simulations"`
	Completed    int   `json:"completed"`
	Truncated    bool  `json:"truncated"`
	Participants int64 `json:"participants_per_simulation"`
	// Metrics has the per-comparison rate of each goal metric.
	Metrics []AAMetric `json:"metrics"`
	// Families has, per role, the share of splits where any comparison of
	// the role's metrics was significant: the family-wise error rate the
	// correction controls (each role is its own family).
	Families map[refx.Role]AARate `json:"families"`
	// Overall is the share of splits with any significant comparison.
	Overall AARate   `json:"overall"`
	Notes   []string `json:"notes"`
}

// AAMetric is one metric's false-positive rate over every comparison of
// every split, and the traffic model it was drawn from.
type AAMetric struct {
	Key   string    `json:"key"`
	Goal  string    `json:"goal"`
	Role  refx.Role `json:"role"`
	Model AAModel   `json:"model"`
	AARate
}

// AAModel is the traffic of one goal a simulation draws from, estimated by
// pooling every arm of the sources that measure the goal.
type AAModel struct {
	// Participants is how many participants the estimate rests on (0: the
	// default rate was assumed).
	Participants   int64   `json:"participants"`
	ConversionRate float64 `json:"conversion_rate"`
	// ValueMean and ValueStdDev are a converted participant's total value
	// (value goals only).
	ValueMean   *float64 `json:"value_mean,omitempty"`
	ValueStdDev *float64 `json:"value_std_dev,omitempty"`
}

// AARate is a count of false positives among trials with the rate's 95%
// Wilson interval.
type AARate struct {
	Trials         int            `json:"trials"`
	FalsePositives int            `json:"false_positives"`
	Rate           float64        `json:"rate"`
	CI             stats.Interval `json:"ci"`
}

// goalModel is the traffic of one goal: a participant converts with
// probability p and, on a value goal, a converter's total value is drawn
// from a gamma distribution with the observed mean and variance (normal
// when the mean is not positive, constant when the variance is zero).
type goalModel struct {
	goal       refx.Goal
	units      int64
	p          float64
	mean, vari float64
	// Raw moments E[y], E[y²], E[y³], E[y⁴] of a converter's value.
	m [4]float64
	// shape and scale of the gamma; shape 0 when the values are not drawn
	// from one.
	shape, scale float64
}

// SimulateAA runs opts.Simulations A/A splits of exp and reads each with
// Analyze, exactly as the results route reads real counts: the same
// engine, alpha, correction, roles, directions, minimum samples and
// margins. The model: every arm is drawn from one population whose
// per-goal conversion rate and converter value distribution are pooled from
// sources (every variant of every source measuring the goal, so an
// experiment's own A/A arms and those of experiments sharing its goals
// alike); each split assigns Participants by exp's weights (a multinomial
// draw), then draws each arm's converters (binomial) and their value sums.
// Goals are simulated independently of one another; ratio and referral
// metrics are not simulated. ctx bounds the time: when it ends, the rates
// of the splits done so far are returned with Truncated set.
//
// EINVALID when Simulations is out of range or nothing gives a size.
func SimulateAA(ctx context.Context, exp *refx.Experiment, sources []AASource, opts AAOptions) (*AASimulation, error) {
	o := opts.Options.withDefaults()
	sims := opts.Simulations
	if sims == 0 {
		sims = DefaultAASimulations
	}
	if sims < 1 || sims > MaxAASimulations {
		return nil, refx.FieldErrorf("simulations", "must be between 1 and %d", MaxAASimulations)
	}
	n := opts.Participants
	for _, s := range sources {
		if n > 0 {
			break
		}
		var total int64
		for _, v := range s.Results.Variants {
			total += v.Participants
		}
		n = max(n, total)
	}
	if n < 2 {
		return nil, refx.Errorf(refx.EINVALID, "experiment %s has no traffic to simulate: no participants in it or in experiments sharing its goals, and no planned sample size", exp.ID)
	}
	// The simulated experiment: exp's arms and goals with their decisions,
	// without the metrics whose counts are not simulated.
	sim := *exp
	sim.RatioMetrics, sim.Referral = nil, nil
	out := &AASimulation{
		Experiment: exp.ID, Engine: o.Engine, Alpha: o.Alpha, Correction: o.Correction, Seed: opts.Seed,
		Simulations: sims, Participants: n, Families: map[refx.Role]AARate{}, Notes: []string{},
	}
	if len(exp.RatioMetrics) > 0 || exp.Referral != nil {
		out.Notes = append(out.Notes, "ratio and referral metrics are not simulated: the rates and families are those of the goals")
	}
	models := make([]goalModel, len(exp.Goals))
	for i, g := range exp.Goals {
		models[i] = modelOf(g, sources)
		if models[i].units == 0 {
			out.Notes = append(out.Notes, fmt.Sprintf("no traffic measures goal %s yet: it is simulated at the default conversion rate %g", g.Key, DefaultBaselineRate))
		}
	}
	weights := exp.Weights(nil)
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5eed_a_a))
	positives := map[string]int{}
	families := map[refx.Role]int{}
	overall := 0
	res := &refx.Results{Experiment: exp.ID, Status: exp.Status, Variants: make([]refx.VariantResults, len(exp.Variants))}
	var roles map[string]refx.Role
	for out.Completed < sims {
		if ctx.Err() != nil {
			out.Truncated = true
			out.Notes = append(out.Notes, fmt.Sprintf("stopped after %d of %d simulations: the time allowed ran out", out.Completed, sims))
			break
		}
		left := n
		wleft := 1.0
		for i, v := range exp.Variants {
			ni := left
			if i < len(exp.Variants)-1 {
				ni = binomial(rng, left, min(1, weights[i]/wleft))
			}
			left -= ni
			wleft -= weights[i]
			vr := refx.VariantResults{Key: v.Key, Participants: ni, Goals: make(map[string]refx.GoalCounts, len(models))}
			for _, m := range models {
				vr.Goals[m.goal.Key] = m.draw(rng, ni)
			}
			res.Variants[i] = vr
		}
		a, err := Analyze(&sim, res, o)
		if err != nil {
			return nil, err
		}
		if roles == nil {
			roles = map[string]refx.Role{}
			for _, g := range exp.Goals {
				ga := a.Goals[g.Key]
				roles[ga.ConversionRate.Key] = refx.Role(ga.ConversionRate.Role)
				if ga.ValuePerParticipant != nil {
					roles[ga.ValuePerParticipant.Key] = refx.Role(ga.ValuePerParticipant.Role)
				}
			}
		}
		hit := map[refx.Role]bool{}
		for _, g := range exp.Goals {
			ga := a.Goals[g.Key]
			for _, m := range []*Metric{&ga.ConversionRate, ga.ValuePerParticipant} {
				if m == nil {
					continue
				}
				for _, c := range m.Comparisons {
					if significant(c.Verdict.Code) {
						positives[m.Key]++
						hit[roles[m.Key]] = true
					}
				}
			}
		}
		for r := range hit {
			families[r]++
		}
		if len(hit) > 0 {
			overall++
		}
		out.Completed++
	}
	treatments := len(exp.Variants) - 1
	for i, g := range exp.Goals {
		keys := []string{g.Key + ":" + MeasureConversionRate}
		if g.Kind == refx.GoalValue {
			keys = append(keys, g.Key+":"+MeasureValuePerParticipant)
		}
		for _, k := range keys {
			out.Metrics = append(out.Metrics, AAMetric{
				Key: k, Goal: g.Key, Role: roles[k], Model: models[i].public(),
				AARate: rateOf(positives[k], out.Completed*treatments),
			})
		}
	}
	for _, r := range roles {
		out.Families[r] = rateOf(families[r], out.Completed)
	}
	out.Overall = rateOf(overall, out.Completed)
	return out, nil
}

// significant reports whether a verdict claims a difference: in an A/A
// split every such verdict is a false positive. A guardrail found within
// its margin is not one.
func significant(c stats.VerdictCode) bool {
	return c == stats.VerdictWinner || c == stats.VerdictLoser || c == stats.VerdictGuardrailViolated
}

// rateOf is k of n with its 95% Wilson score interval.
func rateOf(k, n int) AARate {
	r := AARate{Trials: n, FalsePositives: k}
	if n == 0 {
		return r
	}
	const z = 1.959963984540054
	p, nf := float64(k)/float64(n), float64(n)
	d := 1 + z*z/nf
	c := (p + z*z/(2*nf)) / d
	h := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / d
	r.Rate, r.CI = p, stats.Interval{Lower: math.Max(0, c-h), Upper: math.Min(1, c+h)}
	return r
}

// modelOf pools the counts of goal g over every arm of the sources whose
// experiment measures g with the same kind.
func modelOf(g refx.Goal, sources []AASource) goalModel {
	m := goalModel{goal: g, p: DefaultBaselineRate}
	var users int64
	var sum, sq float64
	for _, s := range sources {
		if sg, ok := s.Experiment.Goal(g.Key); !ok || sg.Kind != g.Kind {
			continue
		}
		for _, v := range s.Results.Variants {
			c := v.Goals[g.Key]
			x, ok1 := number(c.ValueSum)
			y, ok2 := number(c.ValueParticipantSumSq)
			if !ok1 || !ok2 || c.Users > v.Participants {
				continue
			}
			m.units += v.Participants
			users += c.Users
			sum += x
			sq += y
		}
	}
	if m.units > 0 {
		m.p = float64(users) / float64(m.units)
	}
	if g.Kind != refx.GoalValue || users == 0 {
		return m
	}
	m.mean = sum / float64(users)
	m.vari = math.Max(0, sq/float64(users)-m.mean*m.mean)
	mu, v := m.mean, m.vari
	switch {
	case v == 0:
		m.m = [4]float64{mu, mu * mu, mu * mu * mu, mu * mu * mu * mu}
	case mu > 0:
		m.shape, m.scale = mu*mu/v, v/mu
		a, t := m.shape, m.scale
		m.m = [4]float64{a * t, a * (a + 1) * t * t, a * (a + 1) * (a + 2) * t * t * t, a * (a + 1) * (a + 2) * (a + 3) * t * t * t * t}
	default:
		m.m = [4]float64{mu, mu*mu + v, mu*mu*mu + 3*mu*v, mu*mu*mu*mu + 6*mu*mu*v + 3*v*v}
	}
	return m
}

func (m goalModel) public() AAModel {
	out := AAModel{Participants: m.units, ConversionRate: m.p}
	if m.goal.Kind == refx.GoalValue && m.units > 0 {
		out.ValueMean, out.ValueStdDev = opt(m.mean), opt(math.Sqrt(m.vari))
	}
	return out
}

// exactValues is the number of converters up to which each value is drawn;
// above it the pair (Σy, Σy²) is drawn from its bivariate normal limit,
// whose mean and covariance follow from the moments of one value.
const exactValues = 64

// draw returns an arm's counts of the goal among n participants.
func (m goalModel) draw(rng *rand.Rand, n int64) refx.GoalCounts {
	k := binomial(rng, n, m.p)
	c := refx.GoalCounts{Users: k, Events: k, ValueSum: "0", ValueSumSq: "0", ValueParticipantSumSq: "0"}
	if m.goal.Kind != refx.GoalValue || k == 0 {
		return c
	}
	var sum, sq float64
	if k <= exactValues {
		for range k {
			y := m.value(rng)
			sum += y
			sq += y * y
		}
	} else {
		kf := float64(k)
		v1 := m.m[1] - m.m[0]*m.m[0]
		v2 := m.m[3] - m.m[1]*m.m[1]
		cov := m.m[2] - m.m[0]*m.m[1]
		z1, z2 := rng.NormFloat64(), rng.NormFloat64()
		sum, sq = kf*m.m[0], kf*m.m[1]
		if v1 > 0 {
			sum += math.Sqrt(kf*v1) * z1
			sq += math.Sqrt(kf) * (cov/math.Sqrt(v1)*z1 + math.Sqrt(math.Max(0, v2-cov*cov/v1))*z2)
		}
		// Σy² ≥ (Σy)²/k holds for any k values; the normal limit can
		// cross it far in its tail.
		sq = math.Max(sq, sum*sum/kf)
	}
	c.ValueSum = jsonNumber(sum)
	c.ValueSumSq = jsonNumber(sq)
	c.ValueParticipantSumSq = c.ValueSumSq
	return c
}

// value draws one converter's total value.
func (m goalModel) value(rng *rand.Rand) float64 {
	switch {
	case m.vari == 0:
		return m.mean
	case m.shape > 0:
		return gamma(rng, m.shape) * m.scale
	}
	return m.mean + math.Sqrt(m.vari)*rng.NormFloat64()
}

func jsonNumber(x float64) json.Number { return json.Number(strconv.FormatFloat(x, 'g', -1, 64)) }

// binomial draws Binomial(n, p): exactly by waiting times when the smaller
// tail's mean is below 30, else from the normal limit (rounded, clamped),
// whose error in the tails does not move a test's false-positive rate.
func binomial(rng *rand.Rand, n int64, p float64) int64 {
	switch {
	case n <= 0 || p <= 0:
		return 0
	case p >= 1:
		return n
	case p > 0.5:
		return n - binomial(rng, n, 1-p)
	}
	nf := float64(n)
	if nf*p < 30 {
		// The gaps between successes are geometric: count successes
		// until the positions pass n.
		lq := math.Log1p(-p)
		var k, pos int64
		for {
			gap := math.Floor(math.Log(1-rng.Float64())/lq) + 1
			if gap > float64(n-pos) {
				return k
			}
			pos += int64(gap)
			k++
		}
	}
	x := math.Round(nf*p + math.Sqrt(nf*p*(1-p))*rng.NormFloat64())
	return int64(math.Min(nf, math.Max(0, x)))
}

// gamma draws Gamma(a, 1) by Marsaglia and Tsang's method (a < 1 boosted
// through Gamma(a+1)·U^(1/a)).
func gamma(rng *rand.Rand, a float64) float64 {
	if a < 1 {
		return gamma(rng, a+1) * math.Pow(1-rng.Float64(), 1/a)
	}
	d := a - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := 1 - rng.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}
