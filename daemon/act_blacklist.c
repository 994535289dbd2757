/*
 * act_blacklist.c: CreateCustomBlacklist, ListCustomBlacklist,
 * UpdateCustomBlackList, DeleteCustomBlackList (ses-api.md 5.8; mind the
 * casing). The account's own blacklist lives in the suppressions table with
 * reason 'custom' and domain NULL, so it applies to every sender domain;
 * delivery skips an active entry's address.
 *
 * Decisions where the spec is silent or "unconfirmed":
 * - At most BLACKLIST_REQUEST_MAX (20,000) addresses per Create or Delete
 *   call, the same number as a recipient-list upload (ses-api.md 8.2);
 *   more -> LimitExceeded.ReceiverDetailRequestLimit.
 * - Create counts every input once: TooLongCount (over 254 bytes),
 *   InvalidCount (malformed per email_valid), RepeatCount (repeated earlier
 *   in the same call, or already on the list; case-insensitive) and
 *   ValidCount (stored); they add up to TotalCount. An address already on
 *   the list keeps its entry as it is, expired or not: renew it with
 *   UpdateCustomBlackList.
 * - ExpireDate is "YYYY-MM-DD", a real calendar date, not before today in
 *   the configured zone ([sesd] time_zone); else
 *   InvalidParameterValue.WrongDate. Absent or "" = permanent, on Create
 *   and on Update alike (Update replaces the entry's address and expiry).
 *   An entry is active through its ExpireDate and expired from the day
 *   after.
 * - List's Email filter is a case-insensitive substring of the address;
 *   "" = no filter. Entries are listed newest first.
 * - Update of an Id that is not one of the account's custom entries ->
 *   InvalidParameterValue; a new address that another entry already has
 *   -> InvalidParameterValue (naming the address).
 * - Delete removes the given addresses case-insensitively; addresses not
 *   on the list (or malformed) are ignored, so the call is idempotent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "db.h"
#include "db_suppressions.h"
#include "json.h"
#include "util.h"

#define BLACKLIST_REQUEST_MAX 20000
#define BLACKLIST_EMAIL_MAX   254 /* bytes; longer counts as TooLong */

static void act_create(struct api_req *);
static void act_list(struct api_req *);
static void act_update(struct api_req *);
static void act_delete(struct api_req *);

static const struct param create_params[] = {
    {"Emails", P_ARR_STR, true, E_EMAILS_NECESSARY, NULL},
    {"ExpireDate", P_STR, false, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param list_params[] = {
    {"Offset", P_INT, true, API_OK, NULL},
    {"Limit", P_INT, true, API_OK, NULL},
    {"Status", P_INT, true, API_OK, NULL},
    {"Email", P_STR, false, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param update_params[] = {
    {"Id", P_INT, true, API_OK, NULL},
    {"Email", P_STR, true, API_OK, NULL},
    {"ExpireDate", P_STR, false, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param delete_params[] = {
    {"Emails", P_ARR_STR, true, E_EMAILS_NECESSARY, NULL},
    {NULL, 0, false, API_OK, NULL},
};

const struct action act_blacklist_actions[] = {
    {"CreateCustomBlacklist", act_create, create_params},
    {"ListCustomBlacklist", act_list, list_params},
    {"UpdateCustomBlackList", act_update, update_params},
    {"DeleteCustomBlackList", act_delete, delete_params},
    {NULL, NULL, NULL},
};

/* Create's counters, kept across the query. */
struct create_state {
	int64_t total;
	int64_t too_long;
	int64_t invalid;
	int64_t candidates; /* well-formed, sent to the database */
};

static bool
leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/*
 * Checks an ExpireDate: NULL or "" -> 0 with *date NULL (permanent);
 * "YYYY-MM-DD" naming a real calendar date -> 0 with *date = s; else sends
 * WrongDate and returns -1. Whether it lies in the past is the database's
 * call (current_date in the configured zone).
 */
static int
expire_date(struct api_req *req, const char *s, const char **date)
{
	static const int mdays[] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, m, d;

	*date = NULL;
	if (s == NULL || s[0] == '\0')
		return 0;
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		goto bad;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			goto bad;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1 || m < 1 || m > 12 || d < 1 ||
	    d > mdays[m - 1] + (m == 2 && leap_year(y)))
		goto bad;
	*date = s;
	return 0;
bad:
	api_fail(req, E_WRONG_DATE,
	    "ExpireDate must be a calendar date YYYY-MM-DD, got \"%.40s\".", s);
	return -1;
}

static void
fail_past(struct api_req *req)
{
	api_fail(req, E_WRONG_DATE, "ExpireDate must not be before today (%s).",
	    req->cfg->time_zone);
}

/* The Emails array with 1..BLACKLIST_REQUEST_MAX strings, else sends the
 * error and returns NULL. */
static yajl_val
emails_param(struct api_req *req)
{
	yajl_val arr = api_param(req, "Emails");
	size_t n = arr ? arr->u.array.len : 0;

	if (n == 0) {
		api_fail(req, E_EMAILS_NECESSARY,
		    "Emails must hold at least one address.");
		return NULL;
	}
	if (n > BLACKLIST_REQUEST_MAX) {
		api_fail(req, E_DETAIL_REQUEST_LIMIT,
		    "Emails holds %zu addresses; at most %d per request.", n,
		    BLACKLIST_REQUEST_MAX);
		return NULL;
	}
	return arr;
}

static void
create_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	struct create_state st = *(struct create_state *)req->act_state;
	int64_t stored;
	yajl_gen g;

	free(req->act_state);
	req->act_state = NULL;
	if (!api_db_ok(req, res))
		return;
	if (!db_bool(res, 0, 0)) {
		fail_past(req);
		return;
	}
	stored = db_int(res, 0, 1);
	g = api_reply_begin(req);
	jw_int(g, "TotalCount", st.total);
	jw_int(g, "ValidCount", stored);
	jw_int(g, "TooLongCount", st.too_long);
	jw_int(g, "RepeatCount", st.candidates - stored);
	jw_int(g, "InvalidCount", st.invalid);
	api_reply_end(req);
}

static void
act_create(struct api_req *req)
{
	struct create_state *st;
	const char **ok;
	const char *date;
	struct buf list;
	yajl_val arr;
	char app[24];
	size_t n;

	if ((arr = emails_param(req)) == NULL ||
	    expire_date(req, api_str(req, "ExpireDate"), &date) < 0)
		return;
	n = arr->u.array.len;
	st = xcalloc(1, sizeof(*st));
	ok = xcalloc(n, sizeof(*ok));
	st->total = (int64_t)n;
	for (size_t i = 0; i < n; i++) {
		const char *e = json_str(arr->u.array.values[i]);
		if (strlen(e) > BLACKLIST_EMAIL_MAX)
			st->too_long++;
		else if (!email_valid(e, BLACKLIST_EMAIL_MAX))
			st->invalid++;
		else
			ok[st->candidates++] = e;
	}
	buf_init(&list);
	db_array_text(&list, ok, (size_t)st->candidates);
	free(ok);
	api_fmt_u64(app, req->app_id);
	const char *params[] = {app, list.data, date};
	req->act_state = st;
	db_query(
	    req->db, &db_suppressions_custom_add, params, create_done, req);
	buf_reset(&list); /* db_query copied the parameters */
}

static void
list_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	yajl_gen g;

	if (!api_db_ok(req, res))
		return;
	g = api_reply_begin(req);
	jw_int(g, "TotalCount", res->nrows ? db_int(res, 0, 0) : 0);
	jw_open_arr(g, "Data");
	for (int i = 0; i < res->nrows; i++) {
		if (db_val(res, i, 1) == NULL)
			continue; /* empty page */
		jw_open_obj(g, NULL);
		jw_int(g, "Id", db_int(res, i, 1));
		jw_str(g, "Email", db_val(res, i, 2));
		jw_str(g, "CreateTime", db_val(res, i, 3));
		jw_str(g, "ExpireDate", db_val(res, i, 4));
		jw_int(g, "Status", db_int(res, i, 5));
		jw_close_obj(g);
	}
	jw_close_arr(g);
	api_reply_end(req);
}

static void
act_list(struct api_req *req)
{
	const char *email = api_str(req, "Email");
	char app[24], status[24], lim[24], off[24];
	int64_t offset, limit, st = -1;

	if (api_page(req, &offset, &limit) < 0)
		return;
	api_int(req, "Status", &st);
	if (st < 0 || st > 2) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "Status must be 0 (expired), 1 (active) or 2 (all), got "
		    "%lld.",
		    (long long)st);
		return;
	}
	api_fmt_u64(app, req->app_id);
	snprintf(status, sizeof(status), "%lld", (long long)st);
	snprintf(lim, sizeof(lim), "%lld", (long long)limit);
	snprintf(off, sizeof(off), "%lld", (long long)offset);
	const char *params[] = {
	    app, status, email && email[0] ? email : NULL, lim, off};
	db_query(req->db, &db_suppressions_custom_list, params, list_done, req);
}

static void
update_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	int64_t id = 0;

	api_int(req, "Id", &id);
	if (res->status == DB_FAIL && strcmp(res->sqlstate, "23505") == 0) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "%.300s is already on the custom blacklist in another "
		    "entry.",
		    api_str(req, "Email"));
		return;
	}
	if (!api_db_ok(req, res))
		return;
	if (!db_bool(res, 0, 0)) {
		fail_past(req);
		return;
	}
	if (db_int(res, 0, 1) == 0) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "No custom blacklist entry with Id %lld.", (long long)id);
		return;
	}
	api_reply_ok(req);
}

static void
act_update(struct api_req *req)
{
	const char *email = api_str(req, "Email");
	char app[24], id[24];
	const char *date;
	int64_t eid = 0;

	if (!email_valid(email, BLACKLIST_EMAIL_MAX)) {
		api_fail(req, E_ILLEGAL_ADDRESS,
		    "Email is not a valid address of at most %d bytes.",
		    BLACKLIST_EMAIL_MAX);
		return;
	}
	if (expire_date(req, api_str(req, "ExpireDate"), &date) < 0)
		return;
	api_int(req, "Id", &eid);
	api_fmt_u64(app, req->app_id);
	snprintf(id, sizeof(id), "%lld", (long long)eid);
	const char *params[] = {app, id, email, date};
	db_query(
	    req->db, &db_suppressions_custom_update, params, update_done, req);
}

static void
delete_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;

	if (!api_db_ok(req, res))
		return;
	api_reply_ok(req);
}

static void
act_delete(struct api_req *req)
{
	char **items;
	struct buf list;
	yajl_val arr;
	char app[24];
	size_t n;

	if ((arr = emails_param(req)) == NULL)
		return;
	n = arr->u.array.len;
	/* lower-cased here (ASCII: stored addresses passed email_valid), so
	 * the SQL is a plain "lower(email) = ANY ($2)" that the index
	 * suppressions_email serves, never a join PostgreSQL could misplan */
	items = xcalloc(n, sizeof(*items));
	for (size_t i = 0; i < n; i++) {
		char *e = xstrdup(json_str(arr->u.array.values[i]));
		for (char *c = e; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		items[i] = e;
	}
	buf_init(&list);
	db_array_text(&list, (const char *const *)items, n);
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);
	api_fmt_u64(app, req->app_id);
	const char *params[] = {app, list.data};
	db_query(
	    req->db, &db_suppressions_custom_del, params, delete_done, req);
	buf_reset(&list);
}
