-- k_factor: the viral coefficient of every referral experiment per variant,
-- with its two factors:
--   K = clicks per referrer × signups per click = signups / referrers
-- where signups are referees attributed without a guard firing and referrers
-- are referrers with a counted code: the API's rates.k_factor. K per
-- participant divides by every enrolled user instead (referrers are a subset
-- of participants), the growth a variant brings per user shown the offer.
-- K > 1 means each cohort recruits a larger one.
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
per_variant AS (
  SELECT c.experiment, c.variant,
         count(DISTINCT c.code) AS referrers,
         count(DISTINCT k.code || '/' || k.visitor) AS clicks,
         count(DISTINCT CASE WHEN a.status = 'attributed' THEN a.referee END) AS signups
  FROM codes c
  LEFT JOIN referral_clicks_unique k ON k.code = c.code
  LEFT JOIN attributions_unique a ON a.code = c.code
  GROUP BY c.experiment, c.variant
)
SELECT a.experiment,
       a.variant,
       coalesce(p.participants, 0) AS participants,
       coalesce(x.referrers, 0) AS referrers,
       coalesce(x.clicks, 0) AS clicks,
       coalesce(x.signups, 0) AS signups,
       CAST(coalesce(x.clicks, 0) AS double) / nullif(x.referrers, 0) AS clicks_per_referrer,
       CAST(coalesce(x.signups, 0) AS double) / nullif(x.clicks, 0) AS signups_per_click,
       CAST(coalesce(x.signups, 0) AS double) / nullif(x.referrers, 0) AS k_factor,
       CAST(coalesce(x.signups, 0) AS double) / nullif(p.participants, 0) AS k_factor_per_participant
FROM arms a
LEFT JOIN participants p ON p.experiment = a.experiment AND p.variant = a.variant
LEFT JOIN per_variant x ON x.experiment = a.experiment AND x.variant = a.variant
ORDER BY a.experiment, a.variant
