-- experiment_variants: the variants of each experiment version
-- (ExperimentVariantRow); payload is JSON text.
CREATE EXTERNAL TABLE IF NOT EXISTS experiment_variants (
  experiment      string,
  version         bigint,
  variant         string,
  weight          double,
  is_control      boolean,
  payload         string,
  sequence_number string,
  streamed_at     timestamp
)
PARTITIONED BY (dt string, hour string)
STORED AS PARQUET
LOCATION 's3://{{bucket}}/export/experiment_variants/'
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
