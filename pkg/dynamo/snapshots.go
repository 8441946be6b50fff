package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/item"
	"github.com/refx-dev/refx/pkg/refx"
)

var _ refx.SnapshotService = (*Store)(nil)

const entitySnapshot = "snapshot"

// snapshotItem is a compact copy of an experiment's results: per variant
// the participants, per goal the counts and exact sums, and the referral
// totals under the names of the referral counter's attributes.
type snapshotItem struct {
	item.Key
	Entity     string    `dynamodbav:"entity"`
	Experiment string    `dynamodbav:"experiment"`
	Period     time.Time `dynamodbav:"period"`
	// TakenAt is fixed width (timeSK), so that the write's condition
	// compares times as strings.
	TakenAt        string                `dynamodbav:"taken_at"`
	CountedThrough *time.Time            `dynamodbav:"counted_through,omitempty"`
	Status         string                `dynamodbav:"status"`
	Phase          int                   `dynamodbav:"phase,omitempty"`
	Variants       []snapshotVariantItem `dynamodbav:"variants"`
}

type snapshotVariantItem struct {
	Key          string                           `dynamodbav:"key"`
	Participants int64                            `dynamodbav:"participants"`
	Goals        map[string]snapshotGoalItem      `dynamodbav:"goals"`
	Referral     map[string]attributevalue.Number `dynamodbav:"referral,omitempty"`
}

type snapshotGoalItem struct {
	Users                 int64                 `dynamodbav:"users"`
	Events                int64                 `dynamodbav:"events"`
	ValueSum              attributevalue.Number `dynamodbav:"value_sum"`
	ValueSumSq            attributevalue.Number `dynamodbav:"value_sum_sq"`
	ValueParticipantSumSq attributevalue.Number `dynamodbav:"value_participant_sum_sq"`
}

func toSnapshotItem(s *refx.Snapshot) snapshotItem {
	it := snapshotItem{
		Key: snapshotKey(s.Experiment, s.Period), Entity: entitySnapshot,
		Experiment: s.Experiment, Period: s.Period.UTC(), TakenAt: timeSK(s.TakenAt), Status: string(s.Status),
		CountedThrough: s.CountedThrough, Phase: s.Phase,
	}
	for _, v := range s.Variants {
		vi := snapshotVariantItem{Key: v.Key, Participants: v.Participants, Goals: make(map[string]snapshotGoalItem, len(v.Goals))}
		for g, c := range v.Goals {
			vi.Goals[g] = snapshotGoalItem{
				Users: c.Users, Events: c.Events,
				ValueSum: decimalOrZero(c.ValueSum), ValueSumSq: decimalOrZero(c.ValueSumSq),
				ValueParticipantSumSq: decimalOrZero(c.ValueParticipantSumSq),
			}
		}
		if r := v.Referral; r != nil {
			vi.Referral = referralAttributes(r)
		}
		it.Variants = append(it.Variants, vi)
	}
	return it
}

func (it snapshotItem) snapshot() (refx.Snapshot, error) {
	taken, err := time.Parse(time.RFC3339Nano, it.TakenAt)
	if err != nil {
		return refx.Snapshot{}, fmt.Errorf("snapshot %s %s: taken_at: %w", it.PK, it.SK, err)
	}
	s := refx.Snapshot{
		Experiment: it.Experiment, Period: it.Period.UTC(), TakenAt: taken.UTC(), CountedThrough: it.CountedThrough,
		Status: refx.Status(it.Status), Phase: max(it.Phase, 1), Variants: make([]refx.VariantResults, 0, len(it.Variants)),
	}
	for _, vi := range it.Variants {
		v := refx.VariantResults{Key: vi.Key, Participants: vi.Participants, Goals: make(map[string]refx.GoalCounts, len(vi.Goals))}
		for g, c := range vi.Goals {
			v.Goals[g] = refx.GoalCounts{
				Users: c.Users, Events: c.Events, ValueSum: decimalJSON(c.ValueSum), ValueSumSq: decimalJSON(c.ValueSumSq),
				ValueParticipantSumSq: decimalJSON(c.ValueParticipantSumSq),
			}
		}
		if vi.Referral != nil {
			d := decimalCounts{}
			for name, n := range vi.Referral {
				d.addNumber(name, string(n))
			}
			v.Referral = d.counts()
		}
		s.Variants = append(s.Variants, v)
	}
	return s, nil
}

// referralAttributes are the referral counts under the attribute names of
// the referral counter item, which decimalCounts reads back.
func referralAttributes(r *refx.ReferralCounts) map[string]attributevalue.Number {
	n := func(v int64) attributevalue.Number { return attributevalue.Number(fmt.Sprint(v)) }
	out := map[string]attributevalue.Number{
		"referrers": n(r.Referrers), "sharing_referrers": n(r.SharingReferrers),
		"clicks": n(r.Clicks), "unique_visitors": n(r.UniqueVisitors), "signups": n(r.Signups),
		"converting_referees": n(r.ConvertingReferees), "conversions": n(r.Conversions),
		"conversion_value": decimalOrZero(r.ConversionValue),
		"clicks_sq":        n(r.PerReferrer.ClicksSumSq), "signups_sq": n(r.PerReferrer.SignupsSumSq),
		"conversions_sq": n(r.PerReferrer.ConversionsSumSq), "value_sq": decimalOrZero(r.PerReferrer.ValueSumSq),
		"clicks_x_signups": n(r.PerReferrer.ClicksXSignups),
	}
	for reason, c := range r.Refused {
		out["refused_"+reason] = n(c)
	}
	for reason, c := range r.Flagged {
		out["flagged_"+reason] = n(c)
	}
	return out
}

// Snapshot reads the experiment's counts and stores them as the snapshot of
// the period starting at period (taken as given, in UTC: the caller picks
// the period's length). The write is a put that replaces the period's
// snapshot unless the stored one was taken later: taking a period's
// snapshot again (a retried or repeated schedule) stores the newer totals,
// and a slow attempt never overwrites a newer one. It returns the snapshot
// stored for the period. ENOTFOUND.
func (s *Store) Snapshot(ctx context.Context, experiment string, period time.Time) (*refx.Snapshot, error) {
	// The clock is read before the counters: the totals include at least
	// every event counted before TakenAt.
	taken := s.opts.Now().UTC()
	res, err := s.Results(ctx, experiment)
	if err != nil {
		return nil, err
	}
	snap := &refx.Snapshot{Experiment: experiment, Period: period.UTC(), TakenAt: taken, CountedThrough: res.CountedThrough, Status: res.Status, Phase: res.Phase, Variants: res.Variants}
	item, err := attributevalue.MarshalMap(toSnapshotItem(snap))
	if err != nil {
		return nil, storeError("Snapshot", err)
	}
	newer := expression.AttributeNotExists(expression.Name(AttrPK)).
		Or(expression.Name("taken_at").LessThanEqual(expression.Value(timeSK(taken))))
	failed, err := s.putIf(ctx, "Snapshot", item, newer)
	if failed != nil {
		// A snapshot taken later is stored: it stands.
		var it snapshotItem
		if err := attributevalue.UnmarshalMap(failed.Item, &it); err != nil {
			return nil, storeError("Snapshot", err)
		}
		stored, err := it.snapshot()
		if err != nil {
			return nil, storeError("Snapshot", err)
		}
		return &stored, nil
	}
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// Snapshots returns the experiment's snapshots of the periods starting in
// [from, to], oldest first: one query on the experiment's snapshot
// partition (paged past 1 MB). Reads are eventually consistent: a snapshot
// is taken per period, and one taken a moment ago may be missing for a
// moment.
func (s *Store) Snapshots(ctx context.Context, experiment string, from, to time.Time) ([]refx.Snapshot, error) {
	if to.Before(from) {
		return []refx.Snapshot{}, nil
	}
	keys := expression.Key(AttrPK).Equal(expression.Value(snapshotPK(experiment))).
		And(expression.Key(AttrSK).Between(expression.Value(timeSK(from)), expression.Value(timeSK(to))))
	expr, err := expression.NewBuilder().WithKeyCondition(keys).Build()
	if err != nil {
		return nil, storeError("Snapshots", err)
	}
	out := []refx.Snapshot{}
	err = s.queryAll(ctx, "Snapshots", s.queryInput(expr, false), func(page []map[string]types.AttributeValue) error {
		var items []snapshotItem
		if err := attributevalue.UnmarshalListOfMaps(page, &items); err != nil {
			return err
		}
		for _, it := range items {
			snap, err := it.snapshot()
			if err != nil {
				return err
			}
			out = append(out, snap)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// maxParallelSnapshots bounds the experiments SnapshotAll reads at once.
const maxParallelSnapshots = 4

// SnapshotAll takes, at the schedule's tick at, the snapshot every running
// experiment is due (cadence.Due from its start), listed from gsi1 with a
// status filter. One experiment's failure does not stop the others; the
// errors are joined. It returns how many snapshots were stored.
func (s *Store) SnapshotAll(ctx context.Context, at time.Time, cadence refx.SnapshotCadence) (int, error) {
	due, err := s.dueSnapshots(ctx, at, cadence)
	if err != nil {
		return 0, err
	}
	var (
		mu   sync.Mutex
		n    int
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, maxParallelSnapshots)
	for id, period := range due {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_, err := s.Snapshot(ctx, id, period)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && refx.ErrorCode(err) != refx.ENOTFOUND { // deleted meanwhile
				errs = append(errs, fmt.Errorf("snapshot of %s: %w", id, err))
				return
			}
			if err == nil {
				n++
			}
		})
	}
	wg.Wait()
	return n, errors.Join(errs...)
}

// dueSnapshots lists the running experiments due a snapshot at the tick
// at, with the period of each one's snapshot.
func (s *Store) dueSnapshots(ctx context.Context, at time.Time, cadence refx.SnapshotCadence) (map[string]time.Time, error) {
	filter := expression.Name("status").Equal(expression.Value(string(refx.StatusRunning)))
	due := map[string]time.Time{}
	err := s.allExperiments(ctx, "dueSnapshots", filter, func(it experimentItem) {
		var started time.Time
		if it.StartedAt != nil {
			started = *it.StartedAt
		}
		if period, ok := cadence.Due(started, at); ok {
			due[it.ID] = period
		}
	})
	if err != nil {
		return nil, err
	}
	return due, nil
}

// decimalOrZero is an exact decimal of the results as a DynamoDB number.
func decimalOrZero(n json.Number) attributevalue.Number {
	if n == "" {
		return "0"
	}
	return attributevalue.Number(n)
}

// decimalJSON is a stored decimal formatted as the live results format it.
func decimalJSON(n attributevalue.Number) json.Number {
	var r big.Rat
	addDecimal(&r, string(n))
	return formatDecimal(&r)
}
