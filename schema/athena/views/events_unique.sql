-- events_unique: events without the copies a retried or re-split export
-- batch can leave. An event is identified by its id and the time it was
-- received: copies of one stream record share both, while an id reused after
-- its idempotency window (7 days), which the API counts again, stays a new
-- event. The first copy in stream order is kept.
CREATE OR REPLACE VIEW events_unique AS
SELECT event_id, type, user_id, value, occurred_at, received_at, properties, referral_code, credits,
       sequence_number, streamed_at, dt, hour
FROM (
  SELECT e.*,
         row_number() OVER (PARTITION BY event_id, received_at ORDER BY sequence_number) AS copy_number
  FROM events e
) copies
WHERE copy_number = 1
