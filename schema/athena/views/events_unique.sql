-- events_unique: events without the copies a retried or re-split export
-- batch can leave. An event is identified by its id and the time it was
-- received: copies of one stream record share both, while an id reused after
-- its idempotency window (7 days), which the API counts again, stays a new
-- event. The first copy in stream order is kept.
-- Rows of an erased id (erased_ids) streamed up to its erasure are left out.
-- Copies of one stream record share its dt and hour, which lead the
-- PARTITION BY (export.Identity names the rest): a dt filter on the view
-- then reaches the table scan and prunes its files.
CREATE OR REPLACE VIEW events_unique AS
SELECT event_id, type, user_id, value, occurred_at, received_at, properties, referral_code, credits,
       sequence_number, streamed_at, dt, hour
FROM (
  SELECT e.*,
         row_number() OVER (PARTITION BY dt, hour, event_id, received_at ORDER BY sequence_number) AS copy_number
  FROM events e
) copies
LEFT JOIN erased_ids erased ON erased.user_hash = lower(to_hex(sha256(to_utf8(copies.user_id)))) AND copies.streamed_at <= erased.erased_through
WHERE copy_number = 1 AND erased.user_hash IS NULL
