-- experiments_latest: each experiment as it is now, its highest version.
CREATE OR REPLACE VIEW experiments_latest AS
SELECT experiment, version, status, name, hypothesis, owner, control, coverage, seed,
       counter_shards, audience, referral_conversion_goal, referral_window_days, referral_landing_url, referral_metrics, created_at, updated_at, started_at, stopped_at, sequence_number, streamed_at
FROM (
  SELECT x.*,
         row_number() OVER (PARTITION BY experiment ORDER BY version DESC, sequence_number) AS rank_number
  FROM experiments x
) versions
WHERE rank_number = 1
