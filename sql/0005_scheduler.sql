-- 0005_scheduler: what the release of timed (TaskType 2) and cyclic
-- (TaskType 3) tasks needs (DESIGN.md section 5), and the end of a run
-- told by a counter instead of a scan.
--
-- task_runs.open: the run's deliveries not final yet (queued, sending,
-- deferred). Set by the statement that releases the run, decremented by
-- the statement that writes results (each delivery turns final once: the
-- results update is guarded by its state and attempts) and by an
-- operator's stop. When it reaches 0 the run is over: finished_at is set,
-- and the task leaves status 5 in the same statement (10 when no run is to
-- come, 1 when a cyclic task waits for its next run). Before this counter
-- the end of a task was found with NOT EXISTS over its deliveries, a scan
-- that grew with the task on every results write.
ALTER TABLE task_runs
	ADD COLUMN open integer NOT NULL DEFAULT 0 CHECK (open >= 0),
	ADD COLUMN finished_at timestamptz;
UPDATE task_runs r SET open = n.open,
	finished_at = CASE WHEN n.open = 0 THEN now() END
  FROM (SELECT r2.task_id, r2.run_no, (SELECT count(*) FROM deliveries d
          WHERE d.task_id = r2.task_id AND d.run_no = r2.run_no
          AND d.state IN ('queued', 'sending', 'deferred'))::int AS open
        FROM task_runs r2) n
 WHERE n.task_id = r.task_id AND n.run_no = r.run_no;

-- The dispatcher's claim (db_deliveries.h) walks the queue from a cursor,
-- (next_attempt_at, id) of the last row it claimed, and from the first due
-- row it finds there on for that row's run: both walks in the order of
-- deliveries_queue, so no plan needs a sort. It replaces deliveries_due,
-- which ordered by next_attempt_at alone: every claim started at the dead
-- entries of the rows claimed before, and with the statistics of a table
-- that had just grown by a whole task the planner read the run through
-- deliveries_rcpt and sorted all of it on every claim (77,000 rows sorted
-- on disk per 500-row claim, measured). A partial index gets no entry for
-- a 'sending' or final row, so the claim's update does not touch it.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_queue ON deliveries (next_attempt_at, id)
	WHERE state IN ('queued', 'deferred');

-- The statistics of deliveries, renewed by sesd after it released a big
-- run: until autovacuum's next analyze (a minute or more) they describe a
-- table without it, and a plan made from them reads the whole run where
-- the claim needs 500 rows. A function, since ANALYZE cannot be prepared.
CREATE FUNCTION sesd_analyze_deliveries() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	ANALYZE deliveries;
END $$;

-- send_tasks, for the scheduler and the operator:
--   last_run_no   the newest run released (0: none yet)
--   runs_skipped  cyclic runs not released because sesd was down (or the
--                 previous run was still sending) when they fell due: after
--                 downtime only the latest missed run fires (DESIGN.md 5)
--   paused        an operator paused the task (status 6): no run is
--                 released and none of its deliveries is claimed
--   stopped_at    an operator stopped the task (status 10, err_msg says
--                 so): no run to come, its open deliveries failed
ALTER TABLE send_tasks
	ADD COLUMN last_run_no integer NOT NULL DEFAULT 0,
	ADD COLUMN runs_skipped integer NOT NULL DEFAULT 0,
	ADD COLUMN paused boolean NOT NULL DEFAULT false,
	ADD COLUMN stopped_at timestamptz;
UPDATE send_tasks t SET last_run_no = coalesce((SELECT max(run_no)
	FROM task_runs r WHERE r.task_id = t.id), 0);

-- The operator's controls (README "Pausing, resuming and stopping a
-- task"; `sesd task pause|resume|stop ID` calls these). Each returns one
-- line saying what it did, or raises an error naming why it cannot.
--
-- The task's row, locked for the rest of the transaction, or an error
-- naming the id: the first step of each control below.
CREATE FUNCTION sesd_task_lock(task bigint) RETURNS send_tasks
LANGUAGE plpgsql AS $$
DECLARE
	t send_tasks;
BEGIN
	SELECT * INTO t FROM send_tasks WHERE id = task FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'task % does not exist', task;
	END IF;
	RETURN t;
END $$;

-- Pause: the task shows status 6; no run is released; its queued and
-- deferred deliveries are parked (next_attempt_at = 'infinity', beyond
-- every claim) and messages already handed to a worker finish their SMTP
-- session. A paused cyclic task's runs that fall due are caught up on
-- resume by the usual rule (only the latest missed run fires).
CREATE FUNCTION sesd_task_pause(task bigint) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	t send_tasks;
	n bigint;
BEGIN
	t := sesd_task_lock(task);
	IF t.paused THEN
		RETURN format('task %s is already paused', task);
	END IF;
	IF t.status NOT IN (1, 5) THEN
		RAISE EXCEPTION 'task % has ended (status %)', task, t.status;
	END IF;
	UPDATE deliveries SET next_attempt_at = 'infinity', updated_at = now()
	 WHERE task_id = task AND state IN ('queued', 'deferred');
	GET DIAGNOSTICS n = ROW_COUNT;
	UPDATE send_tasks SET paused = true, status = 6,
	       err_msg = 'paused by the operator', updated_at = now()
	 WHERE id = task;
	RETURN format('task %s paused (%s deliveries held)', task, n);
END $$;

-- Resume: the task returns to 5 when a run still has open deliveries
-- (they become due at once), else to 1 (a run to come) or 10.
CREATE FUNCTION sesd_task_resume(task bigint) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	t send_tasks;
	n bigint;
	busy boolean;
BEGIN
	t := sesd_task_lock(task);
	IF NOT t.paused THEN
		RETURN format('task %s is not paused', task);
	END IF;
	UPDATE deliveries SET next_attempt_at = now(), updated_at = now()
	 WHERE task_id = task AND state IN ('queued', 'deferred')
	   AND next_attempt_at = 'infinity';
	GET DIAGNOSTICS n = ROW_COUNT;
	busy := EXISTS (SELECT 1 FROM task_runs r
	                 WHERE r.task_id = task AND r.open > 0);
	UPDATE send_tasks SET paused = false, err_msg = '',
	       status = CASE WHEN busy THEN 5
	                     WHEN next_run_at IS NULL THEN 10 ELSE 1 END,
	       updated_at = now()
	 WHERE id = task;
	RETURN format('task %s resumed (%s deliveries due again)', task, n);
END $$;

-- Stop: for good. No run is to come; its queued and deferred deliveries
-- become 'failed' ("task stopped by the operator"); messages already with
-- a worker finish, and one deferred by its relay then fails too. The task
-- shows status 10 with that ErrMsg.
CREATE FUNCTION sesd_task_stop(task bigint) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	t send_tasks;
	n bigint;
BEGIN
	t := sesd_task_lock(task);
	IF t.stopped_at IS NOT NULL THEN
		RETURN format('task %s is already stopped', task);
	END IF;
	WITH f AS (UPDATE deliveries SET state = 'failed',
	                  next_attempt_at = NULL,
	                  smtp_reply = 'task stopped by the operator',
	                  updated_at = now()
	            WHERE task_id = task AND state IN ('queued', 'deferred')
	            RETURNING run_no),
	     k AS (SELECT run_no, count(*)::int AS k FROM f GROUP BY run_no)
	UPDATE task_runs r SET open = r.open - k.k,
	       finished_at = CASE WHEN r.open - k.k = 0 THEN now() END
	  FROM k WHERE r.task_id = task AND r.run_no = k.run_no;
	SELECT coalesce(sum(open), 0) INTO n FROM task_runs
	 WHERE task_id = task AND open > 0;
	UPDATE send_tasks SET paused = false, status = 10, next_run_at = NULL,
	       stopped_at = now(), err_msg = 'stopped by the operator',
	       updated_at = now()
	 WHERE id = task;
	RETURN format('task %s stopped (%s deliveries still with a worker)',
	              task, n);
END $$;
