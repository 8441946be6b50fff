-- daily_conversions: per experiment, goal, UTC day the events occurred and
-- variant: users converting that day (first conversions), events and Σ value,
-- with the running total of converted users and its share of the variant's
-- participants (as enrolled now).
WITH participants AS (
  SELECT experiment, variant, count(*) AS participants
  FROM assignments_unique
  WHERE linked_from IS NULL
  GROUP BY experiment, variant
),
daily AS (
  SELECT experiment, variant, goal, CAST(occurred_at AS date) AS day,
         sum(CASE WHEN first_conversion THEN 1 ELSE 0 END) AS converted_users,
         count(*) AS events,
         sum(value) AS value_sum
  FROM event_credits_unique
  WHERE referrer IS NULL
  GROUP BY experiment, variant, goal, CAST(occurred_at AS date)
)
SELECT d.experiment,
       d.goal,
       d.day,
       d.variant,
       d.converted_users,
       d.events,
       coalesce(d.value_sum, CAST(0 AS decimal(38,4))) AS value_sum,
       sum(d.converted_users) OVER (PARTITION BY d.experiment, d.variant, d.goal ORDER BY d.day) AS cumulative_converted_users,
       CAST(sum(d.converted_users) OVER (PARTITION BY d.experiment, d.variant, d.goal ORDER BY d.day) AS double)
         / nullif(p.participants, 0) AS cumulative_conversion_rate
FROM daily d
LEFT JOIN participants p ON p.experiment = d.experiment AND p.variant = d.variant
ORDER BY d.experiment, d.goal, d.day, d.variant
