-- 0007_status_by_run: GetSendEmailStatus and GetStatisticsReport find a
-- day's deliveries through the runs released that day, not through an
-- index on deliveries.
--
-- A run's deliveries are inserted by the statement that inserts its
-- task_runs row, so their created_at is its released_at (both now() of
-- that statement). deliveries_app_created (app_id, created_at) took an
-- entry for every row version that is not heap-only: the release's insert
-- and the result's update of every delivery. Without it, 100,000
-- deliveries released, claimed and resulted in batches of 500 took 3.2 s
-- instead of 4.1 s (psql, measured three times each). task_runs gets the
-- index instead: one entry per run.
CREATE INDEX task_runs_app_released ON task_runs (app_id, released_at);
DROP INDEX deliveries_app_created;
