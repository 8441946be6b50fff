-- referral_clicks_unique: one row per (code, visitor): only a visitor's first
-- click on a code is recorded.
-- Rows of an erased id (erased_ids) streamed up to its erasure are left out.
-- Copies of one stream record share its dt and hour, which lead the
-- PARTITION BY (export.Identity names the rest): a dt filter on the view
-- then reaches the table scan and prunes its files.
CREATE OR REPLACE VIEW referral_clicks_unique AS
SELECT code, experiment, variant, visitor, ip_hash, clicked_at, sequence_number, streamed_at, dt, hour
FROM (
  SELECT c.*,
         row_number() OVER (PARTITION BY dt, hour, code, visitor ORDER BY sequence_number) AS copy_number
  FROM referral_clicks c
) copies
LEFT JOIN erased_ids erased ON erased.user_hash = lower(to_hex(sha256(to_utf8(copies.visitor)))) AND copies.streamed_at <= erased.erased_through
WHERE copy_number = 1 AND erased.user_hash IS NULL
