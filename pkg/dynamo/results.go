package dynamo

import (
	"context"
	"encoding/json"
	"math/big"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/refx-dev/refx/pkg/refx"
)

// maxParallelShardReads bounds the concurrent queries of one results read.
const maxParallelShardReads = 16

// Results reads an experiment's counters: one strongly consistent query per
// counter shard, so the cost grows with the shard count, never with the
// number of events.
func (s *Store) Results(ctx context.Context, experiment string) (*refx.Results, error) {
	exp, err := s.Experiment(ctx, experiment)
	if err != nil {
		return nil, err
	}
	shards := make([][]counterItem, exp.CounterShards)
	errs := make([]error, exp.CounterShards)
	sem := make(chan struct{}, maxParallelShardReads)
	var wg sync.WaitGroup
	for shard := range exp.CounterShards {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			shards[shard], errs[shard] = s.counterShard(ctx, exp.ID, shard)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return sumCounters(exp, shards), nil
}

func (s *Store) counterShard(ctx context.Context, experiment string, shard int) ([]counterItem, error) {
	keys, err := expression.NewBuilder().WithKeyCondition(expression.Key(AttrPK).Equal(expression.Value(counterPK(experiment, shard)))).Build()
	if err != nil {
		return nil, storeError("counterShard", err)
	}
	in := &dynamodb.QueryInput{
		TableName: s.table, ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    keys.KeyCondition(),
		ExpressionAttributeNames:  keys.Names(),
		ExpressionAttributeValues: keys.Values(),
	}
	var all []counterItem
	for {
		var out *dynamodb.QueryOutput
		err := s.retry(ctx, "counterShard", func() (err error) {
			out, err = s.client.Query(ctx, in)
			return err
		})
		if err != nil {
			return nil, storeError("counterShard", err)
		}
		var page []counterItem
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &page); err != nil {
			return nil, storeError("counterShard", err)
		}
		all = append(all, page...)
		if out.LastEvaluatedKey == nil {
			return all, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// sumCounters adds the shards up into results with every variant and goal of
// the experiment present, zero where nothing was counted.
func sumCounters(exp *refx.Experiment, shards [][]counterItem) *refx.Results {
	type goalSums struct {
		users, events int64
		sum, sumSq    big.Rat
	}
	variants := make(map[string]*refx.VariantResults, len(exp.Variants))
	sums := make(map[string]map[string]*goalSums, len(exp.Variants))
	res := &refx.Results{Experiment: exp.ID, Status: exp.Status}
	for _, v := range exp.Variants {
		variants[v.Key] = &refx.VariantResults{Key: v.Key, Goals: map[string]refx.GoalCounts{}}
		sums[v.Key] = map[string]*goalSums{}
		for _, g := range exp.Goals {
			sums[v.Key][g.Key] = &goalSums{}
		}
	}
	for _, items := range shards {
		for _, it := range items {
			vr, ok := variants[it.Variant]
			if !ok {
				continue
			}
			if strings.HasSuffix(it.SK, participantsInfix) {
				vr.Participants += it.Participants
				continue
			}
			g, ok := sums[it.Variant][it.Goal]
			if !ok {
				continue
			}
			g.users += it.Users
			g.events += it.Events
			addDecimal(&g.sum, string(it.ValueSum))
			addDecimal(&g.sumSq, string(it.ValueSumSq))
		}
	}
	for _, v := range exp.Variants {
		vr := variants[v.Key]
		for _, g := range exp.Goals {
			gs := sums[v.Key][g.Key]
			vr.Goals[g.Key] = refx.GoalCounts{
				Users: gs.users, Events: gs.events,
				ValueSum: formatDecimal(&gs.sum), ValueSumSq: formatDecimal(&gs.sumSq),
			}
		}
		res.Variants = append(res.Variants, *vr)
	}
	return res
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
