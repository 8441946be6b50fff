-- referral_clicks_unique: one row per (code, visitor): only a visitor's first
-- click on a code is recorded.
CREATE OR REPLACE VIEW referral_clicks_unique AS
SELECT code, experiment, variant, visitor, ip_hash, clicked_at, sequence_number, streamed_at, dt, hour
FROM (
  SELECT c.*,
         row_number() OVER (PARTITION BY code, visitor ORDER BY sequence_number) AS copy_number
  FROM referral_clicks c
) copies
WHERE copy_number = 1
