/*
 * dispatch.c: the dispatcher (dispatch.h).
 */
#include "dispatch.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "db.h"
#include "db_deliveries.h"
#include "delivery.h"
#include "ipc.h"
#include "log.h"
#include "pool.h"
#include "relay.h"
#include "util.h"

/* One result waiting to be written. */
struct res {
	uint64_t id;
	int attempts;
	enum delivery_state st;
	int code;
	char *reply;
	bool hard;
	int delay;
};

struct resv {
	struct res *v;
	size_t n, cap;
};

/* The batch a slot is working on. */
struct batch {
	size_t n;
	int *attempts;
};

struct claim {
	struct sched *s;
	int slot;
};

struct sched {
	struct event_base *base;
	struct db *db;
	const struct config *cfg;
	struct pool *pool;
	struct batch *b;
	bool *reserved; /* a claim for this slot is in flight */
	int nslots;
	char node[300];
	uint64_t seq;
	int claims;    /* claims in flight */
	bool flushing; /* a results write in flight */
	bool expiring;
	bool stopping;
	size_t cap; /* batch size limit: halved when a job is over 64 KiB */
	/* where the next claim starts (db_deliveries.h): a hint, reset to
	 * the start when a claim finds nothing and every SCHED_EXPIRE_MS */
	char cur_at[64];
	char cur_id[24];
	struct resv pending, fl;
	struct event *ev_tick, *ev_expire;
};

static void tick_cb(evutil_socket_t, short, void *);
static void expire_cb(evutil_socket_t, short, void *);
static void expire_done(const struct db_res *, void *);
static void claim_more(struct sched *);
static void claim_done(const struct db_res *, void *);
static void result_cb(void *, int, const struct pool_result *);
static void done_cb(void *, int);
static void flush(struct sched *);
static void flush_done(const struct db_res *, void *);
static void add_res(struct resv *, uint64_t, int, enum delivery_state, int,
    const char *, bool, int);

static void
cursor_reset(struct sched *s)
{
	snprintf(s->cur_at, sizeof(s->cur_at), "-infinity");
	snprintf(s->cur_id, sizeof(s->cur_id), "0");
}

static bool
cursor_at_start(const struct sched *s)
{
	return strcmp(s->cur_at, "-infinity") == 0;
}

struct sched *
sched_new(struct event_base *base, struct db *db, const struct config *cfg)
{
	struct sched *s = xcalloc(1, sizeof(*s));
	char host[256];

	s->base = base;
	s->db = db;
	s->cfg = cfg;
	s->pool = pool_new(base, cfg, result_cb, done_cb, s);
	s->nslots = pool_size(s->pool);
	s->b = xcalloc((size_t)s->nslots, sizeof(*s->b));
	s->reserved = xcalloc((size_t)s->nslots, sizeof(*s->reserved));
	s->cap = 100000;
	cursor_reset(s);
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(s->node, sizeof(s->node), "%s:%d", host, (int)getpid());
	s->ev_tick = event_new(base, -1, EV_PERSIST, tick_cb, s);
	s->ev_expire = event_new(base, -1, EV_PERSIST, expire_cb, s);
	return s;
}

void
sched_start(struct sched *s)
{
	struct timeval tick = {0, SCHED_TICK_MS * 1000};
	struct timeval exp = {SCHED_EXPIRE_MS / 1000, 0};

	pool_start(s->pool);
	event_add(s->ev_tick, &tick);
	event_add(s->ev_expire, &exp);
	expire_cb(-1, 0, s);
	log_info("dispatcher: node %s", s->node);
}

void
sched_set_config(struct sched *s, const struct config *cfg)
{
	if (s == NULL)
		return;
	s->cfg = cfg;
	pool_set_config(s->pool, cfg);
}

void
sched_kick(struct sched *s)
{
	if (s == NULL)
		return;
	claim_more(s);
}

void
sched_stop(struct sched *s)
{
	if (s == NULL)
		return;
	s->stopping = true;
	pool_stop(s->pool);
	flush(s);
}

size_t
sched_busy(const struct sched *s)
{
	if (s == NULL)
		return 0;
	return (size_t)pool_busy(s->pool) + (size_t)s->claims + s->pending.n +
	       s->fl.n + (s->flushing ? 1 : 0);
}

static void
resv_clear(struct resv *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].reply);
	r->n = 0;
}

void
sched_free(struct sched *s)
{
	if (s == NULL)
		return;
	pool_free(s->pool);
	for (int i = 0; i < s->nslots; i++)
		free(s->b[i].attempts);
	free(s->b);
	free(s->reserved);
	resv_clear(&s->pending);
	resv_clear(&s->fl);
	free(s->pending.v);
	free(s->fl.v);
	event_free(s->ev_tick);
	event_free(s->ev_expire);
	free(s);
}

static void
add_res(struct resv *r, uint64_t id, int attempts, enum delivery_state st,
    int code, const char *reply, bool hard, int delay)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	r->v[r->n].id = id;
	r->v[r->n].attempts = attempts;
	r->v[r->n].st = st;
	r->v[r->n].code = code;
	r->v[r->n].reply = xstrdup(reply);
	r->v[r->n].hard = hard;
	r->v[r->n].delay = delay;
	r->n++;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sched *s = arg;

	(void)fd;
	(void)what;
	flush(s);
	claim_more(s);
}

static void
expire_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sched *s = arg;

	(void)fd;
	(void)what;
	if (s->expiring || s->stopping)
		return;
	cursor_reset(s);
	s->expiring = true;
	db_query(s->db, &db_dlv_expire, NULL, expire_done, s);
}

static void
expire_done(const struct db_res *res, void *arg)
{
	struct sched *s = arg;

	s->expiring = false;
	if (res->status != DB_OK) {
		if (res->status == DB_FAIL)
			log_warn(
			    "dispatcher: expiring leases: %s", res->errmsg);
		return;
	}
	if (db_int(res, 0, 0) > 0 || db_int(res, 0, 1) > 0)
		log_info("dispatcher: %" PRId64 " expired leases back to "
			 "deferred, %" PRId64 " tasks finished",
		    db_int(res, 0, 0), db_int(res, 0, 1));
}

static void
claim_more(struct sched *s)
{
	char n[16], lease[16];
	const char *params[5];
	struct claim *c;
	size_t lim;
	int slot = -1;

	if (s->stopping || s->claims > 0)
		return;
	for (int i = 0; i < s->nslots; i++) {
		if (!s->reserved[i] && pool_idle(s->pool, i)) {
			slot = i;
			break;
		}
	}
	if (slot < 0)
		return;
	lim = (size_t)s->cfg->smtp_messages_per_session;
	if (lim > s->cap)
		lim = s->cap;
	snprintf(n, sizeof(n), "%zu", lim);
	snprintf(lease, sizeof(lease), "%d", s->cfg->smtp_lease);
	params[0] = s->node;
	params[1] = n;
	params[2] = lease;
	params[3] = s->cur_at;
	params[4] = s->cur_id;
	c = xmalloc(sizeof(*c));
	c->s = s;
	c->slot = slot;
	s->reserved[slot] = true;
	s->claims++;
	db_query(s->db, &db_dlv_claim, params, claim_done, c);
}

static const char *
nz(const char *v)
{
	return v != NULL ? v : "";
}

/* The claimed rows go back at once: deferred, due again now. */
static void
give_back(struct sched *s, const struct db_res *res, const char *why,
    enum delivery_state st)
{
	for (int i = 0; i < res->nrows; i++)
		add_res(&s->pending, (uint64_t)db_int(res, i, DLV_C_ID),
		    (int)db_int(res, i, DLV_C_ATTEMPTS), st, 0, why, false, 0);
	flush(s);
}

/* Adds u32 count and each address of list, a space-separated string from
 * the claim (NULL or "": none). */
static void
add_addr_list(struct ipc_out *o, const char *list)
{
	const char *p = nz(list);
	uint32_t n = 0;
	struct buf one;

	for (const char *q = p; *q;) {
		size_t len = strcspn(q, " ");
		if (len > 0)
			n++;
		q += len;
		q += strspn(q, " ");
	}
	ipc_add_u32(o, n);
	while (*p) {
		size_t len = strcspn(p, " ");
		if (len > 0) {
			buf_init(&one);
			buf_add(&one, p, len);
			ipc_add_str(o, one.data);
			buf_reset(&one);
		}
		p += len;
		p += strspn(p, " ");
	}
}

static int
build_job(
    struct sched *s, const struct db_res *res, struct ipc_out *o, uint64_t seq)
{
	const struct config *cfg = s->cfg;
	const char *hfa = db_val(res, 0, DLV_C_HDR_FROM_ADDR);
	const char *key = db_val(res, 0, DLV_C_DKIM_KEY);
	const char *html = db_val(res, 0, DLV_C_HTML);
	const char *text = db_val(res, 0, DLV_C_TEXT);
	const char *sender = nz(db_val(res, 0, DLV_C_SENDER_ADDR));

	ipc_begin(o, IPC_POOL_JOB, seq);
	ipc_add_u64(o, (uint64_t)db_int(res, 0, DLV_C_TASK));
	ipc_add_u64(o, (uint64_t)db_int(res, 0, DLV_C_APP));
	ipc_add_u32(o, (uint32_t)db_int(res, 0, DLV_C_RUN));
	ipc_add_str(o, nz(db_val(res, 0, DLV_C_KIND)));
	ipc_add_str(
	    o, cfg->smtp_bounce_address[0] ? cfg->smtp_bounce_address : sender);
	ipc_add_str(o, hfa != NULL && hfa[0] ? hfa : sender);
	ipc_add_str(o, hfa != NULL && hfa[0]
			   ? nz(db_val(res, 0, DLV_C_HDR_FROM_NAME))
			   : nz(db_val(res, 0, DLV_C_SENDER_NAME)));
	ipc_add_str(o, nz(db_val(res, 0, DLV_C_REPLY_TO)));
	ipc_add_str(o, nz(db_val(res, 0, DLV_C_SUBJECT)));
	ipc_add_u32(o, html != NULL);
	ipc_add_str(o, nz(html));
	ipc_add_u32(o, text != NULL);
	ipc_add_str(o, nz(text));
	ipc_add_str(o, nz(db_val(res, 0, DLV_C_SHARED)));
	ipc_add_str(o, nz(db_val(res, 0, DLV_C_UNSUB)));
	ipc_add_u32(o, (uint32_t)db_int(res, 0, DLV_C_AD));
	ipc_add_str(o, cfg->content_ad_marker);
	ipc_add_str(o, cfg->content_public_url);
	ipc_add_bytes(o, cfg->unsub_key, cfg->unsub_key_len);
	ipc_add_str(o, cfg->content_unsubscribe_mailto);
	ipc_add_str(o, nz(db_val(res, 0, DLV_C_DOMAIN)));
	ipc_add_str(o, nz(db_val(res, 0, DLV_C_DKIM_SELECTOR)));
	ipc_add_str(o, cfg->dkim_sign ? nz(key) : "");
	ipc_add_str(o, cfg->time_zone);
	/* SendEmail: one message whose To: and Cc: list every address */
	ipc_add_u32(o, db_val(res, 0, DLV_C_TO) != NULL);
	add_addr_list(o, db_val(res, 0, DLV_C_TO));
	add_addr_list(o, db_val(res, 0, DLV_C_CC));
	ipc_add_str(o, nz(db_val(res, 0, DLV_C_SMTP_HEADERS)));
	ipc_add_u32(o, (uint32_t)res->nrows);
	for (int i = 0; i < res->nrows; i++) {
		ipc_add_u64(o, (uint64_t)db_int(res, i, DLV_C_ID));
		ipc_add_str(o, nz(db_val(res, i, DLV_C_EMAIL)));
		ipc_add_str(o, nz(db_val(res, i, DLV_C_DATA)));
		ipc_add_str(o, nz(db_val(res, i, DLV_C_MSGID)));
	}
	return ipc_end(o);
}

static void
claim_done(const struct db_res *res, void *arg)
{
	struct claim *c = arg;
	struct sched *s = c->s;
	int slot = c->slot;
	struct ipc_out o;
	uint64_t *ids;
	int mfd = -1;

	free(c);
	s->claims--;
	s->reserved[slot] = false;
	if (res->status != DB_OK) {
		if (res->status == DB_FAIL)
			log_warn("dispatcher: claim: %s", res->errmsg);
		return;
	}
	if (res->nrows == 0) {
		/* nothing after the cursor: start over at once */
		if (!cursor_at_start(s)) {
			cursor_reset(s);
			claim_more(s);
		}
		return;
	}
	if (db_val(res, 0, DLV_C_CUR_AT) != NULL) {
		snprintf(s->cur_at, sizeof(s->cur_at), "%s",
		    db_val(res, 0, DLV_C_CUR_AT));
		snprintf(s->cur_id, sizeof(s->cur_id), "%s",
		    db_val(res, 0, DLV_C_CUR_ID));
	}
	if (s->stopping || !pool_idle(s->pool, slot)) {
		give_back(s, res,
		    "not handed to a worker (sesd stopping or "
		    "worker gone)",
		    DELIVERY_DEFERRED);
		return;
	}
	ipc_out_init(&o);
	/* a job over 64 KiB travels as a memfd (ipc.h IPC_F_FD) */
	ipc_out_set_limit(&o, IPC_BIG_MAX);
	if (build_job(s, res, &o, ++s->seq) < 0) {
		ipc_out_reset(&o);
		if (res->nrows == 1) {
			give_back(s, res,
			    "message data over the 64 MiB IPC job limit",
			    DELIVERY_FAILED);
		} else {
			s->cap = (size_t)res->nrows / 2;
			log_warn("dispatcher: batch of %d over the IPC job "
				 "limit: batches of at most %zu from now on",
			    res->nrows, s->cap);
			give_back(s, res, "batch split", DELIVERY_DEFERRED);
		}
		return;
	}
	if (o.buf.len - IPC_HDR_LEN > IPC_PAYLOAD_MAX &&
	    ipc_to_memfd(&o, &mfd) < 0) {
		log_warn("dispatcher: a memfd for a job of %zu bytes: %s",
		    o.buf.len, strerror(errno));
		ipc_out_reset(&o);
		give_back(s, res, "no memfd for the job", DELIVERY_DEFERRED);
		return;
	}
	free(s->b[slot].attempts);
	s->b[slot].n = (size_t)res->nrows;
	s->b[slot].attempts = xcalloc((size_t)res->nrows, sizeof(int));
	ids = xcalloc((size_t)res->nrows, sizeof(*ids));
	for (int i = 0; i < res->nrows; i++) {
		ids[i] = (uint64_t)db_int(res, i, DLV_C_ID);
		s->b[slot].attempts[i] = (int)db_int(res, i, DLV_C_ATTEMPTS);
	}
	if (pool_submit(s->pool, slot, o.buf.data, o.buf.len, mfd, ids,
		(size_t)res->nrows) < 0) {
		log_warn("dispatcher: handing a job with its memfd to smtp %d: "
			 "%s",
		    slot + 1, strerror(errno));
		give_back(
		    s, res, "job not handed to a worker", DELIVERY_DEFERRED);
	}
	if (mfd >= 0)
		close(mfd);
	log_debug("dispatcher: batch %" PRIu64 " of task %" PRId64
		  " (%d recipients) to smtp %d",
	    s->seq, db_int(res, 0, DLV_C_TASK), res->nrows, slot + 1);
	free(ids);
	ipc_out_reset(&o);
	claim_more(s);
}

static void
result_cb(void *arg, int slot, const struct pool_result *r)
{
	struct sched *s = arg;
	struct batch *b = &s->b[slot];
	int attempts = r->idx < b->n ? b->attempts[r->idx] : 0;
	bool hard = false;
	enum delivery_state st;
	char reply[700];

	st = delivery_classify((int)r->outcome, r->stage == RELAY_STAGE_RCPT,
	    (int)r->code, r->enh, &hard);
	if (r->code > 0 && r->enh[0] != '\0')
		snprintf(
		    reply, sizeof(reply), "%u %s %s", r->code, r->enh, r->text);
	else if (r->code > 0)
		snprintf(reply, sizeof(reply), "%u %s", r->code, r->text);
	else
		snprintf(reply, sizeof(reply), "%s", r->text);
	add_res(&s->pending, r->id, attempts, st, (int)r->code, reply, hard,
	    delivery_backoff(
		s->cfg->smtp_retry_base, attempts, DELIVERY_BACKOFF_CAP));
	if (s->pending.n >= SCHED_FLUSH_MAX)
		flush(s);
}

static void
done_cb(void *arg, int slot)
{
	struct sched *s = arg;

	s->b[slot].n = 0;
	flush(s);
	claim_more(s);
}

static void
flush(struct sched *s)
{
	struct buf a[7];
	const char **items;
	const char *params[8];
	char maxage[16];
	struct resv tmp;
	size_t n;

	if (s->flushing)
		return;
	if (s->fl.n == 0) {
		tmp = s->fl;
		s->fl = s->pending;
		s->pending = tmp;
	}
	if ((n = s->fl.n) == 0)
		return;
	items = xcalloc(n, sizeof(*items));
	for (int k = 0; k < 7; k++)
		buf_init(&a[k]);
	for (int k = 0; k < 7; k++) {
		struct buf strs;
		size_t *offs = xcalloc(n, sizeof(*offs));
		buf_init(&strs);
		for (size_t i = 0; i < n; i++) {
			const struct res *r = &s->fl.v[i];
			offs[i] = strs.len;
			switch (k) {
			case 0:
				buf_addf(&strs, "%" PRIu64, r->id);
				break;
			case 1:
				buf_addf(&strs, "%d", r->attempts);
				break;
			case 2:
				buf_adds(&strs, delivery_state_to_text(r->st));
				break;
			case 3:
				buf_addf(&strs, "%d", r->code);
				break;
			case 4:
				buf_adds(&strs, r->reply);
				break;
			case 5:
				buf_adds(&strs, r->hard ? "t" : "f");
				break;
			default:
				buf_addf(&strs, "%d", r->delay);
				break;
			}
			buf_addc(&strs, '\0');
		}
		for (size_t i = 0; i < n; i++)
			items[i] = strs.data + offs[i];
		db_array_text(&a[k], items, n);
		buf_reset(&strs);
		free(offs);
	}
	free(items);
	snprintf(maxage, sizeof(maxage), "%d", s->cfg->smtp_max_retry_age);
	for (int k = 0; k < 7; k++)
		params[k] = a[k].data;
	params[7] = maxage;
	s->flushing = true;
	db_query(s->db, &db_dlv_results, params, flush_done, s);
	for (int k = 0; k < 7; k++)
		buf_reset(&a[k]);
}

static void
flush_done(const struct db_res *res, void *arg)
{
	struct sched *s = arg;

	s->flushing = false;
	if (res->status != DB_OK) {
		/* kept in s->fl: the next tick tries again */
		log_warn("dispatcher: writing %zu results: %s", s->fl.n,
		    res->status == DB_FAIL ? res->errmsg
					   : "database unavailable");
		return;
	}
	log_debug("dispatcher: %zu results: %" PRId64 " rows, %" PRId64
		  " suppressed, %" PRId64 " tasks finished",
	    s->fl.n, db_int(res, 0, 0), db_int(res, 0, 1), db_int(res, 0, 2));
	resv_clear(&s->fl);
	if (s->pending.n > 0)
		flush(s);
}
