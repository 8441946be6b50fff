-- attributions: one row per referee signup through a code (AttributionRow):
-- status 'attributed' (clean: counts as a signup), 'flagged' (attributed, but
-- a guard fired: reasons) or 'refused' (not attributed; no referrer/counted).
CREATE EXTERNAL TABLE IF NOT EXISTS attributions (
  referee         string,
  code            string,
  experiment      string,
  variant         string,
  referrer        string,
  status          string,
  reasons         string,
  counted         boolean,
  signed_up_at    timestamp,
  sequence_number string,
  streamed_at     timestamp
)
PARTITIONED BY (dt string, hour string)
STORED AS PARQUET
LOCATION 's3://{{bucket}}/export/attributions/'
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
