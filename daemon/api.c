/*
 * api.c: the request pipeline of Tencent Cloud API 3.0 (ses-api.md 1-2):
 * method, size, common headers, TC3 signature over the raw body, region,
 * action lookup, rate limit, JSON body with strict types, then the action.
 * Every outcome is HTTP 200 with {"Response":{...,"RequestId":...}}.
 * It owns the error table (api_err.h) and nothing about any action's
 * meaning; the act_*.c files register their tables below.
 */
#include "api.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "config.h"
#include "db.h"
#include "http.h"
#include "json.h"
#include "util.h"

#define API_VERSION  "2020-10-02"
#define TC3_MAX_SKEW 300
#define RATE_BUCKETS 1024
/* Reply cache: direct-mapped slots, and the largest reply kept, so that it
 * holds at most CACHE_SLOTS * CACHE_MAX_REPLY bytes (16 MiB). */
#define CACHE_SLOTS     256
#define CACHE_MAX_REPLY (64 * 1024)
#define CACHE_KEY_MAX   32

/* A configuration shared by the requests that started under it. */
struct cfg_ref {
	struct config *cfg;
	int refs;
	struct tc3_key *keys; /* signing keys, one per cfg->creds[i] */
};

/* The headers the pipeline reads, found in one pass (first one wins). */
struct common_headers {
	const char *action;
	const char *version;
	const char *timestamp;
	const char *authorization;
	const char *token;
	const char *region;
	const char *language;
};

/* Requests per second per SecretId and action (fixed one-second window). */
struct rate {
	struct rate *next;
	char *key;
	time_t second;
	int count;
};

/*
 * A reply kept for (action, account, key): the envelope up to where
 * "RequestId" goes, built when the database's version of what the reply
 * reads was version.
 */
struct cached_reply {
	const struct action *action; /* NULL: empty slot */
	uint64_t app_id;
	char key[CACHE_KEY_MAX];
	int64_t version;
	char *body;
	size_t len;
};

struct api {
	struct event_base *base;
	struct db *db;
	struct cfg_ref *cfg;
	const struct action **actions; /* sorted by name */
	size_t nactions;
	struct rate *rates[RATE_BUCKETS];
	size_t inflight;
	api_task_fn *task_hook;
	void *task_arg;
	struct cached_reply cache[CACHE_SLOTS];
	struct vcheck *vchecks;
};

struct api_req_priv {
	struct api_req pub; /* first: actions see only this */
	struct cfg_ref *cfg;
	yajl_val tree;
	yajl_gen gen;
	/* api_reply_kept(): the request's slot, and while its version is
	 * checked, the next request of the batch and what to call if the
	 * kept reply is stale */
	char cache_key[CACHE_KEY_MAX];
	struct cached_reply *cache_slot;
	struct api_req_priv *vnext;
	act_fn *build;
};

/* The requests of one loop turn whose kept replies need one statement's
 * version check. */
struct vcheck {
	struct api *api;
	struct db_stmt *st;
	struct api_req_priv *reqs, **tail;
	struct event *ev;
	struct vcheck *next;
};

static const struct {
	const char *code;
	const char *msg;
} err_table[] = {{"", ""},
#define API_ERR_ROW(e, code, msg) {code, msg},
    API_ERRORS(API_ERR_ROW)
#undef API_ERR_ROW
};

static int action_cmp(const void *, const void *);
static void cfg_ref_put(struct cfg_ref *);
static void req_free(struct api_req_priv *);
static void req_send(struct api_req_priv *, yajl_gen);
static int check_params(
    struct api_req *, yajl_val, const struct param *, const char *);
static yajl_val query_to_tree(
    const char *, const struct param *, char *, size_t);
static bool rate_allow(struct api *, const char *, const char *, int, int *);
static void common_headers_find(
    const struct tc3_header *, size_t, struct common_headers *);

const char *
api_err_code(enum api_err err)
{
	return err_table[err].code;
}

static void
add_table(struct api *api, const struct action *t)
{
	for (; t->name; t++) {
		api->actions = xrealloc(
		    api->actions, (api->nactions + 1) * sizeof(*api->actions));
		api->actions[api->nactions++] = t;
	}
}

struct api *
api_new(struct event_base *base, struct db *db)
{
	struct api *api = xcalloc(1, sizeof(*api));

	api->base = base;
	api->db = db;
	add_table(api, act_identity_actions);
	add_table(api, act_address_actions);
	add_table(api, act_template_actions);
	add_table(api, act_receiver_actions);
	add_table(api, act_blacklist_actions);
	add_table(api, act_send_actions);
	add_table(api, act_query_actions);
	qsort(api->actions, api->nactions, sizeof(*api->actions), action_cmp);
	for (size_t i = 1; i < api->nactions; i++)
		if (strcmp(api->actions[i - 1]->name, api->actions[i]->name) ==
		    0)
			fatalx("action %s registered twice",
			    api->actions[i]->name);
	return api;
}

void
api_set_task_hook(struct api *api, api_task_fn *fn, void *arg)
{
	api->task_hook = fn;
	api->task_arg = arg;
}

void
api_task_accepted(const struct api_req *req, uint64_t task_id,
    int64_t first_run_ms, int64_t released)
{
	if (req->api->task_hook != NULL)
		req->api->task_hook(
		    req->api->task_arg, task_id, first_run_ms, released);
}

void
api_free(struct api *api)
{
	if (api == NULL)
		return;
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		free(api->cache[i].body);
	while (api->vchecks != NULL) {
		struct vcheck *vc = api->vchecks;
		api->vchecks = vc->next;
		event_free(vc->ev);
		free(vc);
	}
	for (size_t i = 0; i < RATE_BUCKETS; i++) {
		struct rate *r = api->rates[i], *next;
		for (; r; r = next) {
			next = r->next;
			free(r->key);
			free(r);
		}
	}
	if (api->cfg)
		cfg_ref_put(api->cfg);
	free(api->actions);
	free(api);
}

static int
action_cmp(const void *a, const void *b)
{
	const struct action *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

static const struct action *
action_find(const struct api *api, const char *name)
{
	struct action key = {name, NULL, NULL};
	const struct action *kp = &key;
	const struct action **found = bsearch(&kp, api->actions, api->nactions,
	    sizeof(*api->actions), action_cmp);
	return found ? *found : NULL;
}

static void
cfg_ref_put(struct cfg_ref *ref)
{
	if (--ref->refs == 0) {
		for (size_t i = 0; i < ref->cfg->ncreds; i++)
			tc3_key_reset(&ref->keys[i]);
		free(ref->keys);
		config_free(ref->cfg);
		free(ref);
	}
}

void
api_set_config(struct api *api, struct config *cfg)
{
	struct cfg_ref *ref = xcalloc(1, sizeof(*ref));
	ref->cfg = cfg;
	ref->refs = 1;
	ref->keys = xcalloc(cfg->ncreds, sizeof(*ref->keys));
	if (api->cfg)
		cfg_ref_put(api->cfg);
	api->cfg = ref;
}

const struct config *
api_config(const struct api *api)
{
	return api->cfg->cfg;
}

size_t
api_inflight(const struct api *api)
{
	return api->inflight;
}

static void
req_free(struct api_req_priv *p)
{
	p->pub.api->inflight--;
	cfg_ref_put(p->cfg);
	if (p->tree)
		yajl_tree_free(p->tree);
	if (p->gen)
		yajl_gen_free(p->gen);
	free(p);
}

/* Closes the envelope opened by api_reply_begin/api_fail and sends it. */
static void
req_send(struct api_req_priv *p, yajl_gen g)
{
	const unsigned char *out;
	size_t len;

	jw_str(g, "RequestId", p->pub.request_id);
	jw_close_obj(g);
	jw_close_obj(g);
	yajl_gen_get_buf(g, &out, &len);
	http_reply(
	    p->pub.http, 200, "application/json", (const char *)out, len, NULL);
	req_free(p);
}

static yajl_gen
envelope_open(struct api_req_priv *p)
{
	if (p->gen)
		yajl_gen_free(p->gen);
	p->gen = json_gen_new();
	jw_open_obj(p->gen, NULL);
	jw_open_obj(p->gen, "Response");
	return p->gen;
}

yajl_gen
api_reply_begin(struct api_req *req)
{
	return envelope_open((struct api_req_priv *)req);
}

void
api_reply_end(struct api_req *req)
{
	struct api_req_priv *p = (struct api_req_priv *)req;
	log_debug("api: %s app=%llu ok %llums", req->action->name,
	    (unsigned long long)req->app_id,
	    (unsigned long long)(now_ms() - req->started_ms));
	req_send(p, p->gen);
}

void
api_reply_ok(struct api_req *req)
{
	api_reply_begin(req);
	api_reply_end(req);
}

/* --- reply cache --- */

static bool
slot_holds(const struct cached_reply *c, const struct api_req_priv *p)
{
	return c->action == p->pub.action && c->app_id == p->pub.app_id &&
	       strcmp(c->key, p->cache_key) == 0;
}

/* Sends the kept reply with this request's RequestId; frees p. */
static void
reply_kept(struct api_req_priv *p)
{
	struct cached_reply *c = p->cache_slot;
	struct api_req *req = &p->pub;
	static const char id_open[] = ",\"RequestId\":\"", id_close[] = "\"}}";
	const struct http_part parts[] = {
	    {c->body, c->len},
	    {id_open, sizeof(id_open) - 1},
	    {req->request_id, strlen(req->request_id)},
	    {id_close, sizeof(id_close) - 1},
	};

	log_debug("api: %s app=%llu ok (kept reply, version %lld) %llums",
	    req->action->name, (unsigned long long)req->app_id,
	    (long long)c->version,
	    (unsigned long long)(now_ms() - req->started_ms));
	http_reply_parts(req->http, 200, "application/json", parts,
	    sizeof(parts) / sizeof(parts[0]));
	req_free(p);
}

/* The answer to one batch: (app_id, version) rows. */
static void
vcheck_done(const struct db_res *res, void *arg)
{
	struct api_req_priv *p = arg, *next;

	for (; p != NULL; p = next) {
		struct cached_reply *c = p->cache_slot;
		int64_t version = 0;

		next = p->vnext;
		if (res->status != DB_OK) {
			api_fail_db(&p->pub, res);
			continue;
		}
		for (int i = 0; i < res->nrows; i++)
			if ((uint64_t)db_int(res, i, 0) == p->pub.app_id)
				version = db_int(res, i, 1);
		/* the slot may have changed hands or versions meanwhile */
		if (slot_holds(c, p) && c->version == version)
			reply_kept(p);
		else
			p->build(&p->pub);
	}
}

/* End of a loop turn: one statement for every request that asked. */
static void
vcheck_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vcheck *vc = arg;
	struct buf ids = {0};
	struct api_req_priv *batch = vc->reqs;

	(void)fd;
	(void)what;
	vc->reqs = NULL;
	vc->tail = &vc->reqs;
	/* an account twice in the array is still one row */
	buf_addc(&ids, '{');
	for (struct api_req_priv *p = batch; p != NULL; p = p->vnext)
		buf_addf(&ids, "%s%llu", p == batch ? "" : ",",
		    (unsigned long long)p->pub.app_id);
	buf_addc(&ids, '}');
	const char *params[] = {ids.data};
	db_query_read(vc->api->db, vc->st, params, vcheck_done, batch);
	buf_reset(&ids);
}

void
api_reply_kept(struct api_req *req, struct db_stmt *versions, const char *key,
    act_fn *build)
{
	struct api_req_priv *p = (struct api_req_priv *)req;
	struct api *api = req->api;
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	struct vcheck *vc;

	if (strlen(key) >= sizeof(p->cache_key))
		fatalx("api: cache key %s is too long", key);
	snprintf(p->cache_key, sizeof(p->cache_key), "%s", key);
	h = (h ^ (uintptr_t)req->action) * 1099511628211ULL;
	h = (h ^ req->app_id) * 1099511628211ULL;
	for (const char *s = key; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	p->cache_slot = &api->cache[h % CACHE_SLOTS];
	if (!slot_holds(p->cache_slot, p)) {
		build(req);
		return;
	}
	for (vc = api->vchecks; vc != NULL && vc->st != versions; vc = vc->next)
		;
	if (vc == NULL) {
		vc = xcalloc(1, sizeof(*vc));
		vc->api = api;
		vc->st = versions;
		vc->tail = &vc->reqs;
		vc->ev = event_new(api->base, -1, 0, vcheck_cb, vc);
		vc->next = api->vchecks;
		api->vchecks = vc;
	}
	p->build = build;
	p->vnext = NULL;
	*vc->tail = p;
	vc->tail = &p->vnext;
	/* after the callbacks already due, as db.c sends its queue */
	if (vc->reqs == p)
		event_active(vc->ev, 0, 0);
}

void
api_reply_end_cache(struct api_req *req, int64_t version)
{
	struct api_req_priv *p = (struct api_req_priv *)req;
	struct cached_reply *c = p->cache_slot;
	const unsigned char *out;
	size_t len;

	yajl_gen_get_buf(p->gen, &out, &len);
	/* an older snapshot finishing late never replaces a newer reply */
	if (c != NULL && len <= CACHE_MAX_REPLY &&
	    (!slot_holds(c, p) || version >= c->version)) {
		free(c->body);
		c->action = req->action;
		c->app_id = req->app_id;
		snprintf(c->key, sizeof(c->key), "%s", p->cache_key);
		c->version = version;
		c->body = xmalloc(len);
		memcpy(c->body, out, len);
		c->len = len;
	}
	api_reply_end(req);
}

static void
fail_v(struct api_req *req, enum api_err err, const char *fmt, va_list ap)
{
	struct api_req_priv *p = (struct api_req_priv *)req;
	char msg[1024];
	yajl_gen g;

	if (fmt)
		vsnprintf(msg, sizeof(msg), fmt, ap);
	else
		snprintf(msg, sizeof(msg), "%s", err_table[err].msg);
	log_debug("api: %s app=%llu peer=%s error %s: %s",
	    req->action ? req->action->name : "-",
	    (unsigned long long)req->app_id, http_peer(req->http),
	    err_table[err].code, msg);
	g = envelope_open(p);
	jw_open_obj(g, "Error");
	jw_str(g, "Code", err_table[err].code);
	jw_str(g, "Message", msg);
	jw_close_obj(g);
	req_send(p, g);
}

void
api_fail(struct api_req *req, enum api_err err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fail_v(req, err, fmt, ap);
	va_end(ap);
}

void
api_fail_db(struct api_req *req, const struct db_res *res)
{
	if (res->status == DB_UNAVAILABLE) {
		api_fail(req, E_SERVICE_UNAVAILABLE,
		    "The database is unavailable; please retry later.");
		return;
	}
	log_error("api: %s app=%llu: database error %s: %s", req->action->name,
	    (unsigned long long)req->app_id, res->sqlstate,
	    res->errmsg ? res->errmsg : "");
	api_fail(
	    req, E_INTERNAL, "Internal error (request %s).", req->request_id);
}

bool
api_db_ok(struct api_req *req, const struct db_res *res)
{
	if (res->status == DB_OK)
		return true;
	api_fail_db(req, res);
	return false;
}

int
api_page(struct api_req *req, int64_t *offset, int64_t *limit)
{
	*offset = 0;
	*limit = 0;
	api_int(req, "Offset", offset);
	api_int(req, "Limit", limit);
	if (*limit < 1 || *limit > 100 || *offset < 0) {
		api_fail(req, E_INVALID_LIMIT,
		    "Limit must be between 1 and 100 (got %lld) and Offset at "
		    "least 0 (got %lld).",
		    (long long)*limit, (long long)*offset);
		return -1;
	}
	return 0;
}

void
api_fmt_u64(char buf[24], uint64_t v)
{
	snprintf(buf, 24, "%llu", (unsigned long long)v);
}

yajl_val
api_param(const struct api_req *req, const char *path)
{
	yajl_val v = req->params;
	char part[128];

	while (v && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof(part))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		if (YAJL_IS_ARRAY(v) && isdigit((unsigned char)part[0])) {
			size_t i = (size_t)strtoul(part, NULL, 10);
			v = i < v->u.array.len ? v->u.array.values[i] : NULL;
		} else
			v = json_member(v, part);
		path += n + (path[n] == '.');
	}
	return v;
}

const char *
api_str(const struct api_req *req, const char *path)
{
	return json_str(api_param(req, path));
}

bool
api_int(const struct api_req *req, const char *path, int64_t *out)
{
	return json_int(api_param(req, path), out);
}

/* --- parameter checking (ses-api.md 1.5) --- */

static const char *
type_name(enum param_type t)
{
	switch (t) {
	case P_STR:
		return "a string";
	case P_INT:
		return "an integer";
	case P_BOOL:
		return "a boolean";
	case P_OBJ:
		return "an object";
	case P_ARR_STR:
		return "an array of strings";
	case P_ARR_OBJ:
		return "an array of objects";
	}
	return "?";
}

static bool
type_ok(enum param_type t, yajl_val v)
{
	switch (t) {
	case P_STR:
		return YAJL_IS_STRING(v);
	case P_INT:
		return YAJL_IS_INTEGER(v);
	case P_BOOL:
		return YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v);
	case P_OBJ:
		return YAJL_IS_OBJECT(v);
	case P_ARR_STR:
	case P_ARR_OBJ:
		if (!YAJL_IS_ARRAY(v))
			return false;
		for (size_t i = 0; i < v->u.array.len; i++) {
			yajl_val e = v->u.array.values[i];
			if (t == P_ARR_STR ? !YAJL_IS_STRING(e)
					   : !YAJL_IS_OBJECT(e))
				return false;
		}
		return true;
	}
	return false;
}

/* Sends the error and returns -1 on the first problem found. */
static int
check_params(struct api_req *req, yajl_val obj, const struct param *spec,
    const char *prefix)
{
	char name[256];

	for (size_t i = 0; i < obj->u.object.len; i++) {
		const char *key = obj->u.object.keys[i];
		yajl_val v = obj->u.object.values[i];
		const struct param *p = spec;
		while (p && p->name && strcmp(p->name, key) != 0)
			p++;
		snprintf(name, sizeof(name), "%s%s", prefix, key);
		if (p == NULL || p->name == NULL) {
			api_fail(req, E_UNKNOWN_PARAMETER,
			    "The parameter `%s` is not recognized.", name);
			return -1;
		}
		if (YAJL_IS_NULL(v))
			continue; /* explicit null means absent */
		if (!type_ok(p->type, v)) {
			api_fail(req, E_INVALID_PARAMETER,
			    "The parameter `%s` must be %s.", name,
			    type_name(p->type));
			return -1;
		}
		if (p->type == P_OBJ) {
			char sub[260];
			snprintf(sub, sizeof(sub), "%s.", name);
			if (check_params(req, v, p->fields, sub) < 0)
				return -1;
		} else if (p->type == P_ARR_OBJ) {
			for (size_t k = 0; k < v->u.array.len; k++) {
				char sub[280];
				snprintf(sub, sizeof(sub), "%s.%zu.", name, k);
				if (check_params(req, v->u.array.values[k],
					p->fields, sub) < 0)
					return -1;
			}
		}
	}
	for (const struct param *p = spec; p && p->name; p++) {
		if (!p->required || json_member(obj, p->name))
			continue;
		snprintf(name, sizeof(name), "%s%s", prefix, p->name);
		if (p->missing != API_OK)
			api_fail(req, p->missing,
			    "The request is missing a required parameter `%s`.",
			    name);
		else
			api_fail(req, E_MISSING_PARAMETER,
			    "The request is missing a required parameter `%s`.",
			    name);
		return -1;
	}
	return 0;
}

/* --- GET: flattened query parameters rebuilt into JSON (1.5) --- */

struct qnode {
	char *name;
	char *value; /* leaf value, NULL for inner nodes */
	struct qnode *kids;
	size_t nkids;
};

/* Decodes in place; false if the result is not UTF-8 text without NUL. */
static bool
url_decode(char *s)
{
	char *start = s, *o = s;
	for (; *s; s++) {
		if (*s == '+')
			*o++ = ' ';
		else if (*s == '%' && isxdigit((unsigned char)s[1]) &&
			 isxdigit((unsigned char)s[2])) {
			char hx[3] = {s[1], s[2], 0};
			*o++ = (char)strtol(hx, NULL, 16);
			s += 2;
		} else
			*o++ = *s;
	}
	*o = '\0';
	return utf8_valid(start, (size_t)(o - start));
}

static struct qnode *
qnode_child(struct qnode *n, const char *name)
{
	for (size_t i = 0; i < n->nkids; i++)
		if (strcmp(n->kids[i].name, name) == 0)
			return &n->kids[i];
	n->kids = xrealloc(n->kids, (n->nkids + 1) * sizeof(*n->kids));
	struct qnode *k = &n->kids[n->nkids++];
	memset(k, 0, sizeof(*k));
	k->name = xstrdup(name);
	return k;
}

static void
qnode_free(struct qnode *n)
{
	for (size_t i = 0; i < n->nkids; i++)
		qnode_free(&n->kids[i]);
	free(n->kids);
	free(n->name);
	free(n->value);
}

static void emit_value(yajl_gen, struct qnode *, const struct param *);

static void
emit_object(yajl_gen g, struct qnode *n, const struct param *spec)
{
	jw_open_obj(g, NULL);
	for (size_t i = 0; i < n->nkids; i++) {
		const struct param *p = spec;
		while (p && p->name && strcmp(p->name, n->kids[i].name) != 0)
			p++;
		jw_key(g, n->kids[i].name);
		emit_value(g, &n->kids[i], p && p->name ? p : NULL);
	}
	jw_close_obj(g);
}

static int
idx_cmp(const void *a, const void *b)
{
	const struct qnode *x = a, *y = b;
	return atoi(x->name) - atoi(y->name);
}

static void
emit_value(yajl_gen g, struct qnode *n, const struct param *p)
{
	enum param_type t = p ? p->type : P_STR;

	if (t == P_ARR_STR || t == P_ARR_OBJ) {
		qsort(n->kids, n->nkids, sizeof(*n->kids), idx_cmp);
		jw_open_arr(g, NULL);
		for (size_t i = 0; i < n->nkids; i++) {
			if (t == P_ARR_OBJ)
				emit_object(g, &n->kids[i], p->fields);
			else
				jw_str(g, NULL, n->kids[i].value);
		}
		jw_close_arr(g);
	} else if (t == P_OBJ || n->value == NULL) {
		emit_object(g, n, p ? p->fields : NULL);
	} else if (t == P_INT) {
		char *end;
		long long v = strtoll(n->value, &end, 10);
		if (n->value[0] && *end == '\0')
			jw_int(g, NULL, v);
		else
			jw_str(g, NULL, n->value);
	} else if (t == P_BOOL && (strcasecmp(n->value, "true") == 0 ||
				      strcasecmp(n->value, "false") == 0)) {
		jw_bool(g, NULL, strcasecmp(n->value, "true") == 0);
	} else
		jw_str(g, NULL, n->value);
}

static yajl_val
query_to_tree(
    const char *query, const struct param *spec, char *err, size_t errlen)
{
	struct qnode root = {0};
	char *copy = xstrdup(query), *save = NULL;
	yajl_gen g = json_gen_new();
	const unsigned char *out;
	size_t len;
	yajl_val tree = NULL;
	bool text_ok = true;

	for (char *kv = strtok_r(copy, "&", &save); kv;
	     kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '='), *psave = NULL;
		struct qnode *n = &root;
		if (eq)
			*eq++ = '\0';
		/* %FF or %00 would otherwise vanish silently in jw_str */
		if (!url_decode(kv) || (eq && !url_decode(eq))) {
			text_ok = false;
			break;
		}
		for (char *part = strtok_r(kv, ".", &psave); part;
		     part = strtok_r(NULL, ".", &psave))
			n = qnode_child(n, part);
		if (n == &root || n->value)
			continue;
		n->value = xstrdup(eq ? eq : "");
	}
	if (text_ok) {
		emit_object(g, &root, spec);
		yajl_gen_get_buf(g, &out, &len);
		tree = json_parse((const char *)out, len, err, errlen);
	} else
		snprintf(err, errlen,
		    "a query parameter is not UTF-8 text without NUL bytes");
	yajl_gen_free(g);
	qnode_free(&root);
	free(copy);
	return tree;
}

/* --- rate limit: per SecretId and action, one-second windows --- */

static bool
rate_allow(struct api *api, const char *secret_id, const char *action,
    int limit, int *count)
{
	char key[256];
	unsigned h = 5381;
	time_t now;
	struct rate *r;

	if (limit == 0) {
		*count = 0;
		return true; /* unlimited: nothing to count */
	}
	now = time(NULL);
	snprintf(key, sizeof(key), "%s/%s", secret_id, action);
	for (const char *s = key; *s; s++)
		h = h * 33 + (unsigned char)*s;
	for (r = api->rates[h % RATE_BUCKETS]; r; r = r->next)
		if (strcmp(r->key, key) == 0)
			break;
	if (r == NULL) {
		r = xcalloc(1, sizeof(*r));
		r->key = xstrdup(key);
		r->next = api->rates[h % RATE_BUCKETS];
		api->rates[h % RATE_BUCKETS] = r;
	}
	if (r->second != now) {
		r->second = now;
		r->count = 0;
	}
	*count = ++r->count;
	return r->count <= limit;
}

/*
 * One pass over the request headers instead of a case-insensitive search
 * per name; like evhttp_find_header, the first header of a name wins.
 */
static void
common_headers_find(
    const struct tc3_header *h, size_t n, struct common_headers *out)
{
	static const struct {
		const char *name;
		size_t offset;
	} wanted[] = {
	    {"X-TC-Action", offsetof(struct common_headers, action)},
	    {"X-TC-Version", offsetof(struct common_headers, version)},
	    {"X-TC-Timestamp", offsetof(struct common_headers, timestamp)},
	    {"Authorization", offsetof(struct common_headers, authorization)},
	    {"X-TC-Token", offsetof(struct common_headers, token)},
	    {"X-TC-Region", offsetof(struct common_headers, region)},
	    {"X-TC-Language", offsetof(struct common_headers, language)},
	};

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		const char *name = h[i].name;
		/* all but Authorization start with "X-TC-" */
		if ((name[0] | 0x20) != 'x' && (name[0] | 0x20) != 'a')
			continue;
		for (size_t k = 0; k < sizeof(wanted) / sizeof(wanted[0]);
		     k++) {
			const char **slot =
			    (const char **)((char *)out + wanted[k].offset);
			if (*slot == NULL &&
			    strcasecmp(name, wanted[k].name) == 0) {
				*slot = h[i].value;
				break;
			}
		}
	}
}

/* --- the pipeline --- */

void
api_handle(struct api *api, struct http_req *http)
{
	struct api_req_priv *p = xcalloc(1, sizeof(*p));
	struct api_req *req = &p->pub;
	const struct config *cfg;
	struct tc3_request tr;
	struct tc3_auth auth;
	const struct cred *cred;
	struct common_headers hd;
	const char *method, *action, *version, *auth_hdr, *region;
	const unsigned char *body;
	size_t body_len;
	char err[256];
	int count;

	p->cfg = api->cfg;
	p->cfg->refs++;
	cfg = p->cfg->cfg;
	api->inflight++;
	req->api = api;
	req->http = http;
	req->cfg = cfg;
	req->db = api->db;
	req->language = "";
	req->started_ms = now_ms();
	uuid_v4(req->request_id);

	method = http_method(http);
	if (strcmp(method, "POST") != 0 && strcmp(method, "GET") != 0) {
		api_fail(req, E_UNSUPPORTED_PROTOCOL,
		    "The HTTP method %s is not supported; use GET or POST.",
		    method);
		return;
	}
	body = http_body(http, &body_len);
	if (body_len > cfg->api_max_body) {
		api_fail(req, E_REQUEST_SIZE,
		    "The request body is %zu bytes, over the limit of %zu.",
		    body_len, cfg->api_max_body);
		return;
	}
	tr.headers = http_headers(http, &tr.nheaders);
	common_headers_find(tr.headers, tr.nheaders, &hd);
	if ((action = hd.action) == NULL) {
		api_fail(req, E_MISSING_PARAMETER,
		    "The request is missing a required parameter `Action`.");
		return;
	}
	if ((version = hd.version) == NULL) {
		api_fail(req, E_MISSING_PARAMETER,
		    "The request is missing a required parameter `Version`.");
		return;
	}
	if (hd.timestamp == NULL) {
		api_fail(req, E_MISSING_PARAMETER,
		    "The request is missing a required parameter `Timestamp`.");
		return;
	}
	if ((auth_hdr = hd.authorization) == NULL ||
	    tc3_parse_authorization(auth_hdr, &auth) < 0) {
		api_fail(req, E_AUTH_INVALID, NULL);
		return;
	}
	if ((cred = config_find_cred(cfg, auth.secret_id)) == NULL) {
		api_fail(req, E_AUTH_SECRET_ID, NULL);
		return;
	}
	tr.method = method;
	tr.path = http_path(http);
	tr.query = http_query(http);
	tr.body = body;
	tr.body_len = body_len;
	switch (tc3_verify_key(&tr, &auth, cred->secret_key,
	    &p->cfg->keys[cred - cfg->creds], time(NULL), TC3_MAX_SKEW)) {
	case TC3_OK:
		break;
	case TC3_NO_TIMESTAMP:
		api_fail(req, E_INVALID_PARAMETER,
		    "The parameter `Timestamp` must be Unix seconds.");
		return;
	case TC3_EXPIRED:
		api_fail(req, E_AUTH_EXPIRE,
		    "Signature expired. Please use local time and enable NTP "
		    "service for time synchronization to avoid a deviation "
		    "between `Timestamp` and the server time %lld.",
		    (long long)time(NULL));
		return;
	case TC3_MALFORMED:
		api_fail(req, E_AUTH_INVALID, NULL);
		return;
	case TC3_BAD_SIGNATURE:
		api_fail(req, E_AUTH_SIGNATURE, NULL);
		return;
	}
	req->app_id = cred->app_id;
	req->secret_id = cred->secret_id;
	if (hd.token != NULL) {
		api_fail(req, E_AUTH_TOKEN, NULL);
		return;
	}
	if (strcmp(version, API_VERSION) != 0) {
		api_fail(req, E_NO_SUCH_VERSION,
		    "The version `%s` is not supported; use `" API_VERSION "`.",
		    version);
		return;
	}
	if ((region = hd.region) == NULL || region[0] == '\0') {
		api_fail(req, E_MISSING_PARAMETER,
		    "The request is missing a required parameter `Region`.");
		return;
	}
	if (!config_region_ok(cfg, region)) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "A value specified in `X-TC-Region` is not valid, is "
		    "unsupported, or cannot be used.");
		return;
	}
	req->region = region;
	if ((req->language = hd.language) == NULL)
		req->language = "";
	if ((req->action = action_find(api, action)) == NULL) {
		api_fail(req, E_INVALID_ACTION,
		    "The request action=`%s` is invalid or not found in "
		    "service=`ses` and version=`" API_VERSION "`.",
		    action);
		return;
	}
	if (!rate_allow(
		api, cred->secret_id, action, cfg->api_rate_limit, &count)) {
		api_fail(req, E_REQUEST_LIMIT,
		    "Your current request times equals to `%d` in a second, "
		    "which exceeds the frequency limit `%d` for a second. "
		    "Please reduce the frequency of calls.",
		    count, cfg->api_rate_limit);
		return;
	}
	if (strcmp(method, "GET") == 0)
		p->tree = query_to_tree(
		    http_query(http), req->action->params, err, sizeof(err));
	else
		p->tree =
		    json_parse((const char *)body, body_len, err, sizeof(err));
	if (p->tree == NULL || !YAJL_IS_OBJECT(p->tree)) {
		api_fail(req, E_INVALID_PARAMETER,
		    "The request %s must be a JSON object: %s",
		    strcmp(method, "GET") == 0 ? "parameters" : "body",
		    p->tree ? "got another JSON value" : err);
		return;
	}
	req->params = p->tree;
	if (check_params(req, p->tree, req->action->params, "") < 0)
		return;
	req->action->fn(req);
}
