package lakeviews

// Dataset is a dashboard query of schema/athena/queries and the columns
// of its result in QuickSight's types (STRING, INTEGER, DECIMAL,
// DATETIME): what a QuickSight custom SQL dataset over it declares.
// TestDatasetColumns holds the columns to the queries.
type Dataset struct {
	Query   string
	Columns []Column
}

// Column is one column of a Dataset.
type Column struct {
	Name, Type string
}

// Datasets are the queries a QuickSight dashboard of refx starts from.
var Datasets = []Dataset{
	{"experiment_results", []Column{
		{"experiment", "STRING"}, {"phase", "INTEGER"}, {"variant", "STRING"}, {"goal", "STRING"},
		{"participants", "INTEGER"}, {"users", "INTEGER"}, {"events", "INTEGER"},
		{"value_sum", "DECIMAL"}, {"value_sum_sq", "DECIMAL"},
	}},
	{"referral_funnel", []Column{
		{"experiment", "STRING"}, {"variant", "STRING"}, {"participants", "INTEGER"}, {"referrers", "INTEGER"},
		{"sharing_referrers", "INTEGER"}, {"clicks", "INTEGER"}, {"unique_visitors", "INTEGER"}, {"signups", "INTEGER"},
		{"flagged_signups", "INTEGER"}, {"refused_signups", "INTEGER"}, {"converting_referees", "INTEGER"},
		{"conversions", "INTEGER"}, {"conversion_value", "DECIMAL"}, {"share_rate", "DECIMAL"},
		{"clicks_per_referrer", "DECIMAL"}, {"signups_per_click", "DECIMAL"}, {"k_factor", "DECIMAL"},
		{"conversions_per_referrer", "DECIMAL"},
	}},
	{"daily_conversions", []Column{
		{"experiment", "STRING"}, {"goal", "STRING"}, {"day", "DATETIME"}, {"variant", "STRING"},
		{"converted_users", "INTEGER"}, {"events", "INTEGER"}, {"value_sum", "DECIMAL"},
		{"cumulative_converted_users", "INTEGER"}, {"cumulative_conversion_rate", "DECIMAL"},
	}},
}
