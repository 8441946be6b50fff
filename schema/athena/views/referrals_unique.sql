-- referrals_unique: one row per referral code (codes are never reused).
CREATE OR REPLACE VIEW referrals_unique AS
SELECT code, experiment, variant, referrer, counted, created_at, sequence_number, streamed_at, dt, hour
FROM (
  SELECT r.*,
         row_number() OVER (PARTITION BY code ORDER BY sequence_number) AS copy_number
  FROM referrals r
) copies
WHERE copy_number = 1
