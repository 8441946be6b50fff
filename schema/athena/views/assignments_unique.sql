-- assignments_unique: one row per (experiment, user): assignments are
-- permanent, so any second row is an export copy.
CREATE OR REPLACE VIEW assignments_unique AS
SELECT experiment, variant, user_id, assigned_at, linked_from, sequence_number, streamed_at, dt, hour
FROM (
  SELECT a.*,
         row_number() OVER (PARTITION BY experiment, user_id ORDER BY sequence_number) AS copy_number
  FROM assignments a
) copies
WHERE copy_number = 1
