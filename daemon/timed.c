/*
 * timed.c: the scheduler (timed.h).
 */
#include "timed.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "db.h"
#include "db_timed.h"
#include "log.h"
#include "util.h"
#include "wheel.h"

/* One task held: in the wheel, or with its release in flight. */
struct entry {
	struct wheel_timer tm;
	uint64_t task;
	bool firing;
	struct entry *hnext;
};

struct fire {
	struct timed *t;
	struct entry *e;
	uint64_t sent_ms; /* when the statement was sent */
};

struct timed {
	struct event_base *base;
	struct db *db;
	const struct config *cfg;
	struct wheel *wheel;
	struct event *ev_wheel, *ev_refill;
	void (*release_fn)(void *, int64_t);
	void *release_arg;
	/* task id -> entry, chained; nbuckets a power of two */
	struct entry **buckets;
	size_t nbuckets, nentries;
	/* the refill's keyset watermark: (next_run_at, id) loaded so far */
	char wm_time[64];
	char wm_id[24];
	bool refilling, sweeping, stopping;
	uint64_t refill_sent_ms;
	size_t inflight;
};

static void wheel_cb(evutil_socket_t, short, void *);
static void refill_cb(evutil_socket_t, short, void *);
static void refill(struct timed *);
static void refill_done(const struct db_res *, void *);
static void overdue_done(const struct db_res *, void *);
static void fire_cb(struct wheel_timer *, void *);
static void fire_done(const struct db_res *, void *);
static void arm(struct timed *);

static size_t
hash(uint64_t task, size_t n)
{
	/* Fibonacci hashing: ids are sequential, spread them */
	return (size_t)((task * 11400714819323198485ULL) >> 20) & (n - 1);
}

static struct entry *
find(const struct timed *t, uint64_t task)
{
	struct entry *e = t->buckets[hash(task, t->nbuckets)];

	while (e != NULL && e->task != task)
		e = e->hnext;
	return e;
}

static void
grow(struct timed *t)
{
	size_t n = t->nbuckets * 2;
	struct entry **b = xcalloc(n, sizeof(*b));

	for (size_t i = 0; i < t->nbuckets; i++) {
		struct entry *e = t->buckets[i], *next;
		for (; e != NULL; e = next) {
			size_t h = hash(e->task, n);
			next = e->hnext;
			e->hnext = b[h];
			b[h] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

static struct entry *
get(struct timed *t, uint64_t task)
{
	struct entry *e = find(t, task);
	size_t h;

	if (e != NULL)
		return e;
	if (t->nentries >= t->nbuckets)
		grow(t);
	e = xcalloc(1, sizeof(*e));
	wheel_timer_init(&e->tm);
	e->task = task;
	h = hash(task, t->nbuckets);
	e->hnext = t->buckets[h];
	t->buckets[h] = e;
	t->nentries++;
	return e;
}

static void
drop(struct timed *t, struct entry *e)
{
	struct entry **p = &t->buckets[hash(e->task, t->nbuckets)];

	while (*p != e)
		p = &(*p)->hnext;
	*p = e->hnext;
	wheel_del(t->wheel, &e->tm);
	t->nentries--;
	free(e);
}

struct timed *
timed_new(struct event_base *base, struct db *db, const struct config *cfg)
{
	struct timed *t = xcalloc(1, sizeof(*t));

	t->base = base;
	t->db = db;
	t->cfg = cfg;
	t->wheel = wheel_new(now_ms());
	t->nbuckets = 1024;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	snprintf(t->wm_time, sizeof(t->wm_time), "-infinity");
	snprintf(t->wm_id, sizeof(t->wm_id), "0");
	t->ev_wheel = event_new(base, -1, 0, wheel_cb, t);
	t->ev_refill = event_new(base, -1, EV_PERSIST, refill_cb, t);
	return t;
}

void
timed_set_release_hook(struct timed *t, void (*fn)(void *, int64_t), void *arg)
{
	if (t == NULL)
		return;
	t->release_fn = fn;
	t->release_arg = arg;
}

void
timed_start(struct timed *t)
{
	struct timeval tv = {
	    TIMED_REFILL_MS / 1000, (TIMED_REFILL_MS % 1000) * 1000};

	if (t == NULL)
		return;
	event_add(t->ev_refill, &tv);
	refill(t);
}

void
timed_set_config(struct timed *t, const struct config *cfg)
{
	if (t != NULL)
		t->cfg = cfg;
}

/*
 * Holds task to fire delay_ms (< 0 counts as 0) after base_ms: when the
 * statement that measured the delay was sent, since its now() is its
 * start, not the moment its reply arrived here. Too early is harmless: the
 * release re-checks the time and answers how long to wait.
 */
static void
hold(struct timed *t, uint64_t task, int64_t delay_ms, uint64_t base_ms)
{
	struct entry *e = get(t, task);

	if (e->firing)
		return; /* its release re-arms it */
	wheel_add(t->wheel, &e->tm,
	    base_ms + (uint64_t)(delay_ms > 0 ? delay_ms : 0));
}

void
timed_add(struct timed *t, uint64_t task, int64_t delay_ms)
{
	if (t == NULL || t->stopping)
		return;
	hold(t, task, delay_ms, now_ms());
	arm(t);
}

void
timed_stop(struct timed *t)
{
	if (t == NULL)
		return;
	t->stopping = true;
	event_del(t->ev_wheel);
	event_del(t->ev_refill);
}

size_t
timed_busy(const struct timed *t)
{
	return t != NULL ? t->inflight : 0;
}

size_t
timed_count(const struct timed *t)
{
	return t != NULL ? wheel_count(t->wheel) : 0;
}

void
timed_free(struct timed *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct entry *e = t->buckets[i], *next;
		for (; e != NULL; e = next) {
			next = e->hnext;
			free(e);
		}
	}
	free(t->buckets);
	wheel_free(t->wheel);
	event_free(t->ev_wheel);
	event_free(t->ev_refill);
	free(t);
}

/* Arms the libevent timer for the wheel's earliest timer. */
static void
arm(struct timed *t)
{
	uint64_t next = wheel_next(t->wheel), at, now = now_ms();
	struct timeval tv;

	if (t->stopping)
		return;
	event_del(t->ev_wheel);
	if (next == UINT64_MAX)
		return;
	at = wheel_now(t->wheel) + next;
	next = at > now ? at - now : 0;
	tv.tv_sec = (time_t)(next / 1000);
	tv.tv_usec = (suseconds_t)(next % 1000) * 1000;
	event_add(t->ev_wheel, &tv);
}

static void
wheel_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timed *t = arg;

	(void)fd;
	(void)what;
	wheel_advance(t->wheel, now_ms(), fire_cb, t);
	arm(t);
}

static void
fire_cb(struct wheel_timer *tm, void *arg)
{
	struct timed *t = arg;
	struct entry *e =
	    (struct entry *)(void *)((char *)tm - offsetof(struct entry, tm));
	struct fire *f;
	char id[24], hour[16];
	const char *params[2];

	if (t->stopping)
		return;
	snprintf(id, sizeof(id), "%" PRIu64, e->task);
	snprintf(hour, sizeof(hour), "%d", t->cfg->scheduler_hour_seconds);
	params[0] = id;
	params[1] = hour;
	e->firing = true;
	f = xmalloc(sizeof(*f));
	f->t = t;
	f->e = e;
	f->sent_ms = now_ms();
	t->inflight++;
	db_query(t->db, &db_timed_fire, params, fire_done, f);
}

static void
fire_done(const struct db_res *res, void *arg)
{
	struct fire *f = arg;
	struct timed *t = f->t;
	struct entry *e = f->e;
	uint64_t sent = f->sent_ms;
	int64_t again = -1;

	free(f);
	t->inflight--;
	e->firing = false;
	if (res->status != DB_OK) {
		/* the overdue sweep tries again within TIMED_REFILL_MS */
		if (res->status == DB_FAIL)
			log_warn("scheduler: releasing task %" PRIu64 ": %s",
			    e->task, res->errmsg);
	} else if (db_bool(res, 0, TIMED_F_FIRED)) {
		int64_t skipped = db_int(res, 0, TIMED_F_SKIPPED);
		log_info("scheduler: task %" PRIu64 " run %" PRId64
			 " released: %" PRId64 " recipients, %" PRId64
			 " to send; task status %" PRId64,
		    e->task, db_int(res, 0, TIMED_F_RUN),
		    db_int(res, 0, TIMED_F_RECIPIENTS),
		    db_int(res, 0, TIMED_F_LIVE),
		    db_int(res, 0, TIMED_F_STATUS));
		if (skipped > 0)
			log_warn("scheduler: task %" PRIu64 ": %" PRId64
				 " earlier runs skipped (they fell due while "
				 "sesd was down, the task was paused or its "
				 "previous run was still sending)",
			    e->task, skipped);
		if (db_val(res, 0, TIMED_F_NEXT_MS) != NULL)
			again = db_int(res, 0, TIMED_F_NEXT_MS);
		if (db_int(res, 0, TIMED_F_LIVE) > 0 && t->release_fn != NULL)
			t->release_fn(
			    t->release_arg, db_int(res, 0, TIMED_F_LIVE));
	} else if (db_val(res, 0, TIMED_F_WAIT_MS) != NULL &&
		   db_int(res, 0, TIMED_F_WAIT_MS) > 0) {
		/* not due yet by the database's clock */
		again = db_int(res, 0, TIMED_F_WAIT_MS);
	}
	/* else: released elsewhere, paused, ended or its previous run still
	 * sending; the refill or the overdue sweep brings it back */
	if (again >= 0 && !t->stopping) {
		hold(t, e->task, again, sent);
		arm(t);
	} else {
		drop(t, e);
	}
}

static void
refill_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	refill(arg);
}

static void
refill(struct timed *t)
{
	char horizon[16], rows[16];
	const char *params[4];

	if (t->stopping)
		return;
	if (!t->refilling) {
		snprintf(horizon, sizeof(horizon), "%d", TIMED_HORIZON_S);
		snprintf(rows, sizeof(rows), "%d", TIMED_REFILL_ROWS);
		params[0] = t->wm_time;
		params[1] = t->wm_id;
		params[2] = horizon;
		params[3] = rows;
		t->refilling = true;
		t->refill_sent_ms = now_ms();
		db_query(t->db, &db_timed_refill, params, refill_done, t);
	}
	if (!t->sweeping) {
		snprintf(rows, sizeof(rows), "%d", TIMED_OVERDUE_ROWS);
		params[0] = rows;
		t->sweeping = true;
		db_query(t->db, &db_timed_overdue, params, overdue_done, t);
	}
}

static void
refill_done(const struct db_res *res, void *arg)
{
	struct timed *t = arg;
	int n = 0;

	t->refilling = false;
	if (!db_res_ok(res, "scheduler: refill") || t->stopping)
		return;
	for (int i = 0; i < res->nrows; i++) {
		if (db_val(res, i, 1) == NULL)
			continue;
		hold(t, (uint64_t)db_int(res, i, 1), db_int(res, i, 3),
		    t->refill_sent_ms);
		n++;
	}
	if (n == TIMED_REFILL_ROWS) {
		/* more within the horizon: continue after the last one */
		snprintf(t->wm_time, sizeof(t->wm_time), "%s",
		    db_val(res, res->nrows - 1, 2));
		snprintf(t->wm_id, sizeof(t->wm_id), "%s",
		    db_val(res, res->nrows - 1, 1));
	} else if (res->nrows > 0 && db_val(res, 0, 0) != NULL) {
		snprintf(
		    t->wm_time, sizeof(t->wm_time), "%s", db_val(res, 0, 0));
		snprintf(t->wm_id, sizeof(t->wm_id), "%" PRId64, INT64_MAX);
	}
	if (n > 0)
		log_debug("scheduler: %d tasks loaded, %zu held", n,
		    wheel_count(t->wheel));
	arm(t);
	if (n == TIMED_REFILL_ROWS)
		refill(t);
}

static void
overdue_done(const struct db_res *res, void *arg)
{
	struct timed *t = arg;
	bool any = false;

	t->sweeping = false;
	if (!db_res_ok(res, "scheduler: overdue sweep") || t->stopping)
		return;
	for (int i = 0; i < res->nrows; i++) {
		uint64_t task = (uint64_t)db_int(res, i, 0);
		struct entry *e = find(t, task);
		/* held and due soon, or being released: leave it */
		if (e != NULL &&
		    (e->firing ||
			(wheel_pending(&e->tm) &&
			    wheel_timer_expires(&e->tm) <= now_ms() + 1000)))
			continue;
		hold(t, task, 0, now_ms());
		any = true;
	}
	if (any)
		arm(t);
}
