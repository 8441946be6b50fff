-- experiment_goals: the goals of each experiment version (ExperimentGoalRow).
-- server_only and cap are the goal's rules (null in files written before
-- goals had them; cap is also null for an uncapped goal). role, direction,
-- min_sample, one_sided and margin are its decision (null in files written
-- before goals had one; role and direction empty for a version stored
-- before, read with the defaults: first goal primary, increase; margin null
-- but on a guardrail).
CREATE EXTERNAL TABLE IF NOT EXISTS experiment_goals (
  experiment      string,
  version         bigint,
  goal            string,
  kind            string,
  sequence_number string,
  streamed_at     timestamp,
  server_only     boolean,
  cap             decimal(14,4),
  role            string,
  direction       string,
  min_sample      bigint,
  one_sided       boolean,
  margin          double
)
PARTITIONED BY (dt string, hour string)
STORED AS PARQUET
LOCATION 's3://{{bucket}}/export/experiment_goals/'
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
