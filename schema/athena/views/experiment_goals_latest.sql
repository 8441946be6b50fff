-- experiment_goals_latest: the goals of each experiment as it is now.
CREATE OR REPLACE VIEW experiment_goals_latest AS
SELECT g.experiment, g.version, g.goal, g.kind, coalesce(g.server_only, false) AS server_only, g.cap,
       g.role, g.direction, coalesce(g.min_sample, 0) AS min_sample, coalesce(g.one_sided, false) AS one_sided, g.margin
FROM (
  SELECT x.*,
         row_number() OVER (PARTITION BY experiment, version, goal ORDER BY sequence_number) AS copy_number
  FROM experiment_goals x
) g
JOIN experiments_latest e ON e.experiment = g.experiment AND e.version = g.version
WHERE g.copy_number = 1
