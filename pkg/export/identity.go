package export

// Identity names the columns that identify a row of each table, beside the
// stream partition (dt, hour) its copies share: two rows of a table with the
// same dt, hour and identity are copies of one stream record (a retried,
// bisected or replayed batch, a backfill of an item already exported), and
// the *_unique views keep the first of them in stream order. The views'
// PARTITION BY clauses are dt, hour and these columns (TestViewsPartitionByIdentity),
// so a dt filter on a view prunes the raw files; the compaction and the
// backfill use the same identities to drop copies.
//
// Tables without a view (export_errors, erasures, refunds, audit) are
// identified by what makes their item unique in the refx table.
var Identity = map[string][]string{
	"events":                   {"event_id", "received_at"},
	"event_credits":            {"event_id", "received_at", "experiment"},
	"assignments":              {"experiment", "phase", "user_id"},
	"experiments":              {"experiment", "version"},
	"experiment_variants":      {"experiment", "version", "variant"},
	"experiment_goals":         {"experiment", "version", "goal"},
	"experiment_ratio_metrics": {"experiment", "version", "ratio_metric"},
	"referrals":                {"code"},
	"referral_clicks":          {"code", "visitor"},
	"attributions":             {"referee", "code", "status"},
	"export_errors":            {"sequence_number", "stream_event_id"},
	"erasures":                 {"user_hash", "erased_at"},
	"audit":                    {"id"},
	"refunds":                  {"refunded_event"},
}
