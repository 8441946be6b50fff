package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/item"
	"github.com/refx-dev/refx/pkg/stream"
)

// A Decoder turns one stream record of an entity into rows. Changes that are
// not business events (deletions, TTL expiry, derived updates) give no rows;
// a record it cannot decode gives an error, and the record lands in
// export_errors with that reason.
type Decoder func(r *stream.Record) ([]Row, error)

// Skip is the decoder of entities that are not exported: their records give
// no rows.
func Skip(*stream.Record) ([]Row, error) { return nil, nil }

// entityAttr names the attribute every item carries (schema/table.md).
const entityAttr = "entity"

// decoders maps an item's entity attribute to its decoder. Exporting a new
// entity is one entry here, its row type and table in rows.go, and its DDL
// in schema/athena/tables (TestDDLMatchesParquet holds the two together). Records of an entity missing here land in
// export_errors, so a new entity is noticed rather than dropped.
var decoders = map[string]Decoder{
	"experiment":  decodeExperiment,
	"assignment":  decodeAssignment,
	"event":       decodeEvent,
	"referral":    decodeReferral,
	"click":       decodeClick,
	"attribution": decodeAttribution,
	"refusal":     decodeRefusal,
	"erasure":     decodeErasure,
	"audit":       decodeAudit,
	"refund":      decodeRefund,
	// Derived state and indexes: counters and code totals are sums of the
	// rows above and snapshots copies of them, the aggregator's ledgers,
	// watermark and error records are its bookkeeping, a pointer finds a
	// referrer's code, visitor and guard markers and velocity slots remember
	// what the guards have seen, a lamed_uuid is an idempotency key of the
	// lamed import.
	"counter":     Skip,
	"code_totals": Skip,
	// A code's leaderboard entries copy its totals.
	"leader":              Skip,
	"aggregate_ledger":    Skip,
	"aggregate_watermark": Skip,
	"aggregate_error":     Skip,
	"velocity_slot":       Skip,
	"snapshot":            Skip,
	"referral_pointer":    Skip,
	"visitor":             Skip,
	"guard_marker":        Skip,
	"lamed_uuid":          Skip,
	// A namespace's count of Lamed experiments, against its quota.
	"lamed_namespace": Skip,
	// A conversion change (a refund's taking back, or giving back, a
	// user's conversion) follows from the events and refunds rows.
	"conversion_change": Skip,
	// An API key's digest is a credential, not data to analyse.
	"api_key": Skip,
	// A conclusion's frozen results copy counts the rows above hold; its
	// decision is also on the experiment's item.
	"experiment_conclusion": Skip,
	// Flags and segments are configuration, and the payloads and the
	// flags' version are derived from them.
	"flag":         Skip,
	"segment":      Skip,
	"flags_meta":   Skip,
	"flag_payload": Skip,
	// A running holdout with flags, a copy of the holdout's own item.
	"flag_holdout": Skip,
	// A webhook subscription holds its signing secret; its delivery log
	// is operations, kept 30 days.
	"webhook":          Skip,
	"webhook_delivery": Skip,
	// Configuration, each change of which has its audit entry (exported
	// as audit rows): layers, programs, blocks.
	"layer":   Skip,
	"program": Skip,
	"block":   Skip,
	// A review marker lists a flagged attribution awaiting its decision,
	// and the decision's outcome is on the attribution's rows.
	"review_marker":   Skip,
	"review_decision": Skip,
	// The rewards ledger has no Parquet table yet (GET /v1/rewards reads
	// it); a cap item only sums rewards.
	"reward":     Skip,
	"reward_cap": Skip,
}

// decode finds the record's decoder by entity and runs it.
func decode(r *stream.Record) ([]Row, error) {
	image := r.Image()
	if image == nil {
		return nil, errors.New("record has no item image (the stream must be NEW_AND_OLD_IMAGES)")
	}
	entity := stream.StringAttr(image, entityAttr)
	if entity == "" {
		return nil, errors.New("item has no entity attribute")
	}
	d, ok := decoders[entity]
	if !ok {
		return nil, fmt.Errorf("no decoder for entity %q", entity)
	}
	return d(r)
}

// Items are read as pkg/item defines them: the one definition the store
// writes and the aggregator reads too.

// decodeEvent exports the insert of an event item (the event and its
// credits). Its TTL expiry, when the idempotency window ends, is not an
// event, nor is any other change of the item.
func decodeEvent(r *stream.Record) ([]Row, error) {
	if r.Change != stream.Insert {
		return nil, nil
	}
	var it item.Event
	if err := unmarshal(r.New, &it); err != nil {
		return nil, err
	}
	switch {
	case it.ID == "" || it.Type == "" || it.User == "":
		return nil, errors.New("event item lacks id, type or user")
	case it.OccurredAt.IsZero() || it.ReceivedAt.IsZero():
		return nil, errors.New("event item lacks occurred_at or received_at")
	}
	var value *int64
	if it.Value != nil {
		units, err := decimalUnits(*it.Value)
		if err != nil {
			return nil, err
		}
		value = &units
	}
	var props *string
	if it.Properties != "" {
		props = &it.Properties
	}
	rows := make([]Row, 0, 1+len(it.Credits))
	rows = append(rows, Row{Events, EventRow{
		EventID: it.ID, Type: it.Type, UserID: it.User, Value: value,
		OccurredAt: it.OccurredAt.UTC(), ReceivedAt: it.ReceivedAt.UTC(), Properties: props,
		ReferralCode:   optString(it.Code),
		Credits:        int32(len(it.Credits)),
		SequenceNumber: r.SequenceNumber, StreamedAt: r.StreamedAt,
	}})
	for i, c := range it.Credits {
		if c.Experiment == "" || c.Variant == "" {
			return nil, fmt.Errorf("event credit %d lacks experiment or variant", i)
		}
		counted := value
		if c.Capped() {
			units, err := decimalUnits(*c.Value)
			if err != nil {
				return nil, fmt.Errorf("event credit %d: %w", i, err)
			}
			counted = &units
		}
		row := CreditRow{
			EventID: it.ID, Experiment: c.Experiment, Variant: c.Variant, Goal: it.Type, UserID: it.User,
			Referrer: optString(c.Referrer), FirstConversion: c.FirstConversion, Value: counted,
			OccurredAt: it.OccurredAt.UTC(), ReceivedAt: it.ReceivedAt.UTC(),
			SequenceNumber: r.SequenceNumber, StreamedAt: r.StreamedAt, Capped: c.Capped(),
		}
		if c.Covariate != "" {
			units, err := decimalUnits(string(c.Covariate))
			if err != nil {
				return nil, fmt.Errorf("event credit %d covariate: %w", i, err)
			}
			row.Covariate = &units
		}
		if c.EventsSqDelta != "" {
			n, err := strconv.ParseInt(string(c.EventsSqDelta), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("event credit %d events_participant_sq_delta: %w", i, err)
			}
			row.EventsParticipantSqDelta = &n
		}
		products, err := decimalsJSON(c.RatioProducts)
		if err != nil {
			return nil, fmt.Errorf("event credit %d ratio_products: %w", i, err)
		}
		row.RatioProducts = products
		row.Phase = phaseNumber(c.Phase)
		rows = append(rows, Row{Credits, row})
	}
	return rows, nil
}

// decodeAssignment exports enrolments: the insert of an assignment item.
// Its updates mark the goals the user converted on, which the credits
// already say.
func decodeAssignment(r *stream.Record) ([]Row, error) {
	if r.Change != stream.Insert {
		return nil, nil
	}
	var it item.LinkedAssignment
	if err := unmarshal(r.New, &it); err != nil {
		return nil, err
	}
	if it.Experiment == "" || it.User == "" || it.Variant == "" || it.AssignedAt.IsZero() {
		return nil, errors.New("assignment item lacks experiment, user, variant or assigned_at")
	}
	covariates, err := decimalsJSON(it.Covariates)
	if err != nil {
		return nil, fmt.Errorf("assignment covariates: %w", err)
	}
	return []Row{{Assignments, AssignmentRow{
		Experiment: it.Experiment, Variant: it.Variant, UserID: it.User, AssignedAt: it.AssignedAt.UTC(),
		LinkedFrom:     optString(it.LinkedFrom),
		SequenceNumber: r.SequenceNumber, StreamedAt: r.StreamedAt, Covariates: covariates,
		Phase: phaseNumber(it.Phase),
	}}}, nil
}

// phaseNumber is the phase of an assignment or credit, whose items omit it
// in phase 1.
func phaseNumber(p int) int32 { return int32(max(p, 1)) }

// decimalsJSON writes a map of exact decimals as a JSON object of numbers,
// keys sorted, digits as stored (JSON numbers, so Athena's json_extract
// reads them without a cast from text); nil for an empty map.
func decimalsJSON(m map[string]attributevalue.Number) (*string, error) {
	if len(m) == 0 {
		return nil, nil
	}
	nums := make(map[string]json.Number, len(m))
	for k, v := range m {
		nums[k] = json.Number(v)
	}
	// Marshal refuses a json.Number that is not a JSON number.
	b, err := json.Marshal(nums)
	if err != nil {
		return nil, err
	}
	s := string(b)
	return &s, nil
}

// decodeExperiment exports each version of an experiment with its variants
// and goals. Experiments are never deleted by the API; a deletion by hand is
// not a version and gives no rows.
func decodeExperiment(r *stream.Record) ([]Row, error) {
	if r.Change != stream.Insert && r.Change != stream.Modify {
		return nil, nil
	}
	var it item.Experiment
	if err := unmarshal(r.New, &it); err != nil {
		return nil, err
	}
	if it.ID == "" || it.Version <= 0 || it.Status == "" {
		return nil, errors.New("experiment item lacks id, version or status")
	}
	row := ExperimentRow{
		Experiment: it.ID, Version: it.Version, Change: r.Change.String(), Status: it.Status,
		Name: it.Name, Hypothesis: it.Hypothesis, Owner: it.Owner, Control: it.Control,
		Coverage: it.Coverage, Seed: it.Seed, CounterShards: int32(it.CounterShards),
		CreatedAt: it.CreatedAt.UTC(), UpdatedAt: it.UpdatedAt.UTC(),
		StartedAt: utcPtr(it.StartedAt), StoppedAt: utcPtr(it.StoppedAt),
		SequenceNumber: r.SequenceNumber, StreamedAt: r.StreamedAt,
	}
	if it.Audience != "" {
		row.Audience = &it.Audience
	}
	if ref := it.Referral; ref != nil {
		row.ReferralConversionGoal = &ref.ConversionGoal
		days := int32(ref.WindowDays)
		row.ReferralWindowDays = &days
		row.ReferralLandingURL = &ref.LandingURL
		if len(ref.Metrics) > 0 {
			b, err := json.Marshal(ref.Metrics)
			if err != nil {
				return nil, fmt.Errorf("referral metrics: %w", err)
			}
			metrics := string(b)
			row.ReferralMetrics = &metrics
		}
	}
	rows := make([]Row, 0, 1+len(it.Variants)+len(it.Goals)+len(it.RatioMetrics))
	rows = append(rows, Row{Experiments, row})
	for _, v := range it.Variants {
		var payload *string
		if v.Payload != "" {
			payload = &v.Payload
		}
		rows = append(rows, Row{ExperimentVariants, ExperimentVariantRow{
			Experiment: it.ID, Version: it.Version, Variant: v.Key, Weight: v.Weight,
			IsControl: v.Key == it.Control, Payload: payload,
			SequenceNumber: r.SequenceNumber, StreamedAt: r.StreamedAt,
		}})
	}
	for _, g := range it.Goals {
		row := ExperimentGoalRow{
			Experiment: it.ID, Version: it.Version, Goal: g.Key, Kind: g.Kind,
			SequenceNumber: r.SequenceNumber, StreamedAt: r.StreamedAt, ServerOnly: g.ServerOnly,
			Role: g.Role, Direction: g.Direction, MinSample: g.MinSample, OneSided: g.OneSided, Margin: g.Margin,
		}
		if g.Cap != "" {
			units, err := decimalUnits(g.Cap)
			if err != nil {
				return nil, fmt.Errorf("goal %s cap: %w", g.Key, err)
			}
			row.Cap = &units
		}
		rows = append(rows, Row{ExperimentGoals, row})
	}
	for _, m := range it.RatioMetrics {
		rows = append(rows, Row{ExperimentRatios, ExperimentRatioMetricRow{
			Experiment: it.ID, Version: it.Version, RatioMetric: m.Key, Numerator: m.Numerator, Denominator: m.Denominator,
			Role: m.Role, Direction: m.Direction, MinSample: m.MinSample, OneSided: m.OneSided, Margin: m.Margin,
			SequenceNumber: r.SequenceNumber, StreamedAt: r.StreamedAt,
		}})
	}
	return rows, nil
}

// decodeReferral exports the creation of a referral code. Its updates are
// the referrer's running totals: derived, like the counters.
func decodeReferral(r *stream.Record) ([]Row, error) {
	if r.Change != stream.Insert {
		return nil, nil
	}
	var it item.Code
	if err := unmarshal(r.New, &it); err != nil {
		return nil, err
	}
	if it.Code == "" || it.Experiment == "" || it.Referrer == "" || it.Variant == "" || it.CreatedAt.IsZero() {
		return nil, errors.New("referral item lacks code, experiment, referrer, variant or created_at")
	}
	return []Row{{Referrals, ReferralRow{
		Code: it.Code, Experiment: it.Experiment, Variant: it.Variant, Referrer: it.Referrer,
		Counted: it.Counted, CreatedAt: it.CreatedAt.UTC(),
		SequenceNumber: r.SequenceNumber, StreamedAt: r.StreamedAt,
	}}}, nil
}

// decodeClick exports a visitor's first click on a code.
func decodeClick(r *stream.Record) ([]Row, error) {
	if r.Change != stream.Insert {
		return nil, nil
	}
	var it item.Click
	if err := unmarshal(r.New, &it); err != nil {
		return nil, err
	}
	if it.Code == "" || it.Experiment == "" || it.Visitor == "" || it.ClickedAt.IsZero() {
		return nil, errors.New("click item lacks code, experiment, visitor or clicked_at")
	}
	return []Row{{Clicks, ClickRow{
		Code: it.Code, Experiment: it.Experiment, Variant: it.Variant, Visitor: it.Visitor,
		IPHash: optString(it.IPHash), ClickedAt: it.ClickedAt.UTC(),
		SequenceNumber: r.SequenceNumber, StreamedAt: r.StreamedAt,
	}}}, nil
}

// decodeAttribution exports a referee's attribution (attributed or
// flagged). Its update marks the referee's first conversion, which the
// event's referral credit already says.
func decodeAttribution(r *stream.Record) ([]Row, error) {
	if r.Change != stream.Insert {
		return nil, nil
	}
	var it item.Attribution
	if err := unmarshal(r.New, &it); err != nil {
		return nil, err
	}
	if it.Referee == "" || it.Code == "" || it.Experiment == "" || it.Status == "" || it.AttributedAt.IsZero() {
		return nil, errors.New("attribution item lacks referee, code, experiment, status or attributed_at")
	}
	counted := it.Counted
	return []Row{{Attributions, AttributionRow{
		Referee: it.Referee, Code: it.Code, Experiment: it.Experiment, Variant: it.Variant,
		Referrer: optString(it.Referrer), Status: it.Status, Reasons: strings.Join(it.Reasons, ","),
		Counted: &counted, SignedUpAt: it.AttributedAt.UTC(),
		SequenceNumber: r.SequenceNumber, StreamedAt: r.StreamedAt,
	}}}, nil
}

// decodeRefusal exports a refused signup as an attribution row with status
// refused.
func decodeRefusal(r *stream.Record) ([]Row, error) {
	if r.Change != stream.Insert {
		return nil, nil
	}
	var it item.Refusal
	if err := unmarshal(r.New, &it); err != nil {
		return nil, err
	}
	if it.Referee == "" || it.Code == "" || it.Experiment == "" || it.RefusedAt.IsZero() {
		return nil, errors.New("refusal item lacks referee, code, experiment or refused_at")
	}
	return []Row{{Attributions, AttributionRow{
		Referee: it.Referee, Code: it.Code, Experiment: it.Experiment, Variant: it.Variant,
		Status: "refused", Reasons: it.Reason, SignedUpAt: it.RefusedAt.UTC(),
		SequenceNumber: r.SequenceNumber, StreamedAt: r.StreamedAt,
	}}}, nil
}

// decodeRefund exports a refund's insert: an event is refunded once, so
// that is one row per refunded event.
func decodeRefund(r *stream.Record) ([]Row, error) {
	if r.Change != stream.Insert {
		return nil, nil
	}
	var it item.Refund
	if err := unmarshal(r.New, &it); err != nil {
		return nil, err
	}
	if it.ID == "" || it.RefundedEvent == "" || it.User == "" || it.RefundedAt.IsZero() || it.EventReceivedAt.IsZero() {
		return nil, errors.New("refund item lacks id, refunded_event, user, refunded_at or event_received_at")
	}
	return []Row{{Refunds, RefundRow{
		RefundID: it.ID, RefundedEvent: it.RefundedEvent, UserID: it.User, Type: it.Type,
		EventReceivedAt: it.EventReceivedAt.UTC(), RefundedAt: it.RefundedAt.UTC(),
		SequenceNumber: r.SequenceNumber, StreamedAt: r.StreamedAt,
	}}}, nil
}

// decodeErasure exports each erasure of a user (every call writes the
// record again, an insert or a change): one row for the user and one per
// visitor id erased with them. The record's deletion, when its TTL ends, is
// not an erasure.
func decodeErasure(r *stream.Record) ([]Row, error) {
	if r.Change != stream.Insert && r.Change != stream.Modify {
		return nil, nil
	}
	var it item.Erasure
	if err := unmarshal(r.New, &it); err != nil {
		return nil, err
	}
	if len(it.UserHash) != 64 || it.ErasedAt.IsZero() {
		return nil, errors.New("erasure item lacks user_hash or erased_at")
	}
	rows := make([]Row, 0, 1+len(it.VisitorHashes))
	for _, h := range append([]string{it.UserHash}, it.VisitorHashes...) {
		rows = append(rows, Row{Erasures, ErasureRow{UserHash: h, ErasedAt: it.ErasedAt.UTC(),
			SequenceNumber: r.SequenceNumber, StreamedAt: r.StreamedAt}})
	}
	return rows, nil
}

// decodeAudit exports an audit entry when it is written. Entries are never
// changed, and never deleted but by hand: nothing else is a row.
func decodeAudit(r *stream.Record) ([]Row, error) {
	if r.Change != stream.Insert {
		return nil, nil
	}
	var it item.Audit
	if err := unmarshal(r.New, &it); err != nil {
		return nil, err
	}
	if it.ID == "" || it.Resource == "" || it.At.IsZero() {
		return nil, errors.New("audit item lacks id, resource or at")
	}
	return []Row{{Audit, AuditRow{
		ID: it.ID, Resource: it.Resource, ResourceID: it.ResourceID, Action: it.Action,
		ActorID: it.ActorID, ActorName: it.ActorName, ActorRole: optString(it.ActorRole), At: it.At.UTC(),
		Before: optString(it.Before), After: optString(it.After), Note: optString(it.Note),
		SequenceNumber: r.SequenceNumber, StreamedAt: r.StreamedAt,
	}}}, nil
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func unmarshal(image map[string]types.AttributeValue, out any) error {
	if image == nil {
		return errors.New("record has no new image")
	}
	if err := item.Decode(image, out); err != nil {
		return fmt.Errorf("decode item: %w", err)
	}
	return nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Value amounts: DECIMAL(valuePrecision, valueScale), refx's exact decimals
// (refx.DecimalPlaces fractional digits, |value| ≤ refx.MaxValue).
const (
	valueScale     = 4
	valuePrecision = 14
)

var (
	valueScaleFactor = big.NewRat(10_000, 1)
	maxValueUnits    = big.NewInt(1_000_000_000 * 10_000)
)

// decimalUnits parses an exact decimal into units of 10⁻⁴, refusing what
// DECIMAL(14,4) cannot hold exactly.
func decimalUnits(s string) (int64, error) {
	r, ok := new(big.Rat).SetString(s)
	if !ok || len(s) > 64 {
		return 0, fmt.Errorf("value %q is not a decimal number", s)
	}
	r.Mul(r, valueScaleFactor)
	if !r.IsInt() {
		return 0, fmt.Errorf("value %q has more than %d decimal places", s, valueScale)
	}
	if new(big.Int).Abs(r.Num()).Cmp(maxValueUnits) > 0 {
		return 0, fmt.Errorf("value %q is out of range", s)
	}
	return r.Num().Int64(), nil
}
