-- experiment_ratio_metrics_latest: the ratio metrics of each experiment as it is now.
CREATE OR REPLACE VIEW experiment_ratio_metrics_latest AS
SELECT m.experiment, m.version, m.ratio_metric, m.numerator, m.denominator,
       m.role, m.direction, m.min_sample, m.one_sided, m.margin
FROM (
  SELECT x.*,
         row_number() OVER (PARTITION BY experiment, version, ratio_metric ORDER BY sequence_number) AS copy_number
  FROM experiment_ratio_metrics x
) m
JOIN experiments_latest e ON e.experiment = m.experiment AND e.version = m.version
WHERE m.copy_number = 1
