-- referral_funnel: the referral funnel of every referral experiment, per
-- variant (the referrer's variant), recomputed from the raw rows; the counts
-- equal the "referral" block of GET /v1/experiments/{id}/results:
--   participants         users enrolled in the variant
--   referrers            referrers with a counted code
--   sharing_referrers    referrers whose link was clicked at least once
--   clicks               first clicks of a visitor on a code
--   unique_visitors      visitors, each once per experiment (first click)
--   signups              referees attributed without a guard firing
--   flagged_signups      attributed, but a guard fired (see attributions.reasons)
--   refused_signups      signups a guard refused
--   converting_referees  referees who converted (the experiment's conversion goal)
--   conversions          referee conversions, and conversion_value their Σ value
-- with the rates a growth team reads (k_factor is signups per referrer; see
-- k_factor.sql). Only codes of referrers inside the experiment's coverage
-- (counted) count, as in the API.
WITH arms AS (
  SELECT v.experiment, v.variant
  FROM experiment_variants_latest v
  JOIN experiments_latest e ON e.experiment = v.experiment
  WHERE e.referral_conversion_goal IS NOT NULL
),
participants AS (
  SELECT experiment, variant, count(*) AS participants
  FROM assignments_unique
  WHERE linked_from IS NULL
  GROUP BY experiment, variant
),
codes AS (
  SELECT code, experiment, variant
  FROM referrals_unique
  WHERE counted
),
referrers AS (
  SELECT experiment, variant, count(*) AS referrers
  FROM codes
  GROUP BY experiment, variant
),
clicks AS (
  SELECT c.experiment, c.variant, count(*) AS clicks, count(DISTINCT c.code) AS sharing_referrers
  FROM referral_clicks_unique k
  JOIN codes c ON c.code = k.code
  GROUP BY c.experiment, c.variant
),
visitors AS (
  SELECT experiment, variant, count(*) AS unique_visitors
  FROM (
    SELECT c.experiment, c.variant,
           row_number() OVER (PARTITION BY c.experiment, k.visitor ORDER BY k.clicked_at, k.sequence_number) AS visit
    FROM referral_clicks_unique k
    JOIN codes c ON c.code = k.code
  ) first_clicks
  WHERE visit = 1
  GROUP BY experiment, variant
),
signups AS (
  SELECT a.experiment, a.variant,
         sum(CASE WHEN a.status = 'attributed' THEN 1 ELSE 0 END) AS signups,
         sum(CASE WHEN a.status = 'flagged' THEN 1 ELSE 0 END) AS flagged_signups,
         sum(CASE WHEN a.status = 'refused' THEN 1 ELSE 0 END) AS refused_signups
  FROM attributions_unique a
  JOIN codes c ON c.code = a.code
  GROUP BY a.experiment, a.variant
),
conversions AS (
  SELECT experiment, variant,
         sum(CASE WHEN first_conversion THEN 1 ELSE 0 END) AS converting_referees,
         count(*) AS conversions,
         sum(value) AS conversion_value
  FROM event_credits_unique
  WHERE referrer IS NOT NULL
  GROUP BY experiment, variant
)
SELECT a.experiment,
       a.variant,
       coalesce(p.participants, 0) AS participants,
       coalesce(r.referrers, 0) AS referrers,
       coalesce(k.sharing_referrers, 0) AS sharing_referrers,
       coalesce(k.clicks, 0) AS clicks,
       coalesce(v.unique_visitors, 0) AS unique_visitors,
       coalesce(s.signups, 0) AS signups,
       coalesce(s.flagged_signups, 0) AS flagged_signups,
       coalesce(s.refused_signups, 0) AS refused_signups,
       coalesce(c.converting_referees, 0) AS converting_referees,
       coalesce(c.conversions, 0) AS conversions,
       coalesce(c.conversion_value, CAST(0 AS decimal(38,4))) AS conversion_value,
       CAST(coalesce(k.sharing_referrers, 0) AS double) / nullif(r.referrers, 0) AS share_rate,
       CAST(coalesce(k.clicks, 0) AS double) / nullif(r.referrers, 0) AS clicks_per_referrer,
       CAST(coalesce(s.signups, 0) AS double) / nullif(k.clicks, 0) AS signups_per_click,
       CAST(coalesce(s.signups, 0) AS double) / nullif(r.referrers, 0) AS k_factor,
       CAST(coalesce(c.conversions, 0) AS double) / nullif(r.referrers, 0) AS conversions_per_referrer
FROM arms a
LEFT JOIN participants p ON p.experiment = a.experiment AND p.variant = a.variant
LEFT JOIN referrers r ON r.experiment = a.experiment AND r.variant = a.variant
LEFT JOIN clicks k ON k.experiment = a.experiment AND k.variant = a.variant
LEFT JOIN visitors v ON v.experiment = a.experiment AND v.variant = a.variant
LEFT JOIN signups s ON s.experiment = a.experiment AND s.variant = a.variant
LEFT JOIN conversions c ON c.experiment = a.experiment AND c.variant = a.variant
ORDER BY a.experiment, a.variant
