-- assignments: one row per enrolment of a user in an experiment's variant,
-- the insert of its assignment item (AssignmentRow). linked_from is set on
-- an assignment copied from an anonymous visitor's when they identified
-- themselves: the same participant under a second id, not counted again.
-- covariates is the user's CUPED covariates sent with the enrolling assign,
-- a JSON object of numbers by goal (null without any, and in files written
-- before covariates); a user without one on a goal counts as x = 0.
-- phase is the experiment's phase the user enrolled in: each phase enrols
-- afresh, so a user has a row per phase they entered (null in files written
-- before phases, all of phase 1).
CREATE EXTERNAL TABLE IF NOT EXISTS assignments (
  experiment      string,
  variant         string,
  user_id         string,
  assigned_at     timestamp,
  linked_from     string,
  sequence_number string,
  streamed_at     timestamp,
  covariates      string,
  phase           int
)
PARTITIONED BY (dt string, hour string)
STORED AS PARQUET
LOCATION 's3://{{bucket}}/export/assignments/'
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
