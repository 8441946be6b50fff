-- event_credits_unique: one row per (event, experiment), without export copies
-- (see events_unique).
-- Rows of an erased user (erased_ids) streamed up to the erasure are left
-- out; an erased referrer of someone else's credit reads 'erased'.
-- Copies of one stream record share its dt and hour, which lead the
-- PARTITION BY (export.Identity names the rest): a dt filter on the view
-- then reaches the table scan and prunes its files.
CREATE OR REPLACE VIEW event_credits_unique AS
SELECT event_id, experiment, variant, goal, user_id, CASE WHEN erased_referrer.user_hash IS NULL THEN copies.referrer ELSE 'erased' END AS referrer, first_conversion, value,
       occurred_at, received_at, sequence_number, streamed_at, coalesce(capped, false) AS capped,
       covariate, events_participant_sq_delta, ratio_products, coalesce(phase, 1) AS phase, dt, hour
FROM (
  SELECT c.*,
         row_number() OVER (PARTITION BY dt, hour, event_id, received_at, experiment ORDER BY sequence_number) AS copy_number
  FROM event_credits c
) copies
LEFT JOIN erased_ids erased ON erased.user_hash = lower(to_hex(sha256(to_utf8(copies.user_id)))) AND copies.streamed_at <= erased.erased_through
LEFT JOIN erased_ids erased_referrer ON erased_referrer.user_hash = lower(to_hex(sha256(to_utf8(copies.referrer)))) AND copies.streamed_at <= erased_referrer.erased_through
WHERE copy_number = 1 AND erased.user_hash IS NULL
