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

/* Results waiting to be written, and the leases (dlv_leases ids, as text)
 * of the batches whose last result is among them or was written before:
 * the statement that writes them deletes those leases. */
struct resv {
	struct res *v;
	size_t n, cap;
	char (*lease)[24];
	size_t nlease, caplease;
};

/* A job built from a claim, not yet with its worker. */
struct job {
	struct ipc_out o; /* the IPC_POOL_JOB frame */
	int mfd;          /* the frame as a memfd (over 64 KiB), else -1 */
	size_t n;
	uint64_t *ids;
	int *attempts;
	char lease[24];
	int64_t task;
	uint64_t seq;
	uint64_t claimed_ms; /* now_ms() when the claim came back */
};

/* The batch a slot is working on, and the next one, claimed while the
 * worker is still on that batch so it never waits for the database. */
struct batch {
	size_t n;
	int *attempts;
	char lease[24]; /* its dlv_leases id */
	struct job *next;
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
	bool renewing;
	bool stopping;
	uint64_t held_ms; /* sched_hold(): since when, 0: not held */
	size_t cap; /* batch size limit: halved when a job is over 64 KiB */
	/* where the next claim starts (db_deliveries.h): a hint, reset to
	 * the start when a claim finds nothing and every SCHED_EXPIRE_MS */
	char cur_at[64];
	char cur_id[24];
	struct resv pending, fl;
	struct resv renew_asked; /* the leases of the renewal in flight */
	struct event *ev_tick, *ev_expire, *ev_renew;
};

static void tick_cb(evutil_socket_t, short, void *);
static void expire_cb(evutil_socket_t, short, void *);
static void expire_done(const struct db_res *, void *);
static void renew_arm(struct sched *);
static void renew_cb(evutil_socket_t, short, void *);
static void renew_done(const struct db_res *, void *);
static void claim_more(struct sched *);
static void claim_done(const struct db_res *, void *);
static void submit(struct sched *, int, struct job *);
static void submit_ready(struct sched *);
static void job_free(struct job *);
static void job_give_back(struct sched *, struct job *, const char *);
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
	s->ev_renew = event_new(base, -1, 0, renew_cb, s);
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
	renew_arm(s);
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
sched_hold(struct sched *s, bool hold)
{
	if (s != NULL)
		s->held_ms = hold ? now_ms() : 0;
}

void
sched_stop(struct sched *s)
{
	if (s == NULL)
		return;
	s->stopping = true;
	for (int i = 0; i < s->nslots; i++) {
		if (s->b[i].next != NULL) {
			job_give_back(s, s->b[i].next,
			    "not handed to a worker (sesd stopping)");
			s->b[i].next = NULL;
		}
	}
	pool_stop(s->pool);
	flush(s);
}

size_t
sched_busy(const struct sched *s)
{
	size_t next = 0;

	if (s == NULL)
		return 0;
	for (int i = 0; i < s->nslots; i++)
		next += s->b[i].next != NULL;
	return (size_t)pool_busy(s->pool) + next + (size_t)s->claims +
	       s->pending.n + s->pending.nlease + s->fl.n + s->fl.nlease +
	       (s->flushing ? 1 : 0);
}

static void
resv_clear(struct resv *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].reply);
	r->n = 0;
	r->nlease = 0;
}

static bool
resv_empty(const struct resv *r)
{
	return r->n == 0 && r->nlease == 0;
}

/* After the batch's last result went into r (or was written before). */
static void
add_lease(struct resv *r, const char *lease)
{
	if (lease == NULL || lease[0] == '\0')
		return;
	if (r->nlease == r->caplease) {
		r->caplease = r->caplease ? r->caplease * 2 : 16;
		r->lease = xrealloc(r->lease, r->caplease * sizeof(*r->lease));
	}
	snprintf(r->lease[r->nlease++], sizeof(*r->lease), "%s", lease);
}

void
sched_free(struct sched *s)
{
	if (s == NULL)
		return;
	pool_free(s->pool);
	for (int i = 0; i < s->nslots; i++) {
		free(s->b[i].attempts);
		if (s->b[i].next != NULL)
			job_free(s->b[i].next);
	}
	free(s->b);
	free(s->reserved);
	resv_clear(&s->pending);
	resv_clear(&s->fl);
	free(s->pending.v);
	free(s->fl.v);
	free(s->pending.lease);
	free(s->fl.lease);
	free(s->renew_asked.lease);
	event_free(s->ev_tick);
	event_free(s->ev_expire);
	event_free(s->ev_renew);
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
	submit_ready(s);
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
	if (!db_res_ok(res, "dispatcher: expiring leases"))
		return;
	if (db_int(res, 0, 0) > 0 || db_int(res, 0, 1) > 0)
		log_info("dispatcher: %" PRId64 " expired leases back to "
			 "deferred, %" PRId64 " tasks finished",
		    db_int(res, 0, 0), db_int(res, 0, 1));
}

/* Again a third of [smtp] lease from now (the lease may be reloaded). */
static void
renew_arm(struct sched *s)
{
	int64_t ms = (int64_t)s->cfg->smtp_lease * 1000 / SCHED_RENEW_DIV;
	struct timeval tv = {
	    (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

	event_add(s->ev_renew, &tv);
}

/*
 * The leases this node still holds: the batches its workers are sending,
 * and the finished ones whose results wait for their write, which deletes
 * them. Each gets a full lease from now, so a session that outlasts one
 * lease is not expired and sent again by another node, or by this one
 * (DESIGN.md section 4). Batches claimed and not yet started are left to
 * the half-lease rule of submit_ready().
 */
static void
renew_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sched *s = arg;
	const char **items;
	const char *params[2];
	char lease[16];
	struct buf ids;
	size_t n = 0, cap;

	(void)fd;
	(void)what;
	renew_arm(s);
	if (s->renewing)
		return;
	cap = (size_t)s->nslots + s->pending.nlease + s->fl.nlease;
	items = xcalloc(cap ? cap : 1, sizeof(*items));
	for (int i = 0; i < s->nslots; i++)
		if (s->b[i].lease[0] != '\0')
			items[n++] = s->b[i].lease;
	for (size_t i = 0; i < s->pending.nlease; i++)
		items[n++] = s->pending.lease[i];
	for (size_t i = 0; i < s->fl.nlease; i++)
		items[n++] = s->fl.lease[i];
	s->renew_asked.nlease = 0;
	for (size_t i = 0; i < n; i++)
		add_lease(&s->renew_asked, items[i]);
	if (n > 0) {
		buf_init(&ids);
		db_array_text(&ids, items, n);
		snprintf(lease, sizeof(lease), "%d", s->cfg->smtp_lease);
		params[0] = ids.data;
		params[1] = lease;
		s->renewing = true;
		db_query(s->db, &db_dlv_renew, params, renew_done, s);
		buf_reset(&ids);
	}
	free(items);
}

/* True when lease is the lease of a batch a worker is still sending. */
static bool
lease_sending(const struct sched *s, const char *lease)
{
	for (int i = 0; i < s->nslots; i++)
		if (strcmp(s->b[i].lease, lease) == 0)
			return true;
	return false;
}

/*
 * res: the leases renewed. One asked for and not renewed was either
 * deleted by this node's own results write meanwhile (its batch is no
 * longer being sent: fine) or expired and swept: then its batch may be
 * sent again by another node, which is worth a warning.
 */
static void
renew_done(const struct db_res *res, void *arg)
{
	struct sched *s = arg;
	size_t lost = 0;

	s->renewing = false;
	if (!db_res_ok(res, "dispatcher: renewing leases"))
		return;
	for (size_t k = 0; k < s->renew_asked.nlease; k++) {
		const char *id = s->renew_asked.lease[k];
		bool renewed = false;
		for (int i = 0; i < res->nrows && !renewed; i++)
			renewed = strcmp(db_val(res, i, 0), id) == 0;
		if (!renewed && lease_sending(s, id))
			lost++;
	}
	if (lost > 0)
		log_warn("dispatcher: %zu leases of batches being sent had "
			 "expired before they could be renewed; their "
			 "deliveries may be sent twice",
		    lost);
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
	/* held at most SCHED_HOLD_MAX_MS: an ANALYZE waiting for a lock must
	 * not stop delivery */
	if (s->held_ms != 0 && now_ms() - s->held_ms < SCHED_HOLD_MAX_MS)
		return;
	/* an idle worker first, then one busy with a batch and nothing next */
	for (int i = 0; i < s->nslots && slot < 0; i++)
		if (!s->reserved[i] && s->b[i].next == NULL &&
		    pool_idle(s->pool, i))
			slot = i;
	for (int i = 0; i < s->nslots && slot < 0; i++)
		if (!s->reserved[i] && s->b[i].next == NULL && s->b[i].n > 0)
			slot = i;
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
	add_lease(&s->pending, db_val(res, 0, DLV_C_LEASE));
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
	struct job *j;
	int mfd = -1;

	free(c);
	s->claims--;
	s->reserved[slot] = false;
	if (!db_res_ok(res, "dispatcher: claim"))
		return;
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
	if (s->stopping) {
		give_back(s, res, "not handed to a worker (sesd stopping)",
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
	j = xcalloc(1, sizeof(*j));
	j->o = o;
	j->mfd = mfd;
	j->n = (size_t)res->nrows;
	j->ids = xcalloc(j->n, sizeof(*j->ids));
	j->attempts = xcalloc(j->n, sizeof(*j->attempts));
	for (int i = 0; i < res->nrows; i++) {
		j->ids[i] = (uint64_t)db_int(res, i, DLV_C_ID);
		j->attempts[i] = (int)db_int(res, i, DLV_C_ATTEMPTS);
	}
	snprintf(
	    j->lease, sizeof(j->lease), "%s", nz(db_val(res, 0, DLV_C_LEASE)));
	j->task = db_int(res, 0, DLV_C_TASK);
	j->seq = s->seq;
	j->claimed_ms = now_ms();
	/* the worker may still be on its batch (or being respawned): the job
	 * waits as its next, handed over when the batch is over */
	if (pool_idle(s->pool, slot) && s->b[slot].n == 0)
		submit(s, slot, j);
	else
		s->b[slot].next = j;
	claim_more(s);
}

static void
job_free(struct job *j)
{
	ipc_out_reset(&j->o);
	if (j->mfd >= 0)
		close(j->mfd);
	free(j->ids);
	free(j->attempts);
	free(j);
}

/* The job's rows go back at once: deferred, due again now. */
static void
job_give_back(struct sched *s, struct job *j, const char *why)
{
	for (size_t i = 0; i < j->n; i++)
		add_res(&s->pending, j->ids[i], j->attempts[i],
		    DELIVERY_DEFERRED, 0, why, false, 0);
	add_lease(&s->pending, j->lease);
	job_free(j);
	flush(s);
}

/* Hands j to the idle worker of slot; j is consumed. */
static void
submit(struct sched *s, int slot, struct job *j)
{
	if (pool_submit(s->pool, slot, j->o.buf.data, j->o.buf.len, j->mfd,
		j->ids, j->n) < 0) {
		log_warn("dispatcher: handing a job with its memfd to smtp %d: "
			 "%s",
		    slot + 1, strerror(errno));
		job_give_back(s, j, "job not handed to a worker");
		return;
	}
	log_debug("dispatcher: batch %" PRIu64 " of task %" PRId64
		  " (%zu recipients) to smtp %d",
	    j->seq, j->task, j->n, slot + 1);
	free(s->b[slot].attempts);
	s->b[slot].n = j->n;
	s->b[slot].attempts = j->attempts;
	j->attempts = NULL;
	snprintf(s->b[slot].lease, sizeof(s->b[slot].lease), "%s", j->lease);
	job_free(j);
}

/* The next jobs whose worker is idle now (its batch over, or respawned). */
static void
submit_ready(struct sched *s)
{
	for (int i = 0; i < s->nslots; i++) {
		struct job *j = s->b[i].next;
		if (j == NULL || s->b[i].n > 0 || !pool_idle(s->pool, i))
			continue;
		s->b[i].next = NULL;
		if (s->stopping)
			job_give_back(
			    s, j, "not handed to a worker (sesd stopping)");
		else if (now_ms() - j->claimed_ms >
			 (uint64_t)s->cfg->smtp_lease * 1000 / 2) {
			/* waited out half its lease behind a slow batch: the
			 * rest may not cover its session, and a lease that
			 * expires mid-session lets another node send it too */
			log_info("dispatcher: batch %" PRIu64 " (%zu "
				 "recipients) back to the queue: it waited "
				 "%" PRIu64 " ms for smtp %d, over half its "
				 "lease",
			    j->seq, j->n, now_ms() - j->claimed_ms, i + 1);
			job_give_back(s, j,
			    "not handed to a worker within half its lease");
		} else
			submit(s, i, j);
	}
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
	/* every result of the batch is in s->pending or written: its lease
	 * goes with the next write */
	add_lease(&s->pending, s->b[slot].lease);
	s->b[slot].lease[0] = '\0';
	submit_ready(s);
	flush(s);
	claim_more(s);
}

static void
flush(struct sched *s)
{
	struct buf a[7], leases;
	const char **items;
	const char *params[9];
	char maxage[16];
	struct resv tmp;
	size_t n;

	if (s->flushing)
		return;
	if (resv_empty(&s->fl)) {
		tmp = s->fl;
		s->fl = s->pending;
		s->pending = tmp;
	}
	if (resv_empty(&s->fl))
		return;
	n = s->fl.n;
	items = xcalloc(n ? n : 1, sizeof(*items));
	for (int k = 0; k < 7; k++)
		buf_init(&a[k]);
	for (int k = 0; k < 7; k++) {
		struct buf strs;
		size_t *offs = xcalloc(n ? n : 1, sizeof(*offs));
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
	items = xcalloc(s->fl.nlease ? s->fl.nlease : 1, sizeof(*items));
	for (size_t i = 0; i < s->fl.nlease; i++)
		items[i] = s->fl.lease[i];
	buf_init(&leases);
	db_array_text(&leases, items, s->fl.nlease);
	free(items);
	for (int k = 0; k < 7; k++)
		params[k] = a[k].data;
	params[7] = maxage;
	params[8] = leases.data;
	s->flushing = true;
	db_query(s->db, &db_dlv_results, params, flush_done, s);
	for (int k = 0; k < 7; k++)
		buf_reset(&a[k]);
	buf_reset(&leases);
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
	if (!resv_empty(&s->pending))
		flush(s);
}
