-- referrals: one row per referral code, the insert of its code item
-- (ReferralRow). counted is false when the referrer is outside the
-- experiment's coverage: the link works, nothing it brings is counted.
CREATE EXTERNAL TABLE IF NOT EXISTS referrals (
  code            string,
  experiment      string,
  variant         string,
  referrer        string,
  counted         boolean,
  created_at      timestamp,
  sequence_number string,
  streamed_at     timestamp
)
PARTITIONED BY (dt string, hour string)
STORED AS PARQUET
LOCATION 's3://{{bucket}}/export/referrals/'
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
