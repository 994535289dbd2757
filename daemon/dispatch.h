/*
 * dispatch.h: the dispatcher in the parent (DESIGN.md sections 0 and 4).
 * Every SCHED_TICK_MS, and at once after sched_kick(), it claims a batch
 * (db_deliveries.h: one task run, up to [smtp] messages_per_session
 * recipients, FOR UPDATE SKIP LOCKED with a lease of [smtp] lease) for each
 * idle worker, and one more for each busy worker, kept until its batch is
 * over so the worker never waits for the database (a next batch that waited
 * out half its lease goes back to the queue instead), hands them over
 * (pool.h), collects the per-recipient results
 * and writes them back in batches; it renews the leases of the batches
 * its workers are sending, however long their sessions take; every
 * SCHED_EXPIRE_MS it returns expired leases to the queue. Nothing another
 * node needs is kept in memory: the database is the queue, so several sesd
 * share the work.
 *
 * Duplicates: a batch whose SMTP session finished but whose results were
 * not written (sesd killed, database gone past the lease) is sent again
 * when its lease expires, with the same Message-ID (DESIGN.md section 4).
 */
#ifndef SESD_DISPATCH_H
#define SESD_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define SCHED_TICK_MS   200
#define SCHED_EXPIRE_MS 10000
/* the leases held are renewed every [smtp] lease / SCHED_RENEW_DIV */
#define SCHED_RENEW_DIV 3
/* results are written when this many are waiting, or a batch is over */
#define SCHED_FLUSH_MAX   1000
#define SCHED_HOLD_MAX_MS 5000

struct event_base;
struct db;
struct sched;

/* cfg borrowed (sched_set_config replaces it). Forks nothing yet. Every
 * function below accepts NULL (no dispatcher: [smtp] workers = 0). */
struct sched *sched_new(
    struct event_base *base, struct db *db, const struct config *cfg);
/* Forks the workers (pool_start) and starts the timers. Call before any
 * thread exists and before the listeners. */
void sched_start(struct sched *s);
void sched_set_config(struct sched *s, const struct config *cfg);
/* Claim now (after a release), not at the next tick. */
void sched_kick(struct sched *s);
/* hold: no claim starts until sched_hold(s, false), or for at most
 * SCHED_HOLD_MAX_MS; results are still written. */
void sched_hold(struct sched *s, bool hold);
/* Shutdown: no more claims; workers finish their batches. */
void sched_stop(struct sched *s);
/* Work still in flight: batches, claims, results not yet written. 0 when
 * sesd may exit without losing a result. */
size_t sched_busy(const struct sched *s);
/* After the loop stopped: ends the workers. Accepts NULL. */
void sched_free(struct sched *s);

#endif
