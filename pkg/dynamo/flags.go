package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/growthbook"
	"github.com/refx-dev/refx/pkg/item"
	"github.com/refx-dev/refx/pkg/refx"
)

var _ refx.FlagService = (*Store)(nil)

const (
	entityFlag        = "flag"
	entitySegment     = "segment"
	entityFlagsMeta   = "flags_meta"
	entityFlagPayload = "flag_payload"
	// maxFlagAttempts bounds how often one change is rebuilt after losing
	// the race for the flags' version to another change. Each loss means
	// another change was stored, so only that many concurrent admin writes
	// could exhaust it.
	maxFlagAttempts = 32
)

// flagState is the flag partition as one consistent query read it: every
// flag and segment, the version of the set and the environments that have
// a payload item.
type flagState struct {
	refx.FlagSet
	version int64
	envs    []string
}

// readFlags reads the whole flag partition, consistently. refx.FlagSet's
// bounds keep it to about 1 MiB.
func (s *Store) readFlags(ctx context.Context, op string) (*flagState, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key(AttrPK).Equal(expression.Value(flagsPK))).Build()
	if err != nil {
		return nil, storeError(op, err)
	}
	st := &flagState{FlagSet: refx.FlagSet{Flags: map[string]*refx.Flag{}, Segments: map[string]*refx.Segment{}}}
	err = s.queryAll(ctx, op, s.queryInput(expr, true), func(items []map[string]types.AttributeValue) error {
		for _, av := range items {
			var head struct {
				Entity string `dynamodbav:"entity"`
			}
			if err := item.Decode(av, &head); err != nil {
				return err
			}
			switch head.Entity {
			case entityFlag:
				var it item.Flag
				if err := item.Decode(av, &it); err != nil {
					return err
				}
				f, err := flagOf(it)
				if err != nil {
					return err
				}
				st.Flags[f.Key] = f
			case entitySegment:
				var it item.Segment
				if err := item.Decode(av, &it); err != nil {
					return err
				}
				st.Segments[it.SegmentKey] = segmentOf(it)
			case entityFlagsMeta:
				var it item.FlagsMeta
				if err := item.Decode(av, &it); err != nil {
					return err
				}
				st.version, st.envs = it.Version, it.Environments
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// flagChange is one change of a flag or segment: the write of its item and
// what its audit entry records.
type flagChange struct {
	write         types.TransactWriteItem
	resource      refx.AuditResource
	key, action   string
	before, after any
}

// changeFlags stores one change of a flag or segment together with its
// audit entry and the payload of every environment, rebuilt from all flags
// and segments.
//
// change edits the state read into the state after the change and returns
// the item write that makes it. The transaction increments the flags'
// version on the condition that it is still the one read, so changes are
// serialized through it: checks made on the state read (a key is free, a
// patch's version is current, a segment is unused, the bounds) hold when
// the write lands, and a payload never misses a change that landed before
// it. A change that loses the race reads again and is rebuilt.
func (s *Store) changeFlags(ctx context.Context, op string, change func(*flagState) (flagChange, error)) error {
	return s.changeFlagSet(ctx, op, func(st *flagState) ([]types.TransactWriteItem, error) {
		c, err := change(st)
		if err != nil {
			return nil, err
		}
		entry, err := s.auditPut(ctx, c.resource, c.key, c.action, c.before, c.after)
		if err != nil {
			return nil, err
		}
		return []types.TransactWriteItem{c.write, entry}, nil
	})
}

// changeFlagSet is changeFlags for a change of several items (an import),
// all in the one transaction; change's writes include the audit entries.
// The transaction's token makes a send the SDK repeats after a lost
// response land once, with its entries once.
func (s *Store) changeFlagSet(ctx context.Context, op string, change func(*flagState) ([]types.TransactWriteItem, error)) error {
	for attempt := 1; ; attempt++ {
		st, err := s.readFlags(ctx, op)
		if err != nil {
			return err
		}
		writes, err := change(st)
		if err != nil {
			return err
		}
		if len(writes) == 0 {
			return nil // an import of what is there already changes nothing, the version included
		}
		items, err := s.flagWrites(st, writes)
		if err != nil {
			return err
		}
		// One token per built transaction: a send the SDK repeats after a
		// lost response is then applied once, and answered as applied.
		token := aws.String(rand.Text())
		err = s.retry(ctx, op, func() error {
			_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items, ClientRequestToken: token})
			return err
		})
		switch {
		case err == nil:
			return nil
		case !conditionFailed(cancellationReasons(err), len(writes)): // the flags' version
			return storeError(op, err)
		case attempt >= maxFlagAttempts:
			return &refx.Error{Code: refx.EUNAVAILABLE, Message: "flags are changing too fast; send the same request again", Cause: fmt.Errorf("dynamo.%s: %d attempts lost the race", op, attempt)}
		}
		if err := ctx.Err(); err != nil {
			return storeError(op, err)
		}
	}
}

// flagWrites returns the transaction of one change: the change's writes
// (first), the flags' version (next) and the environments' payloads,
// after checking the state after the change.
func (s *Store) flagWrites(st *flagState, writes []types.TransactWriteItem) ([]types.TransactWriteItem, error) {
	if err := st.Validate(); err != nil {
		return nil, err
	}
	now := s.opts.Now().UTC()
	version := st.version + 1
	envs := st.Environments()
	cond := expression.Name("version").Equal(expression.Value(st.version))
	if st.version == 0 {
		cond = expression.AttributeNotExists(expression.Name(AttrPK))
	}
	meta, err := putItem(s.table, item.FlagsMeta{Key: flagsMetaKey, Entity: entityFlagsMeta, Version: version, Environments: envs, UpdatedAt: now}, &cond)
	if err != nil {
		return nil, err
	}
	items := append(slices.Clip(writes), meta)
	for _, env := range envs {
		_, payload, err := st.Payload(env, version, now)
		if err != nil {
			return nil, err
		}
		put, err := putItem(s.table, item.FlagPayload{Key: flagPayloadKey(env), Entity: entityFlagPayload, Environment: env, Version: version, Payload: string(payload), UpdatedAt: now}, nil)
		if err != nil {
			return nil, err
		}
		items = append(items, put)
	}
	// An environment no flag has any more loses its payload rather than
	// keeping a stale one.
	for _, env := range st.envs {
		if !slices.Contains(envs, env) {
			items = append(items, deleteItem(s.table, flagPayloadKey(env)))
		}
	}
	return items, nil
}

// putItem is a transaction's put of v, on cond when there is one.
func putItem(table *string, v any, cond *expression.ConditionBuilder) (types.TransactWriteItem, error) {
	av, err := attributevalue.MarshalMap(v)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	put := &types.Put{TableName: table, Item: av}
	if cond != nil {
		expr, err := expression.NewBuilder().WithCondition(*cond).Build()
		if err != nil {
			return types.TransactWriteItem{}, err
		}
		put.ConditionExpression, put.ExpressionAttributeNames, put.ExpressionAttributeValues = expr.Condition(), expr.Names(), expr.Values()
	}
	return types.TransactWriteItem{Put: put}, nil
}

func deleteItem(table *string, key itemKey) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{TableName: table, Key: key.Attributes()}}
}

// CreateFlag stores a new flag. ECONFLICT if the key is taken; EINVALID for
// an unknown segment or a linked experiment that is missing or whose
// payloads are not the flag's values; ELIMIT past the bounds on all flags.
func (s *Store) CreateFlag(ctx context.Context, f *refx.Flag) error {
	if err := s.checkFlag(ctx, f); err != nil {
		return err
	}
	return s.changeFlags(ctx, "CreateFlag", func(st *flagState) (flagChange, error) {
		if st.Flags[f.Key] != nil {
			return flagChange{}, refx.Errorf(refx.ECONFLICT, "flag %s already exists", f.Key)
		}
		st.Flags[f.Key] = f
		put, err := s.putFlag(f)
		return flagChange{put, refx.AuditFlag, f.Key, "create", nil, f}, err
	})
}

// Flag reads one flag consistently. ENOTFOUND.
func (s *Store) Flag(ctx context.Context, key string) (*refx.Flag, error) {
	var it item.Flag
	found, err := s.getItem(ctx, "Flag", flagKey(key), &it)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, refx.Errorf(refx.ENOTFOUND, "flag %s not found", key)
	}
	f, err := flagOf(it)
	return f, storeError("Flag", err)
}

// Flags returns every flag, by key: the bounds on all flags let one answer
// hold them, so the listing has no pages.
func (s *Store) Flags(ctx context.Context) ([]*refx.Flag, error) {
	st, err := s.readFlags(ctx, "Flags")
	if err != nil {
		return nil, err
	}
	return sortedValues(st.Flags), nil
}

// UpdateFlag applies a patch if its version is current. ENOTFOUND,
// ECONFLICT, EINVALID, ELIMIT.
func (s *Store) UpdateFlag(ctx context.Context, key string, p refx.FlagPatch) (*refx.Flag, error) {
	var next *refx.Flag
	err := s.changeFlags(ctx, "UpdateFlag", func(st *flagState) (flagChange, error) {
		current := st.Flags[key]
		if current == nil {
			return flagChange{}, refx.Errorf(refx.ENOTFOUND, "flag %s not found", key)
		}
		var err error
		if next, err = current.Apply(p, s.opts.Now()); err != nil {
			return flagChange{}, err
		}
		if err := s.checkFlag(ctx, next); err != nil {
			return flagChange{}, err
		}
		st.Flags[key] = next
		put, err := s.putFlag(next)
		return flagChange{put, refx.AuditFlag, key, "update", current, next}, err
	})
	if err != nil {
		return nil, err
	}
	return next, nil
}

// ImportFlags creates or changes the flags of a GrowthBook SDK payload in
// one environment, all in one transaction with the payloads: an import
// lands whole or not at all. EINVALID, ELIMIT.
//
// The import has one audit entry, of the flag resource "import:<env>",
// whose after is the import's result (the flags created, updated and
// unchanged) and the new version of each flag it wrote: an entry per flag
// would double the import's items past DynamoDB's 100 per transaction (80
// flags, the version, 8 payloads), and the flags' bodies, before and after,
// up to 2 MiB, would not fit one 400 KB item.
func (s *Store) ImportFlags(ctx context.Context, p refx.GrowthBookPayload, env string) (*refx.ImportResult, error) {
	var res *refx.ImportResult
	err := s.changeFlagSet(ctx, "ImportFlags", func(st *flagState) ([]types.TransactWriteItem, error) {
		flags, r, err := st.Import(p, env, s.opts.Now())
		if err != nil {
			return nil, err
		}
		writes := make([]types.TransactWriteItem, 0, len(flags))
		for _, f := range flags {
			if err := s.checkFlag(ctx, f); err != nil {
				return nil, refx.UnderField("features."+f.Key+".", err)
			}
			st.Flags[f.Key] = f
			put, err := s.putFlag(f)
			if err != nil {
				return nil, err
			}
			writes = append(writes, put)
		}
		res = r
		if len(writes) == 0 {
			return nil, nil // nothing to record either
		}
		entry, err := s.auditPut(ctx, refx.AuditFlag, "import:"+env, "import", nil, importAudit{r, importVersions(flags)})
		if err != nil {
			return nil, err
		}
		return append(writes, entry), nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// importAudit is what an import's audit entry records after it.
type importAudit struct {
	*refx.ImportResult
	// Versions is each written flag's version after the import.
	Versions map[string]int64 `json:"versions"`
}

func importVersions(flags []*refx.Flag) map[string]int64 {
	out := make(map[string]int64, len(flags))
	for _, f := range flags {
		out[f.Key] = f.Version
	}
	return out
}

// DeleteFlag deletes a flag and takes it out of the payloads. ENOTFOUND.
func (s *Store) DeleteFlag(ctx context.Context, key string) error {
	return s.changeFlags(ctx, "DeleteFlag", func(st *flagState) (flagChange, error) {
		current := st.Flags[key]
		if current == nil {
			return flagChange{}, refx.Errorf(refx.ENOTFOUND, "flag %s not found", key)
		}
		delete(st.Flags, key)
		return flagChange{deleteItem(s.table, flagKey(key)), refx.AuditFlag, key, "delete", current, nil}, nil
	})
}

// CreateSegment stores a new segment. ECONFLICT if the key is taken;
// EINVALID for a condition GrowthBook's parser refuses.
func (s *Store) CreateSegment(ctx context.Context, seg *refx.Segment) error {
	if err := parseCondition(seg.Condition); err != nil {
		return err
	}
	return s.changeFlags(ctx, "CreateSegment", func(st *flagState) (flagChange, error) {
		if st.Segments[seg.Key] != nil {
			return flagChange{}, refx.Errorf(refx.ECONFLICT, "segment %s already exists", seg.Key)
		}
		st.Segments[seg.Key] = seg
		put, err := s.putSegment(seg)
		return flagChange{put, refx.AuditSegment, seg.Key, "create", nil, seg}, err
	})
}

// Segment reads one segment consistently. ENOTFOUND.
func (s *Store) Segment(ctx context.Context, key string) (*refx.Segment, error) {
	var it item.Segment
	found, err := s.getItem(ctx, "Segment", segmentKey(key), &it)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, refx.Errorf(refx.ENOTFOUND, "segment %s not found", key)
	}
	return segmentOf(it), nil
}

// Segments returns every segment, by key.
func (s *Store) Segments(ctx context.Context) ([]*refx.Segment, error) {
	st, err := s.readFlags(ctx, "Segments")
	if err != nil {
		return nil, err
	}
	return sortedValues(st.Segments), nil
}

// UpdateSegment applies a patch if its version is current; the payloads of
// the flags using the segment change with it. ENOTFOUND, ECONFLICT.
func (s *Store) UpdateSegment(ctx context.Context, key string, p refx.SegmentPatch) (*refx.Segment, error) {
	var next *refx.Segment
	err := s.changeFlags(ctx, "UpdateSegment", func(st *flagState) (flagChange, error) {
		current := st.Segments[key]
		if current == nil {
			return flagChange{}, refx.Errorf(refx.ENOTFOUND, "segment %s not found", key)
		}
		var err error
		if next, err = current.Apply(p, s.opts.Now()); err != nil {
			return flagChange{}, err
		}
		if err := parseCondition(next.Condition); err != nil {
			return flagChange{}, err
		}
		st.Segments[key] = next
		put, err := s.putSegment(next)
		return flagChange{put, refx.AuditSegment, key, "update", current, next}, err
	})
	if err != nil {
		return nil, err
	}
	return next, nil
}

// DeleteSegment deletes a segment no rule names. ENOTFOUND, ECONFLICT.
func (s *Store) DeleteSegment(ctx context.Context, key string) error {
	return s.changeFlags(ctx, "DeleteSegment", func(st *flagState) (flagChange, error) {
		current := st.Segments[key]
		if current == nil {
			return flagChange{}, refx.Errorf(refx.ENOTFOUND, "segment %s not found", key)
		}
		if users := st.SegmentUsers(key); len(users) > 0 {
			return flagChange{}, refx.Errorf(refx.ECONFLICT, "segment %s is used by the rules of %s: remove it from them first", key, strings.Join(users, ", "))
		}
		delete(st.Segments, key)
		return flagChange{deleteItem(s.table, segmentKey(key)), refx.AuditSegment, key, "delete", current, nil}, nil
	})
}

// FlagPayload reads an environment's payload, eventually consistent: half
// the read's cost, and a change is visible within a second or so, well
// inside the 10 seconds flags promise. The running holdouts with flags
// come with it (FlagHoldouts), so that the SDK routes, which cache what
// this returns, hold their users out with no read of their own. ENOTFOUND
// before any flag change.
func (s *Store) FlagPayload(ctx context.Context, env string) (*refx.FlagPayload, error) {
	var it item.FlagPayload
	found, err := s.readItem(ctx, "FlagPayload", &dynamodb.GetItemInput{TableName: s.table, Key: flagPayloadKey(env).Attributes()}, &it)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, refx.Errorf(refx.ENOTFOUND, "environment %s has no flags", env)
	}
	var p refx.FlagPayload
	if err := json.Unmarshal([]byte(it.Payload), &p); err != nil {
		return nil, storeError("FlagPayload", err)
	}
	if p.Holdouts, err = s.FlagHoldouts(ctx); err != nil {
		return nil, err
	}
	return &p, nil
}

// LinkedExperiment reads an experiment through the instance's cache
// (Options.ExperimentCacheTTL), as Assign does. ENOTFOUND.
func (s *Store) LinkedExperiment(ctx context.Context, id string) (*refx.Experiment, error) {
	return s.cachedExperiment(ctx, id)
}

// checkFlag checks what a flag's own validation cannot: its conditions
// with GrowthBook's parser, and the experiments it links to. Every writer's
// flags pass here, so a condition that would never match is refused when
// it is saved, not found out in production.
func (s *Store) checkFlag(ctx context.Context, f *refx.Flag) error {
	if err := f.CheckConditions(parseCondition); err != nil {
		return err
	}
	return f.CheckLinks(ctx, s.Experiment)
}

func parseCondition(c json.RawMessage) error {
	_, err := growthbook.ParseCondition(c)
	return err
}

func (s *Store) putFlag(f *refx.Flag) (types.TransactWriteItem, error) {
	it := item.Flag{
		Key: flagKey(f.Key), Entity: entityFlag, FlagKey: f.Key, Description: f.Description, Owner: f.Owner,
		Kind: string(f.Kind), ValueType: string(f.ValueType), DefaultValue: string(f.DefaultValue),
		Environments: map[string]item.FlagEnvironment{}, Tags: f.Tags,
		Version: f.Version, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt,
	}
	for name, env := range f.Environments {
		rules, err := json.Marshal(env.Rules)
		if err != nil {
			return types.TransactWriteItem{}, err
		}
		it.Environments[name] = item.FlagEnvironment{Enabled: env.Enabled, Rules: string(rules)}
	}
	return putItem(s.table, it, nil)
}

func flagOf(it item.Flag) (*refx.Flag, error) {
	f := &refx.Flag{
		Key: it.FlagKey, Description: it.Description, Owner: it.Owner,
		Kind: refx.FlagKind(it.Kind), ValueType: refx.ValueType(it.ValueType), DefaultValue: json.RawMessage(it.DefaultValue),
		Environments: map[string]refx.FlagEnvironment{}, Tags: it.Tags,
		Version: it.Version, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
	}
	for name, env := range it.Environments {
		fe := refx.FlagEnvironment{Enabled: env.Enabled}
		if err := json.Unmarshal([]byte(env.Rules), &fe.Rules); err != nil {
			return nil, fmt.Errorf("flag %s, environment %s: %w", it.FlagKey, name, err)
		}
		f.Environments[name] = fe
	}
	return f, nil
}

func (s *Store) putSegment(seg *refx.Segment) (types.TransactWriteItem, error) {
	return putItem(s.table, item.Segment{
		Key: segmentKey(seg.Key), Entity: entitySegment, SegmentKey: seg.Key, Description: seg.Description,
		Condition: string(seg.Condition), Version: seg.Version, CreatedAt: seg.CreatedAt, UpdatedAt: seg.UpdatedAt,
	}, nil)
}

func segmentOf(it item.Segment) *refx.Segment {
	return &refx.Segment{
		Key: it.SegmentKey, Description: it.Description, Condition: json.RawMessage(it.Condition),
		Version: it.Version, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
	}
}

// sortedValues returns m's values in the order of their keys.
func sortedValues[V any](m map[string]V) []V {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]V, 0, len(m))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}
