-- referral_clicks: one row per visitor's first click on a referral link
-- (ClickRow); ip_hash is a keyed hash, never the address.
CREATE EXTERNAL TABLE IF NOT EXISTS referral_clicks (
  code            string,
  experiment      string,
  variant         string,
  visitor         string,
  ip_hash         string,
  clicked_at      timestamp,
  sequence_number string,
  streamed_at     timestamp
)
PARTITIONED BY (dt string, hour string)
STORED AS PARQUET
LOCATION 's3://{{bucket}}/export/referral_clicks/'
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
