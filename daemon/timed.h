/*
 * timed.h: the scheduler in the parent (DESIGN.md sections 0 and 5): it
 * releases the runs of timed (TaskType 2) and cyclic (TaskType 3) tasks
 * on time, exactly once across restarts and nodes.
 *
 * The database holds the schedule (send_tasks.next_run_at); a timing wheel
 * (wheel.h) holds, in memory, the tasks due within TIMED_HORIZON_S, loaded
 * every TIMED_REFILL_MS by a keyset watermark (db_timed_refill), and the
 * tasks accepted here while running (timed_add, straight from the API).
 * One libevent timer is armed for the wheel's earliest timer. When a task
 * falls due its run is released by ONE statement (db_timed_fire: the
 * task_runs row, its deliveries set-wise, the task advanced), which
 * re-checks everything under a row lock, so several nodes may hold the
 * same task and still release each run once. Every refill also asks for
 * waiting tasks already overdue that the wheel does not hold
 * (db_timed_overdue): a run whose predecessor was still sending when it fell
 * due, a resumed task, one accepted by a node that died.
 *
 * Catch-up: a cyclic task fires its LATEST due slot only; slots missed
 * while sesd was down (or while its previous run was still sending, or it
 * was paused) are counted in send_tasks.runs_skipped and logged, never
 * replayed as a burst. A timed task due during downtime fires once on start.
 */
#ifndef SESD_TIMED_H
#define SESD_TIMED_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define TIMED_REFILL_MS    1000
#define TIMED_HORIZON_S    3600
#define TIMED_REFILL_ROWS  20000
#define TIMED_OVERDUE_ROWS 1000

struct event_base;
struct db;
struct timed;

/* cfg borrowed (timed_set_config replaces it). Every function below
 * accepts NULL. */
struct timed *timed_new(
    struct event_base *base, struct db *db, const struct config *cfg);
/* Called after a run was released with deliveries to send, with their
 * number (the dispatcher claims at once instead of at its next tick). */
void timed_set_release_hook(
    struct timed *t, void (*fn)(void *, int64_t), void *arg);
/* Starts the refill timer and the first refill. */
void timed_start(struct timed *t);
void timed_set_config(struct timed *t, const struct config *cfg);
/* Holds task (first run in delay_ms, by the database's clock); a task
 * held already is moved to the new time. */
void timed_add(struct timed *t, uint64_t task, int64_t delay_ms);
/* Shutdown: fires nothing more; releases in flight complete. */
void timed_stop(struct timed *t);
/* Releases in flight (0: nothing lost by exiting). */
size_t timed_busy(const struct timed *t);
/* Tasks held in the wheel. */
size_t timed_count(const struct timed *t);
void timed_free(struct timed *t);

#endif
