-- assignments_unique: one row per (experiment, phase, user): an assignment
-- is permanent within its phase, so any second row is an export copy.
-- Files written before phases read as phase 1.
-- Rows of an erased user (erased_ids) streamed up to the erasure are left
-- out; an erased anonymous id in linked_from reads 'erased'.
-- Copies of one stream record share its dt and hour, which lead the
-- PARTITION BY (export.Identity names the rest): a dt filter on the view
-- then reaches the table scan and prunes its files.
CREATE OR REPLACE VIEW assignments_unique AS
SELECT experiment, variant, user_id, assigned_at, CASE WHEN erased_linked_from.user_hash IS NULL THEN copies.linked_from ELSE 'erased' END AS linked_from, sequence_number, streamed_at, covariates, phase, dt, hour
FROM (
  SELECT a.experiment, a.variant, a.user_id, a.assigned_at, a.linked_from, a.sequence_number, a.streamed_at, a.covariates,
         coalesce(a.phase, 1) AS phase, a.dt, a.hour,
         row_number() OVER (PARTITION BY dt, hour, experiment, coalesce(a.phase, 1), user_id ORDER BY sequence_number) AS copy_number
  FROM assignments a
) copies
LEFT JOIN erased_ids erased ON erased.user_hash = lower(to_hex(sha256(to_utf8(copies.user_id)))) AND copies.streamed_at <= erased.erased_through
LEFT JOIN erased_ids erased_linked_from ON erased_linked_from.user_hash = lower(to_hex(sha256(to_utf8(copies.linked_from)))) AND copies.streamed_at <= erased_linked_from.erased_through
WHERE copy_number = 1 AND erased.user_hash IS NULL
