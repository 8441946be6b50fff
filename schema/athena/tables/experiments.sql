-- experiments: one row per version of an experiment; every create, update,
-- start and stop writes a version (ExperimentRow). Variants, goals and ratio
-- metrics of a version are in experiment_variants, experiment_goals and
-- experiment_ratio_metrics; referral_metrics is the JSON decision of each
-- configured referral metric (null: all secondary, increase).
CREATE EXTERNAL TABLE IF NOT EXISTS experiments (
  experiment      string,
  version         bigint,
  change          string,
  status          string,
  name            string,
  hypothesis      string,
  owner           string,
  control         string,
  coverage        double,
  seed            string,
  counter_shards  int,
  audience        string,
  referral_conversion_goal string,
  referral_window_days     int,
  referral_landing_url     string,
  referral_metrics         string,
  created_at      timestamp,
  updated_at      timestamp,
  started_at      timestamp,
  stopped_at      timestamp,
  sequence_number string,
  streamed_at     timestamp
)
PARTITIONED BY (dt string, hour string)
STORED AS PARQUET
LOCATION 's3://{{bucket}}/export/experiments/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2025-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'projection.hour.type' = 'integer',
  'projection.hour.range' = '0,23',
  'projection.hour.digits' = '2'
);
