-- attributions_unique: one row per (referee, code, status): a referee is
-- attributed at most once, and refused at most once per code.
CREATE OR REPLACE VIEW attributions_unique AS
SELECT referee, code, experiment, variant, referrer, status, reasons, counted, signed_up_at,
       sequence_number, streamed_at, dt, hour
FROM (
  SELECT a.*,
         row_number() OVER (PARTITION BY referee, code, status ORDER BY sequence_number) AS copy_number
  FROM attributions a
) copies
WHERE copy_number = 1
