-- experiment_ratio_metrics: the ratio metrics of each experiment version
-- (ExperimentRatioMetricRow): Σ numerator / Σ denominator of two goals'
-- per-participant totals, with their decision as experiment_goals has it.
CREATE EXTERNAL TABLE IF NOT EXISTS experiment_ratio_metrics (
  experiment      string,
  version         bigint,
  ratio_metric    string,
  numerator       string,
  denominator     string,
  role            string,
  direction       string,
  min_sample      bigint,
  one_sided       boolean,
  margin          double,
  sequence_number string,
  streamed_at     timestamp
)
PARTITIONED BY (dt string, hour string)
STORED AS PARQUET
LOCATION 's3://{{bucket}}/export/experiment_ratio_metrics/'
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
