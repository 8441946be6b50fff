-- experiment_variants_latest: the variants of each experiment as it is now.
CREATE OR REPLACE VIEW experiment_variants_latest AS
SELECT v.experiment, v.version, v.variant, v.weight, v.is_control, v.payload
FROM (
  SELECT x.*,
         row_number() OVER (PARTITION BY experiment, version, variant ORDER BY sequence_number) AS copy_number
  FROM experiment_variants x
) v
JOIN experiments_latest e ON e.experiment = v.experiment AND e.version = v.version
WHERE v.copy_number = 1
