-- experiment_results: recomputes every experiment's results from the raw
-- exported events, one row per (experiment, phase, variant, goal) of the
-- experiment as it is now (phase 1, and each later phase anyone enrolled in:
-- a phase counts apart, as the API's ?phase=N):
--   participants  users enrolled in the variant (assignments)
--   users         users whose event was their first conversion on the goal
--   events        events credited to the variant for the goal (the user's own
--                 credits: referral credits count in referral_funnel.sql)
--   value_sum     Σ value, exact (DECIMAL(38,4))
--   value_sum_sq  Σ value², exact (DECIMAL(38,8))
-- These equal GET /v1/experiments/{id}/results field for field: the API's
-- counters are written in the same transactions as the items exported here
-- (pkg/export's end-to-end test checks it). Filter with
-- WHERE v.experiment = '<id>' for one experiment.
WITH phases AS (
  SELECT DISTINCT experiment, 1 AS phase FROM experiment_variants_latest
  UNION
  SELECT DISTINCT experiment, phase FROM assignments_unique
),
participants AS (
  SELECT experiment, phase, variant, count(*) AS participants
  FROM assignments_unique
  WHERE linked_from IS NULL
  GROUP BY experiment, phase, variant
),
goal_counts AS (
  SELECT experiment, phase, variant, goal,
         sum(CASE WHEN first_conversion THEN 1 ELSE 0 END) AS users,
         count(*) AS events,
         sum(value) AS value_sum,
         -- Widened first: a product of two DECIMAL(14,4) needs 28 digits.
         sum(CAST(value AS decimal(38,4)) * CAST(value AS decimal(38,4))) AS value_sum_sq
  FROM event_credits_unique
  WHERE referrer IS NULL
  GROUP BY experiment, phase, variant, goal
)
SELECT v.experiment,
       ph.phase,
       v.variant,
       g.goal,
       coalesce(p.participants, 0) AS participants,
       coalesce(c.users, 0) AS users,
       coalesce(c.events, 0) AS events,
       coalesce(c.value_sum, CAST(0 AS decimal(38,4))) AS value_sum,
       coalesce(c.value_sum_sq, CAST(0 AS decimal(38,8))) AS value_sum_sq
FROM experiment_variants_latest v
JOIN phases ph ON ph.experiment = v.experiment
JOIN experiment_goals_latest g ON g.experiment = v.experiment
LEFT JOIN participants p ON p.experiment = v.experiment AND p.phase = ph.phase AND p.variant = v.variant
LEFT JOIN goal_counts c ON c.experiment = v.experiment AND c.phase = ph.phase AND c.variant = v.variant AND c.goal = g.goal
ORDER BY v.experiment, ph.phase, v.variant, g.goal
