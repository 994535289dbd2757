/*
 * db.h: PostgreSQL for the parent's event loop. A small pool of libpq
 * connections driven asynchronously (PQsendQueryPrepared, an event on
 * PQsocket); the loop never blocks on the database. Lost connections are
 * re-opened in the background; while none is up, queries fail at once with
 * DB_UNAVAILABLE so callers can answer their clients.
 * Only db.c includes libpq-fe.h.
 */
#ifndef SESD_DB_H
#define SESD_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct db;

/*
 * A parameterised statement, prepared once per connection on first use.
 * Declare them static in the db_* file that owns the SQL:
 *	DB_STMT(st_list, "SELECT ... WHERE app_id = $1", 1);
 */
struct db_stmt {
	const char *name;
	const char *sql;
	int nparams;
	int id; /* assigned on first use; 0 = not yet */
};
#define DB_STMT(var, text, n) static struct db_stmt var = {#var, text, n, 0}

enum db_status {
	DB_OK,          /* the statement ran */
	DB_FAIL,        /* the statement failed: see sqlstate, errmsg */
	DB_UNAVAILABLE, /* no connection, or it broke mid-statement */
};

/* A statement's outcome; the rows are copied out of libpq's PGresult. */
struct db_res {
	enum db_status status;
	char sqlstate[6]; /* e.g. "23505" unique_violation; "" if none */
	const char *errmsg;
	int nrows;
	int ncols;
	int64_t affected; /* rows inserted/updated/deleted */
};

/* Called once per db_query, never from inside db_query. res is borrowed. */
typedef void db_done_fn(const struct db_res *res, void *arg);

/* Returns a pool that connects with conninfo (libpq keyword string); every
 * session gets TimeZone = time_zone. */
struct db *db_new(struct event_base *base, const char *conninfo,
    const char *time_zone, int pool_size, int reconnect_interval);
/* Starts connecting every slot; returns at once. */
void db_start(struct db *db);
/* Closes every connection; pending queries complete as DB_UNAVAILABLE. */
void db_free(struct db *db);

/*
 * Runs st with st->nparams text parameters (NULL element = SQL NULL);
 * the strings are copied. done(res, arg) runs later on the loop. The
 * statement is its own implicit transaction.
 */
void db_query(struct db *db, struct db_stmt *st, const char *const *params,
    db_done_fn *done, void *arg);
/*
 * The same for a statement that only reads: no writes, no locks, no
 * side effects. It may share one implicit transaction (and one round trip)
 * with other reads queued in the same loop turn; if another read in it
 * fails first, this one is sent again, so done() still sees only its own
 * outcome.
 */
void db_query_read(struct db *db, struct db_stmt *st, const char *const *params,
    db_done_fn *done, void *arg);

/* Row access: value text (NULL for SQL NULL) and its length. */
const char *db_val(const struct db_res *res, int row, int col);
/* True when res is DB_OK. A DB_FAIL is logged as a warning, "what: the
 * server's error"; DB_DOWN is not (the pool logs the connection's loss). */
bool db_res_ok(const struct db_res *res, const char *what);
size_t db_len(const struct db_res *res, int row, int col);
int64_t db_int(const struct db_res *res, int row, int col); /* NULL -> 0 */
bool db_bool(const struct db_res *res, int row, int col);   /* 't' */

/* Number of connections up now (metrics, tests). */
int db_ready_count(const struct db *db);
/* Queries waiting for a connection. */
size_t db_queue_len(const struct db *db);
/* The loop the pool runs on, for modules that hand work to a thread and
 * need their result back on it (bgwork.c). Borrowed. */
struct event_base *db_event_base(const struct db *db);

/*
 * Synchronous, for start-up and `sesd --migrate` only (never on the loop):
 * connects, takes an advisory lock, and either applies the pending
 * migrations (apply) or checks that the schema is exactly at
 * migrations_version. Returns 0, or -1 with a reason in err.
 */
int db_schema(const char *conninfo, bool apply, char *err, size_t errlen);

#endif

/* Appends a PostgreSQL array literal of n strings ({"a","b\"c"}) to out,
 * for text[] parameters: one round trip carries a whole set. */
struct buf;
void db_array_text(struct buf *out, const char *const *items, size_t n);
