/*
 * test_wheel.c: the timing wheel (wheel.c) alone: firing at the exact ms,
 * cancel (also from inside a callback), cascades between levels in small
 * steps and in one jump, 10,000 timers in one slot, expiry order,
 * wrap-around at level boundaries, periodic re-adds, wheel_next against a
 * brute-force minimum, and 100,000 random operations checked against a
 * naive model. Prints (does not assert) the cost of 100,000 timers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "wheel.h"

#define MS_HOUR (UINT64_C(3600) * 1000)
#define MS_DAY  (24 * MS_HOUR)
#define L3      (UINT64_C(64) * 64 * 64) /* 64^3 ms: level 3 slot width */
#define SPAN    (UINT64_C(1) << 36)      /* the six levels' range */

/* A timer of the tests: the wheel_timer embedded in an owner. */
struct tt {
	struct wheel_timer wt;
	int id;
	int nfired;
};

static struct tt *
tt_of(struct wheel_timer *t)
{
	return (struct tt *)(void *)((char *)t - offsetof(struct tt, wt));
}

/* One firing as seen by the callback. */
struct ev {
	int id;
	uint64_t expires;
	uint64_t now; /* wheel_now() inside fire */
};

struct rec {
	struct wheel *w;
	struct ev *ev;
	size_t n, cap;
};

static void
rec_push(struct rec *r, int id, uint64_t expires, uint64_t now)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->ev = xrealloc(r->ev, r->cap * sizeof(*r->ev));
	}
	r->ev[r->n++] = (struct ev){id, expires, now};
}

static void
rec_reset(struct rec *r)
{
	free(r->ev);
	memset(r, 0, sizeof(*r));
}

/* The plain callback: records the firing, checks it is no longer pending. */
static void
rec_fire(struct wheel_timer *t, void *arg)
{
	struct rec *r = arg;

	assert_false(wheel_pending(t));
	tt_of(t)->nfired++;
	rec_push(r, tt_of(t)->id, wheel_timer_expires(t), wheel_now(r->w));
}

static uint64_t
rng(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t
mix(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t s = a * UINT64_C(0x9e3779b97f4a7c15) ^ b ^
		     c * UINT64_C(0xc2b2ae3d27d4eb4f);

	return rng(&s);
}

static double
secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Walks the wheel the way sched.c will, waking at now + wheel_next(), but
 * never past stop; fails if anything fires. Returns the wake-ups.
 */
static unsigned
walk_to(struct wheel *w, uint64_t stop, struct rec *r)
{
	unsigned wakeups = 0;
	uint64_t n, target;

	while (wheel_now(w) < stop) {
		n = wheel_next(w);
		assert_true(n >= 1);
		target = n > stop - wheel_now(w) ? stop : wheel_now(w) + n;
		assert_int_equal(wheel_advance(w, target, rec_fire, r), 0);
		assert_int_equal(wheel_now(w), target);
		wakeups++;
	}
	return wakeups;
}

/* --- exact ms ---------------------------------------------------------- */

static const uint64_t starts[] = {0, 1000, UINT32_MAX - UINT64_C(3),
    L3 - 1,           /* 64^3 - 1: a level 3 boundary next */
    L3 * 64 * 64 - 1, /* 64^5 - 1 */
    SPAN - 1,         /* the top level wraps next */
    SPAN + 5, UINT64_C(5) * SPAN - 2};

static const uint64_t deltas[] = {1, 2, 63, 64, 65, 127, 128, 4095, 4096, 4097,
    L3 - 1, L3, L3 + 1, UINT64_C(1) << 30, SPAN - 1, SPAN, SPAN + 1,
    UINT64_C(1) << 40, UINT64_C(1) << 43};

/* A timer delta ms after start: nothing at e - 1, fired at e. */
static void
exact_case(uint64_t s, uint64_t delta, bool walk)
{
	uint64_t e = s + delta;
	struct rec r = {0};
	struct tt t = {.id = 1};
	unsigned wakeups;

	r.w = wheel_new(s);
	wheel_timer_init(&t.wt);
	wheel_add(r.w, &t.wt, e);
	assert_true(wheel_pending(&t.wt));
	if (walk) {
		/* one early wake-up per level, one for beyond the levels */
		wakeups = walk_to(r.w, e - 1, &r);
		if (wakeups > 7)
			fail_msg("start %" PRIu64 " delta %" PRIu64
				 ": %u wake-ups",
			    s, delta, wakeups);
	} else {
		assert_int_equal(wheel_advance(r.w, e - 1, rec_fire, &r), 0);
	}
	assert_true(wheel_pending(&t.wt));
	assert_int_equal(wheel_next(r.w), 1);
	assert_int_equal(wheel_advance(r.w, e, rec_fire, &r), 1);
	assert_false(wheel_pending(&t.wt));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].now, e);
	assert_int_equal(r.ev[0].expires, e);
	assert_int_equal(wheel_count(r.w), 0);
	assert_int_equal(wheel_next(r.w), UINT64_MAX);
	wheel_free(r.w);
	rec_reset(&r);
}

static void
test_fire_exact_ms(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		for (size_t j = 0; j < sizeof(deltas) / sizeof(deltas[0]);
		     j++) {
			exact_case(starts[i], deltas[j], false);
			exact_case(starts[i], deltas[j], true);
		}
	}
}

/* Times <= now are due: they fire at the next advance, by expiry. */
static void
test_due_past(void **state)
{
	static const uint64_t at[] = {995, 1000, 0, 900, 995, 1000};
	static const int order[] = {2, 3, 0, 4, 1, 5};
	struct tt t[6];
	struct rec r = {0};

	(void)state;
	r.w = wheel_new(1000);
	for (int i = 0; i < 6; i++) {
		t[i] = (struct tt){.id = i};
		wheel_timer_init(&t[i].wt);
		wheel_add(r.w, &t[i].wt, at[i]);
	}
	assert_int_equal(wheel_count(r.w), 6);
	assert_int_equal(wheel_next(r.w), 0);
	/* a smaller time is a no-op advance, but the due timers fire */
	assert_int_equal(wheel_advance(r.w, 10, rec_fire, &r), 6);
	assert_int_equal(wheel_now(r.w), 1000);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(r.ev[i].id, order[i]);
		assert_int_equal(r.ev[i].now, 1000);
	}
	assert_int_equal(wheel_count(r.w), 0);
	assert_int_equal(wheel_advance(r.w, 1000, rec_fire, &r), 0);
	wheel_free(r.w);
	rec_reset(&r);
}

/* --- cancel ------------------------------------------------------------ */

static void
test_cancel(void **state)
{
	static const uint64_t at[] = {
	    950,                /* due */
	    1001,               /* level 0 */
	    1000 + 100,         /* level 1 */
	    1000 + 3 * MS_HOUR, /* level 4 */
	    1000 + 3 * SPAN,    /* beyond the levels */
	};
	struct rec r = {0};
	struct tt t[5], never = {.id = 9};

	(void)state;
	for (int i = 0; i < 5; i++) {
		r.w = wheel_new(1000);
		t[i] = (struct tt){.id = i};
		wheel_timer_init(&t[i].wt);
		wheel_add(r.w, &t[i].wt, at[i]);
		assert_int_equal(wheel_count(r.w), 1);
		wheel_del(r.w, &t[i].wt);
		assert_false(wheel_pending(&t[i].wt));
		assert_int_equal(wheel_count(r.w), 0);
		/* the slot's bit went with it */
		assert_int_equal(wheel_next(r.w), UINT64_MAX);
		assert_int_equal(
		    wheel_advance(r.w, UINT64_MAX, rec_fire, &r), 0);
		/* not pending any more: a no-op */
		wheel_del(r.w, &t[i].wt);
		assert_int_equal(wheel_count(r.w), 0);
		wheel_free(r.w);
	}

	/* never added, and already fired: no-ops */
	r.w = wheel_new(0);
	wheel_timer_init(&never.wt);
	wheel_timer_init(&t[0].wt);
	wheel_add(r.w, &t[0].wt, 5);
	wheel_del(r.w, &never.wt);
	assert_int_equal(wheel_count(r.w), 1);
	assert_int_equal(wheel_advance(r.w, 5, rec_fire, &r), 1);
	wheel_del(r.w, &t[0].wt);
	assert_int_equal(wheel_count(r.w), 0);

	/* cancel one of two in a slot: the other still fires */
	wheel_add(r.w, &t[0].wt, 5000);
	wheel_add(r.w, &t[1].wt, 5000);
	wheel_del(r.w, &t[0].wt);
	assert_int_equal(wheel_advance(r.w, 6000, rec_fire, &r), 1);
	assert_int_equal(r.ev[1].id, 1);
	wheel_free(r.w);
	rec_reset(&r);
}

/* fire of timer 0 deletes the others, due in the same advance */
struct cancel_ctx {
	struct rec r;
	struct tt *t;
	size_t n;
};

static void
cancel_fire(struct wheel_timer *t, void *arg)
{
	struct cancel_ctx *c = arg;

	rec_fire(t, &c->r);
	if (tt_of(t)->id != 0)
		return;
	for (size_t i = 1; i < c->n; i++) {
		wheel_del(c->r.w, &c->t[i].wt);
		assert_false(wheel_pending(&c->t[i].wt));
	}
}

static void
test_cancel_inside_fire(void **state)
{
	/* timer 0's time, then the others': same ms, same slot, later slots,
	 * other levels, and timers that were due on entry */
	static const struct {
		uint64_t now;
		uint64_t at[5];
	} c[] = {
	    {1000, {1100, 1100, 1100, 1101, 1200}},
	    {1000, {1100, 1100, 1000 + MS_HOUR, 1000 + MS_DAY, 1100}},
	    {1000, {500, 600, 700, 1000, 1050}},
	    {1000, {500, 500, 600, 1000, 1050}},
	    {L3 - 1, {L3, L3, L3 + 1, L3 + 64, 2 * L3}},
	};
	struct tt t[5];

	(void)state;
	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct cancel_ctx ctx = {.t = t, .n = 5};
		uint64_t last = 0;

		ctx.r.w = wheel_new(c[k].now);
		for (int i = 0; i < 5; i++) {
			t[i] = (struct tt){.id = i};
			wheel_timer_init(&t[i].wt);
			wheel_add(ctx.r.w, &t[i].wt, c[k].at[i]);
			if (c[k].at[i] > last)
				last = c[k].at[i];
		}
		assert_int_equal(
		    wheel_advance(ctx.r.w, last + 1, cancel_fire, &ctx), 1);
		assert_int_equal(ctx.r.ev[0].id, 0);
		assert_int_equal(wheel_count(ctx.r.w), 0);
		assert_int_equal(wheel_next(ctx.r.w), UINT64_MAX);
		for (int i = 1; i < 5; i++)
			assert_int_equal(t[i].nfired, 0);
		wheel_free(ctx.r.w);
		rec_reset(&ctx.r);
	}
}

/* --- cascade ----------------------------------------------------------- */

static const uint64_t cascade_at[] = {
    100,            /* level 1 */
    5000,           /* level 2 */
    10 * 60 * 1000, /* level 3 */
    3 * MS_HOUR,    /* level 4 */
    40 * MS_DAY,    /* level 5 */
};
#define NCASCADE (sizeof(cascade_at) / sizeof(cascade_at[0]))

static void
cascade_setup(struct rec *r, struct tt *t, uint64_t s)
{
	r->w = wheel_new(s);
	for (size_t i = 0; i < NCASCADE; i++) {
		t[i] = (struct tt){.id = (int)i};
		wheel_timer_init(&t[i].wt);
		wheel_add(r->w, &t[i].wt, s + cascade_at[i]);
	}
	assert_int_equal(wheel_count(r->w), NCASCADE);
}

static void
cascade_check(struct rec *r, uint64_t s)
{
	assert_int_equal(r->n, NCASCADE);
	for (size_t i = 0; i < NCASCADE; i++) {
		assert_int_equal(r->ev[i].id, (int)i);
		assert_int_equal(r->ev[i].now, s + cascade_at[i]);
		assert_int_equal(r->ev[i].expires, s + cascade_at[i]);
	}
	assert_int_equal(wheel_count(r->w), 0);
	wheel_free(r->w);
	rec_reset(r);
}

static void
test_cascade_steps(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		uint64_t s = starts[i], end = s + cascade_at[NCASCADE - 1];
		struct rec r = {0};
		struct tt t[NCASCADE];
		size_t next = 0;

		cascade_setup(&r, t, s);
		/* ~1 s steps for the first 3 hours, ~1 min after, landing
		 * on every expiry - 1 and expiry */
		while (wheel_now(r.w) < end) {
			uint64_t now = wheel_now(r.w);
			uint64_t step =
			    now - s < 3 * MS_HOUR + 1000 ? 997 : 59999;
			uint64_t e = s + cascade_at[next];
			uint64_t target = now + step;
			size_t fired;

			if (target >= e - 1 && now < e - 1)
				target = e - 1;
			else if (target >= e)
				target = e;
			fired = wheel_advance(r.w, target, rec_fire, &r);
			assert_int_equal(fired, target == e ? 1 : 0);
			assert_int_equal(
			    wheel_pending(&t[next].wt), target != e);
			if (target == e)
				next++;
		}
		cascade_check(&r, s);
	}
}

static void
test_cascade_jump(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		uint64_t s = starts[i], end = s + cascade_at[NCASCADE - 1];
		struct rec r = {0};
		struct tt t[NCASCADE];

		cascade_setup(&r, t, s);
		assert_int_equal(
		    wheel_advance(r.w, end - 1, rec_fire, &r), NCASCADE - 1);
		assert_int_equal(wheel_advance(r.w, end, rec_fire, &r), 1);
		cascade_check(&r, s);

		/* and all of it in one advance */
		cascade_setup(&r, t, s);
		assert_int_equal(
		    wheel_advance(r.w, end + MS_DAY, rec_fire, &r), NCASCADE);
		cascade_check(&r, s);

		/* and the way sched.c walks: wake at wheel_next() */
		cascade_setup(&r, t, s);
		for (size_t k = 0; k < NCASCADE; k++) {
			unsigned wakeups;

			wakeups = walk_to(r.w, s + cascade_at[k] - 1, &r);
			assert_true(wakeups <= 7);
			assert_int_equal(wheel_next(r.w), 1);
			assert_int_equal(
			    wheel_advance(r.w, s + cascade_at[k], rec_fire, &r),
			    1);
		}
		cascade_check(&r, s);
	}
}

/* --- many timers in one slot ------------------------------------------ */

static void
test_many_in_one_slot(void **state)
{
	/* same ms: in level 0, and high up so that the slot cascades */
	static const uint64_t ahead[] = {10, 3 * MS_HOUR, 40 * MS_DAY};
	enum { N = 10000 };
	struct tt *t = xcalloc(N, sizeof(*t));

	(void)state;
	for (size_t k = 0; k < sizeof(ahead) / sizeof(ahead[0]); k++) {
		for (int jump = 0; jump < 2; jump++) {
			struct rec r = {0};
			uint64_t s = UINT32_MAX - UINT64_C(5), e = s + ahead[k];

			r.w = wheel_new(s);
			for (int i = 0; i < N; i++) {
				t[i] = (struct tt){.id = i};
				wheel_timer_init(&t[i].wt);
				wheel_add(r.w, &t[i].wt, e);
			}
			assert_int_equal(wheel_count(r.w), N);
			if (jump)
				assert_int_equal(
				    wheel_advance(r.w, e - 1, rec_fire, &r), 0);
			else
				(void)walk_to(r.w, e - 1, &r);
			assert_int_equal(wheel_count(r.w), N);
			assert_int_equal(
			    wheel_advance(r.w, e + 1000, rec_fire, &r), N);
			assert_int_equal(wheel_count(r.w), 0);
			for (int i = 0; i < N; i++) {
				assert_int_equal(t[i].nfired, 1);
				/* equal expiries: in the order added */
				assert_int_equal(r.ev[i].id, i);
				assert_int_equal(r.ev[i].now, e);
			}
			wheel_free(r.w);
			rec_reset(&r);
		}
	}
	free(t);
}

/* --- order ------------------------------------------------------------- */

static void
test_order_random(void **state)
{
	enum { N = 20000 };
	struct tt *t = xcalloc(N, sizeof(*t));
	uint64_t seed = 42;

	(void)state;
	for (int round = 0; round < 3; round++) {
		struct rec r = {0};
		uint64_t s = starts[(size_t)round * 2 + 1], prev, target;
		size_t seen = 0;

		r.w = wheel_new(s);
		for (int i = 0; i < N; i++) {
			/* mixed scales: ms, seconds, hours, months */
			int shift = (int)(rng(&seed) % 6) * 6 + 6;
			uint64_t e =
			    s + 1 + rng(&seed) % (UINT64_C(1) << shift);

			t[i] = (struct tt){.id = i};
			wheel_timer_init(&t[i].wt);
			wheel_add(r.w, &t[i].wt, e);
		}
		prev = s;
		while (wheel_count(r.w) > 0) {
			/* round 0: one jump; others: random steps */
			target = round == 0 ? UINT64_MAX
					    : prev + 1 +
						  rng(&seed) %
						      (UINT64_C(1)
							  << (rng(&seed) % 34));
			(void)wheel_advance(r.w, target, rec_fire, &r);
			for (; seen < r.n; seen++) {
				struct ev *e = &r.ev[seen];

				/* fired in the advance that passed it */
				assert_true(e->expires > prev);
				assert_true(e->expires <= target);
				assert_int_equal(e->now, e->expires);
				if (seen > 0)
					assert_true(e->expires >=
						    r.ev[seen - 1].expires);
			}
			prev = target;
		}
		assert_int_equal(r.n, N);
		for (int i = 0; i < N; i++)
			assert_int_equal(t[i].nfired, 1);
		wheel_free(r.w);
		rec_reset(&r);
	}
	free(t);
}

/* --- wrap-around ------------------------------------------------------- */

static void
test_wrap_around(void **state)
{
	static const uint64_t wstart[] = {
	    UINT32_MAX - UINT64_C(2),
	    UINT32_MAX,
	    L3 - 1,
	    L3 - 2,
	    SPAN - 1,
	    UINT64_MAX - 300,
	};
	static const uint64_t ahead[] = {
	    1, 2, 3, 63, 64, 65, 66, 130, 4097, L3 + 3, 1000000, 300};
	enum { N = sizeof(ahead) / sizeof(ahead[0]) };

	(void)state;
	for (size_t k = 0; k < sizeof(wstart) / sizeof(wstart[0]); k++) {
		for (int stepped = 0; stepped < 2; stepped++) {
			uint64_t s = wstart[k];
			struct rec r = {0};
			struct tt t[N];
			size_t n = 0;

			r.w = wheel_new(s);
			for (size_t i = 0; i < N; i++) {
				t[i] = (struct tt){.id = (int)i};
				wheel_timer_init(&t[i].wt);
				/* near UINT64_MAX: only what fits */
				if (ahead[i] > UINT64_MAX - s)
					continue;
				wheel_add(r.w, &t[i].wt, s + ahead[i]);
				n++;
			}
			if (stepped) {
				/* 1 ms at a time across the boundary */
				for (uint64_t d = 1; d <= 300; d++)
					(void)wheel_advance(
					    r.w, s + d, rec_fire, &r);
			}
			(void)wheel_advance(r.w,
			    UINT64_MAX - s > 2000000 ? s + 2000000 : UINT64_MAX,
			    rec_fire, &r);
			assert_int_equal(r.n, n);
			assert_int_equal(wheel_count(r.w), 0);
			for (size_t i = 0; i < r.n; i++) {
				assert_int_equal(r.ev[i].now, r.ev[i].expires);
				assert_int_equal(
				    r.ev[i].expires, s + ahead[r.ev[i].id]);
				if (i > 0)
					assert_true(r.ev[i].expires >
						    r.ev[i - 1].expires);
			}
			wheel_free(r.w);
			rec_reset(&r);
		}
	}
}

/* The last ms there is. */
static void
test_uint64_max(void **state)
{
	struct rec r = {0};
	struct tt t = {.id = 0};

	(void)state;
	r.w = wheel_new(0);
	wheel_timer_init(&t.wt);
	wheel_add(r.w, &t.wt, UINT64_MAX);
	assert_int_equal(wheel_advance(r.w, UINT64_MAX - 1, rec_fire, &r), 0);
	assert_int_equal(wheel_next(r.w), 1);
	assert_int_equal(wheel_advance(r.w, UINT64_MAX, rec_fire, &r), 1);
	assert_int_equal(r.ev[0].now, UINT64_MAX);
	/* the clock is at its end: everything from now on is due */
	wheel_add(r.w, &t.wt, UINT64_MAX);
	assert_int_equal(wheel_next(r.w), 0);
	assert_int_equal(wheel_advance(r.w, UINT64_MAX, rec_fire, &r), 1);
	wheel_free(r.w);
	rec_reset(&r);
}

/* --- re-add from inside fire ------------------------------------------ */

struct periodic {
	struct rec r;
	uint64_t period;
	int times; /* re-arm until it has fired this often */
};

static void
periodic_fire(struct wheel_timer *t, void *arg)
{
	struct periodic *p = arg;

	rec_fire(t, &p->r);
	if (tt_of(t)->nfired < p->times)
		wheel_add(p->r.w, t, wheel_timer_expires(t) + p->period);
}

static void
test_periodic_readd(void **state)
{
	static const uint64_t period[] = {1, 7, 64, 1000, 4096, MS_HOUR};
	uint64_t seed = 7;

	(void)state;
	for (size_t k = 0; k < sizeof(period) / sizeof(period[0]); k++) {
		for (int stepped = 0; stepped < 2; stepped++) {
			struct periodic p = {.period = period[k], .times = 50};
			struct tt t = {.id = 0};
			uint64_t s = L3 - 100, end = s + 50 * period[k];

			p.r.w = wheel_new(s);
			wheel_timer_init(&t.wt);
			wheel_add(p.r.w, &t.wt, s + period[k]);
			if (stepped) {
				while (wheel_now(p.r.w) < end + 1000)
					(void)wheel_advance(p.r.w,
					    wheel_now(p.r.w) + 1 +
						rng(&seed) % (3 * period[k]),
					    periodic_fire, &p);
			} else {
				assert_int_equal(
				    wheel_advance(
					p.r.w, end + 1000, periodic_fire, &p),
				    50);
			}
			assert_int_equal(t.nfired, 50);
			for (size_t i = 0; i < p.r.n; i++)
				assert_int_equal(
				    p.r.ev[i].now, s + (i + 1) * period[k]);
			assert_false(wheel_pending(&t.wt));
			assert_int_equal(wheel_count(p.r.w), 0);
			wheel_free(p.r.w);
			rec_reset(&p.r);
		}
	}
}

/* Re-arming at wheel_now() inside fire: due at the next advance only. */
static void
rearm_now_fire(struct wheel_timer *t, void *arg)
{
	struct rec *r = arg;

	rec_fire(t, r);
	wheel_add(r->w, t, wheel_now(r->w));
}

static void
test_readd_at_now(void **state)
{
	struct rec r = {0};
	struct tt t = {.id = 0};

	(void)state;
	r.w = wheel_new(100);
	wheel_timer_init(&t.wt);
	wheel_add(r.w, &t.wt, 150);
	assert_int_equal(wheel_advance(r.w, 500, rearm_now_fire, &r), 1);
	assert_true(wheel_pending(&t.wt));
	assert_int_equal(wheel_next(r.w), 0);
	assert_int_equal(wheel_count(r.w), 1);
	assert_int_equal(wheel_advance(r.w, 500, rearm_now_fire, &r), 1);
	assert_int_equal(wheel_advance(r.w, 600, rearm_now_fire, &r), 1);
	assert_int_equal(r.ev[0].now, 150);
	assert_int_equal(r.ev[1].expires, 150); /* re-armed at 150 */
	assert_int_equal(r.ev[1].now, 500);
	assert_int_equal(r.ev[2].expires, 500);
	wheel_del(r.w, &t.wt);
	wheel_free(r.w);
	rec_reset(&r);
}

/* Adding a pending timer moves it: it fires once, at the new time. */
static void
test_readd_pending_moves(void **state)
{
	static const uint64_t first[] = {5, 50, 5000, 3 * MS_HOUR, 3 * SPAN};
	static const uint64_t second[] = {3 * MS_HOUR, 7, 0, 5000, 10};

	(void)state;
	for (size_t k = 0; k < sizeof(first) / sizeof(first[0]); k++) {
		struct rec r = {0};
		struct tt t = {.id = 0};

		r.w = wheel_new(1000);
		wheel_timer_init(&t.wt);
		wheel_add(r.w, &t.wt, 1000 + first[k]);
		wheel_add(r.w, &t.wt, 1000 + second[k]);
		assert_int_equal(wheel_count(r.w), 1);
		assert_int_equal(
		    wheel_advance(r.w, 1000 + 4 * SPAN, rec_fire, &r), 1);
		assert_int_equal(r.ev[0].expires, 1000 + second[k]);
		wheel_free(r.w);
		rec_reset(&r);
	}
}

/* --- wheel_next -------------------------------------------------------- */

static void
test_next_vs_brute_force(void **state)
{
	enum { N = 40 };
	struct tt t[N];
	uint64_t seed = 1234;

	(void)state;
	for (int round = 0; round < 3000; round++) {
		uint64_t s = rng(&seed) % (UINT64_C(1) << (rng(&seed) % 48));
		uint64_t min = UINT64_MAX, got, want;
		int n = (int)(rng(&seed) % N);
		struct rec r = {0};

		r.w = wheel_new(s);
		assert_int_equal(wheel_next(r.w), UINT64_MAX);
		for (int i = 0; i < n; i++) {
			int shift = (int)(rng(&seed) % 40) + 1;
			uint64_t e =
			    s + 1 + rng(&seed) % (UINT64_C(1) << shift);

			/* now and then one that is due already */
			if (rng(&seed) % 200 == 0)
				e = s - (s > 0);
			t[i] = (struct tt){.id = i};
			wheel_timer_init(&t[i].wt);
			wheel_add(r.w, &t[i].wt, e);
			if (e < min)
				min = e;
		}
		/* and sometimes from a wheel that has moved on a bit */
		if (n > 0 && rng(&seed) % 2 && min > s + 1) {
			uint64_t to = s + rng(&seed) % (min - s);

			assert_int_equal(
			    wheel_advance(r.w, to, rec_fire, &r), 0);
			s = to;
		}
		got = wheel_next(r.w);
		if (n == 0) {
			assert_int_equal(got, UINT64_MAX);
		} else if (min <= s) {
			assert_int_equal(got, 0);
		} else {
			want = min - s;
			if (got > want || got == 0)
				fail_msg("now %" PRIu64 " min %" PRIu64
					 ": wheel_next %" PRIu64,
				    s, min, got);
			/* exact when the earliest is in level 0 */
			if ((min >> 6) == (s >> 6))
				assert_int_equal(got, want);
			/* walking by wheel_next reaches it, a few steps */
			assert_true(walk_to(r.w, min - 1, &r) <= 7);
			assert_int_equal(wheel_next(r.w), 1);
		}
		wheel_free(r.w);
		rec_reset(&r);
	}
}

/* --- count ------------------------------------------------------------- */

static void
test_count(void **state)
{
	struct rec r = {0};
	struct tt t[4];

	(void)state;
	r.w = wheel_new(1000);
	for (int i = 0; i < 4; i++) {
		t[i] = (struct tt){.id = i};
		wheel_timer_init(&t[i].wt);
	}
	assert_int_equal(wheel_count(r.w), 0);
	wheel_add(r.w, &t[0].wt, 10);            /* due */
	wheel_add(r.w, &t[1].wt, 1010);          /* level 0 */
	wheel_add(r.w, &t[2].wt, 1000 + MS_DAY); /* level 4 */
	wheel_add(r.w, &t[3].wt, 2 * SPAN);      /* beyond */
	assert_int_equal(wheel_count(r.w), 4);
	wheel_add(r.w, &t[1].wt, 1020); /* a move, not a second timer */
	assert_int_equal(wheel_count(r.w), 4);
	wheel_del(r.w, &t[2].wt);
	wheel_del(r.w, &t[2].wt);
	assert_int_equal(wheel_count(r.w), 3);
	assert_int_equal(wheel_advance(r.w, 1019, rec_fire, &r), 1);
	assert_int_equal(wheel_count(r.w), 2);
	assert_int_equal(wheel_advance(r.w, 1020, rec_fire, &r), 1);
	assert_int_equal(wheel_count(r.w), 1);
	assert_int_equal(wheel_advance(r.w, 2 * SPAN, rec_fire, &r), 1);
	assert_int_equal(wheel_count(r.w), 0);
	/* freeing a wheel with timers pending leaves the timers alone */
	wheel_add(r.w, &t[0].wt, 5 * SPAN);
	wheel_add(r.w, &t[1].wt, 1);
	wheel_free(r.w);
	assert_true(wheel_pending(&t[0].wt));
	wheel_free(NULL);
	rec_reset(&r);
}

/* --- property: the wheel against a naive model ------------------------ */

enum { PN = 512 };

struct model_timer {
	bool pending;
	bool deferred; /* added inside fire at <= its time: next advance */
	uint64_t expires;
	uint64_t seq; /* add order: ties fire first-added first */
};

struct prop {
	struct wheel *w;
	struct tt t[PN];
	struct rec wrec; /* what the wheel fired */
	struct rec mrec; /* what the model fired */
	struct model_timer m[PN];
	uint64_t m_now;
	uint64_t seq;
	size_t m_count;
};

static void
model_add(struct prop *p, int id, uint64_t e, bool in_fire, uint64_t cur)
{
	struct model_timer *m = &p->m[id];

	if (!m->pending)
		p->m_count++;
	m->pending = true;
	m->expires = e;
	m->seq = ++p->seq;
	m->deferred = in_fire && e <= cur;
}

static void
model_del(struct prop *p, int id)
{
	if (p->m[id].pending)
		p->m_count--;
	p->m[id].pending = false;
}

/*
 * What a fired timer does, decided from (id, expiry, time) alone so that
 * the wheel and the model take the same action when they agree on what
 * fired: re-arm itself (maybe at "now" or before), delete or add another.
 */
struct action {
	int kind; /* 0 none, 1 re-arm self, 2 delete other, 3 add other */
	int other;
	uint64_t at;
};

static struct action
decide(int id, uint64_t expires, uint64_t cur)
{
	uint64_t h = mix((uint64_t)id, expires, cur);
	struct action a = {0, (int)((h >> 16) % PN), 0};
	uint64_t d = (h >> 32) % 300;

	switch (h % 16) {
	case 0:
	case 1:
	case 2:
		a.kind = 1;
		a.at = cur + d; /* d == 0: at now */
		break;
	case 3:
		a.kind = 1;
		a.at = cur > d ? cur - d : 0;
		break;
	case 4:
	case 5:
		a.kind = 2;
		break;
	case 6:
		a.kind = 3;
		a.at = cur + (h >> 32) % 70000;
		break;
	case 7:
		a.kind = 3;
		a.at = cur > d ? cur - d : 0;
		break;
	}
	if (a.kind == 1)
		a.other = id;
	return a;
}

static void
prop_fire(struct wheel_timer *t, void *arg)
{
	struct prop *p = arg;
	int id = tt_of(t)->id;
	uint64_t cur = wheel_now(p->w);
	struct action a = decide(id, wheel_timer_expires(t), cur);

	assert_false(wheel_pending(t));
	rec_push(&p->wrec, id, wheel_timer_expires(t), cur);
	if (a.kind == 2)
		wheel_del(p->w, &p->t[a.other].wt);
	else if (a.kind != 0)
		wheel_add(p->w, &p->t[a.other].wt, a.at);
}

static size_t
model_advance(struct prop *p, uint64_t to)
{
	uint64_t entry = p->m_now;
	size_t fired = 0;

	if (to < entry)
		to = entry;
	for (;;) {
		int best = -1;
		uint64_t cur;
		struct action a;

		for (int i = 0; i < PN; i++) {
			const struct model_timer *m = &p->m[i];

			if (!m->pending || m->deferred || m->expires > to)
				continue;
			if (best < 0 || m->expires < p->m[best].expires ||
			    (m->expires == p->m[best].expires &&
				m->seq < p->m[best].seq))
				best = i;
		}
		if (best < 0)
			break;
		cur = p->m[best].expires > entry ? p->m[best].expires : entry;
		model_del(p, best);
		rec_push(&p->mrec, best, p->m[best].expires, cur);
		fired++;
		a = decide(best, p->m[best].expires, cur);
		if (a.kind == 2)
			model_del(p, a.other);
		else if (a.kind != 0)
			model_add(p, a.other, a.at, true, cur);
	}
	for (int i = 0; i < PN; i++)
		p->m[i].deferred = false;
	p->m_now = to;
	return fired;
}

/* x mod 2^bits, but no more than 2^cap */
static uint64_t
below(uint64_t x, int bits, int cap)
{
	return x % (UINT64_C(1) << (bits < cap ? bits : cap));
}

static uint64_t
random_expiry(uint64_t *seed, uint64_t now, int cap)
{
	uint64_t r = rng(seed) % 100, x = rng(seed);

	if (r < 10)
		return now > x % 1000 ? now - x % 1000 : 0;
	if (r < 45)
		return now + below(x, 7, cap);
	if (r < 65)
		return now + below(x, 14, cap);
	if (r < 80)
		return now + below(x, 24, cap);
	if (r < 92)
		return now + below(x, 34, cap);
	if (r < 98)
		return now + below(x, 38, cap);
	return now + below(x, 44, cap);
}

static uint64_t
random_step(uint64_t *seed, uint64_t now, int cap)
{
	uint64_t r = rng(seed) % 100, x = rng(seed);

	if (r < 50)
		return now + x % 70;
	if (r < 80)
		return now + below(x, 12, cap);
	if (r < 92)
		return now + below(x, 20, cap);
	if (r < 98)
		return now + below(x, 30, cap);
	if (r < 99)
		return now + below(x, 38, cap);
	return now > x % 100000 ? now - x % 100000 : 0; /* backwards */
}

static void
prop_check_state(struct prop *p, long op)
{
	uint64_t min = UINT64_MAX, got;

	assert_int_equal(wheel_count(p->w), p->m_count);
	assert_int_equal(wheel_now(p->w), p->m_now);
	for (int i = 0; i < PN; i++) {
		if (wheel_pending(&p->t[i].wt) != p->m[i].pending)
			fail_msg("op %ld: timer %d pending %d, model %d", op, i,
			    wheel_pending(&p->t[i].wt), p->m[i].pending);
		if (p->m[i].pending && p->m[i].expires < min)
			min = p->m[i].expires;
	}
	got = wheel_next(p->w);
	if (min == UINT64_MAX)
		assert_int_equal(got, UINT64_MAX);
	else if (min <= p->m_now)
		assert_int_equal(got, 0);
	else if (got == 0 || got > min - p->m_now ||
		 ((min >> 6) == (p->m_now >> 6) && got != min - p->m_now))
		fail_msg("op %ld: now %" PRIu64 " min %" PRIu64
			 " wheel_next %" PRIu64,
		    op, p->m_now, min, got);
}

static void
prop_run(uint64_t start, uint64_t seed, int exp_cap, int step_cap)
{
	struct prop *p = xcalloc(1, sizeof(*p));
	long advances = 0, fired = 0, pending_sum = 0;

	p->w = wheel_new(start);
	p->wrec.w = p->w;
	p->m_now = start;
	for (int i = 0; i < PN; i++) {
		p->t[i].id = i;
		wheel_timer_init(&p->t[i].wt);
	}
	for (long op = 0; op < 100000; op++) {
		uint64_t r = rng(&seed) % 100;
		int id = (int)(rng(&seed) % PN);

		if (r < 45) {
			uint64_t e = random_expiry(&seed, p->m_now, exp_cap);

			wheel_add(p->w, &p->t[id].wt, e);
			model_add(p, id, e, false, 0);
		} else if (r < 60) {
			wheel_del(p->w, &p->t[id].wt);
			model_del(p, id);
		} else {
			uint64_t to = random_step(&seed, p->m_now, step_cap);
			size_t wn = wheel_advance(p->w, to, prop_fire, p);
			size_t mn = model_advance(p, to);

			if (wn != mn || p->wrec.n != p->mrec.n)
				fail_msg("op %ld: advance to %" PRIu64
					 " fired %zu, model %zu",
				    op, to, wn, mn);
			for (size_t i = 0; i < wn; i++) {
				const struct ev *a = &p->wrec.ev[i];
				const struct ev *b = &p->mrec.ev[i];

				if (a->id != b->id ||
				    a->expires != b->expires ||
				    a->now != b->now)
					fail_msg("op %ld, firing %zu: wheel "
						 "%d@%" PRIu64 " (now %" PRIu64
						 "), model %d@%" PRIu64
						 " (now %" PRIu64 ")",
					    op, i, a->id, a->expires, a->now,
					    b->id, b->expires, b->now);
			}
			advances++;
			fired += (long)wn;
			p->wrec.n = p->mrec.n = 0;
		}
		assert_int_equal(wheel_count(p->w), p->m_count);
		pending_sum += (long)p->m_count;
		if (op % 64 == 0 || r >= 60)
			prop_check_state(p, op);
	}
	print_message("property from %" PRIu64 ": %ld advances, %ld fired, "
		      "%.0f pending on average\n",
	    start, advances, fired, (double)pending_sum / 100000);
	wheel_free(p->w);
	rec_reset(&p->wrec);
	rec_reset(&p->mrec);
	free(p);
}

static void
test_property_random_ops(void **state)
{
	(void)state;
	/* wide: from ms to years, the wheel empties often */
	prop_run(L3 - 1000, 1, 64, 64);
	prop_run(UINT32_MAX - UINT64_C(100000), 2, 64, 64);
	/* dense: up to 70 min ahead, short steps, most timers pending */
	prop_run(L3 - 1000, 3, 22, 10);
	prop_run(SPAN - 5000, 4, 22, 10);
}

/* --- micro-measure (printed, not asserted) ----------------------------- */

static void
test_measure(void **state)
{
	enum { N = 100000 };
	struct tt *t = xcalloc(N, sizeof(*t));
	uint64_t seed, s = UINT64_C(1700000000000); /* a 2023 time */
	double t0, t_add, t_jump, t_walk;
	struct rec r = {0};
	unsigned wakeups = 0;

	(void)state;
	for (int pass = 0; pass < 2; pass++) {
		seed = 99;
		r.w = wheel_new(s);
		t0 = secs();
		for (int i = 0; i < N; i++) {
			t[i] = (struct tt){.id = i};
			wheel_timer_init(&t[i].wt);
			wheel_add(r.w, &t[i].wt, s + 1 + rng(&seed) % MS_DAY);
		}
		t_add = secs() - t0;
		t0 = secs();
		if (pass == 0) {
			assert_int_equal(
			    wheel_advance(r.w, s + MS_DAY, rec_fire, &r), N);
			t_jump = secs() - t0;
			print_message("wheel: add %d timers over 24 h: %.1f ms "
				      "(%.0f ns each); advance 24 h in one "
				      "jump: %.1f ms (%.0f ns per timer)\n",
			    N, t_add * 1e3, t_add * 1e9 / N, t_jump * 1e3,
			    t_jump * 1e9 / N);
		} else {
			while (wheel_count(r.w) > 0) {
				(void)wheel_advance(r.w,
				    wheel_now(r.w) + wheel_next(r.w), rec_fire,
				    &r);
				wakeups++;
			}
			t_walk = secs() - t0;
			print_message("wheel: advance through them waking at "
				      "wheel_next(): %.1f ms, %u wake-ups "
				      "(%.2f per timer)\n",
			    t_walk * 1e3, wakeups, (double)wakeups / N);
		}
		assert_int_equal(r.n, N);
		wheel_free(r.w);
		rec_reset(&r);
	}
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fire_exact_ms),
	    cmocka_unit_test(test_due_past),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_cancel_inside_fire),
	    cmocka_unit_test(test_cascade_steps),
	    cmocka_unit_test(test_cascade_jump),
	    cmocka_unit_test(test_many_in_one_slot),
	    cmocka_unit_test(test_order_random),
	    cmocka_unit_test(test_wrap_around),
	    cmocka_unit_test(test_uint64_max),
	    cmocka_unit_test(test_periodic_readd),
	    cmocka_unit_test(test_readd_at_now),
	    cmocka_unit_test(test_readd_pending_moves),
	    cmocka_unit_test(test_next_vs_brute_force),
	    cmocka_unit_test(test_count),
	    cmocka_unit_test(test_property_random_ops),
	    cmocka_unit_test(test_measure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
