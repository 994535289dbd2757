/*
 * db_timed.h: the scheduler's SQL over send_tasks, task_runs and
 * deliveries (sql/0003_sending.sql, sql/0005_scheduler.sql; DESIGN.md
 * section 5). Times cross as delays in ms measured by the database's own
 * clock (now()), so nodes whose clocks disagree still fire a run when the
 * database says it is due. The statements span accounts on purpose (the
 * scheduler serves all of them).
 */
#ifndef SESD_DB_TIMED_H
#define SESD_DB_TIMED_H

#include "db.h"

/*
 * Refill. $1 watermark time (timestamptz text, '-infinity' at first), $2
 * watermark task id, $3 horizon in seconds, $4 at most this many rows.
 * The tasks waiting for a run (status 1, not paused) whose next_run_at is
 * after the watermark (keyset (next_run_at, id)) and at most now() +
 * horizon, soonest first.
 * -> first row always: col 0 the horizon's end (timestamptz text, the next
 *    watermark when fewer than $4 rows came); then per task (cols 1..3,
 *    NULL in a lone first row when none): id, next_run_at (timestamptz
 *    text), ms until it (0 when passed).
 */
extern struct db_stmt db_timed_refill;

/*
 * Overdue. $1 at most this many rows. Tasks waiting (status 1, not
 * paused) whose next_run_at has passed: those the wheel does not hold (a
 * run that fell due while its predecessor was still sending, a resumed
 * task, a task another node accepted and then died).
 * -> per task: id.
 */
extern struct db_stmt db_timed_overdue;

/*
 * Fire. $1 task id, $2 seconds in one IntervalTime hour ([scheduler]
 * hour_seconds). ONE statement, so one transaction: locks the task (FOR
 * UPDATE SKIP LOCKED: another node firing it is left alone) if it is
 * still waiting, not paused and due; inserts the task_runs row (ON
 * CONFLICT DO NOTHING: a run exists once) and one delivery per address of
 * the list set-wise ('suppressed' under an active suppression, the rule of
 * db_send.h SUPPRESSION_APPLIES); advances the task: status 5 (sending),
 * or 1 / 10 when nobody is to be mailed, 7 when the list is gone;
 * next_run_at the next slot of a cyclic task (NULL for a timed one);
 * last_run_no, runs_skipped, request_count.
 * A cyclic task's run number is the latest slot due: BeginTime + k x
 * IntervalTime <= now() gives run k + 1, and the slots between the last
 * run released and this one are skipped (counted, never replayed).
 * -> one row: fired (bool), run_no, skipped, recipients, live (not
 *    suppressed), status, ms until the next run (NULL: none); when not
 *    fired, cols 1..6 are NULL and col 7 is ms until the task's
 *    next_run_at if it still waits (status 1, not paused), else NULL.
 */
extern struct db_stmt db_timed_fire;

enum {
	TIMED_F_FIRED,
	TIMED_F_RUN,
	TIMED_F_SKIPPED,
	TIMED_F_RECIPIENTS,
	TIMED_F_LIVE,
	TIMED_F_STATUS,
	TIMED_F_NEXT_MS,
	TIMED_F_WAIT_MS
};

#endif
