-- refunds: one row per refunded event (POST /v1/events of type refund): the
-- refund's own id, the event it took back and its user. An event is
-- refunded at most once, whatever the number of refunds sent. The counters
-- subtract the refunded event's credits; to count as they do, leave out
-- the events and event_credits rows whose event_id is a refunded_event.
-- Written by pkg/export (RefundRow) from the table's refund items.
CREATE EXTERNAL TABLE IF NOT EXISTS refunds (
  refund_id         string,
  refunded_event    string,
  user_id           string,
  type              string,
  event_received_at timestamp,
  refunded_at       timestamp,
  sequence_number   string,
  streamed_at       timestamp
)
PARTITIONED BY (dt string, hour string)
STORED AS PARQUET
LOCATION 's3://{{bucket}}/export/refunds/'
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
