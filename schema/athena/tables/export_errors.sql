-- export_errors: stream records the exporter could not decode (ErrorRow),
-- with the reason and the whole record as Lambda's JSON. Nothing is dropped
-- silently: a non-empty table here is an alert.
CREATE EXTERNAL TABLE IF NOT EXISTS export_errors (
  sequence_number string,
  stream_event_id string,
  event_name      string,
  entity          string,
  pk              string,
  sk              string,
  reason          string,
  record          string,
  streamed_at     timestamp
)
PARTITIONED BY (dt string, hour string)
STORED AS PARQUET
LOCATION 's3://{{bucket}}/export/export_errors/'
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
