/*
 * wheel.c: the hierarchical timing wheel (wheel.h). A timer sits at the
 * level of the highest base-64 digit in which its expiry differs from the
 * wheel's time, in the slot of that digit; so every timer of a slot shares
 * the digits above it, and the slot is cascaded down exactly when the clock
 * reaches the slot's start (William Ahern's timeout.c places timers the same
 * way). Per-level occupancy bitmaps find the next busy slot with one ctz,
 * so advancing skips empty slots and levels. No I/O, no clock, no globals.
 */
#include "wheel.h"

#include <stdint.h>
#include <stdlib.h>

#include "util.h"

#define WHEEL_BITS   6
#define WHEEL_SLOTS  64 /* 1 << WHEEL_BITS: one uint64_t bitmap per level */
#define WHEEL_LEVELS 6
#define WHEEL_SPAN   (WHEEL_BITS * WHEEL_LEVELS) /* 36 bits of ms */

/* The wheel's lists: 6 x 64 slots, then three lists outside the levels. */
#define LIST_DUE    (WHEEL_LEVELS * WHEEL_SLOTS) /* <= now: next advance */
#define LIST_FIRING (LIST_DUE + 1)               /* fired by this advance */
#define LIST_FAR    (LIST_DUE + 2) /* beyond the top level's range */
#define LIST_COUNT  (LIST_DUE + 3)

struct wheel_list {
	struct wheel_timer *first, *last;
};

struct wheel {
	uint64_t now;
	size_t count;   /* pending timers, all lists */
	bool advancing; /* inside wheel_advance: no recursion */
	uint64_t occupied[WHEEL_LEVELS]; /* bit s: slot s's list is not empty */
	uint64_t far_min; /* <= every LIST_FAR expiry (stale after a del) */
	struct wheel_list lists[LIST_COUNT];
};

static void list_append(struct wheel *w, unsigned idx, struct wheel_timer *t);
static void list_unlink(struct wheel *w, struct wheel_timer *t);
static struct wheel_timer *list_detach(struct wheel *w, unsigned idx);
static void place(struct wheel *w, struct wheel_timer *t);
static bool next_event(const struct wheel *w, uint64_t *at, unsigned *idx);
static void cascade(struct wheel *w, unsigned idx);
static void sort_due(struct wheel *w);
static size_t fire_list(struct wheel *w, wheel_fire_fn *fire, void *arg);

struct wheel *
wheel_new(uint64_t now_ms)
{
	struct wheel *w = xcalloc(1, sizeof(*w));

	w->now = now_ms;
	return w;
}

void
wheel_free(struct wheel *w)
{
	if (w == NULL)
		return;
	SESD_ASSERT(!w->advancing);
	free(w);
}

void
wheel_timer_init(struct wheel_timer *t)
{
	t->next = t->prev = NULL;
	t->expires = 0;
	t->pending = false;
	t->list = 0;
}

void
wheel_add(struct wheel *w, struct wheel_timer *t, uint64_t expires_ms)
{
	if (t->pending)
		wheel_del(w, t);
	t->expires = expires_ms;
	t->pending = true;
	w->count++;
	if (expires_ms <= w->now)
		list_append(w, LIST_DUE, t);
	else
		place(w, t);
}

void
wheel_del(struct wheel *w, struct wheel_timer *t)
{
	if (!t->pending)
		return;
	list_unlink(w, t);
	t->pending = false;
	w->count--;
}

bool
wheel_pending(const struct wheel_timer *t)
{
	return t->pending;
}

uint64_t
wheel_timer_expires(const struct wheel_timer *t)
{
	return t->expires;
}

size_t
wheel_advance(struct wheel *w, uint64_t now_ms, wheel_fire_fn *fire, void *arg)
{
	struct wheel_timer *t, *next;
	size_t fired;
	uint64_t at;
	unsigned idx;

	SESD_ASSERT(!w->advancing);
	w->advancing = true;
	if (now_ms < w->now)
		now_ms = w->now;

	/* Due on entry: older than anything in the levels. */
	sort_due(w);
	fired = fire_list(w, fire, arg);

	/* One busy slot per round, in time order; empty ones cost nothing. */
	while (next_event(w, &at, &idx) && at <= now_ms) {
		w->now = at;
		if (idx < WHEEL_SLOTS) {
			/* level 0: every timer in the slot expires at its
			 * start; move them keeping their order */
			for (t = list_detach(w, idx); t != NULL; t = next) {
				next = t->next;
				list_append(w, LIST_FIRING, t);
			}
		} else {
			cascade(w, idx);
		}
		fired += fire_list(w, fire, arg);
	}
	w->now = now_ms;
	w->advancing = false;
	return fired;
}

uint64_t
wheel_next(const struct wheel *w)
{
	uint64_t at;
	unsigned idx;

	if (w->lists[LIST_DUE].first != NULL ||
	    w->lists[LIST_FIRING].first != NULL)
		return 0;
	if (!next_event(w, &at, &idx))
		return UINT64_MAX;
	return at - w->now;
}

size_t
wheel_count(const struct wheel *w)
{
	return w->count;
}

uint64_t
wheel_now(const struct wheel *w)
{
	return w->now;
}

static void
list_append(struct wheel *w, unsigned idx, struct wheel_timer *t)
{
	struct wheel_list *l = &w->lists[idx];

	t->list = (uint16_t)idx;
	t->next = NULL;
	t->prev = l->last;
	if (l->last != NULL)
		l->last->next = t;
	else
		l->first = t;
	l->last = t;
	if (idx < LIST_DUE)
		w->occupied[idx / WHEEL_SLOTS] |= UINT64_C(1)
						  << (idx % WHEEL_SLOTS);
}

static void
list_unlink(struct wheel *w, struct wheel_timer *t)
{
	struct wheel_list *l = &w->lists[t->list];

	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		l->first = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	else
		l->last = t->prev;
	t->next = t->prev = NULL;
	if (l->first == NULL && t->list < LIST_DUE)
		w->occupied[t->list / WHEEL_SLOTS] &=
		    ~(UINT64_C(1) << (t->list % WHEEL_SLOTS));
}

/* Empties list idx and returns its first timer (the rest via next). */
static struct wheel_timer *
list_detach(struct wheel *w, unsigned idx)
{
	struct wheel_timer *first = w->lists[idx].first;

	w->lists[idx].first = w->lists[idx].last = NULL;
	if (idx < LIST_DUE)
		w->occupied[idx / WHEEL_SLOTS] &=
		    ~(UINT64_C(1) << (idx % WHEEL_SLOTS));
	return first;
}

/*
 * Puts t (expires > now) at the level of the highest base-64 digit where
 * its expiry differs from now, in the slot of its digit there. So a busy
 * slot's digit is always above now's at its level, and its timers share
 * now's digits above the level; past the top level, LIST_FAR.
 */
static void
place(struct wheel *w, struct wheel_timer *t)
{
	int level = (63 - __builtin_clzll(t->expires ^ w->now)) / WHEEL_BITS;
	unsigned slot;

	if (level >= WHEEL_LEVELS) {
		if (w->lists[LIST_FAR].first == NULL || t->expires < w->far_min)
			w->far_min = t->expires;
		list_append(w, LIST_FAR, t);
		return;
	}
	slot =
	    (unsigned)(t->expires >> (level * WHEEL_BITS)) & (WHEEL_SLOTS - 1);
	list_append(w, (unsigned)level * WHEEL_SLOTS + slot, t);
}

/*
 * The next time the wheel needs attention and the list to handle then
 * (false if there is none): the first busy slot of the lowest busy level,
 * which starts at now's digits above that level, the slot's digit, zeros
 * below; so after now, and no later than any expiry in the slot. It comes
 * before every busy slot of the levels above, which lie past the next
 * boundary of this one.
 *
 * Else the far timers, due to be placed again at the start of the 2^36 ms
 * block of the earliest (a deleted one may make it early, never late). The
 * clock never passes that while a far timer is pending, so far timers lie
 * in later blocks than now while the levels hold only this block's: the
 * levels are empty by then, and a long jump makes no stop on the way.
 */
static bool
next_event(const struct wheel *w, uint64_t *at, unsigned *idx)
{
	for (int k = 0; k < WHEEL_LEVELS; k++) {
		int shift = k * WHEEL_BITS;
		unsigned slot;

		if (w->occupied[k] == 0)
			continue;
		slot = (unsigned)__builtin_ctzll(w->occupied[k]);
		*at = w->now >> (shift + WHEEL_BITS) << (shift + WHEEL_BITS) |
		      (uint64_t)slot << shift;
		*idx = (unsigned)k * WHEEL_SLOTS + slot;
		return true;
	}
	if (w->lists[LIST_FAR].first == NULL)
		return false;
	*at = w->far_min >> WHEEL_SPAN << WHEEL_SPAN;
	*idx = LIST_FAR;
	return true;
}

/* Re-places list idx's timers at w->now; those due now go to LIST_FIRING,
 * in their order. */
static void
cascade(struct wheel *w, unsigned idx)
{
	struct wheel_timer *t, *next;

	for (t = list_detach(w, idx); t != NULL; t = next) {
		next = t->next;
		if (t->expires <= w->now)
			list_append(w, LIST_FIRING, t);
		else
			place(w, t);
	}
}

/*
 * Moves LIST_DUE to LIST_FIRING sorted by expiry, stably (equal expiries
 * keep the order they were added in): Simon Tatham's bottom-up merge sort
 * for linked lists, O(d log d), no allocation.
 */
static void
sort_due(struct wheel *w)
{
	struct wheel_timer *list = list_detach(w, LIST_DUE);
	struct wheel_timer *p, *q, *e, *prev, **tail;
	size_t insize = 1, nmerges, psize, qsize;

	if (list == NULL)
		return;
	do {
		p = list;
		tail = &list;
		nmerges = 0;
		while (p != NULL) {
			nmerges++;
			q = p;
			for (psize = 0; psize < insize && q != NULL; psize++)
				q = q->next;
			qsize = insize;
			/* merge p[psize] and q[qsize]; ties from p keep the
			 * sort stable */
			while (psize > 0 || (qsize > 0 && q != NULL)) {
				if (psize > 0 &&
				    (qsize == 0 || q == NULL ||
					p->expires <= q->expires)) {
					e = p;
					p = p->next;
					psize--;
				} else {
					e = q;
					q = q->next;
					qsize--;
				}
				*tail = e;
				tail = &e->next;
			}
			p = q;
		}
		*tail = NULL;
		insize *= 2;
	} while (nmerges > 1);

	/* Relink the prev pointers, onto the end of LIST_FIRING. */
	prev = w->lists[LIST_FIRING].last;
	if (prev != NULL)
		prev->next = list;
	else
		w->lists[LIST_FIRING].first = list;
	for (e = list; e != NULL; e = e->next) {
		e->prev = prev;
		e->list = LIST_FIRING;
		prev = e;
	}
	w->lists[LIST_FIRING].last = prev;
}

/*
 * Fires LIST_FIRING front to back. fire may delete later entries or add
 * timers (never to this list: an expiry <= now goes to LIST_DUE), so take
 * the head afresh each time and never touch t after fire.
 */
static size_t
fire_list(struct wheel *w, wheel_fire_fn *fire, void *arg)
{
	struct wheel_timer *t;
	size_t n = 0;

	while ((t = w->lists[LIST_FIRING].first) != NULL) {
		list_unlink(w, t);
		t->pending = false;
		w->count--;
		fire(t, arg);
		n++;
	}
	return n;
}
