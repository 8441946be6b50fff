package dynamo

import (
	"fmt"
	"hash/fnv"
	"time"
)

// Every key of the table is built here; schema/table.md documents them.
//
//	entity        pk                         sk                              gsi1pk        gsi1sk
//	experiment    EXP#<id>                   META                            EXPERIMENTS   <created_at>#<id>
//	conclusion    EXP#<id>                   CONCLUSION
//	assignment    USER#<user>                ASSIGN#<experiment>[#P<phase ≥ 2>]
//	event         EVENT#<event id>           EVENT                           USEREVENTS#<user>  <received_at>#<id>
//	refund        EVENT#<refunded event id>  REFUND                          USEREVENTS#<user>  <refunded_at>#<refunded id>#REFUND
//	conv. change  CONV#<user>                <phase scope>#GOAL#<goal>#<n> | <experiment>#REFERRAL#<n>  USEREVENTS#<user>  <changed_at>#CONV#<sk>
//	participants  COUNT#<experiment>[#P<phase ≥ 2>]#<shard> VARIANT#<variant>#PARTICIPANTS
//	goal counter  COUNT#<experiment>#<shard> VARIANT#<variant>#GOAL#<goal>
//	referral ctr  COUNT#<experiment>#<shard> VARIANT#<variant>#REFERRAL
//	channel ctr   COUNT#<experiment>#<shard> VARIANT#<variant>#CHANNEL#<channel>
//	referral code CODE#<code>                CODE
//	guard marker  CODE#<code>                IP#<hash> | DEVICE#<hash>
//	code pointer  USER#<referrer>            REFCODE#<experiment>
//	click         CLICK#<code>#<visitor>     CLICK
//	visitor seen  VISITOR#<visitor>          SEEN#<experiment>
//	attribution   USER#<referee>             ATTRIBUTION                     REFERRER#<referrer>  <attributed_at>#<referee>
//	refusal       USER#<referee>             REFUSED#<code>
//	lamed uuid    LAMED#<sha1(counter uuid)> UUID
//	lamed nspace  LAMEDNS#<namespace>        LIMITS
//	snapshot      SNAP#<experiment>          <period start, UTC, fixed width>
//	code totals   CODE#<code>                TOTALS
//	leader entry  CODE#<code>                LEADER#<by>                     (leaders: lbpk <experiment>#<by>, lbscore N)
//	velocity slot CODE#<code>                VEL#H#<hour>#<n> | VEL#D#<day>#<n>
//	agg. ledger   AGG#<anchor sequence>      LEDGER
//	watermark     AGGREGATE                  WATERMARK
//	agg. error    AGGERR#<day>               <sequence>
//	erasure       ERASURE#<sha256(user)>     ERASURE
//	api key       APIKEY#<key id>            APIKEY                          APIKEYS       <created_at>#<id>
//	flag          FLAGS                      FLAG#<key>
//	segment       FLAGS                      SEGMENT#<key>
//	flags version FLAGS                      META
//	flag payload  FLAGPAYLOAD#<environment>  PAYLOAD
//	audit entry   AUDIT#<resource>#<id>      <at>#<entry suffix>             AUDIT  <at>#<entry suffix>#<resource>#<id>
//	layer         LAYER#<id>                 LAYER                           LAYERS        <created_at>#<id>
//	reward        REWARD#<qualifying>        REFERRER | REFEREE              REWARDS#<status>  <hold_until (pending) | updated_at>#<id>
//	reward cap    REWARDCAP#<beneficiary>    SCOPE#EXP#<experiment> | SCOPE#PROGRAM#<program>
//	program       PROGRAM#<id>               PROGRAM                         PROGRAMS      <created_at>#<id>
//	program ctr   COUNT#PROGRAM#<program>    TOTALS
//	webhook       WEBHOOK#<id>               WEBHOOK                         WEBHOOKS      <created_at>#<id>
//	wh. delivery  WHDELIVERY#<webhook>#<event> <attempt, 3 digits>           WHLOG#<webhook>  <at>#<event>#<attempt>
//	block         BLOCK#<kind>#<id>          BLOCK                           BLOCKS        <created_at>#<kind>#<id>
//	review marker USER#<referee>             REVIEW                          REVIEW#<experiment>  <attributed_at>#<referee>
//	review decis. USER#<referee>             DECISION#<approve|reject>
const (
	experimentPrefix   = "EXP#"
	experimentSK       = "META"
	conclusionSK       = "CONCLUSION"
	experimentListPK   = "EXPERIMENTS"
	userPrefix         = "USER#"
	assignmentPrefix   = "ASSIGN#"
	eventPrefix        = "EVENT#"
	eventSK            = "EVENT"
	refundSK           = "REFUND"
	conversionPrefix   = "CONV#"
	counterPrefix      = "COUNT#"
	variantPrefix      = "VARIANT#"
	phaseInfix         = "#P"
	participantsInfix  = "#PARTICIPANTS"
	goalInfix          = "#GOAL#"
	ratioInfix         = "#RATIO#"
	referralSuffix     = "#REFERRAL"
	codePrefix         = "CODE#"
	codeSK             = "CODE"
	ipMarkerPrefix     = "IP#"
	deviceMarkerPrefix = "DEVICE#"
	codePointerPrefix  = "REFCODE#"
	clickPrefix        = "CLICK#"
	clickSK            = "CLICK"
	visitorPrefix      = "VISITOR#"
	seenPrefix         = "SEEN#"
	attributionSK      = "ATTRIBUTION"
	referrerPrefix     = "REFERRER#"
	refusalPrefix      = "REFUSED#"
	lamedPrefix        = "LAMED#"
	lamedSK            = "UUID"
	lamedNSPrefix      = "LAMEDNS#"
	lamedNSSK          = "LIMITS"
	snapshotPrefix     = "SNAP#"
	codeTotalsSK       = "TOTALS"
	leaderPrefix       = "LEADER#"
	channelInfix       = "#CHANNEL#"
	velocityPrefix     = "VEL#"
	// The aggregator's own items.
	aggregateLedgerPrefix = "AGG#"
	aggregateLedgerSK     = "LEDGER"
	aggregateErrorPrefix  = "AGGERR#"
	userEventsPrefix      = "USEREVENTS#"
	erasurePrefix         = "ERASURE#"
	erasureSK             = "ERASURE"
	apiKeyPrefix          = "APIKEY#"
	apiKeySK              = "APIKEY"
	apiKeyListPK          = "APIKEYS"
	// Flags and segments share one partition, so that one consistent
	// query reads all of them and the version that orders their changes.
	flagsPK           = "FLAGS"
	flagPrefix        = "FLAG#"
	segmentPrefix     = "SEGMENT#"
	flagPayloadPrefix = "FLAGPAYLOAD#"
	flagPayloadSK     = "PAYLOAD"
	auditPrefix       = "AUDIT#"
	layerPrefix       = "LAYER#"
	layerSK           = "LAYER"
	layerListPK       = "LAYERS"
	flagHoldoutsPK    = "FLAGHOLDOUTS"
	rewardPrefix      = "REWARD#"
	rewardListPrefix  = "REWARDS#"
	rewardCapPrefix   = "REWARDCAP#"
	rewardScopePrefix = "SCOPE#"
	programPrefix     = "PROGRAM#"
	programSK         = "PROGRAM"
	programListPK     = "PROGRAMS"
	webhookPrefix     = "WEBHOOK#"
	webhookSK         = "WEBHOOK"
	webhookListPK     = "WEBHOOKS"
	deliveryPrefix    = "WHDELIVERY#"
	deliveryLogPrefix = "WHLOG#"
	blockPrefix       = "BLOCK#"
	blockSK           = "BLOCK"
	blockListPK       = "BLOCKS"
	reviewSK          = "REVIEW"
	reviewListPrefix  = "REVIEW#"
	decisionPrefix    = "DECISION#"
)

// watermarkKey is the one item saying up to when changes are counted.
var watermarkKey = itemKey{PK: "AGGREGATE", SK: "WATERMARK"}

// timeSKLayout is the fixed-width UTC layout of times in sort keys.
const timeSKLayout = "2006-01-02T15:04:05.000000Z"

func apiKeyKey(id string) itemKey { return itemKey{PK: apiKeyPrefix + id, SK: apiKeySK} }

func flagKey(key string) itemKey { return itemKey{PK: flagsPK, SK: flagPrefix + key} }

func segmentKey(key string) itemKey { return itemKey{PK: flagsPK, SK: segmentPrefix + key} }

var flagsMetaKey = itemKey{PK: flagsPK, SK: "META"}

// flagPayloadKey is an environment's payload: its own partition, read by
// every SDK request of the environment, written by flag changes only.
func flagPayloadKey(env string) itemKey {
	return itemKey{PK: flagPayloadPrefix + env, SK: flagPayloadSK}
}

// auditKey is an audit entry: its resource's partition holds the
// resource's history in order, the entry id (time and a random suffix)
// sorting it.
func auditKey(resource, id, entryID string) itemKey {
	return itemKey{PK: auditResourcePK(resource, id), SK: entryID}
}

func auditResourcePK(resource, id string) string { return auditPrefix + resource + "#" + id }

// auditListPK lists every entry on gsi1, newest first: admin changes are
// few (people make them), so one partition holds them without heat.
const auditListPK = "AUDIT"

func auditListSK(resource, id, entryID string) string { return entryID + "#" + resource + "#" + id }

// layerKey is a layer: its own partition, written by its edits and by the
// starts and ends of its experiments (people's requests: no heat).
func layerKey(id string) itemKey { return itemKey{PK: layerPrefix + id, SK: layerSK} }

// flagHoldoutKey is a running holdout with flags: one partition holds them
// all, read once per SDK payload refresh of an instance, written only by
// holdouts' starts and ends.
func flagHoldoutKey(id string) itemKey { return itemKey{PK: flagHoldoutsPK, SK: id} }

// webhookKey is a subscription: its own item, listed on gsi1's WEBHOOKS
// partition, which the stream reactor and the delivery worker read whole
// through a short cache; people write it, so it has no heat.
func webhookKey(id string) itemKey { return itemKey{PK: webhookPrefix + id, SK: webhookSK} }

// deliveryKey is one attempt to deliver an event to a subscription: the
// attempt number makes a redelivered message's retry a new item and the
// same attempt logged twice one item.
func deliveryKey(webhook, event string, attempt int) itemKey {
	return itemKey{PK: deliveryPrefix + webhook + "#" + event, SK: fmt.Sprintf("%03d", attempt)}
}

// deliveryLogPK is a subscription's delivery log on gsi1, newest first by
// deliveryLogSK (the attempt's time, fixed width).
func deliveryLogPK(webhook string) string { return deliveryLogPrefix + webhook }

func deliveryLogSK(at time.Time, event string, attempt int) string {
	return fmt.Sprintf("%s#%s#%03d", timeSK(at), event, attempt)
}

// blockKey is a block of a code or a referrer (kind code|referrer): its
// own item, read by the click and signup paths through the block cache,
// written by admins only.
func blockKey(kind, id string) itemKey {
	return itemKey{PK: blockPrefix + kind + "#" + id, SK: blockSK}
}

// blockListSK orders the blocks on gsi1's BLOCKS partition, newest last;
// blocks are few (people make them), so one partition holds them.
func blockListSK(createdAt time.Time, kind, id string) string {
	return timeSK(createdAt) + "#" + kind + "#" + id
}

// programKey is a program: its own partition, read by the codes of its
// ended experiments, written by its edits and its experiments' conclusions.
func programKey(id string) itemKey { return itemKey{PK: programPrefix + id, SK: programSK} }

// programCounterKey holds a program's totals after its experiments ended.
// Only the aggregator writes it, one ADD per batch, so one item suffices;
// an experiment id is lowercase, so no experiment's counter is
// "COUNT#PROGRAM#…".
func programCounterKey(program string) itemKey {
	return itemKey{PK: counterPrefix + programSK + "#" + program, SK: codeTotalsSK}
}

// rewardKey is the reward of role (refx.RewardReferrer or RewardReferee)
// for a qualifying signup or event (refx.SignupQualifying,
// EventQualifying): deterministic, so that a redelivered stream record
// puts the same item, which exists already.
func rewardKey(qualifying, role string) itemKey {
	sk := "REFEREE"
	if role == "referrer" {
		sk = "REFERRER"
	}
	return itemKey{PK: rewardPrefix + qualifying, SK: sk}
}

// rewardListPK lists the rewards of a status on gsi1. A pending reward
// sorts by the end of its hold (rewardListSK), so the holds to release are
// one range query; the others by their last change (at). Only the aggregator's
// reactor and people's moves write rewards: no request-path heat.
func rewardListPK(status string) string { return rewardListPrefix + status }

func rewardListSK(at time.Time, id string) string { return timeSK(at) + "#" + id }

// rewardCapKey is a beneficiary's reward counts and totals in one cap
// scope (an experiment, or the program it runs for): their own item, in
// their own partition, so that the caps are one conditional ADD and what
// they earned in every scope (RewardsEarned) one query.
func rewardCapKey(beneficiary, scope string) itemKey {
	return itemKey{PK: rewardCapPrefix + beneficiary, SK: rewardScopePrefix + scope}
}

// reviewMarkerKey lists a flagged referee in the review queue: the
// referee's own item, so flagging writes nothing shared; its gsi1
// partition, reviewListPK, is the experiment's queue.
func reviewMarkerKey(referee string) itemKey { return itemKey{PK: userPK(referee), SK: reviewSK} }

func reviewListPK(experiment string) string { return reviewListPrefix + experiment }

// decisionKey is a review decision on referee's attribution: one per
// referee and decision, so a retried decision cannot count twice.
func decisionKey(referee, decision string) itemKey {
	return itemKey{PK: userPK(referee), SK: decisionPrefix + decision}
}

func experimentKey(id string) itemKey { return itemKey{PK: experimentPrefix + id, SK: experimentSK} }

// conclusionKey is an experiment's conclusion, beside its item: written
// once, read by GET /v1/experiments/{id}/conclusion.
func conclusionKey(id string) itemKey { return itemKey{PK: experimentPrefix + id, SK: conclusionSK} }

// lamedNamespaceKey counts a Lamed namespace's experiments against its
// quota. Only creating and deleting an experiment write it.
func lamedNamespaceKey(namespace string) itemKey {
	return itemKey{PK: lamedNSPrefix + namespace, SK: lamedNSSK}
}

// timeSK formats a time for a sort key: fixed width, UTC, so that it sorts
// as a string.
func timeSK(t time.Time) string { return t.UTC().Format(timeSKLayout) }

// experimentListSK orders the listing newest first when read backwards; the
// fixed-width UTC timestamp sorts as a string.
func experimentListSK(createdAt time.Time, id string) string {
	return timeSK(createdAt) + "#" + id
}

func userPK(user string) string { return userPrefix + user }

// phaseScope names what a phase of an experiment counts under: the
// experiment itself for phase 1 (0 on items written before phases
// existed), so that their keys are unchanged, and <experiment>#P<n> after.
// An experiment id is a slug without '#', so no scope is another's.
func phaseScope(experiment string, phase int) string {
	if phase <= 1 {
		return experiment
	}
	return fmt.Sprintf("%s%s%d", experiment, phaseInfix, phase)
}

// assignmentKey is a user's enrolment in a phase of experiment: each phase
// enrols afresh, on the user's own new item, which holds their state in it.
func assignmentKey(user, experiment string, phase int) itemKey {
	return itemKey{PK: userPK(user), SK: assignmentPrefix + phaseScope(experiment, phase)}
}

func eventKey(id string) itemKey { return itemKey{PK: eventPrefix + id, SK: eventSK} }

// refundKey marks an event refunded, beside it in the event's partition:
// keyed by the refunded event, not by the refund, so that of any number of
// refunds of one event a single put succeeds.
func refundKey(eventID string) itemKey { return itemKey{PK: eventPrefix + eventID, SK: refundSK} }

// refundIndexSK files a refund among its user's events on gsi1.
func refundIndexSK(refundedAt time.Time, eventID string) string {
	return userEventsSK(refundedAt, eventID) + "#" + refundSK
}

// conversionChangeKey is the n-th change, made by refunds, of whether a
// user counts as converted in scope (goalConversionScope or
// referralConversionScope): the number is the state's version, so each
// change is put once. Fixed width, so a user's changes sort in order.
func conversionChangeKey(user, scope string, n int) itemKey {
	return itemKey{PK: conversionPrefix + user, SK: fmt.Sprintf("%s#%08d", scope, n)}
}

// goalConversionScope is a user's conversion on a goal in a phase of an
// experiment; referralConversionScope their conversion as a referee.
func goalConversionScope(experiment string, phase int, goal string) string {
	return phaseScope(experiment, phase) + goalInfix + goal
}

func referralConversionScope(experiment string) string { return experiment + referralSuffix }

// userEventsPK is the sparse gsi1 partition of a user's events and
// refunds: erasing the user queries it, and a refund, for the user's
// events of its goal.
func userEventsPK(user string) string { return userEventsPrefix + user }

// userEventsSK orders a user's events by reception; the id keeps events
// received in the same microsecond apart.
func userEventsSK(receivedAt time.Time, id string) string { return timeSK(receivedAt) + "#" + id }

// erasureKey names an erased user by hash (refx.ErasureHash), never by id.
func erasureKey(userHash string) itemKey { return itemKey{PK: erasurePrefix + userHash, SK: erasureSK} }

// counterPK is the partition of one shard of a phase's counters (scope,
// phaseScope). The shard lives in the partition key so that a hot
// experiment's writes spread over shards partitions.
func counterPK(scope string, shard int) string {
	return fmt.Sprintf("%s%s#%03d", counterPrefix, scope, shard)
}

func participantsKey(scope string, shard int, variant string) itemKey {
	return itemKey{PK: counterPK(scope, shard), SK: variantPrefix + variant + participantsInfix}
}

func goalKey(scope string, shard int, variant, goal string) itemKey {
	return itemKey{PK: counterPK(scope, shard), SK: variantPrefix + variant + goalInfix + goal}
}

// ratioCounterKey holds a ratio metric's Σ over participants of
// numerator·denominator; the other sums are its goals'.
func ratioCounterKey(scope string, shard int, variant, ratio string) itemKey {
	return itemKey{PK: counterPK(scope, shard), SK: variantPrefix + variant + ratioInfix + ratio}
}

func referralCounterKey(scope string, shard int, variant string) itemKey {
	return itemKey{PK: counterPK(scope, shard), SK: variantPrefix + variant + referralSuffix}
}

func codeKey(code string) itemKey { return itemKey{PK: codePrefix + code, SK: codeSK} }

// channelCounterKey counts a variant's referral funnel through one channel
// (a closed set: refx.Channels), beside its referral counter.
func channelCounterKey(scope string, shard int, variant, channel string) itemKey {
	return itemKey{PK: counterPK(scope, shard), SK: variantPrefix + variant + channelInfix + channel}
}

// leaderKey is a code's entry in its experiment's leaderboard by one
// total: the aggregator ADDs to its numeric lbscore, which sorts the
// leaders index's partition lbpk = leaderPK(experiment, by).
func leaderKey(code, by string) itemKey { return itemKey{PK: codePrefix + code, SK: leaderPrefix + by} }

func leaderPK(experiment, by string) string { return experiment + "#" + by }

// codeTotalsKey holds a code's running totals, which only the aggregator
// writes: the per-referrer sums of squares are derived from their changes.
func codeTotalsKey(code string) itemKey { return itemKey{PK: codePrefix + code, SK: codeTotalsSK} }

// velocitySlotKey is the n-th signup through a code in a velocity window
// (window "H#<yyyymmddhh>" or "D#<yyyymmdd>"): claiming slot n is a
// put-if-absent, so the n-th signup is exact under concurrency.
func velocitySlotKey(code, window string, n int) itemKey {
	return itemKey{PK: codePrefix + code, SK: fmt.Sprintf("%s%s#%04d", velocityPrefix, window, n)}
}

func aggregateErrorPK(day time.Time) string {
	return aggregateErrorPrefix + day.UTC().Format("2006-01-02")
}

func aggregateErrorKey(at time.Time, seq string) itemKey {
	return itemKey{PK: aggregateErrorPK(at), SK: seq}
}

func ipMarkerKey(code, hash string) itemKey {
	return itemKey{PK: codePrefix + code, SK: ipMarkerPrefix + hash}
}

func deviceMarkerKey(code, hash string) itemKey {
	return itemKey{PK: codePrefix + code, SK: deviceMarkerPrefix + hash}
}

func codePointerKey(referrer, experiment string) itemKey {
	return itemKey{PK: userPK(referrer), SK: codePointerPrefix + experiment}
}

func clickKey(code, visitor string) itemKey {
	return itemKey{PK: clickPrefix + code + "#" + visitor, SK: clickSK}
}

func visitorSeenKey(visitor, experiment string) itemKey {
	return itemKey{PK: visitorPrefix + visitor, SK: seenPrefix + experiment}
}

func attributionKey(referee string) itemKey { return itemKey{PK: userPK(referee), SK: attributionSK} }

func referrerPK(referrer string) string { return referrerPrefix + referrer }

// referrerListSK orders a referrer's referees by attribution time.
func referrerListSK(at time.Time, referee string) string { return timeSK(at) + "#" + referee }

func refusalKey(referee, code string) itemKey {
	return itemKey{PK: userPK(referee), SK: refusalPrefix + code}
}

func snapshotPK(experiment string) string { return snapshotPrefix + experiment }

// snapshotKey is the snapshot of the period starting at period: one item
// per experiment and period, so that taking it again replaces it.
func snapshotKey(experiment string, period time.Time) itemKey {
	return itemKey{PK: snapshotPK(experiment), SK: timeSK(period)}
}

// shardOf picks a counter shard from a stable string (an event id, a user),
// so that a retried write lands on the shard it landed on before.
func shardOf(s string, shards int) int {
	h := fnv.New32a()
	h.Write([]byte(s))
	return int(h.Sum32() % uint32(shards))
}
