-- audit: the audit trail, one row per admin change (AuditRow, from the
-- table's audit entries; GET /v1/audit reads the same entries): the
-- resource (experiment, flag, segment, key, user, layer) and its id, the
-- action, the actor (actor_role null for a secret key or the system), and
-- the resource before and after the change as JSON strings (null where it
-- did not exist; read them with json_extract_scalar). An erasure's entry
-- names the user by hash only (resource 'user', resource_id the
-- user_hash of erasures). Entries are append-only; the exporter writes
-- each once per stream delivery, so read distinct ids.
CREATE EXTERNAL TABLE IF NOT EXISTS audit (
  id              string,
  resource        string,
  resource_id     string,
  action          string,
  actor_id        string,
  actor_name      string,
  actor_role      string,
  at              timestamp,
  before          string,
  after           string,
  note            string,
  sequence_number string,
  streamed_at     timestamp
)
PARTITIONED BY (dt string, hour string)
STORED AS PARQUET
LOCATION 's3://{{bucket}}/export/audit/'
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
