-- event_credits: one row per counting of an event, the event item's credits
-- flattened (CreditRow). goal is the event's type. Without a referrer, the
-- credit counts for the user's own variant and first_conversion marks the
-- event that converted the user on the goal: the results API's goal counters
-- are exactly sums over these rows. With a referrer, the event is a referred
-- friend's conversion, counted for the referrer's variant (referral counts).
-- value is what the credit counted: the event's value within its goal's cap
-- (events.value is the value sent); capped marks the credits the cap lowered
-- (null in files written before goals had caps). covariate is the user's
-- CUPED covariate x on the goal (null when none or zero): Σ covariate·value
-- and Σ covariate·first_conversion are the results' Σxy. On a goal a ratio
-- metric uses, events_participant_sq_delta is what the event adds to
-- Σ (events per user)² (2n+1) and ratio_products, a JSON object of numbers
-- by ratio metric, what it adds to Σ numerator·denominator (zero products
-- left out); null otherwise and in files written before ratio metrics.
-- phase is the experiment's phase the credit counts in (1 on referral
-- credits; null in files written before phases, all of phase 1).
CREATE EXTERNAL TABLE IF NOT EXISTS event_credits (
  event_id         string,
  experiment       string,
  variant          string,
  goal             string,
  user_id          string,
  referrer         string,
  first_conversion boolean,
  value            decimal(14,4),
  occurred_at      timestamp,
  received_at      timestamp,
  sequence_number  string,
  streamed_at      timestamp,
  capped           boolean,
  covariate        decimal(14,4),
  events_participant_sq_delta bigint,
  ratio_products   string,
  phase            int
)
PARTITIONED BY (dt string, hour string)
STORED AS PARQUET
LOCATION 's3://{{bucket}}/export/event_credits/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2025-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'projection.hour.type' = 'integer',
  'projection.hour.range' = '0,23',
  'projection.hour.digits' = '2'
);
