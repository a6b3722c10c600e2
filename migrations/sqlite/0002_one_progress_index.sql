-- One index for goal_progress instead of two overlapping ones: every lookup is
-- by goal (and period), and each (goal, period, source) holds one entry: sync
-- writes one per month, and a manual value recorded again for a month
-- replaces the earlier one.
DELETE FROM goal_progress
WHERE id NOT IN (SELECT MAX(id) FROM goal_progress GROUP BY goal_id, period, source);
DROP INDEX goal_progress_one_sync_per_period;
DROP INDEX goal_progress_by_goal;
CREATE UNIQUE INDEX goal_progress_one_per_source ON goal_progress (goal_id, period, source);
