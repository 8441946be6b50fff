-- event_credits_unique: one row per (event, experiment), without export copies
-- (see events_unique).
CREATE OR REPLACE VIEW event_credits_unique AS
SELECT event_id, experiment, variant, goal, user_id, referrer, first_conversion, value,
       occurred_at, received_at, sequence_number, streamed_at, coalesce(capped, false) AS capped, dt, hour
FROM (
  SELECT c.*,
         row_number() OVER (PARTITION BY event_id, received_at, experiment ORDER BY sequence_number) AS copy_number
  FROM event_credits c
) copies
WHERE copy_number = 1
