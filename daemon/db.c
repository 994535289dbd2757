/*
 * db.c: the pool of asynchronous libpq connections and the synchronous
 * schema check/migration run at start-up. Each connection runs in libpq's
 * pipeline mode: up to DB_PIPELINE_DEPTH statements are in flight on it.
 * Queries are not sent from db_query() but once the loop has run every
 * callback that was ready, so the requests of one loop turn travel in one
 * write and wake PostgreSQL once. A statement that writes gets a Sync of its
 * own (its own implicit transaction); consecutive reads (db_query_read)
 * share one Sync, as libpq 15 flushes the socket on every Sync. A read that
 * a failed neighbour aborted never ran and is simply sent again. Statements
 * are prepared lazily per connection; results are handed to the caller's
 * callback and cleared right after it returns. Nothing here knows what the
 * SQL means: the db_<family>.c files own the statements.
 * The only file with libpq-fe.h.
 */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "log.h"
#include "migrate.h"
#include "util.h"

/* Statements in flight per connection; past that, queries wait. */
#define DB_PIPELINE_DEPTH 32

enum conn_state {
	CONN_DOWN,       /* closed; the reconnect timer is armed */
	CONN_CONNECTING, /* PQconnectPoll in progress */
	CONN_READY,      /* in pipeline mode; see ninflight */
};

struct query {
	TAILQ_ENTRY(query) entry;
	struct db_stmt *st;
	char **params;
	db_done_fn *done; /* NULL: our own PQsendPrepare, no caller */
	void *arg;
	PGresult *result; /* first result, kept until its Sync arrives */
	bool shared;      /* a read that may share a Sync with others */
	bool sync_after;  /* a Sync was sent right after it */
	bool ended;       /* libpq has returned all its results */
};
TAILQ_HEAD(query_list, query);

struct conn {
	struct db *db;
	int slot;
	PGconn *pg;
	enum conn_state state;
	struct event *ev_read;
	struct event *ev_write;
	struct event *ev_retry;
	struct query_list inflight; /* sent, in order, awaiting their Sync */
	int ninflight;
	bool group_open; /* the last statement sent still lacks its Sync */
	bool *prepared;  /* indexed by db_stmt.id */
	size_t nprepared;
};

struct db {
	struct event_base *base;
	char *conninfo;
	char *options; /* "-c TimeZone=..." */
	int pool_size;
	int reconnect_interval;
	struct conn *conns;
	struct query_list queue;
	size_t queue_len;
	struct query_list failed; /* answered DB_UNAVAILABLE on the next turn */
	struct event *ev_failed;
	struct event *ev_dispatch; /* sends the queue once the turn's
				      callbacks have run */
	bool dispatch_armed;
	int last_stmt_id;
};

/* What callers see: the public part first, then our PGresult. */
struct db_res_priv {
	struct db_res pub;
	PGresult *r;
};

static const char *state_names[] = {"down", "connecting", "ready"};

static void conn_set_state(struct conn *, enum conn_state);
static void conn_connect(struct conn *);
static void conn_retry_cb(evutil_socket_t, short, void *);
static void conn_poll_cb(evutil_socket_t, short, void *);
static void conn_notice_cb(void *, const char *);
static void conn_read_cb(evutil_socket_t, short, void *);
static void conn_write_cb(evutil_socket_t, short, void *);
static void conn_broken(struct conn *, const char *);
static int conn_send(struct conn *, struct query *);
static int conn_lost(struct conn *, struct query *);
static void conn_fail_inflight(struct conn *);
static void conn_flush(struct conn *);
static int conn_sync(struct conn *);
static void db_dispatch(struct db *);
static void db_dispatch_later(struct db *);
static void dispatch_cb(evutil_socket_t, short, void *);
static void query_add(struct db *, struct db_stmt *, const char *const *,
    db_done_fn *, void *, bool);
static void db_fail_all(struct db *);
static void failed_cb(evutil_socket_t, short, void *);
static void query_finish(struct query *, struct db_res_priv *);
static void query_free(struct query *);
static int conns_usable(const struct db *);

struct db *
db_new(struct event_base *base, const char *conninfo, const char *time_zone,
    int pool_size, int reconnect_interval)
{
	struct db *db = xcalloc(1, sizeof(*db));

	db->base = base;
	db->conninfo = xstrdup(conninfo);
	db->options = xasprintf("-c TimeZone=%s", time_zone);
	db->pool_size = pool_size;
	db->reconnect_interval = reconnect_interval;
	TAILQ_INIT(&db->queue);
	TAILQ_INIT(&db->failed);
	db->ev_failed = event_new(base, -1, 0, failed_cb, db);
	db->ev_dispatch = event_new(base, -1, 0, dispatch_cb, db);
	db->conns = xcalloc((size_t)pool_size, sizeof(struct conn));
	for (int i = 0; i < pool_size; i++) {
		struct conn *c = &db->conns[i];
		c->db = db;
		c->slot = i;
		c->state = CONN_DOWN;
		TAILQ_INIT(&c->inflight);
		c->ev_retry = evtimer_new(base, conn_retry_cb, c);
	}
	return db;
}

void
db_start(struct db *db)
{
	for (int i = 0; i < db->pool_size; i++)
		conn_connect(&db->conns[i]);
}

static void
conn_close(struct conn *c)
{
	if (c->ev_read) {
		event_free(c->ev_read);
		c->ev_read = NULL;
	}
	if (c->ev_write) {
		event_free(c->ev_write);
		c->ev_write = NULL;
	}
	if (c->pg) {
		PQfinish(c->pg);
		c->pg = NULL;
	}
	free(c->prepared);
	c->prepared = NULL;
	c->nprepared = 0;
	c->group_open = false;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	for (int i = 0; i < db->pool_size; i++) {
		struct conn *c = &db->conns[i];
		conn_fail_inflight(c);
		conn_close(c);
		event_free(c->ev_retry);
	}
	TAILQ_CONCAT(&db->failed, &db->queue, entry);
	db->queue_len = 0;
	failed_cb(-1, 0, db);
	event_free(db->ev_failed);
	event_free(db->ev_dispatch);
	free(db->conns);
	free(db->conninfo);
	free(db->options);
	free(db);
}

static void
conn_set_state(struct conn *c, enum conn_state s)
{
	if (c->state != s)
		log_debug("db[%d]: %s -> %s", c->slot, state_names[c->state],
		    state_names[s]);
	c->state = s;
}

static void
conn_connect(struct conn *c)
{
	const char *keys[] = {
	    "dbname", "options", "application_name", "connect_timeout", NULL};
	const char *vals[] = {
	    c->db->conninfo, c->db->options, "sesd", "5", NULL};

	conn_close(c);
	c->pg = PQconnectStartParams(keys, vals, 1);
	if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD) {
		conn_broken(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
		return;
	}
	/* libpq would print server notices on stderr, unprefixed */
	PQsetNoticeProcessor(c->pg, conn_notice_cb, c);
	conn_set_state(c, CONN_CONNECTING);
	/* libpq wants a first poll as if the socket were writable */
	conn_poll_cb(PQsocket(c->pg), EV_WRITE, c);
}

static void
conn_notice_cb(void *arg, const char *message)
{
	struct conn *c = arg;
	char line[512];
	size_t n;

	snprintf(line, sizeof(line), "%s", message);
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	n = strlen(line);
	while (n > 0 && line[n - 1] == ' ')
		line[--n] = '\0';
	log_info("db[%d]: server says: %s", c->slot, line);
}

static void
conn_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	PostgresPollingStatusType st;

	(void)fd;
	(void)what;
	if (c->ev_read) {
		event_free(c->ev_read);
		c->ev_read = NULL;
	}
	st = PQconnectPoll(c->pg);
	switch (st) {
	case PGRES_POLLING_READING:
	case PGRES_POLLING_WRITING:
		/* the socket may change between attempts: watch the current */
		c->ev_read = event_new(c->db->base, PQsocket(c->pg),
		    st == PGRES_POLLING_READING ? EV_READ : EV_WRITE,
		    conn_poll_cb, c);
		event_add(c->ev_read, NULL);
		return;
	case PGRES_POLLING_OK:
		break;
	default:
		conn_broken(c, PQerrorMessage(c->pg));
		return;
	}
	if (PQsetnonblocking(c->pg, 1) != 0 ||
	    PQenterPipelineMode(c->pg) != 1) {
		conn_broken(c, PQerrorMessage(c->pg));
		return;
	}
	c->ev_read = event_new(c->db->base, PQsocket(c->pg),
	    EV_READ | EV_PERSIST, conn_read_cb, c);
	c->ev_write =
	    event_new(c->db->base, PQsocket(c->pg), EV_WRITE, conn_write_cb, c);
	event_add(c->ev_read, NULL);
	log_info("db[%d]: connected", c->slot);
	conn_set_state(c, CONN_READY);
	db_dispatch(c->db);
}

static void
conn_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_connect(arg);
}

/* The connection failed or broke: answer its statement, close, retry. */
static void
conn_broken(struct conn *c, const char *why)
{
	struct timeval tv = {c->db->reconnect_interval, 0};
	char msg[256];
	size_t n;

	snprintf(msg, sizeof(msg), "%s", why ? why : "connection lost");
	/* libpq's text spans lines ("\n\tThis probably means..."): one line */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	if (c->state != CONN_DOWN && c->state != CONN_CONNECTING)
		log_warn("db[%d]: connection lost: %s", c->slot, msg);
	else
		log_debug("db[%d]: connect failed: %s", c->slot, msg);
	conn_fail_inflight(c);
	conn_close(c);
	conn_set_state(c, CONN_DOWN);
	evtimer_add(c->ev_retry, &tv);
	if (conns_usable(c->db) == 0)
		db_fail_all(c->db);
}

static int
conns_usable(const struct db *db)
{
	int n = 0;
	for (int i = 0; i < db->pool_size; i++)
		if (db->conns[i].state != CONN_DOWN)
			n++;
	return n;
}

int
db_ready_count(const struct db *db)
{
	int n = 0;
	for (int i = 0; i < db->pool_size; i++)
		if (db->conns[i].state == CONN_READY)
			n++;
	return n;
}

size_t
db_queue_len(const struct db *db)
{
	return db->queue_len;
}

struct event_base *
db_event_base(const struct db *db)
{
	return db->base;
}

void
db_query(struct db *db, struct db_stmt *st, const char *const *params,
    db_done_fn *done, void *arg)
{
	query_add(db, st, params, done, arg, false);
}

void
db_query_read(struct db *db, struct db_stmt *st, const char *const *params,
    db_done_fn *done, void *arg)
{
	query_add(db, st, params, done, arg, true);
}

static void
query_add(struct db *db, struct db_stmt *st, const char *const *params,
    db_done_fn *done, void *arg, bool read_only)
{
	struct query *q = xcalloc(1, sizeof(*q));

	if (st->id == 0)
		st->id = ++db->last_stmt_id;
	q->st = st;
	q->done = done;
	q->arg = arg;
	q->shared = read_only;
	q->params = xcalloc((size_t)st->nparams + 1, sizeof(char *));
	for (int i = 0; i < st->nparams; i++)
		q->params[i] = params[i] ? xstrdup(params[i]) : NULL;
	if (conns_usable(db) == 0) {
		TAILQ_INSERT_TAIL(&db->failed, q, entry);
		event_active(db->ev_failed, 0, 0);
		return;
	}
	TAILQ_INSERT_TAIL(&db->queue, q, entry);
	db->queue_len++;
	db_dispatch_later(db);
}

/* Sends the queue after the callbacks that are ready now have run. */
static void
db_dispatch_later(struct db *db)
{
	if (!db->dispatch_armed) {
		db->dispatch_armed = true;
		event_active(db->ev_dispatch, 0, 0);
	}
}

static void
dispatch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db *db = arg;

	(void)fd;
	(void)what;
	db->dispatch_armed = false;
	db_dispatch(db);
}

/*
 * Moves queued queries onto the least busy ready connection, as many as
 * it takes, then closes the open group of reads with a Sync (one write);
 * the rest go to the next least busy one.
 */
static void
db_dispatch(struct db *db)
{
	while (!TAILQ_EMPTY(&db->queue)) {
		struct conn *best = NULL;
		for (int i = 0; i < db->pool_size; i++) {
			struct conn *c = &db->conns[i];
			if (c->state == CONN_READY &&
			    c->ninflight < DB_PIPELINE_DEPTH &&
			    (best == NULL || c->ninflight < best->ninflight))
				best = c;
		}
		if (best == NULL)
			return;
		while (!TAILQ_EMPTY(&db->queue) &&
		       best->ninflight < DB_PIPELINE_DEPTH) {
			struct query *q = TAILQ_FIRST(&db->queue);
			TAILQ_REMOVE(&db->queue, q, entry);
			db->queue_len--;
			if (conn_send(best, q) < 0)
				break;
		}
		if (best->state != CONN_READY || conn_sync(best) < 0)
			continue; /* broken; the others may take the rest */
		conn_flush(best);
	}
}

static void
conn_mark_prepared(struct conn *c, int id, bool on)
{
	if ((size_t)id >= c->nprepared) {
		size_t n = (size_t)id + 16;
		c->prepared = xrealloc(c->prepared, n);
		memset(c->prepared + c->nprepared, 0, n - c->nprepared);
		c->nprepared = n;
	}
	c->prepared[id] = on;
}

/*
 * Ends the open group of statements with a Sync (libpq also flushes).
 * Returns -1 if the connection broke.
 */
static int
conn_sync(struct conn *c)
{
	if (!c->group_open)
		return 0;
	c->group_open = false;
	TAILQ_LAST(&c->inflight, query_list)->sync_after = true;
	if (PQpipelineSync(c->pg) != 1) {
		conn_broken(c, PQerrorMessage(c->pg));
		return -1;
	}
	return 0;
}

/* q never reached the broken connection c: answer it on the next turn. */
static int
conn_lost(struct conn *c, struct query *q)
{
	TAILQ_INSERT_TAIL(&c->db->failed, q, entry);
	event_active(c->db->ev_failed, 0, 0);
	return -1;
}

/*
 * Queues q on the connection, preceded the first time this connection sees
 * the statement by its PQsendPrepare, which is a group of its own. A write
 * is a group of its own too; reads stay in the open group until
 * conn_sync(). Returns -1 if the connection broke (q is then answered
 * DB_UNAVAILABLE).
 */
static int
conn_send(struct conn *c, struct query *q)
{
	struct db_stmt *st = q->st;
	bool prepare = (size_t)st->id >= c->nprepared || !c->prepared[st->id];

	if ((prepare || !q->shared) && conn_sync(c) < 0)
		return conn_lost(c, q);
	if (prepare) {
		struct query *prep = xcalloc(1, sizeof(*prep));
		prep->st = st;
		TAILQ_INSERT_TAIL(&c->inflight, prep, entry);
		c->ninflight++;
		c->group_open = true;
		if (PQsendPrepare(
			c->pg, st->name, st->sql, st->nparams, NULL) != 1) {
			conn_broken(c, PQerrorMessage(c->pg));
			return conn_lost(c, q);
		}
		if (conn_sync(c) < 0)
			return conn_lost(c, q);
		/* optimistic: a failed prepare is noticed when its Sync arrives
		 */
		conn_mark_prepared(c, st->id, true);
	}
	TAILQ_INSERT_TAIL(&c->inflight, q, entry);
	c->ninflight++;
	c->group_open = true;
	if (PQsendQueryPrepared(c->pg, st->name, st->nparams,
		(const char *const *)q->params, NULL, NULL, 0) != 1) {
		conn_broken(c, PQerrorMessage(c->pg));
		return -1;
	}
	if (!q->shared && conn_sync(c) < 0)
		return -1;
	return 0;
}

static void
conn_flush(struct conn *c)
{
	int r = PQflush(c->pg);
	if (r < 0)
		conn_broken(c, PQerrorMessage(c->pg));
	else if (r > 0)
		event_add(c->ev_write, NULL);
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_flush(arg);
}

static bool
sqlstate_means_gone(const char *s)
{
	/* 08: connection exception; 57P: operator intervention (shutdown) */
	return s && (strncmp(s, "08", 2) == 0 || strncmp(s, "57P", 3) == 0);
}

/* q's results are all in and its group's Sync arrived: answer it. */
static void
conn_complete(struct conn *c, struct query *q)
{
	PGresult *res = q->result;
	ExecStatusType es = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	const char *state =
	    res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	bool failed = es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK;
	struct db_res_priv p = {{0}, res};

	q->result = NULL;
	if (q->done == NULL) {
		/* our own prepare: on failure the statement is re-prepared
		 * next time, and the query behind it reports the error */
		if (failed) {
			log_error("db[%d]: prepare %s failed: %s", c->slot,
			    q->st->name,
			    res ? PQresultErrorMessage(res) : "no result");
			conn_mark_prepared(c, q->st->id, false);
		}
		PQclear(res);
		query_free(q);
		return;
	}
	p.pub.status = failed ? DB_FAIL : DB_OK;
	if (state)
		snprintf(p.pub.sqlstate, sizeof(p.pub.sqlstate), "%s", state);
	if (failed) {
		p.pub.errmsg =
		    res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg);
		log_debug("db[%d]: %s failed: %s", c->slot, q->st->name,
		    p.pub.errmsg);
	} else {
		p.pub.nrows = PQntuples(res);
		p.pub.ncols = PQnfields(res);
		p.pub.affected = strtoll(PQcmdTuples(res), NULL, 10);
	}
	query_finish(q, &p);
	PQclear(res);
}

/*
 * A Sync arrived: answer every statement of the group it ends. A statement
 * that an earlier failure in the group aborted never ran: it goes back to
 * the front of the queue, in order, to be sent alone this time, so that
 * reads that keep failing (a schema change) cost one retry each, not a
 * cascade.
 */
static void
conn_complete_group(struct conn *c)
{
	struct query_list again = TAILQ_HEAD_INITIALIZER(again);
	struct query *q;
	bool last = false;

	while (!last && (q = TAILQ_FIRST(&c->inflight)) != NULL) {
		last = q->sync_after;
		TAILQ_REMOVE(&c->inflight, q, entry);
		c->ninflight--;
		if (q->done != NULL && q->result != NULL &&
		    PQresultStatus(q->result) == PGRES_PIPELINE_ABORTED) {
			PQclear(q->result);
			q->result = NULL;
			q->ended = q->sync_after = q->shared = false;
			TAILQ_INSERT_TAIL(&again, q, entry);
			continue;
		}
		conn_complete(c, q);
	}
	if (TAILQ_EMPTY(&again))
		return;
	while ((q = TAILQ_LAST(&again, query_list)) != NULL) {
		TAILQ_REMOVE(&again, q, entry);
		TAILQ_INSERT_HEAD(&c->db->queue, q, entry);
		c->db->queue_len++;
		log_debug(
		    "db[%d]: %s aborted by a failed neighbour, sent again "
		    "alone",
		    c->slot, q->st->name);
	}
	db_dispatch_later(c->db);
}

/*
 * The statement the next result from libpq belongs to: the first one whose
 * results have not ended or, when a group has ended but its Sync has not
 * arrived yet, the group's last statement (an error raised at commit).
 */
static struct query *
conn_reading(struct conn *c)
{
	struct query *q;

	TAILQ_FOREACH(q, &c->inflight, entry)
	if (!q->ended || q->sync_after)
		return q;
	return NULL;
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct query *cur;
	PGresult *r;

	(void)fd;
	(void)what;
	if (!PQconsumeInput(c->pg)) {
		conn_broken(c, PQerrorMessage(c->pg));
		return;
	}
	/*
	 * Per statement libpq yields its result(s), then NULL; at the end of
	 * a group a PGRES_PIPELINE_SYNC result. With nothing in flight
	 * PQgetResult would return NULL forever, hence the ninflight guard.
	 */
	while (c->ninflight > 0 && !PQisBusy(c->pg)) {
		cur = conn_reading(c);
		if ((r = PQgetResult(c->pg)) == NULL) {
			if (cur == NULL || cur->ended)
				break; /* not expected: wait for more input */
			cur->ended = true;
			continue;
		}
		ExecStatusType es = PQresultStatus(r);
		if (es == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			conn_complete_group(c);
			continue;
		}
		if (es == PGRES_FATAL_ERROR &&
		    sqlstate_means_gone(
			PQresultErrorField(r, PG_DIAG_SQLSTATE))) {
			PQclear(r);
			conn_broken(c, "server closed the session");
			return;
		}
		if (cur != NULL && cur->result == NULL)
			cur->result = r;
		else if (cur != NULL && cur->ended && es == PGRES_FATAL_ERROR) {
			/* the commit failed: so did the statement */
			PQclear(cur->result);
			cur->result = r;
		} else
			PQclear(r);
	}
	if (c->ninflight == 0 && PQstatus(c->pg) == CONNECTION_BAD) {
		conn_broken(c, PQerrorMessage(c->pg));
		return;
	}
	/* room in the pipeline: the queue goes at the end of this turn */
	if (!TAILQ_EMPTY(&c->db->queue))
		db_dispatch_later(c->db);
}

/* Answers every statement in flight on c as DB_UNAVAILABLE. */
static void
conn_fail_inflight(struct conn *c)
{
	struct query *q;

	while ((q = TAILQ_FIRST(&c->inflight)) != NULL) {
		TAILQ_REMOVE(&c->inflight, q, entry);
		if (q->result) {
			PQclear(q->result);
			q->result = NULL;
		}
		if (q->done)
			TAILQ_INSERT_TAIL(&c->db->failed, q, entry);
		else
			query_free(q);
	}
	c->ninflight = 0;
	c->group_open = false;
	if (!TAILQ_EMPTY(&c->db->failed))
		event_active(c->db->ev_failed, 0, 0);
}

static void
query_free(struct query *q)
{
	for (int i = 0; q->params && i < q->st->nparams; i++)
		free(q->params[i]);
	free(q->params);
	free(q);
}

static void
query_finish(struct query *q, struct db_res_priv *p)
{
	q->done(&p->pub, q->arg);
	query_free(q);
}

static void
db_fail_all(struct db *db)
{
	if (TAILQ_EMPTY(&db->queue))
		return;
	TAILQ_CONCAT(&db->failed, &db->queue, entry);
	db->queue_len = 0;
	event_active(db->ev_failed, 0, 0);
}

static void
failed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db *db = arg;
	struct query *q;

	(void)fd;
	(void)what;
	while ((q = TAILQ_FIRST(&db->failed)) != NULL) {
		struct db_res_priv p = {{0}, NULL};
		TAILQ_REMOVE(&db->failed, q, entry);
		p.pub.status = DB_UNAVAILABLE;
		p.pub.errmsg = "database unavailable";
		query_finish(q, &p);
	}
}

bool
db_res_ok(const struct db_res *res, const char *what)
{
	if (res->status == DB_FAIL)
		log_warn("%s: %s", what, res->errmsg);
	return res->status == DB_OK;
}

const char *
db_val(const struct db_res *res, int row, int col)
{
	const struct db_res_priv *p = (const struct db_res_priv *)res;
	SESD_ASSERT(p->r && row < res->nrows && col < res->ncols);
	if (PQgetisnull(p->r, row, col))
		return NULL;
	return PQgetvalue(p->r, row, col);
}

size_t
db_len(const struct db_res *res, int row, int col)
{
	const struct db_res_priv *p = (const struct db_res_priv *)res;
	SESD_ASSERT(p->r && row < res->nrows && col < res->ncols);
	return (size_t)PQgetlength(p->r, row, col);
}

int64_t
db_int(const struct db_res *res, int row, int col)
{
	const char *v = db_val(res, row, col);
	return v ? strtoll(v, NULL, 10) : 0;
}

bool
db_bool(const struct db_res *res, int row, int col)
{
	const char *v = db_val(res, row, col);
	return v && v[0] == 't';
}

void
db_array_text(struct buf *out, const char *const *items, size_t n)
{
	buf_addc(out, '{');
	for (size_t i = 0; i < n; i++) {
		const char *s = items[i];
		if (i)
			buf_addc(out, ',');
		buf_addc(out, '"');
		/* copy runs between the two characters that need a backslash */
		for (;;) {
			size_t run = strcspn(s, "\"\\");
			buf_add(out, s, run);
			s += run;
			if (*s == '\0')
				break;
			buf_addc(out, '\\');
			buf_addc(out, *s++);
		}
		buf_addc(out, '"');
	}
	buf_addc(out, '}');
}

/* --- start-up: schema version and migrations (blocking by design) --- */

static int
exec_ok(PGconn *pg, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(r);
	int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!ok)
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -1;
}

static int
schema_current(PGconn *pg, int *version, char *err, size_t errlen)
{
	PGresult *r =
	    PQexec(pg, "SELECT to_regclass('schema_version') IS NULL");
	bool missing;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	missing = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (missing) {
		*version = -1;
		return 0;
	}
	r = PQexec(pg, "SELECT coalesce(max(version), 0) FROM schema_version");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	*version = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

static void
schema_notice_cb(void *arg, const char *message)
{
	(void)arg;
	log_info(
	    "migrate: server says: %.*s", (int)strcspn(message, "\n"), message);
}

int
db_schema(const char *conninfo, bool apply, char *err, size_t errlen)
{
	const char *keys[] = {
	    "dbname", "application_name", "connect_timeout", NULL};
	const char *vals[] = {conninfo, "sesd", "10", NULL};
	PGconn *pg = PQconnectdbParams(keys, vals, 1);
	int version, rc = -1;

	if (PQstatus(pg) != CONNECTION_OK) {
		snprintf(err, errlen, "cannot connect to the database: %s",
		    PQerrorMessage(pg));
		goto out;
	}
	PQsetNoticeProcessor(pg, schema_notice_cb, NULL);
	/* two nodes migrating at once: the second waits, then finds nothing */
	if (exec_ok(pg, "SELECT pg_advisory_lock(7355608)", err, errlen) < 0)
		goto out;
	if (schema_current(pg, &version, err, errlen) < 0)
		goto out;
	if (!apply) {
		if (version > migrations_version) {
			snprintf(err, errlen,
			    "database schema is at version %d, newer than this "
			    "sesd (%d): upgrade sesd",
			    version, migrations_version);
			goto out;
		}
		if (version != migrations_version) {
			snprintf(err, errlen,
			    "database schema is at version %d, this sesd needs "
			    "%d: run sesd --migrate",
			    version < 0 ? 0 : version, migrations_version);
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (version > migrations_version) {
		snprintf(err, errlen,
		    "database schema is at version %d, newer than this sesd "
		    "(%d)",
		    version, migrations_version);
		goto out;
	}
	if (version < 0 &&
	    exec_ok(pg,
		"CREATE TABLE schema_version (version integer PRIMARY KEY, "
		"name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT "
		"now())",
		err, errlen) < 0)
		goto out;
	for (int i = 0; i < migrations_count; i++) {
		const struct migration *m = &migrations[i];
		char vbuf[16];
		const char *params[] = {vbuf, m->name};
		if (m->version <= version)
			continue;
		snprintf(vbuf, sizeof(vbuf), "%d", m->version);
		if (exec_ok(pg, "BEGIN", err, errlen) < 0)
			goto out;
		if (exec_ok(pg, m->sql, err, errlen) < 0) {
			char why[512];
			snprintf(why, sizeof(why), "%s", err);
			snprintf(err, errlen, "%s: %s", m->name, why);
			goto out;
		}
		PGresult *r = PQexecParams(pg,
		    "INSERT INTO schema_version (version, name) VALUES ($1, "
		    "$2)",
		    2, NULL, params, NULL, NULL, 0);
		int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!ok)
			snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		PQclear(r);
		if (!ok || exec_ok(pg, "COMMIT", err, errlen) < 0)
			goto out;
		log_info("migrate: applied %s", m->name);
	}
	rc = 0;
out:
	PQfinish(pg);
	return rc;
}
