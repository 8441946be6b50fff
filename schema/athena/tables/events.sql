-- events: one row per recorded event, the insert of its event item (the
-- event's idempotency key). Written by pkg/export (EventRow); dt/hour are the
-- UTC date and hour the change reached the stream; referral_code is the code a
-- signup came with. A retried export batch
-- may leave a second copy of a row: query events_unique.
CREATE EXTERNAL TABLE IF NOT EXISTS events (
  event_id        string,
  type            string,
  user_id         string,
  value           decimal(14,4),
  occurred_at     timestamp,
  received_at     timestamp,
  properties      string,
  referral_code   string,
  credits         int,
  sequence_number string,
  streamed_at     timestamp
)
PARTITIONED BY (dt string, hour string)
STORED AS PARQUET
LOCATION 's3://{{bucket}}/export/events/'
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
