-- daily_results: experiment_results for the rows streamed on some days only:
-- per (experiment, phase, variant, goal) of the experiment as it is now, the
-- users enrolled, the first conversions, the events, Σ value and Σ value²
-- whose stream dates (dt, UTC) lie in the range. Edit the range, the same in
-- its three places (the dt BETWEEN of participants, goal_counts, phases):
-- literal dates, which Athena's partition projection prunes on. The filter
-- reaches the tables' partitions through the *_unique views, so the query
-- reads only those days' files (TestDatedQueryReadsOnlyItsPartitions), and
-- the days add up: the sums over every day equal experiment_results.
-- For back-dated events (occurred_at up to 30 days before they reached the
-- stream) filter on occurred_at too, not instead.
WITH participants AS (
  SELECT experiment, phase, variant, count(*) AS participants
  FROM assignments_unique
  WHERE linked_from IS NULL AND dt BETWEEN '2026-01-01' AND '2026-01-07'
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
  WHERE referrer IS NULL AND dt BETWEEN '2026-01-01' AND '2026-01-07'
  GROUP BY experiment, phase, variant, goal
),
-- Phase 1, and each later phase with an enrolment or a conversion in the
-- range (a conversion may come days after its user's enrolment).
phases AS (
  SELECT DISTINCT experiment, 1 AS phase FROM experiment_variants_latest
  UNION
  SELECT DISTINCT experiment, phase FROM assignments_unique WHERE dt BETWEEN '2026-01-01' AND '2026-01-07'
  UNION
  SELECT DISTINCT experiment, phase FROM goal_counts
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
