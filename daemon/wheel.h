/*
 * wheel.h: a hierarchical timing wheel (Varghese & Lauck; the Linux
 * kernel's and Kafka's shape): O(1) insert and cancel, intrusive timers, no
 * allocation per timer, millisecond ticks. The caller owns the clock: every
 * time is an absolute uint64_t in ms that the caller passes in (no clock
 * reads here). Leaf module: no I/O, no globals, no libevent; timed.c arms
 * one libevent timer from wheel_next() and calls wheel_advance().
 *
 * Six levels of 64 slots; level k slot width 64^k ms, so the levels span
 * 2^36 ms (about 2.2 years). Later timers are parked aside and re-placed
 * when the clock reaches the 2^36 ms block of the earliest of them, so any
 * uint64_t time works.
 */
#ifndef SESD_WHEEL_H
#define SESD_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Embed in your own struct and find it again with offsetof. The fields are
 * the wheel's: read them only through the functions below. Storage must
 * stay valid while the timer is pending.
 */
struct wheel_timer {
	struct wheel_timer *next, *prev;
	uint64_t expires; /* absolute ms */
	bool pending;     /* in a wheel */
	uint16_t list;    /* which of the wheel's lists, while pending */
};

struct wheel;

/* Called by wheel_advance for each due timer; t is no longer pending. */
typedef void wheel_fire_fn(struct wheel_timer *t, void *arg);

/* A wheel whose current time is now_ms; xcalloc'd, never NULL. */
struct wheel *wheel_new(uint64_t now_ms);
/*
 * Frees the wheel (NULL is fine). Does not touch the timers' owners nor the
 * timers: timers still pending are forgotten with their pending flag left
 * set, so call wheel_timer_init() before reusing one. Not from inside fire.
 */
void wheel_free(struct wheel *w);

/* Makes t a not-pending timer; call once on the storage before first use. */
void wheel_timer_init(struct wheel_timer *t);

/*
 * Arms t to fire at expires_ms. A time after the wheel's current time goes
 * into the wheel (O(1)); a time <= the current time is due and fires at the
 * next wheel_advance, before the wheel's timers, ordered by expiry. A
 * timer already pending in w is moved (as if wheel_del came first), so it
 * fires once, at the new time. Any uint64_t time works: times beyond the
 * top level are parked and re-placed when the clock gets near them.
 */
void wheel_add(struct wheel *w, struct wheel_timer *t, uint64_t expires_ms);

/* Removes t if it is pending in w; no-op otherwise. O(1). */
void wheel_del(struct wheel *w, struct wheel_timer *t);

/* True between wheel_add and its firing or wheel_del. */
bool wheel_pending(const struct wheel_timer *t);

/* The expiry t was last added with (absolute ms); 0 if never added. */
uint64_t wheel_timer_expires(const struct wheel_timer *t);

/*
 * Moves the wheel's time to now_ms (never backwards: a smaller now_ms is
 * a no-op advance), calling fire(t, arg) for every timer with expires <=
 * now_ms, in non-decreasing expiry order (equal expiries in the order they
 * were added). First come the timers that were due on entry (added with a
 * time <= the wheel's time), fired with wheel_now() still the wheel's time;
 * then the wheel's own, each fired with wheel_now() equal to its expiry, so
 * fire can re-arm relative to it.
 *
 * t is no longer pending when fire runs; fire may free t and may add or
 * delete ANY timer, including re-adding t or deleting timers not yet fired
 * (they then do not fire). A timer that fire adds with a time after
 * wheel_now() and <= now_ms fires in this same call (a periodic timer fires
 * once per period across a long jump). A timer that fire adds with a time
 * <= wheel_now() is due and fires at the next wheel_advance, not this one,
 * so a callback re-arming at "now" cannot make this call loop forever.
 * fire must not call wheel_advance or wheel_free on w.
 *
 * Cost: O(1) per timer and level crossed plus O(d log d) for d timers due
 * on entry; empty slots and levels are skipped with bitmaps, so a jump of
 * hours costs no more than the timers it meets. Returns how many fired.
 */
size_t wheel_advance(
    struct wheel *w, uint64_t now_ms, wheel_fire_fn *fire, void *arg);

/*
 * ms from the wheel's current time until the earliest pending timer is due
 * (0 if one is due already), or UINT64_MAX when none is pending. O(levels).
 * Exact when the earliest timer lies in the same 64 ms block as the wheel's
 * time; otherwise it may be an underestimate (the time its slot cascades
 * down), never an overestimate and never 0 unless a timer is due. The caller
 * advances then and asks again: at most one early wake-up per level and
 * one for the timers beyond the levels (plus one if the earliest of those
 * was deleted).
 */
uint64_t wheel_next(const struct wheel *w);

/* Number of pending timers, due ones included. */
size_t wheel_count(const struct wheel *w);

/* The wheel's current time in ms. Inside fire: the expiry being fired, or
 * for a timer that was due on entry the wheel's time before the call. */
uint64_t wheel_now(const struct wheel *w);

#endif
