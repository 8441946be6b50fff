-- assignments_unique: one row per (experiment, user): assignments are
-- permanent, so any second row is an export copy.
-- Rows of an erased user (erased_ids) streamed up to the erasure are left
-- out; an erased anonymous id in linked_from reads 'erased'.
CREATE OR REPLACE VIEW assignments_unique AS
SELECT experiment, variant, user_id, assigned_at, CASE WHEN erased_linked_from.user_hash IS NULL THEN copies.linked_from ELSE 'erased' END AS linked_from, sequence_number, streamed_at, covariates, dt, hour
FROM (
  SELECT a.*,
         row_number() OVER (PARTITION BY experiment, user_id ORDER BY sequence_number) AS copy_number
  FROM assignments a
) copies
LEFT JOIN erased_ids erased ON erased.user_hash = lower(to_hex(sha256(to_utf8(copies.user_id)))) AND copies.streamed_at <= erased.erased_through
LEFT JOIN erased_ids erased_linked_from ON erased_linked_from.user_hash = lower(to_hex(sha256(to_utf8(copies.linked_from)))) AND copies.streamed_at <= erased_linked_from.erased_through
WHERE copy_number = 1 AND erased.user_hash IS NULL
