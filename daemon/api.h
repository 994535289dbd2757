/*
 * api.h: the Tencent Cloud API 3.0 layer. Turns one HTTP request into one
 * action call: checks the common headers, verifies TC3, applies the rate
 * limit, parses and type-checks the body against the action's parameter
 * table, and writes the {"Response":{...,"RequestId":...}} envelope.
 * Actions (act_*.c) see only struct api_req and the functions below.
 */
#ifndef SESD_API_H
#define SESD_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "api_err.h"
#include "log.h"
#include "tc3.h"

struct config;
struct db;
struct http_req;
struct api;

/* JSON types of request parameters (ses-api.md 1.5: strict). */
enum param_type {
	P_STR,
	P_INT, /* JSON integer */
	P_BOOL,
	P_OBJ,     /* object with fields */
	P_ARR_STR, /* array of strings */
	P_ARR_OBJ, /* array of objects with fields */
};

/* One accepted parameter; tables end with a NULL name. */
struct param {
	const char *name;
	enum param_type type;
	bool required;
	enum api_err missing; /* code when absent; API_OK -> MissingParameter */
	const struct param *fields; /* P_OBJ / P_ARR_OBJ members */
};

struct api_req;
typedef void act_fn(struct api_req *req);

struct action {
	const char *name; /* exact X-TC-Action spelling */
	act_fn *fn;
	const struct param *params;
};

/* What an action may read. Everything is valid until api_reply*(). */
struct api_req {
	struct api *api;
	struct http_req *http;
	const struct config *cfg; /* pinned for the request's lifetime */
	struct db *db;
	const struct action *action;
	uint64_t app_id; /* the account: every query filters on it */
	const char *secret_id;
	const char *language; /* X-TC-Language or "" */
	const char *region;
	yajl_val params; /* the parsed, type-checked body (an object) */
	char request_id[37];
	uint64_t started_ms;
	void *act_state; /* the action's own, freed by its own code */
};

/* Parameter access by dotted path ("Template.TemplateID"); NULL/false if
 * absent. Types were checked against the action's table already. */
yajl_val api_param(const struct api_req *req, const char *path);
const char *api_str(const struct api_req *req, const char *path);
bool api_int(const struct api_req *req, const char *path, int64_t *out);

/*
 * Success: api_reply_begin() returns a generator positioned inside the
 * open "Response" object; add the action's fields, then api_reply_end()
 * adds RequestId, sends, and frees req. An action with no fields calls
 * api_reply_ok().
 */
yajl_gen api_reply_begin(struct api_req *req);
void api_reply_end(struct api_req *req);
void api_reply_ok(struct api_req *req);

/*
 * Reply cache, per node. A read action whose reply depends only on rows
 * of one account that the database versions (a counter its triggers bump
 * in the writing transaction, e.g. template_versions) may answer with the
 * reply it built last time for the same (action, account, key), once the
 * database, asked after this request arrived, says the version is still
 * the one that reply was built at. So every reply is as fresh as a query
 * made for it: a write is seen as soon as it commits, on any node.
 *   api_reply_kept(): key is the request's normalised parameters (< 32
 *     bytes). With a reply kept, its version is checked with versions
 *     ($1 bigint[] of accounts -> (app_id, version) rows; an account
 *     without a row is at version 0), one statement for all the requests
 *     of a loop turn; unchanged, the kept reply is sent with this
 *     request's RequestId. Otherwise build(req) answers as usual.
 *   api_reply_end_cache(): for build: api_reply_end() that also keeps the
 *     reply under version, read by the same statement as its rows.
 */
struct db_stmt;
void api_reply_kept(struct api_req *req, struct db_stmt *versions,
    const char *key, act_fn *build);
void api_reply_end_cache(struct api_req *req, int64_t version);

/*
 * Failure: sends Response.Error {Code, Message} and frees req. fmt may be
 * NULL for the code's default message.
 */
void api_fail(struct api_req *req, enum api_err err, const char *fmt, ...)
    SESD_PRINTF(3, 4);
/* A database failure: DB_UNAVAILABLE -> ServiceUnavailable, else
 * InternalError (logged with the statement's error). */
struct db_res;
void api_fail_db(struct api_req *req, const struct db_res *res);

/* For a db_done_fn: true when res is DB_OK; otherwise answers the request
 * with api_fail_db() (req is then freed) and returns false. */
bool api_db_ok(struct api_req *req, const struct db_res *res);

/* Code text of err, e.g. "InvalidParameterValue.TemplateNotExist". */
const char *api_err_code(enum api_err err);

/* Pagination check shared by the List* actions: Limit 1..100, Offset >= 0,
 * else FailedOperation.InvalidLimit (sent; returns -1). */
int api_page(struct api_req *req, int64_t *offset, int64_t *limit);

/* Format helpers for query parameters. */
void api_fmt_u64(char buf[24], uint64_t v);

/* --- used by main.c and http.c --- */

/* action tables from act_*.c, each terminated by a NULL name */
extern const struct action act_identity_actions[];
extern const struct action act_address_actions[];
extern const struct action act_template_actions[];
extern const struct action act_receiver_actions[];
extern const struct action act_blacklist_actions[];
extern const struct action act_send_actions[];
extern const struct action act_query_actions[];

struct event_base;
struct api *api_new(struct event_base *base, struct db *db);
void api_free(struct api *api);
/* Swaps in a new configuration; requests in flight keep the old one until
 * they finish. Takes ownership of cfg. */
void api_set_config(struct api *api, struct config *cfg);
const struct config *api_config(const struct api *api);

/*
 * What the node does when a send action has written a task: the
 * dispatcher claims a released run at once (first_run_ms < 0: TaskType 1,
 * SendEmail; a big release also renews the planner's statistics), the
 * scheduler puts a timed or cyclic task on its wheel
 * (first_run_ms: ms until its first run, by the database's clock). Unset:
 * nothing (the dispatcher's tick and the scheduler's refill find them).
 */
typedef void api_task_fn(
    void *arg, uint64_t task_id, int64_t first_run_ms, int64_t released);
void api_set_task_hook(struct api *api, api_task_fn *fn, void *arg);
/* Called by the send actions after the task's statement committed;
 * released: the deliveries its statement inserted (0 for a later run). */
void api_task_accepted(const struct api_req *req, uint64_t task_id,
    int64_t first_run_ms, int64_t released);
/* Requests accepted and not yet answered (graceful shutdown waits). */
size_t api_inflight(const struct api *api);

/* Called by http.c for each complete request. */
void api_handle(struct api *api, struct http_req *http);

#endif
