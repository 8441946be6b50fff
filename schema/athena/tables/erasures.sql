-- erasures: one row per erased id and erasure (DELETE /v1/users/{user}):
-- the user, and each visitor id erased with them, by lowercase hex SHA-256
-- (user_hash = lower(to_hex(sha256(to_utf8(id))))), never in clear. Written
-- by pkg/export (ErasureRow) from the table's erasure records. The views
-- exclude the rows of an erased id streamed up to its erasure (see
-- erased_ids); the purge job rewrites the files without them.
CREATE EXTERNAL TABLE IF NOT EXISTS erasures (
  user_hash       string,
  erased_at       timestamp,
  sequence_number string,
  streamed_at     timestamp
)
PARTITIONED BY (dt string, hour string)
STORED AS PARQUET
LOCATION 's3://{{bucket}}/export/erasures/'
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
