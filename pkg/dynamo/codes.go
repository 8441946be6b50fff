package dynamo

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/refx"
	"github.com/refx-dev/refx/pkg/stream"
)

// Codes: vanity codes, expiry, channels, per-code stats and leaderboards
// (schema/table.md, "Codes and channels").

var _ refx.CodeService = (*Store)(nil)

// entityLeader marks a code's leaderboard entries (leaderKey).
const entityLeader = "leader"

// CreateCode returns the referrer's code, creating it (a vanity code when
// req.Code is set) on the first call.
func (s *Store) CreateCode(ctx context.Context, req refx.CodeRequest) (*refx.ReferralLink, error) {
	if req.ExpiresAt != nil {
		return nil, refx.FieldErrorf("expires_at", "is set by admins only (POST /v1/codes)")
	}
	return s.createCode(ctx, req, false)
}

// IssueCode is CreateCode by an admin, written with its audit entry.
func (s *Store) IssueCode(ctx context.Context, req refx.CodeRequest) (*refx.ReferralLink, error) {
	return s.createCode(ctx, req, true)
}

// createCode assigns the referrer like any user, then puts the code and
// the referrer's pointer to it, each if absent, in one transaction (with
// the audit entry when audited). Both items are new, keyed by the code and
// by the referrer: nothing shared is written, and the aggregator counts
// the referrer from the code's insert. A vanity code is exact under
// concurrency through its put-if-absent: of two referrers asking for it,
// one transaction commits and the other's condition fails (code_taken). A
// referrer who already has a code gets theirs, whatever they asked for:
// one code per referrer and experiment.
func (s *Store) createCode(ctx context.Context, req refx.CodeRequest, audited bool) (*refx.ReferralLink, error) {
	exp, err := s.cachedExperiment(ctx, req.Experiment)
	if err != nil {
		return nil, err
	}
	if exp.Referral == nil {
		return nil, refx.Errorf(refx.ECONFLICT, "experiment %s is not a referral experiment", exp.ID)
	}
	if p, err := s.codePointer(ctx, req.Referrer, exp.ID); err != nil || p != nil {
		return linkOf(exp, p), err
	}
	a, err := s.Assign(ctx, exp.ID, req.Referrer, nil) // referral experiments have no audience
	if err != nil {
		return nil, err
	}
	if a.AssignedAt == nil && exp.Status != refx.StatusRunning {
		return nil, refx.Errorf(refx.ECONFLICT, "experiment %s is %s: no new referral links", exp.ID, exp.Status)
	}
	for attempt := 0; attempt < maxCodeCollisions; attempt++ {
		now := s.opts.Now().UTC()
		code := req.Code
		if code == "" {
			code = refx.NewCode()
		}
		token := newStatsToken()
		rc := referralCode{
			Code: code, Experiment: exp.ID, Referrer: req.Referrer, Variant: a.Variant, Counted: a.InExperiment,
			CreatedAt: now, UserExpiry: s.userExpiry(now),
			Vanity: req.Code != "", ExpiresAt: req.ExpiresAt, StatsDigest: statsDigest(token),
			IPHash: req.IPHash, DeviceHash: req.DeviceHash, EmailHash: req.EmailHash,
		}
		p := pointerItem{Key: codePointerKey(req.Referrer, exp.ID), Entity: entityPointer, ReferralCode: rc}
		codePut, err := putIfAbsent(s.table, codeItem{Key: codeKey(code), Entity: entityReferral, ReferralCode: rc})
		if err != nil {
			return nil, storeError("CreateCode", err)
		}
		pointerPut, err := putIfAbsent(s.table, p)
		if err != nil {
			return nil, storeError("CreateCode", err)
		}
		items := []types.TransactWriteItem{codePut, pointerPut}
		link := linkOf(exp, &p)
		if audited {
			entry, err := s.auditPut(ctx, refx.AuditCode, code, "create", nil, link)
			if err != nil {
				return nil, storeError("CreateCode", err)
			}
			items = append(items, entry)
		}
		err = s.transact(ctx, "CreateCode", items)
		reasons := cancellationReasons(err)
		switch {
		case err == nil:
			link.StatsToken = token
			return link, nil
		case conditionFailed(reasons, 1):
			// A concurrent first call created the referrer's code.
			stored, err := s.codePointer(ctx, req.Referrer, exp.ID)
			return linkOf(exp, stored), err
		case conditionFailed(reasons, 0) && req.Code != "":
			return nil, refx.CodeTakenError(code)
		case conditionFailed(reasons, 0):
			continue // random code collision: draw another
		default:
			return nil, storeError("CreateCode", err)
		}
	}
	return nil, refx.Errorf(refx.EUNAVAILABLE, "could not draw a free referral code; try again")
}

// newStatsToken is a code's stats token: 128 random bits, url-safe.
func newStatsToken() string {
	var b [16]byte
	rand.Read(b[:])
	return "rst_" + base64.RawURLEncoding.EncodeToString(b[:])
}

func statsDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// codeExpired reports whether code c of exp has expired at now.
func (s *Store) codeExpired(c *codeItem, exp *refx.Experiment) bool {
	end := refx.CodeExpiry(c.CreatedAt, c.ExpiresAt, exp.Referral)
	return end != nil && !s.opts.Now().Before(*end)
}

// CodeStats reads a code and its totals (two items, one batch). The token
// is compared with the code's stored digest in constant time.
func (s *Store) CodeStats(ctx context.Context, code string, access refx.StatsAccess) (*refx.CodeStats, error) {
	if !access.Trusted && access.Token == "" {
		return nil, refx.Errorf(refx.EUNAUTHORIZED, "the code's stats token is required (Authorization: Bearer <stats_token>)")
	}
	got, err := s.batchGet(ctx, "CodeStats", false, codeKey(code), codeTotalsKey(code))
	if err != nil {
		return nil, err
	}
	var c codeItem
	if av := got[codeKey(code)]; av == nil {
		if !access.Trusted {
			// The same answer as a wrong token: a token says nothing
			// about which codes exist.
			return nil, refx.Errorf(refx.EFORBIDDEN, "the stats token does not match the code")
		}
		return nil, refx.Errorf(refx.ENOTFOUND, "referral code %s not found", code)
	} else if err := attributevalue.UnmarshalMap(av, &c); err != nil {
		return nil, storeError("CodeStats", err)
	}
	if !access.Trusted && (c.StatsDigest == "" ||
		subtle.ConstantTimeCompare([]byte(statsDigest(access.Token)), []byte(c.StatsDigest)) != 1) {
		return nil, refx.Errorf(refx.EFORBIDDEN, "the stats token does not match the code")
	}
	totals := decimalCounts{}
	if av := got[codeTotalsKey(code)]; av != nil {
		totals.add(av)
	}
	st := &refx.CodeStats{
		Code: c.Code, Experiment: c.Experiment, Variant: c.Variant, Referrer: c.Referrer,
		Clicks: totals.int("clicks"), Signups: totals.int("signups"), Conversions: totals.int("conversions"),
		Value: totals.decimal("value"), Channels: map[string]refx.ChannelCounts{},
	}
	for name := range totals {
		if ch, _, ok := cutChannelAttr(name); ok {
			st.Channels[ch] = channelCountsOf(totals, channelAttrPrefix+ch+"_")
		}
	}
	if exp, err := s.cachedExperiment(ctx, c.Experiment); err == nil {
		st.ExpiresAt = refx.CodeExpiry(c.CreatedAt, c.ExpiresAt, exp.Referral)
	}
	if st.Rewards, err = s.RewardsEarned(ctx, c.Referrer); err != nil {
		return nil, err
	}
	if st.Rewards == nil {
		st.Rewards = []refx.RewardTotal{}
	}
	return st, nil
}

// Leaderboard queries the leaders index's partition of the experiment and
// total, highest first: limit entries read, then their codes and totals in
// one batch. No request scans the experiment's codes.
func (s *Store) Leaderboard(ctx context.Context, experiment, by string, limit int) (*refx.Leaderboard, error) {
	if !slices.Contains(refx.LeaderBys, by) {
		return nil, refx.FieldErrorf("by", "must be one of %s", strings.Join(refx.LeaderBys, ", "))
	}
	if limit < 1 || limit > refx.MaxLeaderboard {
		return nil, refx.FieldErrorf("limit", "must be between 1 and %d", refx.MaxLeaderboard)
	}
	exp, err := s.cachedExperiment(ctx, experiment)
	if err != nil {
		return nil, err
	}
	keys, err := expression.NewBuilder().
		WithKeyCondition(expression.Key(AttrLeaderPK).Equal(expression.Value(leaderPK(exp.ID, by)))).Build()
	if err != nil {
		return nil, storeError("Leaderboard", err)
	}
	in := &dynamodb.QueryInput{
		TableName: s.table, IndexName: aws.String(IndexLeaders),
		KeyConditionExpression: keys.KeyCondition(), ExpressionAttributeNames: keys.Names(), ExpressionAttributeValues: keys.Values(),
		ScanIndexForward: aws.Bool(false), Limit: aws.Int32(int32(limit)),
	}
	var out *dynamodb.QueryOutput
	err = s.retry(ctx, "Leaderboard", func() (err error) {
		out, err = s.client.Query(ctx, in)
		return err
	})
	if err != nil {
		return nil, storeError("Leaderboard", err)
	}
	board := &refx.Leaderboard{Experiment: exp.ID, By: by, Entries: []refx.LeaderboardEntry{}}
	if len(out.Items) == 0 {
		return board, nil
	}
	var codes []string
	var want []itemKey
	for _, av := range out.Items {
		code := strings.TrimPrefix(stream.StringAttr(av, AttrPK), codePrefix)
		codes = append(codes, code)
		want = append(want, codeKey(code), codeTotalsKey(code))
	}
	got, err := s.batchGet(ctx, "Leaderboard", false, want...)
	if err != nil {
		return nil, err
	}
	for _, code := range codes {
		var c codeItem
		av := got[codeKey(code)]
		if av == nil {
			continue // its referrer was erased
		}
		if err := attributevalue.UnmarshalMap(av, &c); err != nil {
			return nil, storeError("Leaderboard", err)
		}
		totals := decimalCounts{}
		if av := got[codeTotalsKey(code)]; av != nil {
			totals.add(av)
		}
		board.Entries = append(board.Entries, refx.LeaderboardEntry{
			Rank: len(board.Entries) + 1, Referrer: c.Referrer, Code: code, Variant: c.Variant,
			Clicks: totals.int("clicks"), Signups: totals.int("signups"), Conversions: totals.int("conversions"),
			Value: totals.decimal("value"),
		})
	}
	return board, nil
}

// The aggregator's side: a code's totals carry per channel the attributes
// ch_<channel>_<clicks|signups|conversions|value>, and its leader entries
// the totals a leaderboard orders by.

const channelAttrPrefix = "ch_"

var channelMetrics = []string{"clicks", "signups", "conversions", "value"}

// cutChannelAttr splits ch_<channel>_<metric>.
func cutChannelAttr(name string) (channel, metric string, ok bool) {
	rest, ok := strings.CutPrefix(name, channelAttrPrefix)
	if !ok {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '_')
	if i <= 0 || !slices.Contains(channelMetrics, rest[i+1:]) {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}

func channelCountsOf(d decimalCounts, prefix string) refx.ChannelCounts {
	return refx.ChannelCounts{
		Clicks: d.int(prefix + "clicks"), Signups: d.int(prefix + "signups"),
		Conversions: d.int(prefix + "conversions"), Value: d.decimal(prefix + "value"),
	}
}

// channelOrDirect is the channel of an item written before channels were
// recorded: its link carried none.
func channelOrDirect(channel string) string {
	if channel == "" {
		return refx.ChannelDirect
	}
	return channel
}

// funnel adds to a code's funnel through channel: its variant's channel
// counter, its totals' channel attributes, and the leader entries of the
// totals a leaderboard orders by. totals is the code's totals change the
// caller adds the code's own counts to.
func (d *deltaSet) funnel(exp *refx.Experiment, totals *counterChange, code, variant, channel, metric string, r *big.Rat) {
	d.change(channelCounterKey(exp.ID, d.slot(exp), variant, channel),
		map[string]string{"entity": entityCounter, "experiment": exp.ID, "variant": variant, "channel": channel}).addTo(metric, r)
	totals.addTo(channelAttrPrefix+channel+"_"+metric, r)
	if slices.Contains(refx.LeaderBys, metric) {
		d.change(leaderKey(code, metric), map[string]string{
			"entity": entityLeader, "code": code, "experiment": exp.ID, AttrLeaderPK: leaderPK(exp.ID, metric),
		}).addTo(AttrLeaderScore, r)
	}
}

// channelSums adds up a variant's channel counters.
type channelSums map[string]decimalCounts

func (c channelSums) add(av map[string]types.AttributeValue) {
	ch := stream.StringAttr(av, "channel")
	if ch == "" {
		return
	}
	if c[ch] == nil {
		c[ch] = decimalCounts{}
	}
	c[ch].add(av)
}

func (c channelSums) counts() map[string]refx.ChannelCounts {
	out := make(map[string]refx.ChannelCounts, len(c))
	for ch, d := range c {
		out[ch] = channelCountsOf(d, "")
	}
	return out
}
