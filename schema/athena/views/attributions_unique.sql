-- attributions_unique: one row per (referee, code, status): a referee is
-- attributed at most once, and refused at most once per code.
-- Rows of an erased referee (erased_ids) streamed up to the erasure are left
-- out; an erased referrer of someone else's signup reads 'erased'.
-- Copies of one stream record share its dt and hour, which lead the
-- PARTITION BY (export.Identity names the rest): a dt filter on the view
-- then reaches the table scan and prunes its files.
CREATE OR REPLACE VIEW attributions_unique AS
SELECT referee, code, experiment, variant, CASE WHEN erased_referrer.user_hash IS NULL THEN copies.referrer ELSE 'erased' END AS referrer, status, reasons, counted, signed_up_at,
       sequence_number, streamed_at, dt, hour
FROM (
  SELECT a.*,
         row_number() OVER (PARTITION BY dt, hour, referee, code, status ORDER BY sequence_number) AS copy_number
  FROM attributions a
) copies
LEFT JOIN erased_ids erased ON erased.user_hash = lower(to_hex(sha256(to_utf8(copies.referee)))) AND copies.streamed_at <= erased.erased_through
LEFT JOIN erased_ids erased_referrer ON erased_referrer.user_hash = lower(to_hex(sha256(to_utf8(copies.referrer)))) AND copies.streamed_at <= erased_referrer.erased_through
WHERE copy_number = 1 AND erased.user_hash IS NULL
