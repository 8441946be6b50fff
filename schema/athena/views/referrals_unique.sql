-- referrals_unique: one row per referral code (codes are never reused).
-- Rows of an erased id (erased_ids) streamed up to its erasure are left out.
-- Copies of one stream record share its dt and hour, which lead the
-- PARTITION BY (export.Identity names the rest): a dt filter on the view
-- then reaches the table scan and prunes its files.
CREATE OR REPLACE VIEW referrals_unique AS
SELECT code, experiment, variant, referrer, counted, created_at, sequence_number, streamed_at, dt, hour
FROM (
  SELECT r.*,
         row_number() OVER (PARTITION BY dt, hour, code ORDER BY sequence_number) AS copy_number
  FROM referrals r
) copies
LEFT JOIN erased_ids erased ON erased.user_hash = lower(to_hex(sha256(to_utf8(copies.referrer)))) AND copies.streamed_at <= erased.erased_through
WHERE copy_number = 1 AND erased.user_hash IS NULL
