package dynamo

import (
	"context"
	"encoding/json"
	"math/big"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/refx"
)

// maxParallelShardReads bounds the concurrent queries of one results read.
const maxParallelShardReads = 16

// Results reads the counters of an experiment's current phase: one
// strongly consistent query per counter shard, so the cost grows with the
// shard count, never with the number of events. The counted-through mark
// is read first: the counters read after it hold at least every change it
// covers.
func (s *Store) Results(ctx context.Context, experiment string) (*refx.Results, error) {
	return s.PhaseResults(ctx, experiment, 0)
}

// PhaseResults is Results of phase (1-based; 0 for the current one).
// EINVALID when the experiment has no such phase.
func (s *Store) PhaseResults(ctx context.Context, experiment string, phase int) (*refx.Results, error) {
	exp, err := s.Experiment(ctx, experiment)
	if err != nil {
		return nil, err
	}
	if phase == 0 {
		phase = exp.CurrentPhase()
	}
	if _, ok := exp.PhaseInfo(phase); !ok {
		return nil, refx.FieldErrorf("phase", "experiment %s has phases 1 to %d", exp.ID, exp.CurrentPhase())
	}
	through, err := s.CountedThrough(ctx)
	if err != nil {
		return nil, err
	}
	shards := make([][]map[string]types.AttributeValue, exp.CounterShards)
	errs := make([]error, exp.CounterShards)
	sem := make(chan struct{}, maxParallelShardReads)
	var wg sync.WaitGroup
	for shard := range exp.CounterShards {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			shards[shard], errs[shard] = s.counterShard(ctx, phaseScope(exp.ID, phase), shard)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	res, err := sumCounters(exp, shards)
	if err != nil {
		return nil, err
	}
	res.CountedThrough, res.Phase = through, phase
	return res, nil
}

func (s *Store) counterShard(ctx context.Context, scope string, shard int) ([]map[string]types.AttributeValue, error) {
	keys, err := expression.NewBuilder().WithKeyCondition(expression.Key(AttrPK).Equal(expression.Value(counterPK(scope, shard)))).Build()
	if err != nil {
		return nil, storeError("counterShard", err)
	}
	return s.queryItems(ctx, "counterShard", s.queryInput(keys, true))
}

// sumCounters adds the shards up into results with every variant and goal of
// the experiment present, zero where nothing was counted.
func sumCounters(exp *refx.Experiment, shards [][]map[string]types.AttributeValue) (*refx.Results, error) {
	variants := make(map[string]*variantSums, len(exp.Variants))
	for _, v := range exp.Variants {
		vs := &variantSums{goals: map[string]*goalSums{}, ratios: map[string]*big.Rat{}, referral: decimalCounts{}, channels: channelSums{}}
		for _, g := range exp.Goals {
			vs.goals[g.Key] = &goalSums{}
		}
		for _, r := range exp.RatioMetrics {
			vs.ratios[r.Key] = new(big.Rat)
		}
		variants[v.Key] = vs
	}
	for _, items := range shards {
		for _, av := range items {
			var it counterItem
			if err := attributevalue.UnmarshalMap(av, &it); err != nil {
				return nil, storeError("Results", err)
			}
			vs, ok := variants[it.Variant]
			if !ok {
				continue
			}
			switch {
			case strings.HasSuffix(it.SK, participantsInfix):
				vs.participants += it.Participants
			case strings.HasSuffix(it.SK, referralSuffix):
				vs.referral.add(av)
			case strings.Contains(it.SK, channelInfix):
				vs.channels.add(av)
			case strings.Contains(it.SK, ratioInfix):
				if r, ok := vs.ratios[it.Ratio]; ok {
					addDecimal(r, string(it.Products))
				}
			default:
				if g, ok := vs.goals[it.Goal]; ok {
					g.users += it.Users
					g.events += it.Events
					addDecimal(&g.sum, string(it.ValueSum))
					addDecimal(&g.sumSq, string(it.ValueSumSq))
					addDecimal(&g.participantSumSq, string(it.ValueParticipantSumSq))
					addDecimal(&g.eventsSumSq, string(it.EventsParticipantSumSq))
					g.covParticipants += it.CovariateParticipants
					addDecimal(&g.covSum, string(it.CovariateSum))
					addDecimal(&g.covSumSq, string(it.CovariateSumSq))
					addDecimal(&g.covValue, string(it.CovariateValue))
					addDecimal(&g.covUsers, string(it.CovariateUsers))
				}
			}
		}
	}
	res := &refx.Results{Experiment: exp.ID, Status: exp.Status}
	for _, v := range exp.Variants {
		vs := variants[v.Key]
		vr := refx.VariantResults{Key: v.Key, Participants: vs.participants, Goals: map[string]refx.GoalCounts{}}
		for _, g := range exp.Goals {
			gs := vs.goals[g.Key]
			gc := refx.GoalCounts{
				Users: gs.users, Events: gs.events,
				ValueSum: formatDecimal(&gs.sum), ValueSumSq: formatDecimal(&gs.sumSq),
				ValueParticipantSumSq: formatDecimal(&gs.participantSumSq),
			}
			if gs.covParticipants > 0 {
				gc.Covariate = &refx.CovariateCounts{
					Participants: gs.covParticipants, Sum: formatDecimal(&gs.covSum), SumSq: formatDecimal(&gs.covSumSq),
					ValueProducts: formatDecimal(&gs.covValue), UsersProducts: formatDecimal(&gs.covUsers),
				}
			}
			vr.Goals[g.Key] = gc
		}
		for _, r := range exp.RatioMetrics {
			if vr.Ratios == nil {
				vr.Ratios = map[string]refx.RatioCounts{}
			}
			a, b := ratioSums(exp, vs, r.Numerator), ratioSums(exp, vs, r.Denominator)
			vr.Ratios[r.Key] = refx.RatioCounts{
				NumeratorSum: formatDecimal(a[0]), NumeratorSumSq: formatDecimal(a[1]),
				DenominatorSum: formatDecimal(b[0]), DenominatorSumSq: formatDecimal(b[1]),
				SumProducts: formatDecimal(vs.ratios[r.Key]),
			}
		}
		if exp.Referral != nil {
			vr.Referral = vs.referral.counts()
			vr.Referral.Channels = vs.channels.counts()
		}
		res.Variants = append(res.Variants, vr)
	}
	return res, nil
}

type goalSums struct {
	users, events    int64
	sum, sumSq       big.Rat
	participantSumSq big.Rat
	// eventsSumSq is Σ over participants of (their events)², counted for
	// binomial goals that ratio metrics use.
	eventsSumSq     big.Rat
	covParticipants int64
	// Covariate sums: Σx, Σx², Σxy (value), Σxc (conversion).
	covSum, covSumSq, covValue, covUsers big.Rat
}

// ratioSums are Σ and Σ² over participants of their totals of goal as a
// ratio metric counts them (ratioTotal): value, or events of a binomial goal.
func ratioSums(exp *refx.Experiment, vs *variantSums, goal string) [2]*big.Rat {
	g, _ := exp.Goal(goal)
	gs := vs.goals[goal]
	if g.Kind == refx.GoalValue {
		return [2]*big.Rat{&gs.sum, &gs.participantSumSq}
	}
	return [2]*big.Rat{new(big.Rat).SetInt64(gs.events), &gs.eventsSumSq}
}

type variantSums struct {
	participants int64
	goals        map[string]*goalSums
	// ratios holds each ratio metric's Σab.
	ratios   map[string]*big.Rat
	referral decimalCounts
	channels channelSums
}

// decimalCounts adds up the numeric attributes of referral counter items,
// exactly, whatever their names: guard reasons appear as attributes
// refused_<reason> and flagged_<reason>.
type decimalCounts map[string]*big.Rat

// add adds the item's numeric attributes.
func (d decimalCounts) add(item map[string]types.AttributeValue) {
	for name, av := range item {
		if n, ok := av.(*types.AttributeValueMemberN); ok {
			d.addNumber(name, n.Value)
		}
	}
}

// addNumber adds the DynamoDB number n to the count name.
func (d decimalCounts) addNumber(name, n string) {
	if d[name] == nil {
		d[name] = new(big.Rat)
	}
	addDecimal(d[name], n)
}

func (d decimalCounts) int(name string) int64 {
	if r := d[name]; r != nil {
		return r.Num().Int64()
	}
	return 0
}

func (d decimalCounts) decimal(name string) json.Number {
	if r := d[name]; r != nil {
		return formatDecimal(r)
	}
	return "0"
}

func (d decimalCounts) counts() *refx.ReferralCounts {
	c := &refx.ReferralCounts{
		Referrers: d.int("referrers"), SharingReferrers: d.int("sharing_referrers"),
		Clicks: d.int("clicks"), UniqueVisitors: d.int("unique_visitors"), Signups: d.int("signups"),
		ConvertingReferees: d.int("converting_referees"), Conversions: d.int("conversions"),
		ConversionValue: d.decimal("conversion_value"),
		PerReferrer: refx.PerReferrerSums{
			ClicksSumSq: d.int("clicks_sq"), SignupsSumSq: d.int("signups_sq"),
			ConversionsSumSq: d.int("conversions_sq"), ValueSumSq: d.decimal("value_sq"),
			ClicksXSignups: d.int("clicks_x_signups"),
		},
		Refused: map[string]int64{}, Flagged: map[string]int64{},
	}
	for name := range d {
		if reason, ok := strings.CutPrefix(name, "refused_"); ok {
			c.Refused[reason] = d.int(name)
		}
		if reason, ok := strings.CutPrefix(name, "flagged_"); ok {
			c.Flagged[reason] = d.int(name)
		}
	}
	c.Rates = c.ComputeRates()
	return c
}

// addDecimal adds a DynamoDB number string to acc exactly; an absent
// attribute is zero.
func addDecimal(acc *big.Rat, n string) {
	if n == "" {
		return
	}
	if r, ok := new(big.Rat).SetString(n); ok {
		acc.Add(acc, r)
	}
}

// formatDecimal formats an exact sum of decimals with at most
// 2·refx.DecimalPlaces fractional digits, without trailing zeros.
func formatDecimal(r *big.Rat) json.Number {
	s := r.FloatString(2 * refx.DecimalPlaces)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return json.Number(s)
}
